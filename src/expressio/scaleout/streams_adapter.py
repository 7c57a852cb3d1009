"""The Redis Streams adapter: rooms, broadcasts and connection state recovery across every
process that shares a Redis stream, compatible with ``@socket.io/redis-streams-adapter``.

``RedisStreamsAdapter(url, stream="expressio")`` is an adapter *factory*::

    app.io(adapter=expressio.RedisStreamsAdapter("redis://127.0.0.1:6379/0"),
           recovery={"max_disconnection": 120})

Node socket.io processes with ``createAdapter(redisClient, {streamName: "expressio"})`` and
expressio processes with ``stream="expressio"`` form one cluster. What goes where (see
:mod:`~expressio.scaleout.stream_entries` for the formats):

- broadcasts and room operations (``room(r).join/leave/disconnect``, by-id ``remote_join``...)
  are stream entries: every process reads them in the stream's order, one XREAD loop per
  process for all namespaces (:mod:`~expressio.scaleout.stream_link`). A broadcast is encoded
  once for the stream and once per receiving process for its clients.
- with connection state recovery on, a broadcast's offset is its stream id, for every client
  of every process: this process's own broadcasts reach its clients when the reader reads them
  back, in the stream's order. A socket that goes away keeps its session in Redis
  (``<session_key_prefix><pid>``, expiring after ``max_disconnection``); the client may come
  back to ANY process of the cluster, which replays the stream's broadcasts after its offset.
- requests that wait for answers (a broadcast with acks, ``server_side_emit``) go over
  pub/sub; ``server_count`` is the number of processes listening on the namespace's channel.

Without recovery a broadcast reaches this process's clients at once, then the stream.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..protocol.socketio import DecodeError, EncodedPacket
from ..realtime.adapter import AckCallback, BroadcastFlags, BroadcastOptions, InMemoryAdapter
from ..realtime.recovery import RecoveryOptions, RestoredSession, SocketSession
from ..sessions.redaction import redacted
from . import stream_entries as entries
from .stream_entries import MalformedEntry, MessageType
from .stream_link import RESTORE_COUNT, StreamLink, next_id, parse_id

if TYPE_CHECKING:
    from ..realtime.namespace import Namespace
    from ..realtime.socket import Socket

logger = logging.getLogger("expressio.scaleout")

DEFAULT_STREAM = "expressio"
REQUEST_TIMEOUT = 5.0  # seconds other processes have to answer a request (socket.io's)
READER_CATCH_UP = 2.0  # seconds a restore waits for this process's reader to reach the offset


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
    - ``max_queued``: commands kept while Redis is unreachable; beyond, new ones are dropped.

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
        if not block_time > 0:
            raise ValueError(f"block_time is a positive number of seconds, got {block_time!r}")
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
        await self.link.close()


class _Request:
    """A request waiting for the other processes' answers (fetch_sockets, server_side_emit)."""

    __slots__ = ("answers", "done", "expected", "timer")

    def __init__(self, expected: int, done: Callable[[list[Any]], None]) -> None:
        self.expected = expected
        self.answers: list[Any] = []
        self.done = done
        self.timer: asyncio.TimerHandle | None = None


class _ClientCount:
    """The client count of a broadcast with acks over every process: the layer above hears
    one total, once every process said how many clients it asked (or after the request
    timeout), and the answers that came before it right after it; so it knows when the last
    answer is in (socket.io waits for ``serverCount()`` counts the same way)."""

    __slots__ = ("_held", "_on_ack", "_on_client_count", "_processes", "_reported", "_total")

    def __init__(self, on_client_count: Callable[[int], None], on_ack: AckCallback) -> None:
        self._on_client_count = on_client_count
        self._on_ack = on_ack
        self._processes: int | None = None  # counts still to come, once known
        self._reported = 0
        self._total = 0
        self._held: list[tuple[Any, ...]] | None = []

    def add_count(self, count: int) -> None:
        self._reported += 1
        self._total += count
        self._check()

    def expect_processes(self, processes: int) -> None:
        self._processes = processes
        self._check()

    def ack(self, *answer: Any) -> None:
        held = self._held
        if held is None:
            self._on_ack(*answer)
        else:
            held.append(answer)

    def _check(self) -> None:
        if self._processes is not None and self._reported >= self._processes:
            self.release()

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        self._on_client_count(self._total)
        for answer in held:
            self._on_ack(*answer)


class RedisStreamsNamespaceAdapter(InMemoryAdapter):
    """One namespace's rooms, broadcasts and recoverable sessions, across processes.

    By id, whatever process owns the socket: :meth:`remote_join`, :meth:`remote_leave`,
    :meth:`remote_disconnect` (a socket id is a room, so they are room operations).
    """

    cross_process = True

    def __init__(self, namespace: Namespace, factory: RedisStreamsAdapter) -> None:
        super().__init__(namespace)
        #: connection state recovery, kept in Redis instead of this process's memory
        self.recovery_options: RecoveryOptions | None = getattr(namespace.server, "recovery", None)
        self.recovery = None
        self.factory = factory
        self._link = link = factory.link
        self._nsp = namespace.name
        prefix = factory.channel_prefix
        self._public_channel = f"{prefix}#{namespace.name}#".encode()
        self._prefix = prefix
        self._requests: dict[str, _Request] = {}
        self._ack_requests: dict[str, tuple[Callable[[int], None], AckCallback]] = {}
        link.on_entries(namespace.name, self._on_entry)
        link.subscribe(self._public_channel, self._on_message)
        link.subscribe_private(f"{prefix}#{namespace.name}#", self._on_message)
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

    def remote_join(self, sid: str, room: str) -> None:
        """Make the socket ``sid`` join ``room``, whichever process it lives on."""
        self._by_id(sid, MessageType.SOCKETS_JOIN, (room,))

    def remote_leave(self, sid: str, room: str) -> None:
        """Make the socket ``sid`` leave ``room``, whichever process it lives on."""
        self._by_id(sid, MessageType.SOCKETS_LEAVE, (room,))

    def remote_disconnect(self, sid: str) -> None:
        """Disconnect the socket ``sid`` from this namespace, whichever process it lives on."""
        self._by_id(sid, MessageType.DISCONNECT_SOCKETS, None)

    def _by_id(self, sid: str, kind: MessageType, rooms: tuple[str, ...] | None) -> None:
        opts = BroadcastOptions(frozenset((sid,)))
        if sid in self.namespace.sockets:  # here: no need to tell anyone
            opts = opts._replace(flags=BroadcastFlags(local=True))
        if kind == MessageType.SOCKETS_JOIN:
            self.add_sockets(opts, rooms or ())
        elif kind == MessageType.SOCKETS_LEAVE:
            self.del_sockets(opts, rooms or ())
        else:
            self.disconnect_sockets(opts, False)

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

    # --- requests and answers over pub/sub ---------------------------------------------------

    def _answer(self, requester: str, kind: MessageType, data: dict[str, Any]) -> None:
        link = self._link
        channel = f"{self._prefix}#{self._nsp}#{requester}#".encode()
        try:
            payload = entries.encode_pubsub(link.uid, self._nsp, kind, data)
        except TypeError as error:
            logger.warning("an answer to another process could not be encoded (%s)", error)
            return
        link.publish(channel, payload)

    def _on_message(self, payload: bytes) -> None:
        try:
            message = entries.decode_pubsub(payload)
            if message.uid == self._link.uid or message.nsp != self._nsp:
                return
            kind = message.type
            data = message.data
            if type(data) is not dict:
                raise MalformedEntry("message without data")
            if kind == MessageType.BROADCAST:
                self._answer_broadcast_with_ack(message.uid, entries.read_broadcast(message))
            elif kind == MessageType.SERVER_SIDE_EMIT:
                self._on_server_side_emit(message.uid, data)
            elif kind == MessageType.FETCH_SOCKETS:
                self._answer_fetch_sockets(message.uid, data)
            elif kind in (
                MessageType.BROADCAST_CLIENT_COUNT,
                MessageType.BROADCAST_ACK,
                MessageType.SERVER_SIDE_EMIT_RESPONSE,
                MessageType.FETCH_SOCKETS_RESPONSE,
            ):
                self._on_answer(kind, data)
        except MalformedEntry as error:
            self._link.log_once(
                "pubsub " + error.kind,
                "ignored a malformed message on Redis channel %r (%s)",
                self._public_channel.decode(errors="replace"),
                error.kind,
            )

    def _on_answer(self, kind: int, data: dict[str, Any]) -> None:
        request_id = data.get("requestId")
        if type(request_id) is not str:
            raise MalformedEntry("answer without requestId")
        if kind in (MessageType.BROADCAST_CLIENT_COUNT, MessageType.BROADCAST_ACK):
            callbacks = self._ack_requests.get(request_id)
            if callbacks is None:
                return
            if kind == MessageType.BROADCAST_CLIENT_COUNT:
                count = data.get("clientCount")
                if type(count) is not int or count < 0:
                    raise MalformedEntry("clientCount is not a count")
                callbacks[0](count)
            else:
                callbacks[1](data.get("packet"))
            return
        request = self._requests.get(request_id)
        if request is None:
            return
        if kind == MessageType.FETCH_SOCKETS_RESPONSE:
            sockets = data.get("sockets")
            if type(sockets) is not list:
                raise MalformedEntry("fetch_sockets answer without sockets")
            request.answers.extend(sockets)
        else:
            request.answers.append(data.get("packet"))
        request.expected -= 1
        if request.expected <= 0:
            self._finish(request_id)

    def _finish(self, request_id: str) -> None:
        request = self._requests.pop(request_id, None)
        if request is None:
            return
        if request.timer is not None:
            request.timer.cancel()
        request.done(request.answers)

    def _start_request(
        self,
        kind: MessageType,
        data: dict[str, Any],
        expected: int,
        done: Callable[[list[Any]], None],
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        request_id = secrets.token_hex(8)
        request = _Request(expected, done)
        self._requests[request_id] = request
        loop = asyncio.get_running_loop()
        request.timer = loop.call_later(timeout, self._finish, request_id)
        data["requestId"] = request_id
        link = self._link
        link.publish(self._public_channel, entries.encode_pubsub(link.uid, self._nsp, kind, data))

    # broadcast with acks ---------------------------------------------------------------------

    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        if opts.flags.local:
            return super().broadcast_with_ack(event, args, opts, on_client_count, on_ack)
        link = self._link
        link.ensure_started()
        request_id = secrets.token_hex(8)
        counting = _ClientCount(on_client_count, on_ack)
        self._ack_requests[request_id] = (counting.add_count, counting.ack)
        stop_local = super().broadcast_with_ack(event, args, opts, counting.add_count, counting.ack)
        data = {
            "packet": {"type": 2, "data": [event, *args], "nsp": self._nsp},
            "requestId": request_id,
            "opts": {
                "rooms": list(opts.rooms),
                "except": list(opts.except_rooms),
                "flags": {"volatile": True} if opts.flags.volatile else {},
            },
        }
        try:
            link.publish(
                self._public_channel,
                entries.encode_pubsub(link.uid, self._nsp, MessageType.BROADCAST, data),
            )
        except TypeError as error:
            logger.warning("a broadcast with acks could not be sent to other processes (%s)", error)

        async def count_processes() -> None:
            counting.expect_processes(await self.server_count())

        task = asyncio.ensure_future(count_processes())
        task.add_done_callback(_log_task_failure)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(REQUEST_TIMEOUT, counting.release)

        def stop_waiting() -> None:
            timer.cancel()
            stop_local()
            self._ack_requests.pop(request_id, None)

        return stop_waiting

    def _answer_broadcast_with_ack(self, requester: str, broadcast: entries.Broadcast) -> None:
        request_id = broadcast.request_id
        if request_id is None:
            return  # plain broadcasts travel on the stream
        flags = BroadcastFlags(volatile=broadcast.volatile, local=True)
        opts = BroadcastOptions(broadcast.rooms, broadcast.except_rooms, flags)

        def on_client_count(count: int) -> None:
            self._answer(
                requester,
                MessageType.BROADCAST_CLIENT_COUNT,
                {"requestId": request_id, "clientCount": count},
            )

        def on_ack(*answer: Any) -> None:
            self._answer(
                requester,
                MessageType.BROADCAST_ACK,
                {"requestId": request_id, "packet": answer[0] if answer else None},
            )

        args = broadcast.args
        super().broadcast_with_ack(args[0], args[1:], opts, on_client_count, on_ack)

    # server-side emit -----------------------------------------------------------------------

    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        link = self._link
        link.ensure_started()
        if ack is None:
            link.publish(
                self._public_channel,
                entries.encode_pubsub(
                    link.uid, self._nsp, MessageType.SERVER_SIDE_EMIT, {"packet": list(args)}
                ),
            )
            return

        async def ask() -> None:
            others = await self.server_count() - 1
            if others <= 0:
                ack([])
                return
            self._start_request(MessageType.SERVER_SIDE_EMIT, {"packet": list(args)}, others, ack)

        task = asyncio.ensure_future(ask())
        task.add_done_callback(_log_task_failure)

    def _on_server_side_emit(self, requester: str, data: dict[str, Any]) -> None:
        packet = data.get("packet")
        if type(packet) is not list or not packet or type(packet[0]) is not str:
            raise MalformedEntry("server_side_emit without an event name")
        handler = self.namespace.on_server_side
        if handler is None:
            return
        request_id = data.get("requestId")
        answer: Callable[[Any], None] | None = None
        if type(request_id) is str:
            answered = False

            def answer(value: Any) -> None:
                nonlocal answered
                if answered:
                    return
                answered = True
                self._answer(
                    requester,
                    MessageType.SERVER_SIDE_EMIT_RESPONSE,
                    {"requestId": request_id, "packet": value},
                )

        handler(packet, answer)

    # fetch_sockets --------------------------------------------------------------------------

    def _answer_fetch_sockets(self, requester: str, data: dict[str, Any]) -> None:
        request_id = data.get("requestId")
        if type(request_id) is not str:
            raise MalformedEntry("fetch_sockets without requestId")
        rooms, except_rooms, _ = entries._opts(data)
        sockets = self.targets(BroadcastOptions(rooms, except_rooms))
        self._answer(
            requester,
            MessageType.FETCH_SOCKETS_RESPONSE,
            {"requestId": request_id, "sockets": [_describe(socket) for socket in sockets]},
        )

    async def fetch_remote_sockets(self, opts: BroadcastOptions) -> list[dict[str, Any]]:
        """The matching sockets of the OTHER processes, as they describe them (``id``,
        ``handshake``, ``rooms``, ``data``); those that did not answer in time are missing."""
        others = await self.server_count() - 1
        if others <= 0 or opts.flags.local:
            return []
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def done(answers: list[Any]) -> None:
            if not future.done():
                future.set_result(answers)

        data = {"opts": {"rooms": list(opts.rooms), "except": list(opts.except_rooms), "flags": {}}}
        self._start_request(MessageType.FETCH_SOCKETS, data, others, done)
        return [item for item in await future if type(item) is dict]

    # server count -------------------------------------------------------------------------------

    async def server_count(self) -> int:
        """Processes listening on this namespace's channel (this one included), as Redis
        counts them; 1 while Redis does not answer."""
        try:
            counts = await self._link.commands.pubsub_numsub(self._public_channel)
        except Exception as error:  # an outage: only this process is known
            logger.debug("server count unavailable: %s", error)
            return 1
        return max(1, int(counts[0][1])) if counts else 1

    # --- connection state recovery ------------------------------------------------------------

    def persist_session(self, session: SocketSession) -> None:
        options = self.recovery_options
        if options is None:
            return
        stored = entries.Session(
            session.sid,
            session.pid,
            sorted(session.rooms),
            session.data if session.data is not None else {},
        )
        try:
            value = entries.encode_session(stored)
        except TypeError as error:
            logger.warning("the session of socket %s cannot be kept (%s)", session.sid, error)
            return
        self._link.set_later(
            self.factory.session_key_prefix + session.pid,
            value,
            int(options.max_disconnection * 1000),
        )

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        options = self.recovery_options
        link = self._link
        if options is None or not entries.STREAM_ID.fullmatch(offset):
            return None
        if not await self._reader_reached(offset):
            return None  # the reader would hand this client again what it already has
        client = link.commands
        stream = link.stream_key
        key = self.factory.session_key_prefix + pid
        pipeline = client.pipeline(transaction=True)
        pipeline.get(key)
        pipeline.delete(key)
        pipeline.xrange(stream, offset, offset, count=1)
        stored, _, found = await pipeline.execute()
        if not stored or not found:
            return None
        try:
            session = entries.decode_session(stored)
        except MalformedEntry as error:
            link.log_once(
                "session " + error.kind, "ignored a malformed kept session (%s)", error.kind
            )
            return None
        if session.pid != pid:
            return None
        rooms = frozenset(session.rooms)
        missed: list[EncodedPacket] = []
        parser = self.namespace.server.parser
        cursor = offset
        # Replay up to where this process's reader is, and no further: what comes after is
        # delivered by the reader once the socket is back in its rooms, which happens right
        # after this returns, with no wait in between. So nothing is missed nor given twice.
        while True:
            target = link.last_id
            if target is None or parse_id(cursor) >= parse_id(target):
                break
            batch: Any = await client.xrange(stream, next_id(cursor), target, count=RESTORE_COUNT)
            if not batch:
                cursor = target
                continue
            for raw_id, fields in batch:
                cursor = raw_id.decode()
                packet = self._missed_packet(fields, cursor, rooms, parser)
                if packet is not None:
                    missed.append(packet)
            if len(missed) > options.max_packets:
                return None  # more than this server would keep: a fresh session
        data = session.data
        return RestoredSession(
            session.sid, session.pid, rooms, data if isinstance(data, dict) else None, missed
        )

    async def _reader_reached(self, offset: str) -> bool:
        """Wait (a little) until this process's reader has handed over the entry ``offset``:
        a client coming from a faster process may be ahead of it."""
        link = self._link
        wanted = parse_id(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READER_CATCH_UP
        while link.last_id is None or parse_id(link.last_id) < wanted:
            if loop.time() >= deadline or not link.reader_up:
                return False
            await asyncio.sleep(0.01)
        return True

    def _missed_packet(
        self, fields: Mapping[bytes, bytes], entry_id: str, rooms: frozenset[str], parser: Any
    ) -> EncodedPacket | None:
        if fields.get(b"nsp") != self._nsp.encode() or fields.get(b"type") != b"3":
            return None
        try:
            broadcast = entries.read_broadcast(entries.decode_entry(fields))
            if broadcast.volatile or broadcast.request_id is not None:
                return None  # never promised to arrive, or not an offset-carrying broadcast
            if broadcast.rooms and broadcast.rooms.isdisjoint(rooms):
                return None
            if not broadcast.except_rooms.isdisjoint(rooms):
                return None
            return entries.packet_of(broadcast.args, self._nsp, parser, entry_id)
        except (MalformedEntry, TypeError, ValueError):
            return None


def _describe(socket: Socket) -> dict[str, Any]:
    """A socket as socket.io describes it to other processes (FETCH_SOCKETS_RESPONSE)."""
    handshake = socket.handshake
    return {
        "id": socket.id,
        "handshake": {
            "headers": dict(handshake.headers),
            "time": str(handshake.time),
            "address": handshake.address,
            "xdomain": False,
            "secure": handshake.secure,
            "issued": handshake.issued,
            "url": handshake.url,
            "query": dict(handshake.query),
            "auth": handshake.auth,
        },
        "rooms": sorted(socket.rooms),
        "data": socket._data if socket._data is not None else {},
    }


def _preview(fields: Mapping[bytes, bytes]) -> str:
    text = repr(dict(fields))
    return text if len(text) <= 120 else text[:117] + "..."


def _log_task_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a request to other processes failed", exc_info=task.exception())


__all__ = ["RedisStreamsAdapter", "RedisStreamsNamespaceAdapter"]
