"""``req.io``: the RequestIO of a realtime route — talking back to the client that sent the event.

Every method takes effect at once and in call order, with no ``await``, from ``async def`` and
plain ``def`` routes alike; from a worker thread the call is handed to the event loop in order.
Where there is something to wait for (the client's ack, a forwarded route) the method returns a
:class:`~expressio.io.loop_bridge.Pending`: ``await`` it in ``async def`` code, or call its
``result(timeout)`` from a ``def`` route.

```python
@app.io.route("example")
def example(req):
    req.io.emit("event", {"this": "is sent as an event to the client"})
    req.io.broadcast("shout-out", {"this": "goes to every client, except this one"})
    req.io.respond({"sends": "this data back to the client as an acknowledgment"})
    req.io.join("hipster")
    req.io.room("hipster").broadcast("hey", {"this": "goes to every hipster but me"})
    req.io.leave("hipster")
    req.io.route("some-other-route")
```
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..protocol.socketio import encode_event
from ..realtime import RESERVED_EVENTS, check_event_name
from ..realtime.acks import ack_value
from .loop_bridge import LoopBridge, Pending, fail, settle
from .routes import (
    RouteChain,
    RouteHandler,
    RouteTable,
    forward_in_this_thread,
    is_async_callable,
)

if TYPE_CHECKING:
    from ..realtime import Ack, Namespace, Socket

logger = logging.getLogger("expressio.io")

#: The reserved names a route may take: they run on each connection's lifecycle.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})

DEFAULT_ACK_TIMEOUT = 10.0  # seconds

UNKNOWN_ROUTE = "Unknown route: "
SESSION_UNAVAILABLE = {"error": "Session store unavailable"}
MISSING: Any = object()  # "no data argument" (None is a value a client can get)
_MISSING = MISSING


check_emittable = check_event_name


def check_encodable(bridge: LoopBridge, event: str, args: tuple[Any, ...]) -> None:
    """Off the loop's thread, encode the event once here, so that data JSON cannot carry
    raises in the caller (a ``def`` route), as it does on the loop: once handed over, an
    error could only be logged. On the loop the call itself raises."""
    if not bridge.on_loop_thread():
        encode_event("/", event, args)


def payload(data: Any) -> tuple[Any, ...]:
    """``emit(event)`` sends no argument; ``emit(event, data)`` sends one (``None`` included)."""
    return () if data is _MISSING else (data,)


class RequestIO:
    """The IO of one realtime request: this client, its rooms, its ack, its route chain."""

    __slots__ = ("_ack", "_bridge", "_chain", "_req", "socket")

    def __init__(
        self, socket: Socket, ack: Ack | None, routes: RouteTable, bridge: LoopBridge
    ) -> None:
        self.socket = socket
        self._ack = ack
        self._chain = RouteChain(routes, self)
        self._bridge = bridge
        self._req: Any = None  # the SocketRequest, set by it

    @property
    def chain(self) -> RouteChain:
        """The routes this request runs (the first one and every forward)."""
        return self._chain

    @property
    def namespace(self) -> Namespace:
        return self.socket.namespace

    # -- this client -----------------------------------------------------------------------

    def emit(
        self, event: str, data: Any = _MISSING, callback: Callable[..., Any] | None = None
    ) -> None:
        """Send ``event`` with ``data`` to this client only. With ``callback``, the client's
        ack arguments reach it spread (``callback(*args)``), on the event loop."""
        check_emittable(event)
        args = payload(data)
        check_encodable(self._bridge, event, args)
        self._bridge.call(_emit_to, self.socket, event, args, callback)

    def emit_with_ack(
        self, event: str, data: Any = _MISSING, *, timeout: float = DEFAULT_ACK_TIMEOUT
    ) -> Pending:
        """Send ``event`` and return the client's answer as a :class:`Pending`: the single
        argument, a tuple when several, ``None`` when none; ``TimeoutError`` after ``timeout``
        seconds (also when the client disconnects before answering)."""
        check_emittable(event)
        pending = Pending()
        self._bridge.call(self._start_emit_with_ack, event, payload(data), timeout, pending)
        return pending

    def _start_emit_with_ack(
        self, event: str, args: tuple[Any, ...], timeout: float, pending: Pending
    ) -> None:
        # The emit itself happens here, synchronously, so that it keeps its place among the
        # emits around it; only the wait is deferred.
        future = pending.future
        socket = self.socket
        timer: asyncio.TimerHandle | None = None

        def answered(*answer: Any) -> None:
            if timer is not None:
                timer.cancel()
            settle(future, ack_value(answer))

        def give_up() -> None:
            # Forget the callback too: a client that never answers must not grow the table.
            if ack_id is not None:
                socket.cancel_ack(ack_id)
            fail(future, TimeoutError(f"no ack for {event!r} within {timeout} s"))

        try:
            ack_id = socket.emit(event, *args, callback=answered)
        except Exception as error:
            fail(future, error)
            return
        timer = asyncio.get_running_loop().call_later(timeout, give_up)

    def respond(self, *args: Any) -> None:
        """Answer the client's acknowledgement callback with ``args`` (once; later calls and
        events sent without a callback are a no-op, logged at debug level).

        With a stored session changed by this request, the answer leaves once the session is
        saved: a client that reacts to the ack with an HTTP request finds the change there."""
        ack = self._ack
        if ack is None:
            logger.debug("respond() ignored: the client asked for no acknowledgement")
            return
        self._bridge.call(self._respond, ack, args)

    def _respond(self, ack: Ack, args: tuple[Any, ...]) -> None:
        session = getattr(self._req, "session", None)
        if session is None or not session.persistent or ack.answered:
            _answer(ack, args)
            return
        try:
            saving = session.save_if_changed()
        except Exception as error:
            session_failed(self._req.event, self.socket.id, ack, error, "save")
            return
        if saving is None:
            _answer(ack, args)
            return

        async def answer_when_saved() -> None:
            try:
                await saving
            except Exception as error:
                session_failed(self._req.event, self.socket.id, ack, error, "save")
                return
            _answer(ack, args)

        task = asyncio.ensure_future(answer_when_saved())
        _answering.add(task)
        task.add_done_callback(_answering.discard)

    def join(self, room: str) -> None:
        """Join ``room``. Done when this returns, also from a worker thread (which waits for
        the loop), so ``req.socket.rooms`` read next includes it."""
        self._bridge.call_and_wait(self.socket.join, room)

    def leave(self, room: str) -> None:
        """Leave ``room``; done when this returns, like :meth:`join`."""
        self._bridge.call_and_wait(self.socket.leave, room)

    def disconnect(self) -> None:
        """Close this client's connection, every namespace on it included (it is told, and
        does not reconnect)."""
        self._bridge.call(self.socket.disconnect, True)

    # -- other clients ---------------------------------------------------------------------

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        """Send to every client of the namespace except this one."""
        check_emittable(event)
        args = payload(data)
        check_encodable(self._bridge, event, args)
        self._bridge.call(_broadcast, self.socket, event, args, None)

    def room(self, room: str) -> RequestRoom:
        """``req.io.room(room).broadcast(event, data)``: everyone in ``room`` but this client."""
        return RequestRoom(self, room)

    # -- routes ----------------------------------------------------------------------------

    def route(self, name: str) -> Pending:
        """Forward this same ``req`` to route ``name``. It starts at once; the returned
        :class:`Pending` resolves when it has finished (also when it failed: failures are
        logged and answered to the client's ack, not raised here).

        Called from a worker thread (a ``def`` route) for a ``def`` route, the route runs
        right here, in this thread, and has finished when this returns: waiting in a worker
        thread for a route that needs another worker thread could wait forever once every
        thread is taken by such waits."""
        bridge = self._bridge
        if not bridge.on_loop_thread():
            target = self._chain.routes.get(name)
            if target is not None and not is_async_callable(target):
                return forward_in_this_thread(
                    bridge, self._chain, name, self._req, self._run_claimed
                )
        pending = Pending()
        bridge.call(self._start_route, name, pending)
        return pending

    def _run_claimed(self, name: str, handler: RouteHandler, pending: Pending) -> None:
        task = self._chain.run(name, handler, self._req)
        task.add_done_callback(lambda _: settle(pending.future))

    def _start_route(self, name: str, pending: Pending) -> None:
        task = self._chain.start(name, self._req)
        task.add_done_callback(lambda _: settle(pending.future))

    def on(self, event: str, handler: RouteHandler) -> RouteHandler:
        """A route for this client only: ``handler(req)`` runs on each ``event`` it sends from
        now on (after the app's route of the same name, if any). ``disconnect`` is allowed:
        it runs when this client leaves."""
        if event in RESERVED_EVENTS and event != "disconnect":
            raise ValueError(f"{event!r} is a reserved event name; only 'disconnect' is allowed")
        listeners = getattr(self._req, "_listeners", None)
        if listeners is None:
            raise RuntimeError("req.io.on() is only available in realtime routes")
        self._bridge.call(listeners.setdefault(event, []).append, handler)
        return handler

    # -- for the event pipeline ------------------------------------------------------------

    def route_missing(self, name: str) -> None:
        ack = self._ack
        if ack is not None and not ack.answered:
            ack({"error": UNKNOWN_ROUTE + name})

    def route_failed(self, name: str, error: BaseException) -> None:
        ack = self._ack
        if ack is not None and not ack.answered:
            ack.fail()

    def __repr__(self) -> str:
        return f"<RequestIO socket={self.socket.id} namespace={self.socket.namespace.name}>"


class RequestRoom:
    """``req.io.room(room)``: broadcasts to a room, leaving out the sender."""

    __slots__ = ("_io", "name")

    def __init__(self, io: RequestIO, name: str) -> None:
        self._io = io
        self.name = name

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        check_emittable(event)
        io, args = self._io, payload(data)
        check_encodable(io._bridge, event, args)
        io._bridge.call(_broadcast, io.socket, event, args, self.name)


_answering: set[asyncio.Future[None]] = set()  # strong references to acks waiting for a save


def session_failed(
    event: str, socket_id: str, ack: Ack | None, error: Exception, step: str
) -> None:
    """Log a session load/save failure and answer a pending ack: ``{"error": "Session store
    unavailable"}`` when the store is unreachable, else ``{"error": "Internal Server Error"}``."""
    unavailable = getattr(error, "status", None) == 503
    if unavailable:
        logger.error(
            "session store unavailable (%s) at the %s for event %r of socket %s",
            error,
            step,
            event,
            socket_id,
        )
    else:
        logger.error(
            "session %s failed for event %r of socket %s",
            step,
            event,
            socket_id,
            exc_info=error,
        )
    if ack is not None and not ack.answered:
        if unavailable:
            ack(SESSION_UNAVAILABLE)
        else:
            ack.fail()


def _answer(ack: Ack, args: tuple[Any, ...]) -> None:
    try:
        ack(*args)
    except Exception:
        # e.g. a value JSON cannot carry: the client still gets an answer
        logger.exception("respond() failed; answering the client with an error")
        ack.fail()


def _emit_to(
    socket: Socket, event: str, args: tuple[Any, ...], callback: Callable[..., Any] | None
) -> None:
    socket.emit(event, *args, callback=callback)


def _broadcast(socket: Socket, event: str, args: tuple[Any, ...], room: str | None) -> None:
    socket.namespace.emit(event, *args, to=room, skip=socket.id)
