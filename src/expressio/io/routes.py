"""Realtime routes: the table, how each handler runs, and the chain of one request's routes.

A :class:`RouteTable` maps event names to :class:`Route` records; it is read at event time, so a
route added after clients connected is live for them. A :class:`RouteChain` runs the routes of
one request: the first one, and every route it forwards to with ``req.io.route(name)``. The
chain never touches the table, so forwarding costs no memory however often it happens.

How handlers run (the policy is documented in ``docs/request-io.md``):

- ``async def`` handlers run on the event loop, in the event's task.
- plain ``def`` handlers also run on the loop, called directly: most routes answer in
  microseconds, and a hop to a worker thread would cost more than the route itself. A route's
  first call runs in a worker thread and is timed: within the ``blocking threshold`` setting
  (0.1 s by default) the route is trusted to run on the loop from then on; past it, it stays in
  threads, with one warning naming it. Calls that come during the first one queue behind it
  and run after it, in order (in threads once it has run past the threshold), so a client's
  events to a quick route keep their order. A trusted route whose call keeps the loop past the
  threshold later is moved to threads the same way (that call delayed other clients once). A
  route that never returns on its first call holds one thread, never the loop. Routes whose
  code waits on purpose (``.result(...)`` of a :class:`~expressio.io.loop_bridge.Pending`,
  ``sleep(...)``, ``.wait(...)``) stay in threads from the start, and
  ``app.io.route(name, handler, blocking=True)`` says so explicitly.
- ``def`` handlers in threads hold tokens of a limiter of their own (:data:`REALTIME_THREADS`
  per loop), not the one Starlette's ``def`` HTTP endpoints share: blocked realtime handlers
  can never keep an HTTP request waiting for a thread, nor the reverse. The IO methods they call
  hop onto the loop in call order (see :mod:`expressio.io.loop_bridge`).
- a ``def`` handler that returns an awaitable has it awaited on the loop.
- a ``def`` route in a thread that forwards to a ``def`` route runs it itself, in its own
  thread (:func:`forward_in_this_thread`): waiting in a worker thread for a route that needs
  another worker thread could wait forever once every thread is taken by such waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dis
import functools
import inspect
import logging
import threading
import time
import types
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import anyio
import anyio.to_thread

from ..realtime.tasks import TaskSet
from ..realtime.user_code import is_awaitable
from .loop_bridge import LoopBridge, Pending

logger = logging.getLogger("expressio.io")

RouteHandler = Callable[[Any], Any]

#: Worker threads realtime ``def`` routes and ``def`` handshake middleware occupy at once, per
#: event loop (the size of anyio's default limiter, which ``def`` HTTP handlers use).
REALTIME_THREADS = 40

#: A chain that starts more routes than this is forwarding in a loop (``a`` → ``b`` → ``a``...).
MAX_ROUTES_PER_CHAIN = 1000

#: The ``blocking threshold`` setting's default: seconds a ``def`` route may keep the loop.
DEFAULT_BLOCKING_THRESHOLD = 0.1

#: Names whose call in a ``def`` route means it waits on purpose: it starts in worker threads.
_WAITING_CALLS: Final = frozenset({"result", "sleep", "wait"})


class Route:
    """One route: its handler and how it runs."""

    __slots__ = (
        "handler",
        "in_threads",
        "is_async",
        "mentions_session",
        "name",
        "on_loop",
        "trial",
    )

    def __init__(self, name: str, handler: RouteHandler, *, blocking: bool = False) -> None:
        if not callable(handler):
            raise TypeError(f"the handler of route {name!r} must be callable, got {handler!r}")
        self.name = name
        self.handler = handler
        self.is_async = is_async_callable(handler)
        names = code_names(handler)
        #: runs in worker threads (``def`` only): asked for, or seen or expected to block
        self.in_threads = not self.is_async and (blocking or bool(names & _WAITING_CALLS))
        #: a ``def`` route whose first call (in a thread) was quick: it runs on the loop
        self.on_loop = False
        #: while a ``def`` route's first call is being timed: the calls queued behind it
        self.trial: deque[tuple[Any, asyncio.Future[Any]]] | None = None
        #: its code reads ``req.session``: the session is loaded before it runs
        self.mentions_session = "session" in names

    def move_to_threads(self, reason: str) -> None:
        """From now on, run this ``def`` route in worker threads (logged once)."""
        if self.in_threads or self.is_async:
            return
        self.in_threads = True
        self.on_loop = False
        logger.warning(
            "realtime route %r (%s) %s; its next calls run in worker threads. Register it "
            "with app.io.route(name, handler, blocking=True) to start it there, or make it "
            "async def",
            self.name,
            _describe(self.handler),
            reason,
        )

    def __repr__(self) -> str:
        how = (
            "async"
            if self.is_async
            else "loop"
            if self.on_loop
            else "threads"
            if self.in_threads
            else "first call in a thread"
        )
        return f"<Route {self.name!r} {how}>"


class RouteTable(dict[str, Route]):
    """Event name → :class:`Route`, for one namespace (a dict: looked up once per event)."""

    __slots__ = ()

    def add(self, name: str, handler: RouteHandler, *, blocking: bool = False) -> Route:
        route = self[name] = Route(name, handler, blocking=blocking)
        return route

    def __repr__(self) -> str:
        return f"<RouteTable {sorted(self)}>"


# -- running one handler ----------------------------------------------------------------------


class Blocking:
    """How long a ``def`` route may keep the event loop before it is moved to threads."""

    __slots__ = ("threshold",)

    def __init__(self, threshold: float = DEFAULT_BLOCKING_THRESHOLD) -> None:
        self.threshold = threshold


class _RouteOnLoop(threading.local):
    route: Route | None = None  # the def route running on this thread's loop right now


_inline = _RouteOnLoop()


def route_on_loop() -> Route | None:
    """The ``def`` route running on this thread's loop right now (for a clear error when it
    tries to wait)."""
    return _inline.route


def call_inline(route: Route, req: Any, blocking: Blocking) -> Any:
    """Call a ``def`` route on the loop's thread, timing it: one that kept the loop past the
    threshold is moved to worker threads for its next calls."""
    inline = _inline
    outer = inline.route
    inline.route = route
    started = time.perf_counter()
    try:
        return route.handler(req)
    finally:
        inline.route = outer
        elapsed = time.perf_counter() - started
        if elapsed > blocking.threshold:
            route.move_to_threads(
                f"kept the event loop {elapsed * 1000:.0f} ms, past the blocking threshold of "
                f"{blocking.threshold * 1000:.0f} ms"
            )


async def run_route(route: Route, req: Any, blocking: Blocking) -> None:
    """Run one route the way routes run (see the module docstring)."""
    if route.is_async:
        await route.handler(req)
        return
    if route.on_loop:
        result = call_inline(route, req, blocking)
    elif route.in_threads:
        result = await in_thread(route.handler, req)
    elif route.trial is not None:
        result = await _after_first_call(route, req, blocking)
    else:
        result = await _first_call_and_queued(route, req, blocking)
    if is_awaitable(result):
        await result


#: What a call queued behind a first call is told when the route turned out to block.
_IN_THREADS = object()


async def _first_call_and_queued(route: Route, req: Any, blocking: Blocking) -> Any:
    """A ``def`` route's first call, timed in a worker thread; then, on the loop and in the
    order they came, the calls that came meanwhile. Only then is the route trusted to the
    loop: a call that arrives while the queue is drained joins its end, so a client's events
    to a quick route run in the order they came."""
    queued: deque[tuple[Any, asyncio.Future[Any]]] = deque()
    route.trial = queued
    cancelled = False
    try:
        return await in_thread(_first_call, route, req, blocking)
    except asyncio.CancelledError:
        # The thread still runs: no verdict. The queued calls go to threads and the next
        # call is timed afresh.
        cancelled = True
        raise
    finally:
        while queued:
            waiting_req, done = queued.popleft()
            if done.done():
                continue  # its event was cancelled meanwhile
            if cancelled or route.in_threads:  # (a queued call too may have blocked the loop)
                done.set_result(_IN_THREADS)
                continue
            try:
                done.set_result(call_inline(route, waiting_req, blocking))
            except Exception as error:
                done.set_exception(error)
        route.trial = None
        route.on_loop = not cancelled and not route.in_threads


async def _after_first_call(route: Route, req: Any, blocking: Blocking) -> Any:
    """A call that came while the route's first call is being timed: queued behind it, run
    by that call's task when it is done. A first call still running after the blocking
    threshold is a blocking one: the call then runs in a worker thread, beside it."""
    queued = route.trial
    assert queued is not None
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    entry = (req, done)
    queued.append(entry)
    try:
        result = await asyncio.wait_for(asyncio.shield(done), blocking.threshold)
    except TimeoutError:
        if entry not in queued:
            result = await done  # taken off the queue just now: it is being answered
        else:
            queued.remove(entry)
            route.move_to_threads(
                f"its first call was still running after {blocking.threshold * 1000:.0f} ms, "
                "the blocking threshold"
            )
            result = _IN_THREADS
    except asyncio.CancelledError:
        if entry in queued:
            queued.remove(entry)
        done.cancel()
        raise
    if result is _IN_THREADS:
        return await in_thread(route.handler, req)
    return result


def _first_call(route: Route, req: Any, blocking: Blocking) -> Any:
    """A ``def`` route's first call, in a worker thread, timed: past the threshold, the route
    is moved to worker threads (else its caller trusts it to the loop)."""
    started = time.perf_counter()
    try:
        return route.handler(req)
    finally:
        elapsed = time.perf_counter() - started
        if elapsed > blocking.threshold:
            route.move_to_threads(
                f"took {elapsed * 1000:.0f} ms, past the blocking threshold of "
                f"{blocking.threshold * 1000:.0f} ms"
            )


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a realtime worker thread; its result (awaited if awaitable)."""
    result = await anyio.to_thread.run_sync(
        _in_route_thread, function, *args, limiter=realtime_thread_limiter()
    )
    if is_awaitable(result):
        result = await result
    return result


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Run handshake middleware: ``async def`` on the loop, ``def`` in a worker thread (it may
    look a user up in a database: it runs once per connection, not per event)."""
    if is_async_callable(handler):
        return await handler(*args)
    return await in_thread(handler, *args)


_route_threads = threading.local()  # .depth: realtime handlers running in this thread


def in_route_thread() -> bool:
    """True in a worker thread while it runs a realtime ``def`` handler."""
    return getattr(_route_threads, "depth", 0) > 0


def _in_route_thread(handler: Callable[..., Any], *args: Any) -> Any:
    _route_threads.depth = getattr(_route_threads, "depth", 0) + 1
    try:
        return handler(*args)
    finally:
        _route_threads.depth -= 1


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def realtime_thread_limiter() -> anyio.CapacityLimiter:
    """The running loop's limiter for realtime ``def`` handlers (one per loop: an app may be
    served on several loops one after another, and a limiter belongs to one)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(REALTIME_THREADS)
    return limiter


# -- the routes of one request ----------------------------------------------------------------


class RouteOutcomes(Protocol):
    """What a chain reports to the side that started it (socket or HTTP)."""

    def route_missing(self, name: str) -> None:
        """A forward named a route that does not exist (logged by the chain already)."""

    def route_failed(self, name: str, error: BaseException) -> None:
        """A route raised (logged with its traceback by the chain already)."""


class RouteChain:
    """Runs the routes of one request; :meth:`wait` returns when all of them have finished.

    Loop thread only: callers in worker threads hop there first.
    """

    __slots__ = ("_outcomes", "_pending", "_started", "_tasks", "blocking", "routes")

    def __init__(
        self, routes: RouteTable, outcomes: RouteOutcomes, blocking: Blocking, tasks: TaskSet
    ) -> None:
        self.routes = routes
        self.blocking = blocking
        self._tasks = tasks
        self._outcomes = outcomes
        self._pending: set[asyncio.Future[None]] | None = None
        self._started = 0

    def claim(self, name: str) -> Route | None:
        """Count route ``name`` as started in this chain and return it, for a caller that runs
        it itself; None (reported to the outcomes) when there is no such route or the chain
        has forwarded too often."""
        route = self.routes.get(name)
        if route is None:
            logger.warning("forward to unknown route %r ignored", name)
            self._outcomes.route_missing(name)
            return None
        self._started += 1
        if self._started > MAX_ROUTES_PER_CHAIN:
            error = RecursionError(
                f"more than {MAX_ROUTES_PER_CHAIN} routes forwarded for one request "
                f"(a forwarding loop through {name!r}?)"
            )
            logger.error("%s", error)
            self._outcomes.route_failed(name, error)
            return None
        return route

    def start(self, route: Route, req: Any) -> asyncio.Future[None]:
        """Run ``route`` (claimed) as part of this chain in a task of its own; the future
        resolves when it has finished, also when it failed (reported to the outcomes)."""
        task = self._tasks.spawn(self.run(route, req))
        pending = self._pending
        if pending is None:
            pending = self._pending = set()
        pending.add(task)
        task.add_done_callback(pending.discard)
        return task

    async def run(self, route: Route, req: Any) -> None:
        """Run ``route`` (claimed) in the calling task; failures are logged and reported."""
        try:
            await run_route(route, req, self.blocking)
        except Exception as error:
            self.report_failure(route.name, error)

    def run_inline(self, route: Route, req: Any) -> Awaitable[Any] | None:
        """Run a ``def`` route (claimed) that runs on the loop, right now; an awaitable it
        returned is handed back for the caller to finish. Failures are logged and reported."""
        try:
            result = call_inline(route, req, self.blocking)
        except Exception as error:
            self.report_failure(route.name, error)
            return None
        if is_awaitable(result):
            return self._finish(route.name, result)
        return None

    async def _finish(self, name: str, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except Exception as error:
            self.report_failure(name, error)

    @property
    def running(self) -> bool:
        """Routes of this chain running in tasks of their own."""
        return bool(self._pending)

    async def wait(self) -> None:
        """Wait for every route started so far, and for those they start meanwhile."""
        while self._pending:
            await asyncio.wait(tuple(self._pending))

    def cancel(self) -> None:
        """Cancel the routes still running in tasks of their own (the request was dropped)."""
        for task in tuple(self._pending or ()):
            task.cancel()

    def report_failure(self, name: str, error: BaseException) -> None:
        """Log that route ``name`` raised ``error`` and tell the outcomes."""
        logger.error("error in realtime route %r", name, exc_info=error)
        try:
            self._outcomes.route_failed(name, error)
        except Exception:
            logger.exception("error reporting the failure of route %r", name)


def forward_in_this_thread(
    bridge: LoopBridge, chain: RouteChain, name: str, req: Any, run_on_loop: RunOnLoop
) -> Pending:
    """Run route ``name`` of ``chain`` with ``req`` in the calling worker thread (a ``def``
    route forwarding to a ``def`` route); it has finished when this returns.

    It is counted in the chain like any forward, and an unknown or failing route reaches the
    chain's outcomes as from :meth:`RouteChain.start` (failures are logged, not raised here).
    A route replaced by an ``async def`` one meanwhile is handed to ``run_on_loop`` instead."""
    route: Route | None = bridge.call_and_wait(chain.claim, name)
    if route is None:
        return Pending.completed()
    if route.is_async:
        pending = Pending()
        bridge.call(run_on_loop, route, pending)
        return pending
    try:
        result = _in_route_thread(route.handler, req)
        if is_awaitable(result):
            bridge.call_and_wait(_schedule, result).result()
    except Exception as error:
        bridge.call(chain.report_failure, name, error)
    return Pending.completed()


#: ``(route, pending)``, called on the loop: run ``route`` (claimed already) and settle
#: ``pending`` when it finishes.
RunOnLoop = Callable[[Route, Pending], None]


def _schedule(awaitable: Awaitable[Any]) -> concurrent.futures.Future[Any]:
    """Run ``awaitable`` on the loop (call there); its outcome, readable from any thread."""

    async def wait() -> Any:
        return await awaitable

    return asyncio.run_coroutine_threadsafe(wait(), asyncio.get_running_loop())


# -- reading a handler ------------------------------------------------------------------------


def is_async_callable(function: Any) -> bool:
    """True for ``async def`` functions, also behind ``functools.partial`` or as ``__call__``."""
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def code_names(function: Any) -> frozenset[str]:
    """The attribute and global names ``function``'s code uses, nested functions and the
    functions of its own module it calls included (a route's helpers): what it may touch.
    Empty when there is no Python code to read (a builtin, a C extension)."""
    while isinstance(function, functools.partial):
        function = function.func
    code = getattr(function, "__code__", None)
    if code is None:
        code = getattr(getattr(function, "__call__", None), "__code__", None)  # noqa: B004
    if not isinstance(code, types.CodeType):
        return frozenset()
    module_globals: dict[str, Any] = getattr(function, "__globals__", {})
    names: set[str] = set()
    seen: set[types.CodeType] = set()
    todo = [code]
    while todo:
        current = todo.pop()
        if current in seen or len(seen) > 200:
            continue
        seen.add(current)
        names.update(current.co_names)
        for constant in current.co_consts:
            if isinstance(constant, types.CodeType):
                todo.append(constant)
        for instruction in dis.get_instructions(current):
            if instruction.opname == "LOAD_GLOBAL":
                helper = module_globals.get(str(instruction.argval))
                helper_code = getattr(helper, "__code__", None)
                if (
                    isinstance(helper_code, types.CodeType)
                    and getattr(helper, "__globals__", None) is module_globals
                ):
                    todo.append(helper_code)
    return frozenset(names)


def _describe(handler: Any) -> str:
    code = getattr(handler, "__code__", None)
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return f"{getattr(handler, '__qualname__', repr(handler))}{where}"
