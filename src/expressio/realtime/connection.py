"""One client's Engine.IO connection as the realtime server sees it.

It decodes the connection's messages (keeping the binary reassembly state), routes packets to
the sockets it holds (one per namespace), enforces the connect timeout, and closes itself on
anything that breaks the protocol.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..engine.reasons import DisconnectReason
from ..protocol.socketio import (
    DEFAULT_NAMESPACE,
    DecodeError,
    EncodedPacket,
    Packet,
    PacketType,
)
from .socket import Socket

if TYPE_CHECKING:
    from ..engine import EngineSocket
    from ..protocol.parsers import PacketDecoder, Parser
    from .server import RealtimeServer

logger = logging.getLogger("expressio.realtime")

# Globals, not ``PacketType.X``: enum member access is slow on the per-message path.
_CONNECT = PacketType.CONNECT
_DISCONNECT = PacketType.DISCONNECT
_EVENT = PacketType.EVENT
_ACK = PacketType.ACK
_BINARY_EVENT = PacketType.BINARY_EVENT
_BINARY_ACK = PacketType.BINARY_ACK


class Connection:
    """Per engine connection: parser and decoder, sockets by namespace name, connect timeout."""

    __slots__ = (
        "_admitting",
        "_connect_timer",
        "_seen_connect",
        "decoder",
        "engine_socket",
        "parser",
        "server",
        "sockets",
    )

    def __init__(self, server: RealtimeServer, engine_socket: EngineSocket) -> None:
        self.server = server
        self.engine_socket = engine_socket
        self.parser: Parser = server.parser
        # One packet's attachments may together hold no more than one message could.
        self.decoder: PacketDecoder = self.parser.decoder(server.engine.max_payload)
        self.sockets: dict[str, Socket] = {}
        self._seen_connect = False
        # Namespace name -> its admission task while async middleware runs. At most one per
        # namespace: a CONNECT while one is being admitted closes the connection, so one
        # request full of CONNECT packets cannot start an admission task for each.
        self._admitting: dict[str, asyncio.Future[Any]] = {}
        self._connect_timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            server.connect_timeout, self._on_connect_timeout
        )

    @property
    def closed(self) -> bool:
        return bool(self.engine_socket.closed)

    def send(self, packet: EncodedPacket) -> None:
        """Queue one Socket.IO packet: its first message, then each binary attachment."""
        engine_socket = self.engine_socket
        engine_socket.send(packet.text)
        if packet.attachments:
            for attachment in packet.attachments:
                engine_socket.send(attachment)

    # --- incoming ----------------------------------------------------------------------------

    def handle_message(self, message: str | bytes) -> None:
        if type(message) is str and self._seen_connect:
            # The common packets, an EVENT of the default namespace and a client's ACK (one
            # per client of a broadcast with acks), decoded without a Packet. (A binary parser
            # has no text packets: its decoder answers None, feed refuses.)
            # The event path first and unchanged: it is the hotter one.
            decoder = self.decoder
            event = decoder.default_event(message)
            if event is not None:
                socket = self.sockets.get(DEFAULT_NAMESPACE)
                if socket is not None:
                    socket.namespace._handle_event(socket, event[0], event[1])
                return
            answer = decoder.default_ack(message)
            if answer is not None:
                socket = self.sockets.get(DEFAULT_NAMESPACE)
                if socket is not None:
                    self._on_ack(socket, answer[1], answer[0])
                return
        try:
            packet = self.decoder.feed(message)
        except DecodeError as error:
            logger.info("closing connection %s: %s", self.engine_socket.sid, error)
            self.close(DisconnectReason.PARSE_ERROR)
            return
        if packet is None:
            return  # a binary packet still waiting for attachments
        kind = packet.type
        if kind is _CONNECT:
            self._on_connect_packet(packet)
            return
        if not self._seen_connect:
            logger.info("closing connection %s: no CONNECT first", self.engine_socket.sid)
            self.close(DisconnectReason.PARSE_ERROR)
            return
        socket = self.sockets.get(packet.namespace)
        if kind is _EVENT or kind is _BINARY_EVENT:
            if socket is not None:
                socket.namespace._handle_event(socket, packet.data, packet.id)
        elif kind is _ACK or kind is _BINARY_ACK:
            if socket is not None:
                self._on_ack(socket, packet.id, packet.data)  # type: ignore[arg-type]
        elif kind is _DISCONNECT:
            if socket is not None:
                socket._close(DisconnectReason.CLIENT_NAMESPACE_DISCONNECT)
        else:  # CONNECT_ERROR is for clients only
            logger.info("closing connection %s: unexpected %s", self.engine_socket.sid, kind.name)
            self.close(DisconnectReason.PARSE_ERROR)

    def _on_ack(self, socket: Socket, ack_id: int, args: list[Any]) -> None:
        if not socket._on_ack(ack_id, args):
            logger.info(
                "closing connection %s: ack %s was never requested", self.engine_socket.sid, ack_id
            )
            self.close(DisconnectReason.PARSE_ERROR)

    def _on_connect_packet(self, packet: Packet) -> None:
        self._seen_connect = True
        if packet.namespace in self._admitting:
            logger.info(
                "closing connection %s: CONNECT to %s while its admission is pending",
                self.engine_socket.sid,
                packet.namespace,
            )
            self.close(DisconnectReason.PARSE_ERROR)
            return
        namespace = self.server.namespaces.get(packet.namespace)
        if namespace is None:
            self.send(self.server._invalid_namespace(packet.namespace))
            return
        auth: dict[str, Any] = packet.data if packet.data is not None else {}
        namespace._connect(self, auth)

    def _admission_done(self, namespace: str, task: asyncio.Future[Any]) -> None:
        if self._admitting.get(namespace) is task:
            del self._admitting[namespace]

    def _on_connect_timeout(self) -> None:
        self._connect_timer = None
        if not self.sockets and not self.closed:
            logger.info(
                "closing connection %s: no namespace joined in time", self.engine_socket.sid
            )
            self.engine_socket.close(DisconnectReason.CONNECT_TIMEOUT)

    # --- bookkeeping for sockets ------------------------------------------------------------

    def _adopt(self, socket: Socket) -> None:
        self.sockets[socket.namespace.name] = socket
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def _forget(self, socket: Socket) -> None:
        if self.sockets.get(socket.namespace.name) is socket:
            del self.sockets[socket.namespace.name]

    # --- ending --------------------------------------------------------------------------------

    def close(self, reason: str, *, notify: bool = False) -> None:
        """End every socket with ``reason`` and close the engine connection.

        ``notify`` sends each namespace a DISCONNECT first, so the client knows the server
        meant it (socket.io clients then do not reconnect).
        """
        for socket in tuple(self.sockets.values()):
            if notify:
                socket.disconnect()
            socket._close(reason)
        self._cancel_timer()
        if not self.closed:
            self.engine_socket.close(reason)

    def handle_close(self, reason: str) -> None:
        """The engine connection ended (transport close, ping timeout, ...)."""
        self._cancel_timer()
        for socket in tuple(self.sockets.values()):
            socket._close(reason)

    def _cancel_timer(self) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
