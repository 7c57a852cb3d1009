"""The Redis adapter: rooms and broadcasts across every process that shares a Redis.

``RedisAdapter(url, channel="expressio")`` is an adapter *factory*: give it to the realtime
server and each namespace gets a :class:`RedisNamespaceAdapter`; all of them share one
:class:`~expressio.scaleout.link.RedisLink` (one publishing connection and one subscribing
connection per process)::

    server = RealtimeServer(adapter_factory=RedisAdapter("redis://127.0.0.1:6379/0"))

Each process keeps its own room index (who is in which room *here*). A broadcast is delivered
to the local sockets at once and published once, already encoded; every other process delivers
it to its own matching sockets through the same local path, so each client gets it at most once
and no process encodes it again (unless its server uses another Socket.IO parser: it then
re-encodes the packet once, for all its clients). Acks never leave the socket's process.

What crosses processes here: broadcasts (rooms and rooms left out, so ``excluding`` and the
sender's exclusion too) and :meth:`RedisNamespaceAdapter.remote_join` and its siblings. The
other targeted operations of the adapter interface are inherited from the in-memory adapter and
act on this process's clients only, for now: ``broadcast_with_ack`` (only local clients are
asked and counted), ``fetch_sockets``, ``add_sockets``/``del_sockets``/``disconnect_sockets``
(``room(r).join(...)`` and siblings), ``server_side_emit`` (reaches no other process; with an ack
it answers ``[]``), ``server_count`` (1), and the ``volatile`` flag is not carried to other
processes (they deliver such a broadcast as a plain one). The wire format of this module is to
be replaced by ``@socket.io/redis-adapter``'s, which carries all of them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..protocol.parsers import transcode_event
from ..protocol.socketio import DecodeError, EncodedPacket
from ..realtime.adapter import NO_ROOMS, BroadcastOptions, InMemoryAdapter
from ..realtime.socket import RoomLimitError
from ..sessions.redaction import redacted
from . import wire
from .link import RedisLink

if TYPE_CHECKING:
    from ..realtime.namespace import Namespace

logger = logging.getLogger("expressio.scaleout")

DEFAULT_CHANNEL = "expressio"


class RedisAdapter:
    """Adapter factory for :class:`~expressio.realtime.RealtimeServer`: processes that share a
    Redis and a ``channel`` form one app; another ``channel`` is another app on the same Redis.

    The connection starts lazily, on the running loop, at the first socket or broadcast (so an
    app built at import time and then forked into workers opens its connections in each worker);
    ``await adapter.start()`` at server startup connects before the first client instead.
    """

    cross_process = True

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        if "#" in channel:
            raise ValueError(f"a channel name cannot contain '#': {channel!r}")
        self.url = url
        self.channel = channel
        self.link = RedisLink(url, control_channel=f"{channel}#".encode())
        self.adapters: dict[str, RedisNamespaceAdapter] = {}

    def __call__(self, namespace: Namespace) -> RedisNamespaceAdapter:
        adapter = RedisNamespaceAdapter(namespace, self)
        self.adapters[namespace.name] = adapter
        return adapter

    def __repr__(self) -> str:
        return f"<RedisAdapter {self.channel!r} at {redacted(self.url)!r}>"

    async def start(self, timeout: float = 10.0) -> None:
        """Connect now and wait until subscribed (``TimeoutError`` if Redis does not answer)."""
        await self.link.wait_up(timeout)

    async def flush(self) -> None:
        """Wait until every broadcast made so far has been published (or dropped)."""
        await self.link.flush()

    async def close(self) -> None:
        await self.link.close()


class RedisNamespaceAdapter(InMemoryAdapter):
    """One namespace's rooms and broadcasts, across processes.

    Besides the :class:`~expressio.realtime.Adapter` interface, the layer above may act on a
    socket whatever process owns it, by id: :meth:`remote_join`, :meth:`remote_leave` and
    :meth:`remote_disconnect` act at once when the socket is local, else ask every process and
    the owner acts (a socket that exists nowhere is silently ignored).
    """

    cross_process = True

    def __init__(self, namespace: Namespace, factory: RedisAdapter) -> None:
        super().__init__(namespace)
        self.factory = factory
        self._link = factory.link
        self._channel = wire.channel_name(factory.channel, namespace.name)
        self._link.subscribe(self._channel, self._on_message)
        self._link.ensure_started()

    # --- the Adapter interface ------------------------------------------------------------------

    def add(self, sid: str, room: str) -> None:
        # A process that has a client must hear the others' broadcasts: start the link now.
        self._link.ensure_started()
        super().add(sid, room)

    def broadcast(self, packet: EncodedPacket, opts: BroadcastOptions) -> None:
        self.deliver(packet, opts)
        if opts.flags.local:
            return
        link = self._link
        link.ensure_started()
        rooms = opts.rooms or None
        link.publish(
            self._channel, wire.encode_broadcast(link.node_id, packet, rooms, opts.except_rooms)
        )

    # --- sockets of any process -----------------------------------------------------------------

    def remote_join(self, sid: str, room: str) -> None:
        """Make the socket ``sid`` join ``room``, whichever process it lives on."""
        socket = self.namespace.sockets.get(sid)
        if socket is not None:
            socket.join(room)
        else:
            self._request(wire.JOIN, sid, room)

    def remote_leave(self, sid: str, room: str) -> None:
        """Make the socket ``sid`` leave ``room``, whichever process it lives on."""
        socket = self.namespace.sockets.get(sid)
        if socket is not None:
            socket.leave(room)
        else:
            self._request(wire.LEAVE, sid, room)

    def remote_disconnect(self, sid: str) -> None:
        """Disconnect the socket ``sid`` from this namespace, whichever process it lives on."""
        socket = self.namespace.sockets.get(sid)
        if socket is not None:
            socket.disconnect()
        else:
            self._request(wire.DISCONNECT, sid, None)

    def _request(self, kind: str, sid: str, room: str | None) -> None:
        link = self._link
        link.ensure_started()
        link.publish(self._channel, wire.encode_socket_request(link.node_id, kind, sid, room))

    # --- from other processes -------------------------------------------------------------------

    def _on_message(self, data: bytes) -> None:
        try:
            message = wire.decode(data, self.namespace.name)
        except wire.MalformedMessage as error:
            logger.warning(
                "ignored a malformed message on Redis channel %r (%s): %r",
                self._channel.decode(errors="replace"),
                error,
                data[:80],
            )
            return
        if message.node == self._link.node_id:
            return  # our own broadcast, already delivered here
        if isinstance(message, wire.Broadcast):
            if message.rooms is not None and not message.rooms:
                return  # an empty room list reaches nobody (no rooms at all means everyone)
            try:
                packet = transcode_event(message.packet, self.namespace.server.parser)
            except (DecodeError, TypeError, ImportError) as error:
                logger.warning(
                    "ignored a broadcast on Redis channel %r that this server's parser "
                    "cannot carry (%s)",
                    self._channel.decode(errors="replace"),
                    error,
                )
                return
            rooms = frozenset(message.rooms) if message.rooms else NO_ROOMS
            skip = frozenset(message.skip) if message.skip else NO_ROOMS
            self.deliver(packet, BroadcastOptions(rooms, skip))
            return
        socket = self.namespace.sockets.get(message.sid)
        if socket is None:
            return  # another process owns it, or nobody does any more
        if message.kind == wire.JOIN:
            assert message.room is not None
            try:
                socket.join(message.room)
            except RoomLimitError as error:
                logger.warning("a join asked by another process was refused: %s", error)
        elif message.kind == wire.LEAVE:
            assert message.room is not None
            socket.leave(message.room)
        else:
            socket.disconnect()
