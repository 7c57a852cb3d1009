"""One Socket.IO namespace as express.io sees it: routes, handshake middleware, broadcasts.

``app.io`` is the default namespace ``/``; ``app.io.of("/admin")`` another one. Each has its
own route table, middleware, ``connect``/``disconnect`` hooks, rooms and broadcasts.

The event pipeline, per client event (see :meth:`IONamespace._run_event`):

1. an event with a reserved name, or with no route, goes nowhere; a client that already has
   ``max in flight events`` events running is disconnected (logged as a warning);
2. it waits until the client's ``connect`` hook has finished (so a room joined there is joined);
3. with ``expressio.session`` in use, the connection's session is brought up to date (loaded at
   the first event, re-read from the store when no other event of this client is running, so a
   change made over HTTP after connecting is visible; while one runs, its changes since the
   last save must not be overwritten by a re-read);
4. the route runs with a fresh :class:`~expressio.socket_request.SocketRequest`, and so does
   every route it forwards to;
5. when they have all finished, the session is saved if it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .io_loop import LoopBridge
from .io_routes import RouteHandler, RouteTable, call_route_handler
from .realtime import Ack, Namespace, Socket
from .request_io import (
    LIFECYCLE_EVENTS,
    RESERVED_EVENTS,
    UNKNOWN_ROUTE,
    RequestIO,
    check_emittable,
    check_encodable,
    payload,
    session_failed,
)
from .request_io import MISSING as _MISSING
from .socket_request import HandshakeData, SocketRequest

if TYPE_CHECKING:
    from .application import Application
    from .sessions import Session, SessionManager

logger = logging.getLogger("expressio.io")

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])
HandshakeMiddleware = Callable[..., Any]

#: The ``max in flight events`` setting's default.
DEFAULT_MAX_IN_FLIGHT_EVENTS = 1000



class SocketState:
    """What the express.io layer keeps per connected socket."""

    __slots__ = (
        "handshake",
        "listeners",
        "loading",
        "ready",
        "running",
        "session",
        "session_manager",
        "socket",
    )

    def __init__(self, socket: Socket, handshake: HandshakeData) -> None:
        self.socket = socket
        self.handshake = handshake
        self.listeners: dict[str, list[RouteHandler]] = {}  # req.io.on(...)
        self.ready: asyncio.Future[None] | None = None  # the connect hook, while it runs
        self.session: Session | None = None
        self.session_manager: SessionManager | None = None
        self.loading: asyncio.Future[Session] | None = None
        self.running = 0  # events of this client started and not finished yet

    def event_finished(self, _task: asyncio.Future[None]) -> None:
        self.running -= 1

    async def session_for_event(self, manager: SessionManager) -> Session:
        """The connection's session, brought up to date for an event about to run.

        Loaded at the first event. Afterwards re-read from the store before an event that runs
        alone: while another event of this client is running it may change the session at any
        await, and a re-read would throw those changes away before they are saved. Unsaved
        changes are never thrown away either. Concurrent events of one client share one
        session object. :attr:`running` counts the calling event too."""
        if self.session is None or self.session_manager is not manager:
            if self.loading is None or self.loading.done():
                self.loading = asyncio.ensure_future(self._load(manager))
            return await asyncio.shield(self.loading)
        session = self.session
        if self.loading is not None and not self.loading.done():
            await asyncio.shield(self.loading)  # a re-read already under way: share it
        elif self.running <= 1 and not session.modified:
            self.loading = asyncio.ensure_future(self._reload(session))
            await asyncio.shield(self.loading)
        return session

    async def _load(self, manager: SessionManager) -> Session:
        cookie = self.handshake["headers"].get("cookie")
        session = await manager.load_for_cookie_header(cookie)
        self.session, self.session_manager = session, manager
        return session

    @staticmethod
    async def _reload(session: Session) -> Session:
        try:
            await session.reload()
        except BaseException:
            # The session also keeps the failure for its next settle(); it is reported here.
            with contextlib.suppress(Exception):
                await session.settle()
            raise
        return session


class IONamespace:
    """The express.io API of one namespace (``app.io`` itself, or ``app.io.of(name)``)."""

    def __init__(self, app: Application, namespace: Namespace, bridge: LoopBridge) -> None:
        self.app = app
        self.namespace = namespace
        self.routes = RouteTable()
        self._bridge = bridge
        self._middlewares: list[tuple[HandshakeMiddleware, bool]] = []  # (fn, takes next)
        self._states: dict[str, SocketState] = {}
        self._admitted: dict[str, HandshakeData] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self.authorization: Callable[[], HandshakeMiddleware | None] = lambda: None
        #: events of one client running at once; one more disconnects it (see _dispatch)
        self.max_in_flight_events = DEFAULT_MAX_IN_FLIGHT_EVENTS
        namespace.dispatch = self._dispatch
        namespace.on_connect = self._on_connect
        namespace.on_disconnect = self._on_disconnect
        namespace.use(self._admit)

    @property
    def name(self) -> str:
        return self.namespace.name

    @property
    def sockets(self) -> Mapping[str, Socket]:
        return self.namespace.sockets

    def __repr__(self) -> str:
        return f"<IONamespace {self.name} routes={len(self.routes)}>"

    # -- routes ----------------------------------------------------------------------------

    def route(self, event: str, handler: Any = _MISSING) -> Any:
        """``route(event, handler)``, ``@route(event)``, or ``route(name, {"sub": handler})``
        for the events ``name:sub``. ``connect`` and ``disconnect`` are lifecycle hooks."""
        if handler is _MISSING:

            def register(function: HandlerT) -> HandlerT:
                self.route(event, function)
                return function

            self._check_route_name(event)
            return register
        if isinstance(handler, Mapping):
            for sub, function in handler.items():
                self.route(f"{event}:{sub}", function)
            return handler
        self._check_route_name(event)
        self.routes.add(event, handler)
        return handler

    @staticmethod
    def _check_route_name(event: str) -> None:
        if not isinstance(event, str) or not event:
            raise TypeError(f"a route name is a non-empty str, got {event!r}")
        if event in RESERVED_EVENTS and event not in LIFECYCLE_EVENTS:
            raise ValueError(
                f"{event!r} is a reserved event name; only 'connect' and 'disconnect' "
                "may be routed (they run on each connection's lifecycle)"
            )

    # -- broadcasting ----------------------------------------------------------------------

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        """Send ``event`` with ``data`` to every client of this namespace."""
        check_emittable(event)
        args = payload(data)
        check_encodable(self._bridge, event, args)
        self._bridge.call(_emit, self.namespace, event, args, None)

    def room(self, room: str) -> NamespaceRoom:
        """``room(room).broadcast(event, data)``: every client of this namespace in ``room``."""
        return NamespaceRoom(self, room)

    # -- handshake middleware --------------------------------------------------------------

    def use(self, middleware: HandshakeMiddleware) -> HandshakeMiddleware:
        """Handshake middleware, in registration order, ``def`` or ``async def``.

        ``fn(handshake, next)`` calls ``next()`` to accept or ``next(error)`` to refuse;
        ``fn(handshake)`` accepts by returning and refuses by raising
        ``ConnectionRefusedError("reason")``. The reason reaches the client as its
        ``connect_error`` message; any other exception is logged and refuses with
        ``"Internal Server Error"``. ``def`` middleware runs in a worker thread."""
        if not callable(middleware):
            raise TypeError(f"handshake middleware must be callable, got {middleware!r}")
        self._middlewares.append((middleware, _takes_next(middleware)))
        return middleware

    def _admit(self, socket: Socket, auth: dict[str, Any]) -> Any:
        self._bridge.attach()  # def middleware may use app.io from its thread (see _on_connect)
        authorization = self.authorization()
        if not self._middlewares and authorization is None:
            return None  # nothing to run: accepted synchronously, no task
        return self._admit_async(socket, authorization)

    async def _admit_async(
        self, socket: Socket, authorization: HandshakeMiddleware | None
    ) -> None:
        handshake = HandshakeData(socket.handshake)
        # A verdict must come before the connection's own connect timeout closes it, so
        # that the client still learns why it was refused.
        timeout = self.namespace.server.connect_timeout * 0.9
        if authorization is not None:
            await _run_with_callback(authorization, handshake, timeout, legacy=True)
        for middleware, takes_next in tuple(self._middlewares):
            if takes_next:
                await _run_with_callback(middleware, handshake, timeout, legacy=False)
            else:
                await call_route_handler(middleware, handshake)
        # Handed to the connect hook, which runs right after acceptance; a connection that
        # closed meanwhile is never accepted, so its entry is dropped on the next loop turn.
        self._admitted[socket.id] = handshake
        asyncio.get_running_loop().call_soon(self._admitted.pop, socket.id, None)

    # -- lifecycle -------------------------------------------------------------------------

    def _on_connect(self, socket: Socket, auth: Any) -> None:
        # The loop may be unknown yet: served without a lifespan, to websocket clients that
        # take the direct path (no ASGI call), this is the first time the app runs on it.
        self._bridge.attach()
        handshake = self._admitted.pop(socket.id, None) or HandshakeData(socket.handshake)
        state = SocketState(socket, handshake)
        self._states[socket.id] = state
        if self.app.log_requests:
            logger.info("connect %s%s", socket.id, self._log_suffix())
        if "connect" in self.routes:
            state.ready = self._start_event(state, "connect", (auth,), None)

    def _on_disconnect(self, socket: Socket, reason: str) -> None:
        state = self._states.pop(socket.id, None)
        if state is None:
            return
        if self.app.log_requests:
            logger.info("disconnect %s%s: %s", socket.id, self._log_suffix(), reason)
        if "disconnect" in self.routes or state.listeners.get("disconnect"):
            self._start_event(state, "disconnect", (reason,), None)

    def _log_suffix(self) -> str:
        return "" if self.name == "/" else f" on {self.name}"

    # -- events ----------------------------------------------------------------------------

    def _dispatch(self, socket: Socket, event: str, args: list[Any], ack: Ack | None) -> None:
        if event in RESERVED_EVENTS:
            logger.debug("client event with reserved name %r ignored", event)
            _answer_unrouted(event, ack)
            return
        state = self._states.get(socket.id)
        if state is None:
            return
        if event not in self.routes and event not in state.listeners:
            logger.debug("no route for %r on %s", event, self.name)
            _answer_unrouted(event, ack)
            return
        if state.running >= self.max_in_flight_events:
            self._disconnect_flooding(state)
            return
        self._start_event(state, event, tuple(args), ack)

    def _start_event(
        self, state: SocketState, event: str, args: tuple[Any, ...], ack: Ack | None
    ) -> asyncio.Future[None]:
        # Counted from now, not from when the task first runs: the bound below must see the
        # events still queued, and a re-read of the session must not start while one is.
        state.running += 1
        task = self._spawn(self._run_event(state, event, args, ack))
        task.add_done_callback(state.event_finished)
        return task

    def _disconnect_flooding(self, state: SocketState) -> None:
        """The slow-client policy for events: a client that keeps more than
        ``max in flight events`` events running (it sends faster than its routes finish) is
        disconnected, so that it cannot grow the server's tasks and memory without bound."""
        socket = state.socket
        logger.warning(
            "socket %s disconnected: more than %d events in flight (it sends events faster "
            "than its routes finish; the limit is the 'max in flight events' setting)",
            socket.id,
            self.max_in_flight_events,
        )
        socket.disconnect(close=True)

    def _spawn(self, coroutine: Any) -> asyncio.Future[None]:
        task: asyncio.Future[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_event(
        self, state: SocketState, event: str, args: tuple[Any, ...], ack: Ack | None
    ) -> None:
        if event != "connect" and state.ready is not None and not state.ready.done():
            await asyncio.wait([state.ready])
        manager: SessionManager | None = getattr(self.app, "session_manager", None)
        session: Session | None = None
        if manager is not None:
            try:
                session = await state.session_for_event(manager)
            except Exception as error:
                session_failed(event, state.socket.id, ack, error, "load")
                return
        io = RequestIO(state.socket, ack, self.routes, self._bridge)
        req = SocketRequest(event, args, io, state.handshake, session, state.listeners)
        chain = io.chain
        listeners = state.listeners.get(event)
        if listeners:
            for listener in tuple(listeners):
                chain.run(event, listener, req)  # tasks: they start once the route awaits
        if event in self.routes:
            await chain.run_first(event, req)
        await chain.wait()
        if session is not None and manager is not None:
            try:
                await manager.save_if_changed(session)
            except Exception as error:
                session_failed(event, state.socket.id, ack, error, "save")


def _answer_unrouted(event: str, ack: Ack | None) -> None:
    # A client waiting for an ack would otherwise wait for nothing until its own timeout.
    if ack is not None:
        ack({"error": UNKNOWN_ROUTE + event})


class NamespaceRoom:
    """``app.io.room(room)``: broadcasts to everyone in a room of the namespace."""

    __slots__ = ("_namespace", "name")

    def __init__(self, namespace: IONamespace, name: str) -> None:
        self._namespace = namespace
        self.name = name

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        check_emittable(event)
        namespace, args = self._namespace, payload(data)
        check_encodable(namespace._bridge, event, args)
        namespace._bridge.call(_emit, namespace.namespace, event, args, self.name)


def _emit(namespace: Namespace, event: str, args: tuple[Any, ...], room: str | None) -> None:
    namespace.emit(event, *args, to=room)


# -- handshake middleware, adapted to the realtime layer's "raise to refuse" ----------------


def _takes_next(function: Callable[..., Any]) -> bool:
    """Does ``function`` take ``(handshake, next)`` rather than ``(handshake)``?"""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        parameter
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    varargs = any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters)
    return len(positional) >= 2 or varargs


async def _run_with_callback(
    function: Callable[..., Any], handshake: HandshakeData, timeout: float, *, legacy: bool
) -> None:
    """Run ``fn(handshake, next)`` (or 0.9's ``authorization(handshake, callback)``) and wait
    for its verdict; ``ConnectionRefusedError`` when it refuses or never answers."""
    loop = asyncio.get_running_loop()
    verdict: asyncio.Future[BaseException | None] = loop.create_future()

    def decide(outcome: BaseException | None) -> None:
        if not verdict.done():
            verdict.set_result(outcome)

    def callback(*answer: Any) -> None:
        error = answer[0] if answer else None
        refusal: BaseException | None = None
        if error:
            refusal = _refusal(error)
        elif legacy and not (len(answer) > 1 and answer[1]):
            refusal = ConnectionRefusedError("not authorized")
        loop.call_soon_threadsafe(decide, refusal)

    await call_route_handler(function, handshake, callback)
    try:
        outcome = await asyncio.wait_for(verdict, timeout)
    except TimeoutError:
        name = getattr(function, "__qualname__", repr(function))
        logger.error("handshake middleware %s never called next() within %s s", name, timeout)
        raise ConnectionRefusedError("Handshake middleware did not answer") from None
    if outcome is not None:
        raise outcome


def _refusal(error: Any) -> BaseException:
    if isinstance(error, ConnectionRefusedError):
        return error
    message = str(error) if not isinstance(error, BaseException) else str(error) or type(
        error
    ).__name__
    return ConnectionRefusedError(message)
