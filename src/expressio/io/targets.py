"""Who an IO call reaches: every client of a namespace, or those in some rooms, minus some.

``app.io``, ``app.io.of(ns)``, ``app.io.room("a", "b")``, ``req.io`` (minus the sender) and
``req.io.room(r)`` all target clients through a :class:`Target`: the namespace and the
adapter's :class:`~expressio.realtime.BroadcastOptions` (rooms, rooms left out, flags).
Selectors compose as socket.io's ``to``/``except`` do: ``room`` adds rooms to reach, ``excluding``
adds rooms to leave out, in any order (``room("a").excluding("b").room("c")`` reaches the
clients in ``a`` or ``c`` that are not in ``b``), and ``volatile`` drops the packet for a client
that cannot take it right now. A client in two selected rooms is reached once.

Every method takes effect at once and in call order, from any thread (through the loop bridge).
A packet is encoded once, in the calling thread when it is not the loop's (so that data JSON
cannot carry raises in the caller, also in a ``def`` route running in a worker thread), and
handed to the namespace's adapter on the loop. What can be waited for (``broadcast_with_ack``,
``fetch_sockets``) returns a :class:`~expressio.io.loop_bridge.Pending`.
"""

from __future__ import annotations

import asyncio
import logging
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from ..realtime import BroadcastFlags, BroadcastOptions, check_event_name
from ..realtime.acks import ack_value
from ..realtime.adapter import NO_ROOMS
from .fetched import FetchedSocket
from .loop_bridge import Pending, fail, settle

if TYPE_CHECKING:
    import concurrent.futures

    from ..protocol.parsers import Parser
    from ..protocol.socketio import EncodedPacket
    from ..realtime import Namespace
    from .loop_bridge import LoopBridge
    from .namespace import IONamespace

logger = logging.getLogger("expressio.io")

#: "no data argument": ``emit(event)`` sends no argument, ``emit(event, None)`` sends null.
MISSING: Final[Any] = object()

#: ``broadcast_with_ack``'s default wait for the clients' answers, in seconds
DEFAULT_BROADCAST_ACK_TIMEOUT = 5.0


class FetchSocketsLimitError(RuntimeError):
    """``fetch_sockets()`` matched more clients than the ``fetch sockets limit`` setting."""


def payload(data: Any) -> tuple[Any, ...]:
    """The event's arguments: none for ``MISSING``, else the one ``data`` (``None`` included)."""
    return () if data is MISSING else (data,)


def check_encodable(bridge: LoopBridge, parser: Parser, event: str, args: tuple[Any, ...]) -> None:
    """Off the loop's thread, encode the event once here, so that data ``parser`` cannot
    carry raises in the caller (a ``def`` route), as it does on the loop: once handed over,
    an error could only be logged. On the loop the call itself raises."""
    if not bridge.on_loop_thread():
        parser.encode_event("/", event, args)


def check_timeout(timeout: Any) -> float:
    """A wait in seconds: a positive number (``ValueError`` for zero or less)."""
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout is a number of seconds, not {type(timeout).__name__}")
    seconds = float(timeout)
    if not seconds > 0:  # also refuses NaN
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return seconds


def room_names(rooms: tuple[Any, ...], method: str) -> frozenset[str]:
    if not rooms:
        raise TypeError(f"{method}() needs at least one room name")
    for room in rooms:
        if not isinstance(room, str):
            raise TypeError(f"a room name is a str, not {type(room).__name__}")
    return frozenset(rooms)


def one_or_more_rooms(room: str | Iterable[str], method: str) -> tuple[str, ...]:
    """``join("a")`` or ``join(["a", "b"])``."""
    rooms = (room,) if isinstance(room, str) else tuple(room)
    room_names(rooms, method)
    return rooms


class Target:
    """Clients of one namespace: all of them or those in some rooms, minus those in others."""

    __slots__ = ("_io", "_opts")

    def __init__(self, io: IONamespace, opts: BroadcastOptions) -> None:
        self._io = io
        #: the adapter's description of whom this reaches
        self._opts = opts

    # -- selectors ---------------------------------------------------------------------------

    def room(self, *rooms: str) -> Target:
        """The clients in any of ``rooms`` (added to the rooms already chosen)."""
        opts = self._opts
        return Target(self._io, opts._replace(rooms=opts.rooms | room_names(rooms, "room")))

    def excluding(self, *rooms: str) -> Target:
        """Leave out the clients in any of ``rooms`` (a socket id leaves out that client)."""
        opts = self._opts
        added = room_names(rooms, "excluding")
        return Target(self._io, opts._replace(except_rooms=opts.except_rooms | added))

    @property
    def volatile(self) -> Target:
        """The same clients; a packet is dropped for a client whose connection cannot take it
        right now (a websocket under backpressure, a polling client with no request waiting),
        never queued."""
        opts = self._opts
        return Target(self._io, opts._replace(flags=opts.flags._replace(volatile=True)))

    # -- sending -----------------------------------------------------------------------------

    def broadcast(self, event: str, data: Any = MISSING) -> None:
        """Send ``event`` with ``data`` to every client targeted, at once and in call order."""
        check_event_name(event)
        namespace = self._io.namespace
        # Encoded here, in the calling thread: data JSON cannot carry raises in the caller.
        packet = namespace.server.parser.encode_event(namespace.name, event, payload(data))
        self._io.bridge.call(_broadcast, namespace, packet, self._opts)

    def broadcast_with_ack(
        self, event: str, data: Any = MISSING, *, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """Send ``event`` to every client targeted, asking each for an ack. The returned
        :class:`Pending` resolves to the list of their answers (each the single ack argument,
        a tuple when several, ``None`` when none) as soon as every one answered, else after
        ``timeout`` seconds with the answers received (the missing ones are logged)."""
        check_event_name(event)
        seconds = check_timeout(timeout)
        args = payload(data)
        bridge = self._io.bridge
        check_encodable(bridge, self._io.namespace.server.parser, event, args)
        pending = Pending()
        opts = self._opts
        bridge.call(
            _start_broadcast_with_ack,
            self._io.namespace,
            event,
            args,
            opts._replace(flags=opts.flags._replace(timeout=seconds)),
            seconds,
            pending.future,
        )
        return pending

    # -- the clients themselves --------------------------------------------------------------

    def fetch_sockets(self) -> Pending:
        """The clients targeted, as a list of :class:`~expressio.io.fetched.FetchedSocket`
        (``id``, ``rooms``, ``handshake``, ``data``; ``emit``, ``join``, ``leave``,
        ``disconnect``). More than the ``fetch sockets limit`` setting raises
        :class:`FetchSocketsLimitError`."""
        pending = Pending()
        self._io.bridge.call(_start_fetch, self._io, self._opts, pending.future)
        return pending

    def join(self, room: str | Iterable[str]) -> None:
        """Make every client targeted join ``room`` (or each of several)."""
        rooms = one_or_more_rooms(room, "join")
        self._io.bridge.call(_add_sockets, self._io.namespace, self._opts, rooms)

    def leave(self, room: str | Iterable[str]) -> None:
        """Make every client targeted leave ``room`` (or each of several)."""
        rooms = one_or_more_rooms(room, "leave")
        self._io.bridge.call(_del_sockets, self._io.namespace, self._opts, rooms)

    def disconnect(self, close: bool = False) -> None:
        """Disconnect every client targeted from the namespace (they are told, and do not
        reconnect by themselves); ``close=True`` closes their whole connections."""
        self._io.bridge.call(_disconnect_sockets, self._io.namespace, self._opts, bool(close))

    def __repr__(self) -> str:
        opts = self._opts
        rooms = sorted(opts.rooms) if opts.rooms else "all"
        excluding = f" excluding={sorted(opts.except_rooms)}" if opts.except_rooms else ""
        volatile = " volatile" if opts.flags.volatile else ""
        return f"<Target {self._io.name} rooms={rooms}{excluding}{volatile}>"


def everyone(io: IONamespace, excluding: str | None = None) -> Target:
    """Every client of ``io``'s namespace, minus the socket ``excluding`` when given."""
    except_rooms = frozenset((excluding,)) if excluding is not None else NO_ROOMS
    return Target(io, BroadcastOptions(NO_ROOMS, except_rooms, BroadcastFlags()))


# -- on the loop --------------------------------------------------------------------------------


def _broadcast(namespace: Namespace, packet: EncodedPacket, opts: BroadcastOptions) -> None:
    namespace.adapter.broadcast(packet, opts)


def _add_sockets(namespace: Namespace, opts: BroadcastOptions, rooms: tuple[str, ...]) -> None:
    namespace.adapter.add_sockets(opts, rooms)


def _del_sockets(namespace: Namespace, opts: BroadcastOptions, rooms: tuple[str, ...]) -> None:
    namespace.adapter.del_sockets(opts, rooms)


def _disconnect_sockets(namespace: Namespace, opts: BroadcastOptions, close: bool) -> None:
    namespace.adapter.disconnect_sockets(opts, close)


def _start_broadcast_with_ack(
    namespace: Namespace,
    event: str,
    args: tuple[Any, ...],
    opts: BroadcastOptions,
    timeout: float,
    future: concurrent.futures.Future[Any],
) -> None:
    # The packet leaves here, synchronously, so that it keeps its place among the broadcasts
    # around it; only the wait is deferred. As socket.io does, it is complete when every
    # process reported how many clients it asked (one process, or server_count() of them
    # with a cross-process adapter) and that many answers came.
    adapter = namespace.adapter
    answers: list[Any] = []
    expected = 0  # clients asked, on the processes that reported
    processes: int | None = None if getattr(adapter, "cross_process", False) else 1
    reported = 0
    finished = False  # a plain flag: the future's own done() takes a lock, once per answer
    timer: asyncio.TimerHandle | None = None
    stop_waiting: Callable[[], None] | None = None
    counting: asyncio.Future[int] | None = None  # server_count(), kept referenced until done

    def finish() -> None:
        nonlocal finished
        finished = True
        if timer is not None:
            timer.cancel()
        if stop_waiting is not None:
            stop_waiting()
        settle(future, answers)

    def check() -> None:
        if (
            not finished
            and processes is not None
            and reported >= processes
            and len(answers) >= expected
        ):
            finish()

    def on_client_count(count: int) -> None:
        nonlocal expected, reported
        expected += count
        reported += 1
        check()

    def on_ack(*answer: Any) -> None:
        if finished:
            return
        answers.append(answer[0] if len(answer) == 1 else ack_value(answer))
        check()

    def counted(task: asyncio.Future[int]) -> None:
        nonlocal processes, counting
        counting = None
        failed = task.cancelled() or task.exception() is not None
        processes = 1 if failed else task.result()  # failed: only this process can answer
        check()

    def give_up() -> None:
        if finished:
            return
        logger.warning(
            "broadcast_with_ack %r: %d of %d clients did not answer within %s s "
            "(%d of %s processes said how many clients they asked)",
            event,
            expected - len(answers),
            expected,
            timeout,
            reported,
            processes if processes is not None else "?",
        )
        finish()

    stop_waiting = adapter.broadcast_with_ack(event, args, opts, on_client_count, on_ack)
    if finished:  # nobody to wait for (finish() ran before stop_waiting was known)
        stop_waiting()
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no server running: nobody could answer
        finish()
        return
    if processes is None:
        counting = asyncio.ensure_future(adapter.server_count())
        counting.add_done_callback(counted)
    timer = loop.call_later(timeout, give_up)


def _start_fetch(
    io: IONamespace, opts: BroadcastOptions, future: concurrent.futures.Future[Any]
) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no server running: no client either
        settle(future, [])
        return
    io.tasks.spawn(_fetch(io, opts, future))


async def _fetch(
    io: IONamespace, opts: BroadcastOptions, future: concurrent.futures.Future[Any]
) -> None:
    try:
        sockets = await io.namespace.adapter.fetch_sockets(opts)
    except Exception as error:
        fail(future, error)
        return
    limit = io.fetch_sockets_limit
    if len(sockets) > limit:
        fail(
            future,
            FetchSocketsLimitError(
                f"fetch_sockets() matched {len(sockets)} clients, more than the "
                f"'fetch sockets limit' setting ({limit}): narrow it with room(...) or "
                "excluding(...), or raise the setting"
            ),
        )
        return
    settle(future, [FetchedSocket(io, socket) for socket in sockets])
