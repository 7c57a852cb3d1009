"""The Redis Streams adapter: rooms, broadcasts and connection state recovery across every
process that shares a Redis stream, compatible with ``@socket.io/redis-streams-adapter``.

``RedisStreamsAdapter(url, stream="expressio")`` is an adapter *factory*::

    app.io(adapter=expressio.RedisStreamsAdapter("redis://127.0.0.1:6379/0"),
           recovery={"max_disconnection": 120})

Node socket.io processes with ``createAdapter(redisClient, {streamName: "expressio"})`` and
expressio processes with ``stream="expressio"`` form one cluster. What goes where (see
:mod:`~expressio.scaleout.stream_entries` for the formats):

- broadcasts and room operations (``room(r).join/leave/disconnect``, and what the views of
  ``fetch_sockets`` do to a socket of another process: a socket id is a room) are stream
  entries, here: every process reads them in the stream's order, one XREAD loop per process
  for all namespaces (:mod:`~expressio.scaleout.stream_link`). A broadcast is encoded once for
  the stream and once per receiving process for its clients.
- with connection state recovery on, a broadcast's offset is its stream id, for every client
  of every process: this process's own broadcasts reach its clients when the reader reads them
  back, in the stream's order. The sessions of sockets that went away are kept in Redis, and
  restored on any process (:mod:`~expressio.scaleout.stream_sessions`).
- requests that wait for answers (``fetch_sockets``, a broadcast with acks,
  ``server_side_emit``) go over pub/sub (:mod:`~expressio.scaleout.stream_requests`);
  ``server_count`` is the number of processes listening on the namespace's channel.

Without recovery a broadcast reaches this process's clients at once, then the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..protocol.socketio import DecodeError, EncodedPacket
from ..realtime.adapter import (
    AckCallback,
    BroadcastFlags,
    BroadcastOptions,
    InMemoryAdapter,
    SocketView,
)
from ..realtime.recovery import RecoveryOptions, RestoredSession, SocketSession
from ..sessions.redaction import redacted
from . import stream_entries as entries
from .stream_entries import MalformedEntry, MessageType
from .stream_link import StreamLink
from .stream_requests import REQUESTS_TIMEOUT, StreamRequests
from .stream_sessions import StreamSessions

if TYPE_CHECKING:
    from ..realtime.namespace import Namespace

logger = logging.getLogger("expressio.scaleout")

DEFAULT_STREAM = "expressio"


class RedisStreamsAdapter:
    """Adapter factory for the realtime server: processes that share a Redis and a ``stream``
    form one app.

    Options, named after the Node adapter's:

    - ``max_len`` (``maxLen``): entries the stream keeps, about (``XADD MAXLEN ~``); it is
      the retention that bounds both a Redis outage without loss and connection state recovery;
    - ``read_count`` (``readCount``): entries per XREAD;
    - ``block_time`` (``blockTimeInMs``, here in seconds): how long one XREAD waits;
    - ``session_key_prefix`` (``sessionKeyPrefix``): keys of the kept sessions;
    - ``channel_prefix`` (``channelPrefix``): pub/sub channels of requests and answers;
      Node's default ``"socket.io"``, so a Node process with only ``streamName`` set joins the
      same cluster (two apps sharing a Redis set different streams AND prefixes);
    - ``max_queued``: commands kept while Redis is unreachable; beyond, new ones are dropped;
    - ``requests_timeout`` (``requestsTimeout``, here in seconds): how long ``fetch_sockets``,
      a broadcast with acks and ``server_side_emit`` wait for the other processes' answers.

    The connection starts lazily, on the running loop, at the first socket or broadcast;
    ``await adapter.start()`` at server startup connects before the first client.
    """

    cross_process = True
    recovers_sessions = True

    def __init__(
        self,
        url: str,
        stream: str = DEFAULT_STREAM,
        *,
        max_len: int = 10_000,
        read_count: int = 100,
        block_time: float = 5.0,
        session_key_prefix: str = "sio:session:",
        channel_prefix: str = "socket.io",
        max_queued: int = 10_000,
        requests_timeout: float = REQUESTS_TIMEOUT,
    ) -> None:
        entries.require_msgpack()
        if not stream:
            raise ValueError("a stream name cannot be empty")
        for name, number in (
            ("max_len", max_len),
            ("read_count", read_count),
            ("max_queued", max_queued),
        ):
            if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
                raise ValueError(f"{name} is a positive whole number, got {number!r}")
        for name, seconds in (("block_time", block_time), ("requests_timeout", requests_timeout)):
            if not seconds > 0:
                raise ValueError(f"{name} is a positive number of seconds, got {seconds!r}")
        self.requests_timeout = float(requests_timeout)
        self.url = url
        self.stream = stream
        self.session_key_prefix = session_key_prefix
        self.channel_prefix = channel_prefix
        self.link = StreamLink(
            url,
            stream,
            max_len=max_len,
            read_count=read_count,
            block_time=block_time,
            max_queued=max_queued,
        )
        self.adapters: dict[str, RedisStreamsNamespaceAdapter] = {}

    def __call__(self, namespace: Namespace) -> RedisStreamsNamespaceAdapter:
        adapter = RedisStreamsNamespaceAdapter(namespace, self)
        self.adapters[namespace.name] = adapter
        return adapter

    def __repr__(self) -> str:
        return f"<RedisStreamsAdapter {self.stream!r} at {redacted(self.url)!r}>"

    async def start(self, timeout: float = 10.0) -> None:
        """Connect now and wait until reading, writing and subscribed (``TimeoutError`` if
        Redis does not answer)."""
        await self.link.wait_up(timeout)

    async def flush(self) -> None:
        """Wait until every broadcast made so far has been written to the stream (or dropped)."""
        await self.link.flush()

    async def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.requests.close()
        await self.link.close()


class RedisStreamsNamespaceAdapter(InMemoryAdapter):
    """One namespace's rooms, broadcasts and recoverable sessions, across processes (see the
    module)."""

    cross_process = True

    def __init__(self, namespace: Namespace, factory: RedisStreamsAdapter) -> None:
        super().__init__(namespace)
        #: connection state recovery, kept in Redis instead of this process's memory
        self.recovery_options: RecoveryOptions | None = getattr(namespace.server, "recovery", None)
        self.recovery = None
        self.factory = factory
        self._link = link = factory.link
        self._nsp = namespace.name
        #: requests to the other processes and answers to theirs, over pub/sub
        self.requests = StreamRequests(
            self, link, factory.channel_prefix, factory.requests_timeout
        )
        #: the kept sessions of connection state recovery (None when it is off)
        self.sessions = (
            StreamSessions(namespace, link, self.recovery_options, factory.session_key_prefix)
            if self.recovery_options is not None
            else None
        )
        link.on_entries(namespace.name, self._on_entry)
        link.ensure_started()

    # --- broadcasts ------------------------------------------------------------------------------

    def add(self, sid: str, room: str) -> None:
        # A process that has a client must hear the others' broadcasts: start the link now.
        self._link.ensure_started()
        super().add(sid, room)

    def broadcast(self, packet: EncodedPacket, opts: BroadcastOptions) -> None:
        flags = opts.flags
        if flags.local:
            self.deliver(packet, opts)
            return
        link = self._link
        link.ensure_started()
        try:
            data = entries.broadcast_data(
                packet, self._nsp, tuple(opts.rooms), tuple(opts.except_rooms), flags.volatile
            )
        except (DecodeError, TypeError) as error:
            logger.warning("a broadcast could not be written to the stream (%s)", error)
            self.deliver(packet, opts)
            return
        fields = entries.encode_entry(link.uid, self._nsp, MessageType.BROADCAST, data)
        if self.recovery_options is not None and not flags.volatile:
            # Its offset is its stream id: it reaches this process's clients when read back.
            with_offset = self.namespace.server.parser.with_offset

            def read_back(entry_id: str | None) -> None:
                self.deliver(packet if entry_id is None else with_offset(packet, entry_id), opts)

            link.add(fields, read_back)
        else:
            self.deliver(packet, opts)
            link.add(fields)

    def _on_entry(self, fields: Mapping[bytes, bytes], entry_id: str) -> None:
        try:
            message = entries.decode_entry(fields)
            kind = message.type
            if kind == MessageType.BROADCAST:
                broadcast = entries.read_broadcast(message)
                if broadcast.request_id is not None:
                    return  # Node sends these over pub/sub; one on the stream is not ours to answer
                self._deliver_remote(broadcast, entry_id)
            elif kind in (
                MessageType.SOCKETS_JOIN,
                MessageType.SOCKETS_LEAVE,
                MessageType.DISCONNECT_SOCKETS,
            ):
                self._room_request(kind, entries.read_room_request(message))
            elif kind in (
                MessageType.INITIAL_HEARTBEAT,
                MessageType.HEARTBEAT,
                MessageType.ADAPTER_CLOSE,
            ):
                return  # older adapters count servers with these; this one asks Redis
            else:
                self._link.log_once(
                    f"stream type {kind}",
                    "ignored an entry of type %d on Redis stream %r (not a stream message)",
                    kind,
                    self.factory.stream,
                )
        except MalformedEntry as error:
            self._link.log_once(
                error.kind,
                "ignored a malformed entry on Redis stream %r (%s): %r",
                self.factory.stream,
                error.kind,
                _preview(fields),
            )

    def _deliver_remote(self, broadcast: entries.Broadcast, entry_id: str) -> None:
        recover = self.recovery_options is not None and not broadcast.volatile
        try:
            packet = entries.packet_of(
                broadcast.args,
                self._nsp,
                self.namespace.server.parser,
                entry_id if recover else None,
            )
        except (TypeError, ValueError):
            raise MalformedEntry("broadcast arguments this server's parser cannot carry") from None
        flags = BroadcastFlags(volatile=True) if broadcast.volatile else BroadcastFlags()
        self.deliver(packet, BroadcastOptions(broadcast.rooms, broadcast.except_rooms, flags))

    # --- room operations ------------------------------------------------------------------------

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        self._publish_room_request(MessageType.SOCKETS_JOIN, opts, rooms)
        super().add_sockets(opts, rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        self._publish_room_request(MessageType.SOCKETS_LEAVE, opts, rooms)
        super().del_sockets(opts, rooms)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        self._publish_room_request(MessageType.DISCONNECT_SOCKETS, opts, None, close)
        super().disconnect_sockets(opts, close)

    def _publish_room_request(
        self,
        kind: MessageType,
        opts: BroadcastOptions,
        rooms: Sequence[str] | None,
        close: bool | None = None,
    ) -> None:
        if opts.flags.local:
            return
        link = self._link
        link.ensure_started()
        data = entries.room_request_data(tuple(opts.rooms), tuple(opts.except_rooms), rooms, close)
        link.add(entries.encode_entry(link.uid, self._nsp, kind, data))

    def _room_request(self, kind: int, request: entries.RoomRequest) -> None:
        opts = BroadcastOptions(request.rooms, request.except_rooms, BroadcastFlags(local=True))
        if kind == MessageType.SOCKETS_JOIN:
            super().add_sockets(opts, request.target_rooms)
        elif kind == MessageType.SOCKETS_LEAVE:
            super().del_sockets(opts, request.target_rooms)
        else:
            super().disconnect_sockets(opts, request.close)

    # --- requests that wait for answers, over pub/sub (stream_requests.py) ----------------------

    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        return self.requests.broadcast_with_ack(event, args, opts, on_client_count, on_ack)

    async def fetch_sockets(self, opts: BroadcastOptions) -> Sequence[SocketView]:
        return await self.requests.fetch_sockets(opts)

    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        self.requests.server_side_emit(args, ack)

    async def server_count(self) -> int:
        return await self.requests.server_count()

    # --- connection state recovery (stream_sessions.py) -----------------------------------------

    def persist_session(self, session: SocketSession) -> None:
        if self.sessions is not None:
            self.sessions.persist(session)

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        if self.sessions is None:
            return None
        return await self.sessions.restore(pid, offset)


def _preview(fields: Mapping[bytes, bytes]) -> str:
    text = repr(dict(fields))
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["RedisStreamsAdapter", "RedisStreamsNamespaceAdapter"]
