"""The streams adapter's requests that wait for answers, and its answers to the other
processes' requests: over pub/sub, as ``@socket.io/redis-streams-adapter`` sends them.

Broadcasts and room operations travel on the stream (:mod:`.streams_adapter`); what waits for
answers would gain nothing from being kept there, so, as in the Node adapter, it goes over
pub/sub, each message the msgpack of a cluster message ``{uid, nsp, type, data}``
(:mod:`.stream_entries`):

- requests go to the namespace's channel ``<prefix>#<nsp>#``, which every process of the
  namespace listens to (its number of subscribers is :meth:`StreamRequests.server_count`);
- answers go to the asker's own channel ``<prefix>#<nsp>#<uid>#``.

What this process asks:

========================  ====================================================================
``fetch_sockets``         FETCH_SOCKETS; each other process answers FETCH_SOCKETS_RESPONSE with
                          its matching sockets, which come back as
                          :class:`~expressio.scaleout.remote.RemoteSocket` views
``server_side_emit``      SERVER_SIDE_EMIT, with a ``requestId`` when answers are wanted; each
                          other process answers SERVER_SIDE_EMIT_RESPONSE once
``broadcast_with_ack``    a BROADCAST with a ``requestId``; each process reports its client
                          count (BROADCAST_CLIENT_COUNT), then each client's ack (BROADCAST_ACK)
========================  ====================================================================

Requests wait for ``server_count() - 1`` answers at most the adapter's ``requests_timeout``
seconds (:mod:`.pending`) and settle with what came. A broadcast with acks hands each
process's client count to the layer above as it comes, as socket.io does; the layer above
knows how many processes to hear from and completes as soon as every count and every ack is
in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..realtime.adapter import (
    AckCallback,
    BroadcastFlags,
    BroadcastOptions,
    InMemoryAdapter,
    SocketView,
)
from ..realtime.tasks import TaskSet
from . import stream_entries as entries
from .answering import acks_for_another, answer_once, asker_wait
from .pending import AckRequests, PendingRequests, new_request_id
from .remote import encode_details, remote_sockets
from .stream_entries import MalformedEntry, MessageType

if TYPE_CHECKING:
    from .stream_link import StreamLink

logger = logging.getLogger("expressio.scaleout")

#: seconds the other processes have to answer a request (socket.io's default)
REQUESTS_TIMEOUT = 5.0

_ANSWERS = frozenset(
    (
        MessageType.BROADCAST_CLIENT_COUNT,
        MessageType.BROADCAST_ACK,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
        MessageType.FETCH_SOCKETS_RESPONSE,
    )
)


class StreamRequests:
    """The pub/sub side of one namespace's streams adapter: its requests and its answers."""

    def __init__(
        self,
        adapter: InMemoryAdapter,
        link: StreamLink,
        channel_prefix: str,
        timeout: float = REQUESTS_TIMEOUT,
    ) -> None:
        self.adapter = adapter
        self.timeout = timeout
        self._link = link
        self._nsp = nsp = adapter.namespace.name
        #: the namespace's channel: every process's requests
        self.channel = f"{channel_prefix}#{nsp}#".encode()
        self._answers_prefix = f"{channel_prefix}#{nsp}#"
        #: fetches and server-side emits waiting for the other processes' answers
        self.pending = PendingRequests()
        #: broadcasts with acks waiting for the other processes' counts and acks
        self.acks = AckRequests()
        self._tasks = TaskSet()
        link.subscribe(self.channel, self._on_message)
        link.subscribe_private(self._answers_prefix, self._on_message)

    def close(self) -> None:
        """Stop waiting for anything: every request settles with what it has."""
        self.pending.settle_all()

    # --- asking -----------------------------------------------------------------------------

    async def server_count(self) -> int:
        """Processes listening on this namespace's channel (this one included), as Redis
        counts them (and Node's adapter); 1 while Redis does not answer."""
        try:
            counts = await self._link.commands.pubsub_numsub(self.channel)
        except Exception as error:  # an outage: only this process is known
            logger.debug("server count unavailable: %s", error)
            return 1
        return max(1, int(counts[0][1])) if counts else 1

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[SocketView]:
        """This process's matching sockets, then those of the other processes that answered
        in time."""
        found: list[SocketView] = list(self.adapter.targets(opts))
        if opts.flags.local:
            return found
        processes = await self.server_count()
        if processes <= 1:
            return found
        request = self.pending.open(
            processes - 1, self.timeout, what=f"fetch_sockets on {self._nsp}"
        )
        self._publish(
            MessageType.FETCH_SOCKETS, {"opts": _options(opts, {}), "requestId": request.id}
        )
        found.extend(remote_sockets(await request, self._bad_socket))
        return found

    def _bad_socket(self, error: ValueError) -> None:
        self._link.log_once(
            "fetched socket", "ignored a socket of a fetch_sockets answer (%s)", error
        )

    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        """``args`` to every other process's namespace; with ``ack``, their answers."""
        data: dict[str, Any] = {"packet": list(args)}
        if ack is None:
            self._publish(MessageType.SERVER_SIDE_EMIT, data)
            return
        data["requestId"] = request_id = new_request_id()
        link = self._link
        link.ensure_started()
        # Encoded now: data msgpack cannot carry raises in the caller, not in a task.
        payload = entries.encode_pubsub(link.uid, self._nsp, MessageType.SERVER_SIDE_EMIT, data)
        self._tasks.spawn(self._gather(payload, request_id, ack), _log_failure)

    async def _gather(
        self, payload: bytes, request_id: str, ack: Callable[[list[Any]], None]
    ) -> None:
        others = await self.server_count() - 1
        request = self.pending.open(
            others, self.timeout, request_id, what=f"server_side_emit on {self._nsp}"
        )
        if others > 0:
            self._link.publish(self.channel, payload)
        ack(list(await request))

    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        """To this process's clients, then to every other process, each of which reports its
        own client count (see the module)."""
        stop_local = InMemoryAdapter.broadcast_with_ack(
            self.adapter, event, args, opts, on_client_count, on_ack
        )
        if opts.flags.local:
            return stop_local
        flags: dict[str, Any] = {}
        if opts.flags.volatile:
            flags["volatile"] = True
        if opts.flags.timeout is not None:
            flags["timeout"] = round(opts.flags.timeout * 1000)
        request_id = new_request_id()
        data = {
            "packet": {"type": 2, "data": [event, *args], "nsp": self._nsp},
            "requestId": request_id,
            "opts": _options(opts, flags),
        }
        link = self._link
        link.ensure_started()
        try:
            payload = entries.encode_pubsub(link.uid, self._nsp, MessageType.BROADCAST, data)
        except TypeError as error:
            logger.warning("a broadcast with acks could not reach the other processes (%s)", error)
            return stop_local
        stop_waiting = self.acks.open(request_id, on_client_count, on_ack, stop_local)
        link.publish(self.channel, payload)
        return stop_waiting

    def _publish(self, kind: MessageType, data: dict[str, Any]) -> None:
        link = self._link
        link.ensure_started()
        link.publish(self.channel, entries.encode_pubsub(link.uid, self._nsp, kind, data))

    # --- what arrives -----------------------------------------------------------------------

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
                self._broadcast_for(message.uid, entries.read_broadcast(message))
            elif kind == MessageType.SERVER_SIDE_EMIT:
                self._server_side_for(message.uid, data)
            elif kind == MessageType.FETCH_SOCKETS:
                self._fetch_for(message.uid, data)
            elif kind in _ANSWERS:
                self._on_answer(kind, data)
        except MalformedEntry as error:
            self._link.log_once(
                "pubsub " + error.kind,
                "ignored a malformed message on Redis channel %r (%s)",
                self.channel.decode(errors="replace"),
                error.kind,
            )

    def _on_answer(self, kind: int, data: dict[str, Any]) -> None:
        request_id = data.get("requestId")
        if type(request_id) is not str:
            raise MalformedEntry("answer without requestId")
        if kind == MessageType.BROADCAST_CLIENT_COUNT:
            count = data.get("clientCount")
            if type(count) is not int or count < 0:
                raise MalformedEntry("clientCount is not a count")
            self.acks.client_count(request_id, count)
        elif kind == MessageType.BROADCAST_ACK:
            self.acks.ack(request_id, data.get("packet"))
        elif (request := self.pending.get(request_id)) is not None:
            if kind == MessageType.FETCH_SOCKETS_RESPONSE:
                sockets = data.get("sockets")
                if type(sockets) is not list:
                    raise MalformedEntry("fetch_sockets answer without sockets")
                request.add(sockets)
            else:
                request.add(data.get("packet"))
        # else: another process's request, or one settled already

    # --- answering --------------------------------------------------------------------------

    def _answer(self, requester: str, kind: MessageType, data: dict[str, Any]) -> None:
        link = self._link
        try:
            payload = entries.encode_pubsub(link.uid, self._nsp, kind, data)
        except TypeError as error:
            if "packet" not in data:
                logger.warning("an answer to another process could not be encoded (%s)", error)
                return
            logger.error("an answer msgpack cannot carry was replaced by null: %s", error)
            payload = entries.encode_pubsub(link.uid, self._nsp, kind, {**data, "packet": None})
        self._send_answer(requester, payload)

    def _send_answer(self, requester: str, payload: bytes) -> None:
        """On the asker's own channel."""
        self._link.publish(f"{self._answers_prefix}{requester}#".encode(), payload)

    def _broadcast_for(self, requester: str, broadcast: entries.Broadcast) -> None:
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

        event, *args = broadcast.args
        wait = asker_wait(broadcast.timeout, self.timeout)
        acks_for_another(self.adapter, event, args, opts, on_client_count, on_ack, wait)

    def _server_side_for(self, requester: str, data: dict[str, Any]) -> None:
        packet = data.get("packet")
        if type(packet) is not list or not packet or type(packet[0]) is not str:
            raise MalformedEntry("server_side_emit without an event name")
        handler = self.adapter.namespace.on_server_side
        if handler is None:
            return  # nobody here listens to other processes (Node's namespace stays silent too)
        request_id = data.get("requestId")
        if type(request_id) is not str:
            handler(packet, None)
            return

        def send(value: Any) -> None:
            self._answer(
                requester,
                MessageType.SERVER_SIDE_EMIT_RESPONSE,
                {"requestId": request_id, "packet": value},
            )

        handler(packet, answer_once(send))

    def _fetch_for(self, requester: str, data: dict[str, Any]) -> None:
        request_id = data.get("requestId")
        if type(request_id) is not str:
            raise MalformedEntry("fetch_sockets without requestId")
        rooms, except_rooms, _ = entries.read_options(data)
        sockets = self.adapter.targets(BroadcastOptions(rooms, except_rooms))
        link = self._link

        def encode(details: list[dict[str, Any]]) -> bytes:
            answer = {"requestId": request_id, "sockets": details}
            return entries.encode_pubsub(
                link.uid, self._nsp, MessageType.FETCH_SOCKETS_RESPONSE, answer
            )

        payload, changed = encode_details(sockets, encode)
        if changed:
            link.log_once(
                "fetched socket data",
                "socket data msgpack cannot carry was sent to another process as {}",
            )
        self._send_answer(requester, payload)


def _options(opts: BroadcastOptions, flags: dict[str, Any]) -> dict[str, Any]:
    return {"rooms": list(opts.rooms), "except": list(opts.except_rooms), "flags": flags}


def _log_failure(task: Any) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a request to other processes failed", exc_info=task.exception())
