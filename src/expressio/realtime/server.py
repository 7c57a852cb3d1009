"""The Socket.IO v5 server: namespaces on top of the Engine.IO engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..engine import DisconnectReason, EngineServer, EngineSocket
from ..protocol.parsers import Parser, get_parser
from ..protocol.socketio import DEFAULT_NAMESPACE, EncodedPacket
from .adapter import Adapter, InMemoryAdapter
from .connection import Connection
from .namespace import Namespace
from .observer import SocketObserver
from .recovery import RecoveryOptions, check_recoverable
from .socket import DEFAULT_MAX_ROOMS_PER_SOCKET

logger = logging.getLogger("expressio.realtime")

INVALID_NAMESPACE = "Invalid namespace"


class RealtimeServer:
    """Socket.IO namespaces, sockets, rooms and acks, served through an :class:`EngineServer`.

    An ASGI application (it delegates to the engine, which is path-agnostic: mount it where
    clients expect it, usually ``/socket.io/``)::

        server = RealtimeServer(ping_interval=25, origins="*")
        chat = server.of("/chat")
        chat.on("say", lambda socket, text: chat.emit("said", text, skip=socket.id))

    ``connect_timeout`` (seconds): a client that joins no namespace within it is disconnected.
    ``parser``: the Socket.IO packet format clients must use, ``"json"`` (socket.io's default)
    or ``"msgpack"`` (``socket.io-msgpack-parser``; needs the ``msgpack`` package); see
    :mod:`expressio.protocol.parsers`.
    ``recovery``: connection state recovery (a :class:`RecoveryOptions`, ``True`` for its
    defaults, or a dict of its fields; off by default), see :mod:`expressio.realtime.recovery`.
    ``max_rooms_per_socket``: rooms a socket may join (its own not counted); one more raises
    ``RoomLimitError`` from ``Socket.join``. Every other keyword goes to :class:`EngineServer`.
    """

    def __init__(
        self,
        *,
        adapter_factory: Callable[[Namespace], Adapter] | None = None,
        connect_timeout: float = 45.0,
        parser: str | Parser = "json",
        recovery: RecoveryOptions | dict[str, Any] | bool | None = None,
        max_rooms_per_socket: int = DEFAULT_MAX_ROOMS_PER_SOCKET,
        **engine_options: Any,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.max_rooms_per_socket = max_rooms_per_socket
        # Fixed for the server's life: every connection decodes, and every broadcast is
        # encoded, with this one.
        self._parser = get_parser(parser)
        #: read by each namespace's adapter when it is made: set before the first ``of()``
        self.recovery = RecoveryOptions.from_setting(recovery)
        if self.recovery is not None:
            check_recoverable(adapter_factory)
        # Strong refs to the admission tasks (async middleware) in flight.
        self._admissions: set[asyncio.Future[Any]] = set()
        self._adapter_factory: Callable[[Namespace], Adapter] = adapter_factory or InMemoryAdapter
        self._namespaces: dict[str, Namespace] = {}
        self.observer: SocketObserver | None = None
        self.namespaces: Mapping[str, Namespace] = MappingProxyType(self._namespaces)
        self.engine = EngineServer(
            on_connect=self._on_engine_connect,
            on_message=self._on_engine_message,
            on_disconnect=self._on_engine_disconnect,
            **engine_options,
        )
        self.of(DEFAULT_NAMESPACE)

    @property
    def parser(self) -> Parser:
        """The Socket.IO parser of every connection and broadcast of this server."""
        return self._parser

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.engine(scope, receive, send)

    def of(self, name: str) -> Namespace:
        """The namespace ``name``, declared on first use (``"/"`` always exists)."""
        if not name.startswith("/"):
            name = "/" + name
        if "," in name:
            raise ValueError(f"a namespace name cannot contain a comma: {name!r}")
        namespace = self._namespaces.get(name)
        if namespace is None:
            namespace = Namespace(self, name, self._adapter_factory)
            self._namespaces[name] = namespace
        return namespace

    def observe(self, observer: SocketObserver) -> None:
        """Tell ``observer`` of every namespace's sockets, rooms and events from now on."""
        self.observer = observer
        for namespace in self._namespaces.values():
            namespace.observer = observer

    async def shutdown(self) -> None:
        """Disconnect every socket (reason ``"server shutting down"``), then stop the engine."""
        for engine_socket in tuple(self.engine.sockets.values()):
            connection = engine_socket.state
            if isinstance(connection, Connection):
                connection.handle_close(DisconnectReason.SERVER_SHUTTING_DOWN)
        await self.engine.shutdown(DisconnectReason.SERVER_SHUTTING_DOWN)

    def _invalid_namespace(self, name: str) -> EncodedPacket:
        return self._parser.encode_connect_error(name, INVALID_NAMESPACE)

    # --- engine callbacks: plain functions on the loop thread, never awaited ------------------

    def _on_engine_connect(self, engine_socket: EngineSocket) -> None:
        engine_socket.state = Connection(self, engine_socket)

    def _on_engine_message(self, engine_socket: EngineSocket, message: str | bytes) -> None:
        # Set by _on_engine_connect (no cast(): it is a call, and this is every message's path)
        engine_socket.state.handle_message(message)  # type: ignore[attr-defined]

    def _on_engine_disconnect(self, engine_socket: EngineSocket, reason: str) -> None:
        connection = engine_socket.state
        if isinstance(connection, Connection):
            connection.handle_close(reason)
