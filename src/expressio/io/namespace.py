"""One Socket.IO namespace as express.io sees it: routes, handshake middleware, broadcasts, and
the path of every client event.

``app.io`` is the default namespace ``/``; ``app.io.of("/admin")`` another one. Each has its
own route table, middleware, ``connect``/``disconnect`` hooks, rooms and broadcasts.

A client event (:meth:`IONamespace.dispatch`, called by the realtime layer on the loop):

1. an event with a reserved name goes nowhere; one with no route of its own goes to the
   catch-all route ``"*"`` if there is one, else nowhere (as in socket.io, a waiting ack is
   not answered unless the ``unknown event ack`` setting is on); a client that already has
   ``max in flight events`` events running is disconnected (logged as a warning);
2. the common case — an ``async def`` route, or a ``def`` route trusted to run on the loop (see
   :mod:`expressio.io.routes`), the client's ``connect`` hook done,
   no session to load first, no per-client listener — runs right there: a ``def`` route with no
   task at all, an ``async def`` one on the next loop turn, in one task for that turn's events
   (see :mod:`expressio.io.route_runner`);
3. otherwise the event runs in a task of its own: it waits for the client's ``connect`` hook
   (so a room joined there is joined), brings the session up to date when the route reads it
   (see :mod:`expressio.io.clients`), runs the per-client listeners and the route;
4. when the route and every route it forwarded to have finished, the session is saved if this
   event loaded it and it changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..realtime import RESERVED_EVENTS, Ack, Namespace, Socket, check_event_name
from ..realtime.tasks import TaskSet
from ..realtime.user_code import is_awaitable
from .clients import Client
from .handshake import HandshakeData, HandshakeMiddleware, run_middleware, takes_next
from .loop_bridge import LoopBridge, Pending, settle
from .request_io import UNKNOWN_ROUTE, RequestIO, SocketReply, session_failed
from .route_runner import RouteRunner
from .routes import Blocking, Route, RouteTable, call_handler, call_inline
from .socket_request import _UNLOADED, SocketRequest
from .targets import (
    DEFAULT_BROADCAST_ACK_TIMEOUT,
    MISSING,
    Target,
    check_timeout,
    everyone,
)

if TYPE_CHECKING:
    from ..sessions import Session, SessionManager

logger = logging.getLogger("expressio.io")

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

#: The ``max in flight events`` setting's default.
DEFAULT_MAX_IN_FLIGHT_EVENTS = 1000

#: The ``fetch sockets limit`` setting's default.
DEFAULT_FETCH_SOCKETS_LIMIT = 10_000

#: The reserved names a route may take: they run on each connection's lifecycle.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})

#: The route name that takes every client event no route of its own takes (socket.io's onAny).
CATCH_ALL = "*"


class IONamespace:
    """The express.io API of one namespace (``app.io`` itself, or ``app.io.of(name)``)."""

    def __init__(
        self,
        namespace: Namespace,
        bridge: LoopBridge,
        *,
        session_manager: Callable[[], SessionManager | None],
        authorization: Callable[[], HandshakeMiddleware | None],
        log_connections: Callable[[], bool],
        blocking: Blocking,
        tasks: TaskSet,
        report_error: Callable[[BaseException], None] = lambda error: None,
    ) -> None:
        self.namespace = namespace
        #: tells the app's ``on_error`` hooks of an exception of its code (logged already)
        self.report_error = report_error
        self.routes = RouteTable()
        self.bridge = bridge
        self.blocking = blocking
        #: tasks of this namespace's events and hooks (the app's shutdown waits for them)
        self.tasks = tasks
        self._route_runner = RouteRunner(tasks)
        self.session_manager = session_manager
        self._authorization = authorization
        self._log_connections = log_connections
        self._middlewares: list[tuple[HandshakeMiddleware, bool]] = []  # (fn, takes next)
        self._clients: dict[str, Client] = {}
        # By socket, not id: a recovered socket gets its old id back after the middleware ran.
        self._admitted: dict[Socket, HandshakeData] = {}
        #: events of one client running at once; one more disconnects it (see dispatch)
        self.max_in_flight_events = DEFAULT_MAX_IN_FLIGHT_EVENTS
        #: answer the ack of an event no route takes with an error, rather than ignore it
        self.unknown_event_ack = False
        #: clients ``fetch_sockets()`` may return; more raise (the ``fetch sockets limit`` setting)
        self.fetch_sockets_limit = DEFAULT_FETCH_SOCKETS_LIMIT
        self._server_side_routes: dict[str, Callable[..., Any]] = {}
        namespace.on_server_side = self._on_server_side
        namespace.dispatch = self.dispatch
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

    def route(self, event: str, handler: Any = MISSING, *, blocking: bool = False) -> Any:
        """``route(event, handler)``, ``@route(event)``, or ``route(name, {"sub": handler})``
        for the events ``name:sub``. ``connect`` and ``disconnect`` are lifecycle hooks.
        ``blocking=True``: a ``def`` handler that blocks, run in worker threads."""
        if handler is MISSING:

            def register(function: HandlerT) -> HandlerT:
                self.route(event, function, blocking=blocking)
                return function

            self._check_route_name(event)
            return register
        if isinstance(handler, Mapping):
            for sub, function in handler.items():
                self.route(f"{event}:{sub}", function, blocking=blocking)
            return handler
        self._check_route_name(event)
        self.routes.add(event, handler, blocking=blocking)
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

    # -- targeting clients -----------------------------------------------------------------

    def target(self) -> Target:
        """Every client of this namespace (see :mod:`expressio.io.targets`)."""
        return everyone(self)

    def broadcast(self, event: str, data: Any = MISSING) -> None:
        """Send ``event`` with ``data`` to every client of this namespace."""
        everyone(self).broadcast(event, data)

    def room(self, *rooms: str) -> Target:
        """``room("a", "b").broadcast(event, data)``: every client in any of the rooms."""
        return everyone(self).room(*rooms)

    def excluding(self, *rooms: str) -> Target:
        """Every client except those in any of ``rooms``."""
        return everyone(self).excluding(*rooms)

    @property
    def volatile(self) -> Target:
        """Every client; a packet is dropped for one that cannot take it right now."""
        return everyone(self).volatile

    def broadcast_with_ack(
        self, event: str, data: Any = MISSING, *, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """Every client's answer to ``event`` (see :meth:`Target.broadcast_with_ack`)."""
        return everyone(self).broadcast_with_ack(event, data, timeout=timeout)

    def fetch_sockets(self) -> Pending:
        """Every client of this namespace (see :meth:`Target.fetch_sockets`)."""
        return everyone(self).fetch_sockets()

    def join(self, room: str | Iterable[str]) -> None:
        """Make every client of this namespace join ``room``."""
        everyone(self).join(room)

    def leave(self, room: str | Iterable[str]) -> None:
        """Make every client of this namespace leave ``room``."""
        everyone(self).leave(room)

    def disconnect(self, close: bool = False) -> None:
        """Disconnect every client of this namespace."""
        everyone(self).disconnect(close)

    def handshake_of(self, socket: Socket) -> HandshakeData:
        """The handshake its routes see as ``req.handshake`` (the same object)."""
        client = self._clients.get(socket.id)
        if client is not None:
            return client.handshake
        return HandshakeData(socket.handshake, socket)

    # -- between the processes of the app ----------------------------------------------------

    def server_side_route(self, event: str, handler: Any = MISSING) -> Any:
        """``handler(*args)`` runs when ANOTHER process of the app calls
        ``server_side_emit(event, *args)``; its return value (awaited if a coroutine) is this
        process's answer to ``server_side_emit_with_ack``. Call or decorator form."""
        check_server_side_name(event)
        if handler is MISSING:

            def register(function: HandlerT) -> HandlerT:
                self.server_side_route(event, function)
                return function

            return register
        if not callable(handler):
            raise TypeError(f"a server-side route handler must be callable, got {handler!r}")
        self._server_side_routes[event] = handler
        return handler

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` with ``args`` to every OTHER process of the app (not to clients).
        With one process (the in-memory adapter) it reaches no one."""
        check_server_side_name(event)
        self.bridge.call(_server_side_emit, self.namespace, [event, *args], None)

    def server_side_emit_with_ack(
        self, event: str, *args: Any, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """Like :meth:`server_side_emit`; resolves to the list of the other processes'
        answers (``[]`` at once with one process), or to ``[]`` with a warning when they did
        not answer within ``timeout`` seconds."""
        check_server_side_name(event)
        seconds = check_timeout(timeout)
        pending = Pending()
        self.bridge.call(
            _start_server_side_with_ack, self.namespace, [event, *args], seconds, pending
        )
        return pending

    def _on_server_side(self, args: list[Any], answer: Callable[[Any], None] | None) -> None:
        """A message from another process (``[event, *arguments]``), on the loop."""
        event = args[0] if args else None
        handler = self._server_side_routes.get(event) if isinstance(event, str) else None
        if handler is None or not isinstance(event, str):
            logger.debug("no server-side route for %r on %s", event, self.name)
            if answer is not None:
                answer(None)
            return
        self.tasks.spawn(_run_server_side(handler, event, args[1:], answer, self.report_error))

    # -- handshake middleware --------------------------------------------------------------

    def use(self, middleware: HandshakeMiddleware) -> HandshakeMiddleware:
        """Handshake middleware, in registration order, ``def`` or ``async def`` (see
        :mod:`expressio.io.handshake`). A refusal's reason reaches the client as its
        ``connect_error`` message; any other exception is logged and refuses with
        ``"Internal Server Error"``."""
        if not callable(middleware):
            raise TypeError(f"handshake middleware must be callable, got {middleware!r}")
        self._middlewares.append((middleware, takes_next(middleware)))
        return middleware

    def _admit(self, socket: Socket, auth: dict[str, Any]) -> Any:
        self.bridge.attach()  # def middleware may use app.io from its thread (see _on_connect)
        authorization = self._authorization()
        if not self._middlewares and authorization is None:
            return None  # nothing to run: accepted synchronously, no task
        return self._admit_async(socket, authorization)

    async def _admit_async(self, socket: Socket, authorization: HandshakeMiddleware | None) -> None:
        handshake = HandshakeData(socket.handshake, socket)
        # A verdict must come before the connection's own connect timeout closes it, so that
        # the client still learns why it was refused.
        timeout = self.namespace.server.connect_timeout * 0.9
        try:
            await run_middleware(tuple(self._middlewares), authorization, handshake, timeout)
        except ConnectionRefusedError:
            raise  # a refusal is an answer, not a failure
        except Exception as error:
            # Logged by the realtime layer, which refuses with "Internal Server Error".
            self.report_error(error)
            raise
        # Handed to the connect hook, which runs right after acceptance; a connection that
        # closed meanwhile is never accepted, so its entry is dropped on the next loop turn.
        self._admitted[socket] = handshake
        asyncio.get_running_loop().call_soon(self._admitted.pop, socket, None)

    # -- lifecycle -------------------------------------------------------------------------

    def _on_connect(self, socket: Socket, auth: Any) -> None:
        # The loop may be unknown yet: served without a lifespan, to websocket clients that
        # take the direct path (no ASGI call), this is the first time the app runs on it.
        self.bridge.attach()
        handshake = self._admitted.pop(socket, None) or HandshakeData(socket.handshake, socket)
        client = Client(socket, handshake)
        self._clients[socket.id] = client
        if self._log_connections():
            logger.info("connect %s%s", socket.id, self._log_suffix())
        route = self.routes.get("connect")
        if route is not None:
            client.ready = self._start_event(client, route, "connect", (auth,), None)

    def _on_disconnect(self, socket: Socket, reason: str) -> None:
        client = self._clients.pop(socket.id, None)
        if client is None:
            return
        if self._log_connections():
            logger.info("disconnect %s%s: %s", socket.id, self._log_suffix(), reason)
        # Its events go with it: a client reconnecting over and over must not pile up tasks.
        client.drop_events()
        route = self.routes.get("disconnect")
        if route is not None or client.listeners.get("disconnect"):
            self._start_event(client, route, "disconnect", (reason,), None)

    def _log_suffix(self) -> str:
        return "" if self.name == "/" else f" on {self.name}"

    # -- events ----------------------------------------------------------------------------

    def dispatch(self, socket: Socket, event: str, args: list[Any], ack: Ack | None) -> None:
        """A client event (see the module docstring); plain sync, on the loop."""
        if event in RESERVED_EVENTS:
            logger.debug("client event with reserved name %r ignored", event)
            self._unrouted(event, ack)
            return
        client = self._clients.get(socket.id)
        if client is None:
            return
        route = self.routes.get(event)
        listeners = client.listeners
        if route is None and event not in listeners:
            route = self.routes.get(CATCH_ALL)
            if route is None:
                logger.debug("no route for %r on %s", event, self.name)
                self._unrouted(event, ack)
                return
        if client.running >= self.max_in_flight_events:
            self._disconnect_flooding(client)
            return
        if (
            route is not None
            and (route.on_loop or route.is_async)
            and not listeners
            and (client.ready is None or client.ready.done())
            and (not route.mentions_session or self.session_manager() is None)
        ):
            self._run_on_the_spot(client, route, event, tuple(args), ack)
            return
        self._start_event(client, route, event, tuple(args), ack)

    def _run_on_the_spot(
        self, client: Client, route: Route, event: str, args: tuple[Any, ...], ack: Ack | None
    ) -> None:
        reply = SocketReply(ack, client, self)
        io = RequestIO(self, reply, client)
        req = SocketRequest(event, args, io, client, route=route)
        client.running += 1
        if route.is_async:
            # Nothing to wait for or load first: straight into the route, on the next loop
            # turn, in the task of the turn's events (see expressio.io.route_runner).
            self._route_runner.submit(client, self._run_async_route(req, reply, route))
            return
        try:
            result = call_inline(route, req, self.blocking)
        except Exception as error:
            client.running -= 1
            _route_failed(reply, route.name, error)
            return
        chain = io._chain
        finished = not is_awaitable(result) and (chain is None or not chain.running)
        if finished and _session_to_save(req) is None:
            client.running -= 1
            return
        client.track(self.tasks.spawn(self._finish_event(req, reply, result), client.finished))

    async def _run_async_route(self, req: SocketRequest, reply: SocketReply, route: Route) -> None:
        """An ``async def`` route's event run on the spot: the route, its forwards, then the
        session it loaded. The task of every such event runs this, so it is kept lean."""
        try:
            try:
                await route.handler(req)  # called here: a task cancelled first runs nothing
            except Exception as error:
                _route_failed(reply, str(req.event), error)
            chain = req.io._chain
            if chain is not None:
                await chain.wait()
        except asyncio.CancelledError:
            _cancel_forwards(req)
            raise
        if _session_to_save(req) is not None:  # most events: no session, no coroutine
            await self._save_session(req, reply)

    async def _finish_event(self, req: SocketRequest, reply: SocketReply, result: Any) -> None:
        """Finish a ``def`` route's event begun on the spot: await what the route returned,
        its forwards, then save the session it loaded."""
        try:
            if is_awaitable(result):
                try:
                    await result
                except Exception as error:
                    _route_failed(reply, str(req.event), error)
            chain = req.io._chain
            if chain is not None:
                await chain.wait()
        except asyncio.CancelledError:
            _cancel_forwards(req)
            raise
        await self._save_session(req, reply)

    def _start_event(
        self,
        client: Client,
        route: Route | None,
        event: str,
        args: tuple[Any, ...],
        ack: Ack | None,
    ) -> asyncio.Future[None]:
        # Counted from now, not from when the task first runs: the bound must see the events
        # still queued, and a re-read of the session must not start while one is.
        client.running += 1
        task = self.tasks.spawn(self._run_event(client, route, event, args, ack), client.finished)
        client.track(task)
        return task

    async def _run_event(
        self,
        client: Client,
        route: Route | None,
        event: str,
        args: tuple[Any, ...],
        ack: Ack | None,
    ) -> None:
        ready = client.ready
        if event != "connect" and ready is not None and not ready.done():
            await asyncio.wait([ready])
        reply = SocketReply(ack, client, self)
        io = RequestIO(self, reply, client)
        session: Session | Any | None = _UNLOADED
        manager = self.session_manager()
        if manager is None:
            session = None
        elif route is not None and route.mentions_session:
            try:
                session = await client.session_for_event(manager)
            except Exception as error:
                session_failed(f"event {event!r} of socket {client.socket.id}", ack, error, "load")
                return
        req = SocketRequest(event, args, io, client, session, route)
        chain = io._routes()
        try:
            listeners = client.listeners.get(event)
            if listeners:
                for listener in tuple(listeners):
                    chain.start(listener, req)  # tasks: they start once the route awaits
            if route is not None:
                await chain.run(route, req)
            await chain.wait()
        except asyncio.CancelledError:
            chain.cancel()  # the client is gone: so are the routes this event forwarded to
            raise
        await self._save_session(req, reply)

    async def _save_session(self, req: SocketRequest, reply: SocketReply) -> None:
        """Save the session if this event loaded it (and refresh its expiry)."""
        session = _session_to_save(req)
        if session is None:
            return
        manager = self.session_manager()
        if manager is None:
            return
        try:
            await manager.save_if_changed(session)
        except Exception as error:
            session_failed(req, reply._ack, error, "save")

    def session_now(self, client: Client | None, route: Route | None) -> Any:
        """``req.session`` read in a route the session was not loaded for."""
        manager = self.session_manager()
        if manager is None or client is None:
            return None
        return client.session_now(manager, route, self.bridge)

    def _unrouted(self, event: str, ack: Ack | None) -> None:
        # Ignored by default, as socket.io does: the official clients' own ack timeouts rely
        # on it (``timeout(t).emitWithAck`` against a server without that event must time out).
        if ack is not None and self.unknown_event_ack:
            ack({"error": UNKNOWN_ROUTE + event})

    def _disconnect_flooding(self, client: Client) -> None:
        """The slow-client policy for events: a client that keeps more than
        ``max in flight events`` events running (it sends faster than its routes finish) is
        disconnected, so that it cannot grow the server's tasks and memory without bound."""
        socket = client.socket
        logger.warning(
            "socket %s disconnected: more than %d events in flight (it sends events faster "
            "than its routes finish; the limit is the 'max in flight events' setting)",
            socket.id,
            self.max_in_flight_events,
        )
        socket.disconnect(close=True)


def _session_to_save(req: SocketRequest) -> Any:
    session = req._session
    if session is _UNLOADED or session is None:
        return None
    return session


def _cancel_forwards(req: SocketRequest) -> None:
    chain = req.io._chain  # made by a forward while the route ran, if any
    if chain is not None:
        chain.cancel()


def _route_failed(reply: SocketReply, event: str, error: BaseException) -> None:
    logger.error("error in realtime route %r", event, exc_info=error)
    try:
        reply.route_failed(event, error)
    except Exception:
        logger.exception("error reporting the failure of route %r", event)


def check_server_side_name(event: Any) -> None:
    """A server-side event name: a non-empty ``str`` that is not reserved."""
    if not isinstance(event, str) or not event:
        raise TypeError(f"a server-side event name is a non-empty str, got {event!r}")
    check_event_name(event)


def _server_side_emit(
    namespace: Namespace, args: list[Any], ack: Callable[[list[Any]], None] | None
) -> None:
    namespace.adapter.server_side_emit(args, ack)


def _start_server_side_with_ack(
    namespace: Namespace, args: list[Any], timeout: float, pending: Pending
) -> None:
    future = pending.future
    timer: asyncio.TimerHandle | None = None

    def answered(answers: list[Any]) -> None:
        if timer is not None:
            timer.cancel()
        settle(future, list(answers))

    def give_up() -> None:
        if not future.done():
            logger.warning(
                "server_side_emit_with_ack %r: the other processes did not answer within %s s",
                args[0],
                timeout,
            )
            settle(future, [])

    namespace.adapter.server_side_emit(args, answered)
    if future.done():
        return
    try:
        timer = asyncio.get_running_loop().call_later(timeout, give_up)
    except RuntimeError:  # no server running: no other process to hear from
        settle(future, [])


async def _run_server_side(
    handler: Callable[..., Any],
    event: str,
    args: list[Any],
    answer: Callable[[Any], None] | None,
    report_error: Callable[[BaseException], None],
) -> None:
    try:
        # ``def`` in a worker thread, as handshake middleware: it may well block.
        result = await call_handler(handler, *args)
        if is_awaitable(result):
            result = await result
    except Exception as error:
        logger.exception("error in server-side route %r", event)
        report_error(error)
        result = None
    if answer is not None:
        answer(result)
