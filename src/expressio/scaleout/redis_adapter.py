"""The Redis adapter: rooms, broadcasts and every targeted operation across the processes of an
app, in the wire format of Node's ``@socket.io/redis-adapter`` (see :mod:`.wire`).

``RedisAdapter(url, channel="expressio")`` is an adapter *factory*: give it to the realtime
server and each namespace gets a :class:`RedisNamespaceAdapter`; all of them share one
:class:`~expressio.scaleout.link.RedisLink` (one publishing connection and one subscribing
connection per process)::

    server = RealtimeServer(adapter_factory=RedisAdapter("redis://127.0.0.1:6379/0"))

``channel`` is the Node adapter's ``key``: expressio processes with ``channel="socket.io"`` and
Node socket.io processes with ``createAdapter(pub, sub, {key: "socket.io"})`` form one cluster.

Each process keeps its own room index (who is in which room *here*). Whatever this process
starts acts on its own sockets first, at once, then is published for the others:

- a broadcast is delivered locally and published once, as a packet object each process
  encodes once for its own clients; a broadcast to one room goes to that room's channel, which
  a process without the room skips without decoding it;
- ``broadcast_with_ack``: each process sends to its matching clients, reports how many, and
  forwards each client's ack; the sender knows how many processes to hear from (``PUBSUB
  NUMSUB``), so it completes as soon as every client of every live process answered;
- ``fetch_sockets`` asks every other process and waits for their answers at most
  ``requests_timeout`` seconds (5 by default, as Node's): a process that died meanwhile costs
  that wait, never a hang; the sockets of other processes are
  :class:`~expressio.scaleout.remote.RemoteSocket` views;
- ``add_sockets`` / ``del_sockets`` / ``disconnect_sockets`` (``room(r).join(...)`` and the
  like, and the methods of those views) are requests nobody answers;
- ``server_side_emit`` reaches the namespace of every other process; with an ack it gathers
  one answer from each (at most ``requests_timeout`` seconds);
- ``server_count`` is the number of processes subscribed to the namespace's request channel.

Anything malformed or foreign on the channels is dropped; each kind of problem is logged once
(at warning level), then counted in :attr:`RedisAdapter.ignored`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..protocol.parsers import decode_event
from ..protocol.socketio import DecodeError, EncodedPacket
from ..realtime.adapter import (
    AckCallback,
    BroadcastFlags,
    BroadcastOptions,
    InMemoryAdapter,
    SocketView,
)
from ..realtime.socket import RoomLimitError
from ..realtime.tasks import TaskSet
from ..sessions.redaction import redacted
from . import wire
from .answering import acks_for_another, answer_once, asker_wait
from .link import RedisLink
from .pending import AckRequests, PendingRequests, new_request_id
from .remote import encode_details, remote_sockets

if TYPE_CHECKING:
    from ..realtime.namespace import Namespace

logger = logging.getLogger("expressio.scaleout")

DEFAULT_CHANNEL = "expressio"
#: seconds a request waits for the other processes' answers (Node's ``requestsTimeout``)
REQUESTS_TIMEOUT = 5.0

_NO_FLAGS: dict[str, Any] = {}
_VOLATILE: dict[str, Any] = {"volatile": True}


class RedisAdapter:
    """Adapter factory for :class:`~expressio.realtime.RealtimeServer`: processes that share a
    Redis and a ``channel`` form one app; another ``channel`` is another app on the same Redis.

    The connection starts lazily, on the running loop, at the first socket or broadcast (so an
    app built at import time and then forked into workers opens its connections in each worker);
    ``await adapter.start()`` at server startup connects before the first client instead.
    """

    cross_process = True

    def __init__(
        self,
        url: str,
        channel: str = DEFAULT_CHANNEL,
        *,
        requests_timeout: float = REQUESTS_TIMEOUT,
    ) -> None:
        wire.check_key(channel)
        wire.require_msgpack()
        if not requests_timeout > 0:
            raise ValueError(f"requests_timeout must be positive, got {requests_timeout!r}")
        self.url = url
        self.channel = channel
        self.requests_timeout = float(requests_timeout)
        self.link = RedisLink(url, control_channel=f"{channel}#".encode())
        self.adapters: dict[str, RedisNamespaceAdapter] = {}
        #: messages dropped as malformed or foreign
        self.ignored = 0
        self._logged_kinds: set[str] = set()

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
        """Wait until every message sent so far has been published (or dropped)."""
        await self.link.flush()

    async def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.pending.settle_all()
        await self.link.close()

    def ignore(self, channel: bytes, problem: wire.MalformedMessage) -> None:
        """Drop a message: logged the first time for each kind of problem, counted always."""
        self.ignored += 1
        if problem.kind in self._logged_kinds:
            logger.debug("ignored a message on Redis channel %r: %s", channel, problem)
            return
        self._logged_kinds.add(problem.kind)
        logger.warning(
            "ignored a malformed or foreign message on Redis channel %r (%s); "
            "further ones of this kind are dropped silently",
            channel.decode(errors="replace"),
            problem,
        )


class RedisNamespaceAdapter(InMemoryAdapter):
    """One namespace's rooms and targeted operations, across processes (see the module)."""

    cross_process = True

    def __init__(self, namespace: Namespace, factory: RedisAdapter) -> None:
        super().__init__(namespace)
        self.factory = factory
        self.channels = wire.Channels(factory.channel, namespace.name)
        #: requests of this namespace waiting for the other processes' answers
        self.pending = PendingRequests()
        #: broadcasts with acks this process sent, waiting for counts and acks
        self.acks = AckRequests()
        self._echo: tuple[str, bytes] = ("", b"")
        self._tasks = TaskSet()
        link = self._link = factory.link
        link.psubscribe(self.channels.pattern, self._on_broadcast)
        link.subscribe(self.channels.request, self._on_request)
        link.subscribe(self.channels.response, self._on_response)
        link.subscribe_per_node(self.channels.response_for, self._on_response)
        link.ensure_started()

    @property
    def uid(self) -> str:
        """This process's id in the cluster (new in a forked child)."""
        return self._link.node_id

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
        try:
            # The packet object the other processes expect, from the packet encoded for ours.
            data = decode_event(packet).data
            message = wire.encode_broadcast(
                link.node_id,
                self.namespace.name,
                data,
                opts.rooms,
                opts.except_rooms,
                _VOLATILE if opts.flags.volatile else _NO_FLAGS,
            )
        except (DecodeError, TypeError) as error:
            logger.error("a broadcast could not be published to the other processes: %s", error)
            return
        link.publish(self.channels.broadcast_to(opts.rooms), message)

    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        stop_local = super().broadcast_with_ack(event, args, opts, on_client_count, on_ack)
        if opts.flags.local:
            return stop_local
        link = self._link
        link.ensure_started()
        request_id = new_request_id()
        flags: dict[str, Any] = {}
        if opts.flags.volatile:
            flags["volatile"] = True
        if opts.flags.timeout is not None:
            flags["timeout"] = round(opts.flags.timeout * 1000)
        try:
            message = wire.encode_broadcast_with_ack(
                link.node_id,
                request_id,
                self.namespace.name,
                [event, *args],
                opts.rooms,
                opts.except_rooms,
                flags,
            )
        except TypeError as error:
            logger.error("a broadcast with acks could not reach the other processes: %s", error)
            return stop_local
        stop_waiting = self.acks.open(request_id, on_client_count, on_ack, stop_local)
        link.publish(self.channels.request, message)
        return stop_waiting

    async def fetch_sockets(self, opts: BroadcastOptions) -> Sequence[SocketView]:
        local: list[SocketView] = list(self.targets(opts))
        if opts.flags.local:
            return local
        processes = await self.server_count()
        if processes <= 1:
            return local
        link = self._link
        request = self.pending.open(
            processes - 1,
            self.factory.requests_timeout,
            what=f"fetch_sockets on {self.namespace.name}",
        )
        link.publish(
            self.channels.request,
            wire.encode_fetch(link.node_id, request.id, opts.rooms, opts.except_rooms),
        )
        local.extend(remote_sockets(await request, self._bad_socket))
        return local

    def _bad_socket(self, error: ValueError) -> None:
        problem = wire.MalformedMessage("bad fetched socket", str(error))
        self.factory.ignore(self.channels.response, problem)

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        super().add_sockets(opts, rooms)
        if not opts.flags.local:
            self._publish_sockets_operation(wire.RequestType.REMOTE_JOIN, opts, rooms=rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        super().del_sockets(opts, rooms)
        if not opts.flags.local:
            self._publish_sockets_operation(wire.RequestType.REMOTE_LEAVE, opts, rooms=rooms)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        super().disconnect_sockets(opts, close)
        if not opts.flags.local:
            self._publish_sockets_operation(wire.RequestType.REMOTE_DISCONNECT, opts, close=close)

    def _publish_sockets_operation(
        self,
        kind: wire.RequestType,
        opts: BroadcastOptions,
        rooms: Iterable[str] = (),
        close: bool = False,
    ) -> None:
        link = self._link
        link.ensure_started()
        message = wire.encode_sockets_operation(
            kind, link.node_id, opts.rooms, opts.except_rooms, rooms, close
        )
        link.publish(self.channels.request, message)

    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        link = self._link
        link.ensure_started()
        data = list(args)
        if ack is None:
            link.publish(self.channels.request, wire.encode_server_side_emit(link.node_id, data))
            return
        request_id = new_request_id()
        # Encoded now: data JSON cannot carry raises in the caller, not in a task.
        message = wire.encode_server_side_emit(link.node_id, data, request_id)
        self._tasks.spawn(self._server_side_emit_with_ack(message, request_id, ack))

    async def _server_side_emit_with_ack(
        self, message: bytes, request_id: str, ack: Callable[[list[Any]], None]
    ) -> None:
        others = await self.server_count() - 1
        request = self.pending.open(
            others,
            self.factory.requests_timeout,
            request_id,
            what=f"server_side_emit on {self.namespace.name}",
        )
        if others > 0:
            self._link.publish(self.channels.request, message)
        ack(list(await request))

    async def server_count(self) -> int:
        count = await self._link.numsub(self.channels.request)
        # Redis unreachable, or not subscribed yet: this process is all it can reach.
        return max(count or 0, 1)

    # --- broadcasts of other processes and emitters -------------------------------------------

    def _own_echo(self) -> bytes:
        uid = self._link.node_id
        if self._echo[0] != uid:
            self._echo = (uid, wire.echo_prefix(uid))
        return self._echo[1]

    def _on_broadcast(self, channel: bytes, data: bytes) -> None:
        prefix = self.channels.broadcast
        # A one-room broadcast: a process without that room has nobody to deliver it to.
        if len(channel) > len(prefix) and (
            channel[len(prefix) : -1].decode(errors="replace") not in self._members
        ):
            return
        if data.startswith(self._own_echo()):
            return  # our own broadcast, delivered here already
        try:
            message = wire.decode_broadcast(data)
        except wire.MalformedMessage as problem:
            self.factory.ignore(channel, problem)
            return
        if message.uid == self._link.node_id:
            return
        namespace = self.namespace
        if message.namespace != namespace.name:
            self.factory.ignore(channel, wire.MalformedMessage("packet of another namespace"))
            return
        event = message.data[0]
        try:
            packet = namespace.server.parser.encode_event(namespace.name, event, message.data[1:])
        except TypeError as error:
            self.factory.ignore(
                channel, wire.MalformedMessage("packet this parser cannot carry", str(error))
            )
            return
        flags = BroadcastFlags(volatile=True) if message.volatile else BroadcastFlags()
        self.deliver(packet, BroadcastOptions(message.rooms, message.except_rooms, flags))

    # --- requests of other processes and emitters ---------------------------------------------

    def _on_request(self, channel: bytes, data: bytes) -> None:
        try:
            request = wire.decode_request(data)
        except wire.MalformedMessage as problem:
            self.factory.ignore(channel, problem)
            return
        if request.uid is not None and request.uid == self._link.node_id:
            return  # ours: already done here
        kind = request.type
        RequestType = wire.RequestType
        if kind is RequestType.BROADCAST:
            self._broadcast_for(request)
        elif kind is RequestType.REMOTE_FETCH:
            self._answer_fetch(request)
        elif kind is RequestType.SERVER_SIDE_EMIT:
            self._server_side_for(request)
        elif kind in (
            RequestType.REMOTE_JOIN,
            RequestType.REMOTE_LEAVE,
            RequestType.REMOTE_DISCONNECT,
        ):
            self._sockets_operation_for(request)
        elif kind is RequestType.SOCKETS:
            opts = BroadcastOptions(request.rooms)
            ids = [socket.id for socket in self.targets(opts)]
            self._respond(request, wire.encode_sockets_response(_id(request), ids))
        elif kind is RequestType.ALL_ROOMS:
            self._respond(request, wire.encode_rooms_response(_id(request), self._members))

    def _respond(self, request: wire.Request, message: bytes) -> None:
        """Answer on the requester's own response channel (every socket.io adapter listens
        there too), or on the namespace's when it did not say who it is."""
        uid = request.uid
        channel = self.channels.response_for(uid) if uid else self.channels.response
        self._link.publish(channel, message)

    def _sockets_operation_for(self, request: wire.Request) -> None:
        kind = request.type
        RequestType = wire.RequestType
        if request.by_opts:
            opts = BroadcastOptions(request.rooms, request.except_rooms)
            if kind is RequestType.REMOTE_JOIN:
                InMemoryAdapter.add_sockets(self, opts, request.new_rooms)
            elif kind is RequestType.REMOTE_LEAVE:
                InMemoryAdapter.del_sockets(self, opts, request.new_rooms)
            else:
                InMemoryAdapter.disconnect_sockets(self, opts, request.close)
            return
        # one socket by id: its owner acts and answers, the others stay silent
        assert request.sid is not None
        socket = self.namespace.sockets.get(request.sid)
        if socket is None:
            return
        if kind is RequestType.REMOTE_JOIN:
            assert request.room is not None
            try:
                socket.join(request.room)
            except RoomLimitError as error:
                logger.warning("a join asked by another process was refused: %s", error)
        elif kind is RequestType.REMOTE_LEAVE:
            assert request.room is not None
            socket.leave(request.room)
        else:
            socket.disconnect(request.close)
        if request.request_id is not None:
            self._respond(request, wire.encode_done_response(request.request_id))

    def _answer_fetch(self, request: wire.Request) -> None:
        request_id = _id(request)
        if request_id in self.pending:
            return  # our own request
        sockets = self.targets(BroadcastOptions(request.rooms, request.except_rooms))
        message, changed = encode_details(
            sockets, lambda details: wire.encode_fetch_response(request_id, details)
        )
        if changed:  # some socket's data is not JSON: the others' answer goes anyway; said once
            self.factory.ignore(
                self.channels.request,
                wire.MalformedMessage("socket data JSON cannot carry, sent as {}"),
            )
        self._respond(request, message)

    def _server_side_for(self, request: wire.Request) -> None:
        handle = self.namespace.on_server_side
        if handle is None:
            return  # nobody here listens to other processes (Node's namespace stays silent too)
        request_id = request.request_id
        if request_id is None:
            handle(request.data, None)
            return

        def send(value: Any) -> None:
            try:
                message = wire.encode_server_side_response(request_id, value)
            except TypeError as error:
                logger.error(
                    "a server-side answer JSON cannot carry was replaced by null: %s", error
                )
                message = wire.encode_server_side_response(request_id, None)
            self._respond(request, message)

        handle(request.data, answer_once(send))

    def _broadcast_for(self, request: wire.Request) -> None:
        request_id = _id(request)
        if request_id in self.acks:
            return  # our own request
        flags = request.flags
        opts = BroadcastOptions(
            request.rooms,
            request.except_rooms,
            BroadcastFlags(volatile=bool(flags.get("volatile"))),
        )

        def on_client_count(count: int) -> None:
            self._respond(request, wire.encode_client_count(request_id, count))

        def on_ack(*answer: Any) -> None:
            value = answer[0] if answer else None  # Node forwards the first argument
            try:
                message = wire.encode_client_ack(request_id, value)
            except TypeError as error:
                logger.error("a client's ack msgpack cannot carry was replaced by null: %s", error)
                message = wire.encode_client_ack(request_id, None)
            self._respond(request, message)

        event, *args = request.data
        wait = asker_wait(flags.get("timeout"), self.factory.requests_timeout)
        acks_for_another(self, event, args, opts, on_client_count, on_ack, wait)

    # --- answers to our requests ---------------------------------------------------------------

    def _on_response(self, channel: bytes, data: bytes) -> None:
        try:
            response = wire.decode_response(data)
        except wire.MalformedMessage as problem:
            self.factory.ignore(channel, problem)
            return
        if response.type is wire.RequestType.BROADCAST_CLIENT_COUNT:
            self.acks.client_count(response.request_id, response.value)
            return
        if response.type is wire.RequestType.BROADCAST_ACK:
            self.acks.ack(response.request_id, response.value)
            return
        request = self.pending.get(response.request_id)
        if request is not None:
            request.add(response.value)
        # else: another process's request, or one settled already


def _id(request: wire.Request) -> str:
    """The request id of a request whose type needs one (the wire checked it)."""
    assert request.request_id is not None
    return request.request_id
