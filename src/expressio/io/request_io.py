"""``req.io``: the RequestIO — one core for a realtime event and for an HTTP request forwarded
into realtime routes.

The two kinds of request differ only in how they answer and in what they may do: a client's
event answers its acknowledgement callback, an HTTP request answers with an HTTP response
(:mod:`expressio.http.forwarding`); over HTTP there is no client, so ``emit``, ``join``,
``leave``, ``disconnect`` and ``on`` raise :class:`NoSocketError`. Broadcasting, rooms and
forwarding to other routes are the same code for both. How a request answers is its
:class:`Reply`.

Every method takes effect at once and in call order, with no ``await``, from ``async def`` and
plain ``def`` routes alike; from a worker thread the call is handed to the event loop in order.
Where there is something to wait for (the client's ack, a forwarded route) the method returns a
:class:`~expressio.io.loop_bridge.Pending`: ``await`` it in ``async def`` code, or call its
``result(timeout)`` from a ``def`` route that runs in a worker thread.

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
from threading import get_ident
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from ..realtime import RESERVED_EVENTS, check_event_name
from ..realtime.acks import ack_value
from .loop_bridge import Pending, fail, settle
from .routes import (
    Route,
    RouteChain,
    RouteHandler,
    forward_in_this_thread,
    in_route_thread,
)
from .targets import (
    DEFAULT_BROADCAST_ACK_TIMEOUT,
    MISSING,
    Target,
    check_encodable,
    everyone,
    payload,
)

if TYPE_CHECKING:
    from ..realtime import Ack, Socket
    from .clients import Client
    from .namespace import IONamespace

logger = logging.getLogger("expressio.io")

DEFAULT_ACK_TIMEOUT = 10.0  # seconds

UNKNOWN_ROUTE = "Unknown route: "
SESSION_UNAVAILABLE = {"error": "Session store unavailable"}

class NoSocketError(RuntimeError):
    """A socket-only IO method (``emit``, ``join``, ``leave``...) was called for a request that
    came over HTTP: there is no client connection to talk to."""


class Reply(Protocol):
    """How a request answers: the client's ack, or the HTTP response."""

    def respond(self, req: Any, args: tuple[Any, ...]) -> None:
        """``req.io.respond(*args)``; any thread."""

    def before_forward(self, req: Any, name: str) -> Callable[[], None] | None:
        """A forward of ``req`` to ``name`` is about to start (any thread); what to do right
        after it was handed to the loop, if anything."""

    def start(self, chain: RouteChain, route: Route, req: Any, pending: Pending) -> None:
        """Run ``route`` (claimed in ``chain``) with ``req`` and settle ``pending`` when it has
        finished; loop thread."""

    def route_missing(self, name: str) -> None:
        """A forward named a route that does not exist (logged already)."""

    def route_failed(self, name: str, error: BaseException) -> None:
        """A route raised (logged with its traceback already)."""

    def view(self, namespace: str) -> RequestIO:
        """``req.io.of(namespace)``."""


class RequestIO:
    """The IO of one request: its client (none over HTTP), its answer, its route chain."""

    __slots__ = ("_chain", "_client", "_namespace", "_reply", "_req", "socket")

    def __init__(
        self, namespace: IONamespace, reply: Reply, client: Client | None = None
    ) -> None:
        self._namespace = namespace
        self._reply = reply
        self._client = client
        self.socket: Socket | None = client.socket if client is not None else None
        self._chain: RouteChain | None = None
        self._req: Any = None  # the request the routes receive, set by it

    # -- this client -------------------------------------------------------------------------

    def emit(
        self, event: str, data: Any = MISSING, callback: Callable[..., Any] | None = None
    ) -> None:
        """Send ``event`` with ``data`` to this client only. With ``callback``, the client's
        ack arguments reach it spread (``callback(*args)``), on the event loop."""
        socket = self._need_socket("emit")
        check_event_name(event)
        args = payload(data)
        bridge = self._namespace.bridge
        if bridge.on_loop_thread():
            socket.emit(event, *args, callback=callback)
            return
        check_encodable(bridge, socket.namespace.server.parser, event, args)
        bridge.call(_emit_to, socket, event, args, callback)

    def emit_with_ack(
        self, event: str, data: Any = MISSING, *, timeout: float = DEFAULT_ACK_TIMEOUT
    ) -> Pending:
        """Send ``event`` and return the client's answer as a :class:`Pending`: the single
        argument, a tuple when several, ``None`` when none; ``TimeoutError`` after ``timeout``
        seconds; ``ConnectionResetError`` at once when the client disconnects first."""
        socket = self._need_socket("emit_with_ack")
        check_event_name(event)
        pending = Pending()
        client = self._client
        assert client is not None
        self._namespace.bridge.call(
            _start_emit_with_ack, socket, client, event, payload(data), timeout, pending
        )
        return pending

    def join(self, room: str) -> None:
        """Join ``room``. Done when this returns, also from a worker thread (which waits for
        the loop), so ``req.socket.rooms`` read next includes it."""
        self._namespace.bridge.call_and_wait(self._need_socket("join").join, room)

    def leave(self, room: str) -> None:
        """Leave ``room``; done when this returns, like :meth:`join`."""
        self._namespace.bridge.call_and_wait(self._need_socket("leave").leave, room)

    def disconnect(self) -> None:
        """Close this client's connection, every namespace on it included (it is told, and
        does not reconnect)."""
        self._namespace.bridge.call(self._need_socket("disconnect").disconnect, True)

    def on(self, event: str, handler: RouteHandler) -> RouteHandler:
        """A route for this client only: ``handler(req)`` runs on each ``event`` it sends from
        now on (after the app's route of the same name, if any). ``disconnect`` is allowed:
        it runs when this client leaves."""
        self._need_socket("on")
        client = self._client
        assert client is not None
        if event in RESERVED_EVENTS and event != "disconnect":
            raise ValueError(f"{event!r} is a reserved event name; only 'disconnect' is allowed")
        route = Route(event, handler)
        self._namespace.bridge.call(client.listeners.setdefault(event, []).append, route)
        return handler

    def respond(self, *args: Any) -> None:
        """Answer the request: over a socket, the client's acknowledgement callback with
        ``args`` (once; a no-op, logged at debug level, when the client asked for none); over
        HTTP, the response as JSON (see :mod:`expressio.http.forwarding`)."""
        self._reply.respond(self._req, args)

    # -- other clients -----------------------------------------------------------------------

    def broadcast(self, event: str, data: Any = MISSING) -> None:
        """Send to every client of the namespace except this one (over HTTP: every client)."""
        self._target().broadcast(event, data)

    def broadcast_with_ack(
        self, event: str, data: Any = MISSING, *, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """Every other client's answer to ``event``, as a list (see
        :meth:`~expressio.io.targets.Target.broadcast_with_ack`)."""
        return self._target().broadcast_with_ack(event, data, timeout=timeout)

    def fetch_sockets(self) -> Pending:
        """Every other client of the namespace, as views (see
        :meth:`~expressio.io.targets.Target.fetch_sockets`)."""
        return self._target().fetch_sockets()

    def room(self, *rooms: str) -> Target:
        """``req.io.room(room).broadcast(event, data)``: everyone in ``room`` (in any of the
        rooms, with several) but this client."""
        return self._target().room(*rooms)

    def excluding(self, *rooms: str) -> Target:
        """Every other client, minus those in any of ``rooms``."""
        return self._target().excluding(*rooms)

    @property
    def volatile(self) -> VolatileIO:
        """``req.io.volatile.emit(...)`` / ``.broadcast(...)``: dropped for a client whose
        connection cannot take it right now, never queued."""
        return VolatileIO(self)

    def _target(self) -> Target:
        socket = self.socket
        return everyone(self._namespace, socket.id if socket is not None else None)

    def of(self, namespace: str) -> RequestIO:
        """The same request's IO for the routes and clients of another namespace (HTTP)."""
        return self._reply.view(namespace)

    # -- routes ------------------------------------------------------------------------------

    def route(self, name: str) -> Pending:
        """Forward this same ``req`` to route ``name``. It starts at once; the returned
        :class:`Pending` resolves when it has finished (also when it failed: failures are
        logged and answered to the client's ack or the HTTP request, not raised here).

        From a worker thread (a ``def`` route running in threads) a ``def`` route runs right
        here, in this thread, and has finished when this returns: waiting in a worker thread
        for a route that needs another worker thread could wait forever once every thread is
        taken by such waits. On the loop, a ``def`` route that runs on the loop runs at once,
        and has finished when this returns, too."""
        if not isinstance(name, str):
            raise TypeError(f"a route name is a str, not {type(name).__name__}")
        after = self._reply.before_forward(self._req, name)
        bridge = self._namespace.bridge
        if after is None and in_route_thread() and not bridge.on_loop_thread():
            target = self._namespace.routes.get(name)
            if target is not None and not target.is_async:
                return forward_in_this_thread(bridge, self._routes(), name, self._req, self._run)
        pending = Pending()
        # Handed to the loop before the reply's follow-up (an HTTP response's hand-over): the
        # response then never sees "no route running" before this one counts.
        bridge.call(self._start, name, pending)
        if after is not None:
            after()
        return pending

    def _routes(self) -> RouteChain:
        """The chain of this request's routes (made at the first forward)."""
        chain = self._chain
        if chain is None:
            namespace = self._namespace
            chain = self._chain = RouteChain(
                namespace.routes, self._reply, namespace.blocking, namespace.tasks
            )
        return chain

    def _start(self, name: str, pending: Pending) -> None:
        route = self._routes().claim(name)
        if route is None:
            settle(pending.future)
            return
        self._run(route, pending)

    def _run(self, route: Route, pending: Pending) -> None:
        self._reply.start(self._routes(), route, self._req, pending)

    # -- what needs a socket -----------------------------------------------------------------

    def _need_socket(self, method: str) -> Socket:
        socket = self.socket
        if socket is None:
            raise NoSocketError(
                f"req.io.{method}() needs a realtime client, but {self._req} came over "
                "HTTP: answer it with req.io.respond(), reach clients with req.io.broadcast() "
                "or req.io.room(name).broadcast()"
            )
        return socket

    def __repr__(self) -> str:
        who = f"socket={self.socket.id}" if self.socket is not None else f"request={self._req!r}"
        return f"<RequestIO {who} namespace={self._namespace.name}>"

    @property
    def namespace(self) -> IONamespace:
        """The namespace this request belongs to (``app.io`` or ``app.io.of(name)``)."""
        return self._namespace


class VolatileIO:
    """``req.io.volatile``: the same calls, dropped for a client that cannot take them now."""

    __slots__ = ("_io",)

    def __init__(self, io: RequestIO) -> None:
        self._io = io

    def emit(self, event: str, data: Any = MISSING) -> None:
        """Send ``event`` to this client if its connection can take it right now."""
        io = self._io
        socket = io._need_socket("volatile.emit")
        check_event_name(event)
        args = payload(data)
        bridge = io._namespace.bridge
        check_encodable(bridge, socket.namespace.server.parser, event, args)
        bridge.call(_emit_volatile, socket, event, args)

    def broadcast(self, event: str, data: Any = MISSING) -> None:
        """``req.io.broadcast``, volatile."""
        self._io._target().volatile.broadcast(event, data)

    def room(self, *rooms: str) -> Target:
        """``req.io.room(...)``, volatile."""
        return self._io._target().volatile.room(*rooms)

    def excluding(self, *rooms: str) -> Target:
        """``req.io.excluding(...)``, volatile."""
        return self._io._target().volatile.excluding(*rooms)


def _emit_volatile(socket: Socket, event: str, args: tuple[Any, ...]) -> None:
    socket.emit_volatile(event, *args)


def has_route(io: RequestIO, name: str) -> bool:
    """Whether ``io``'s namespace has a route ``name`` (for ``route_forward``, which passes a
    request on rather than forwarding it nowhere)."""
    return name in io._namespace.routes


# -- a client's event: answered through its ack ---------------------------------------------


class SocketReply:
    """How a client's event answers: its acknowledgement callback, if it asked for one."""

    __slots__ = ("_ack", "_client", "_namespace")

    def __init__(self, ack: Ack | None, client: Client, namespace: IONamespace) -> None:
        self._ack = ack
        self._client = client
        self._namespace = namespace

    def respond(self, req: Any, args: tuple[Any, ...]) -> None:
        """With a stored session changed by this request, the answer leaves once the session
        is saved: a client that reacts to the ack with an HTTP request finds the change
        there."""
        if self._ack is None:
            logger.debug("respond() ignored: the client asked for no acknowledgement")
            return
        bridge = self._namespace.bridge
        if get_ident() == bridge.thread_id:
            self._respond(req, args)  # the common case, without a call through the bridge
        else:
            bridge.call(self._respond, req, args)

    def _respond(self, req: Any, args: tuple[Any, ...]) -> None:
        ack = self._ack
        assert ack is not None
        session = self._client.session
        if session is None or not session.persistent or ack.answered:
            answer(ack, args)
            return
        try:
            saving = session.save_if_changed()
        except Exception as error:
            session_failed(req, ack, error, "save")
            return
        if saving is None:
            answer(ack, args)
            return

        async def answer_when_saved() -> None:
            try:
                await saving
            except Exception as error:
                session_failed(req, ack, error, "save")
                return
            answer(ack, args)

        self._namespace.tasks.spawn(answer_when_saved())

    def before_forward(self, req: Any, name: str) -> None:
        return None

    def start(self, chain: RouteChain, route: Route, req: Any, pending: Pending) -> None:
        if not route.on_loop:
            chain.start(route, req).add_done_callback(lambda _: settle(pending.future))
            return
        unfinished = chain.run_inline(route, req)
        if unfinished is None:
            settle(pending.future)
            return
        task = self._namespace.tasks.spawn(unfinished)
        task.add_done_callback(lambda _: settle(pending.future))

    def route_missing(self, name: str) -> None:
        ack = self._ack
        if ack is not None and not ack.answered:
            ack({"error": UNKNOWN_ROUTE + name})

    def route_failed(self, name: str, error: BaseException) -> None:
        # Told before the client's answer leaves: whoever waits for that answer (a test)
        # then finds the error reported already.
        self._namespace.report_error(error)
        ack = self._ack
        if ack is not None and not ack.answered:
            ack.fail()

    def view(self, namespace: str) -> NoReturn:
        raise TypeError(
            "req.io.of() is for HTTP requests; in a realtime route use app.io.of(namespace)"
        )


def session_failed(req: Any, ack: Ack | None, error: Exception, step: str) -> None:
    """Log a session load/save failure and answer a pending ack: ``{"error": "Session store
    unavailable"}`` when the store is unreachable, else ``{"error": "Internal Server Error"}``."""
    unavailable = getattr(error, "status", None) == 503
    if unavailable:
        logger.error("session store unavailable (%s) at the %s for %r", error, step, req)
    else:
        logger.error("session %s failed for %r", step, req, exc_info=error)
    if ack is not None and not ack.answered:
        if unavailable:
            ack(SESSION_UNAVAILABLE)
        else:
            ack.fail()


def answer(ack: Ack, args: tuple[Any, ...]) -> None:
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


def _start_emit_with_ack(
    socket: Socket,
    client: Client,
    event: str,
    args: tuple[Any, ...],
    timeout: float,
    pending: Pending,
) -> None:
    # The emit itself happens here, synchronously, so that it keeps its place among the emits
    # around it; only the wait is deferred.
    future = pending.future
    timer: asyncio.TimerHandle | None = None
    if not socket.connected:
        fail(future, ConnectionResetError(f"the client disconnected before {event!r} was sent"))
        return

    def answered(*answer: Any) -> None:
        if timer is not None:
            timer.cancel()
        client.awaiting.pop(future, None)
        settle(future, ack_value(answer))

    def give_up() -> None:
        # Forget the callback too: a client that never answers must not grow the table.
        if ack_id is not None:
            socket.cancel_ack(ack_id)
        client.awaiting.pop(future, None)
        fail(future, TimeoutError(f"no ack for {event!r} within {timeout} s"))

    try:
        ack_id = socket.emit(event, *args, callback=answered)
    except Exception as error:
        fail(future, error)
        return
    timer = asyncio.get_running_loop().call_later(timeout, give_up)
    client.awaiting[future] = (event, timer)
