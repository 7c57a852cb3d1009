"""The realtime route table and the one path every route runs through.

A :class:`RouteTable` maps event names to handlers; it is read at event time, so a route
added after clients connected is live for them. A :class:`RouteChain` runs the routes of one
request: the first one, and every route it forwards to with ``req.io.route(name)``. The chain
never touches the table, so forwarding costs no memory however often it happens.

The chain does not know where the request came from. Whoever starts it says what an unknown
route and a failed route mean through :class:`RouteOutcomes`: over a socket the client's ack
gets an error; an HTTP request forwarded into a realtime route answers 404 or 500 instead.

How handlers run:

- ``async def`` handlers run as tasks on the event loop.
- plain ``def`` handlers run in a worker thread, so a blocking handler never stalls other
  clients. They hold tokens of a limiter of their own (:data:`REALTIME_THREADS` per loop), not
  the one Starlette's ``def`` HTTP endpoints share: blocked realtime handlers can never keep an
  HTTP request waiting for a thread, nor the reverse. The IO methods they call hop onto the
  loop in call order (see :mod:`expressio.io.loop_bridge`).
- a ``def`` handler that returns an awaitable has it awaited on the loop.
- a ``def`` route that forwards to a ``def`` route runs it itself, in its own worker thread
  (:func:`forward_in_this_thread`): waiting in a worker thread for a route that needs another
  worker thread could wait forever once every thread is taken by such waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol

import anyio
import anyio.to_thread

from .loop_bridge import LoopBridge, Pending

logger = logging.getLogger("expressio.io")

RouteHandler = Callable[[Any], Any]

#: Worker threads realtime ``def`` routes and ``def`` handshake middleware occupy at once, per
#: event loop (the size of anyio's default limiter, which ``def`` HTTP handlers use).
REALTIME_THREADS = 40

#: A chain that starts more routes than this is forwarding in a loop (``a`` → ``b`` → ``a``...).
MAX_ROUTES_PER_CHAIN = 1000


class RouteTable(Mapping[str, RouteHandler]):
    """Event name → handler, for one namespace. A mapping, so ``len()`` and iteration work."""

    __slots__ = ("_routes",)

    def __init__(self) -> None:
        self._routes: dict[str, RouteHandler] = {}

    def add(self, name: str, handler: RouteHandler) -> None:
        if not callable(handler):
            raise TypeError(f"the handler of route {name!r} must be callable, got {handler!r}")
        self._routes[name] = handler

    def __getitem__(self, name: str) -> RouteHandler:
        return self._routes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def __repr__(self) -> str:
        return f"<RouteTable {sorted(self._routes)}>"


class RouteOutcomes(Protocol):
    """What a chain reports to the side that started it (socket or HTTP)."""

    def route_missing(self, name: str) -> None:
        """A forward named a route that does not exist (logged by the chain already)."""

    def route_failed(self, name: str, error: BaseException) -> None:
        """A route raised (logged with its traceback by the chain already)."""


class RouteChain:
    """Runs the routes of one request; :meth:`wait` returns when all of them have finished.

    Loop thread only: the socket side hops there before calling :meth:`start`.
    """

    __slots__ = ("_outcomes", "_pending", "_started", "routes")

    def __init__(self, routes: RouteTable, outcomes: RouteOutcomes) -> None:
        self.routes = routes
        self._outcomes = outcomes
        self._pending: set[asyncio.Future[None]] = set()
        self._started = 0

    def has(self, name: str) -> bool:
        return name in self.routes

    def start(self, name: str, req: Any) -> asyncio.Future[None]:
        """Start route ``name`` with ``req``; the future resolves when it has finished.

        It never raises: an unknown route or a failing handler is logged and reported to the
        outcomes, and the future still resolves (to ``None``)."""
        handler = self.claim(name)
        if handler is None:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return self.run(name, handler, req)

    async def run_first(self, name: str, req: Any) -> None:
        """Start route ``name`` like :meth:`start`, but run it in the calling task: the route
        an event starts needs no task of its own (its forwards get one each)."""
        handler = self.claim(name)
        if handler is not None:
            await self._run(name, handler, req)

    def claim(self, name: str) -> RouteHandler | None:
        """Count route ``name`` as started in this chain and return its handler, for a caller
        that runs it itself; None (reported to the outcomes) when there is no such route or
        the chain has forwarded too often."""
        handler = self.routes.get(name)
        if handler is None:
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
        return handler

    def run(self, name: str, handler: RouteHandler, req: Any) -> asyncio.Future[None]:
        """Run ``handler`` as part of this chain (a route found elsewhere, e.g. a listener
        registered for one client); reported under ``name``."""
        task = asyncio.get_running_loop().create_task(self._run(name, handler, req))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def wait(self) -> None:
        """Wait for every route started so far, and for those they start meanwhile."""
        while self._pending:
            await asyncio.wait(tuple(self._pending))

    async def _run(self, name: str, handler: RouteHandler, req: Any) -> None:
        try:
            await call_route_handler(handler, req)
        except Exception as error:
            logger.error("error in realtime route %r", name, exc_info=error)
            self.report_failure(name, error)

    def report_failure(self, name: str, error: BaseException) -> None:
        """Tell the outcomes that route ``name`` raised ``error`` (logged by the caller)."""
        try:
            self._outcomes.route_failed(name, error)
        except Exception:
            logger.exception("error reporting the failure of route %r", name)


async def call_route_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Run one handler the way routes run (see the module docstring) and return its result.
    Handshake middleware runs the same way."""
    if is_async_callable(handler):
        return await handler(*args)
    result = await anyio.to_thread.run_sync(
        _in_route_thread, handler, *args, limiter=realtime_thread_limiter()
    )
    if inspect.isawaitable(result):
        result = await result
    return result


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


#: ``(name, handler, pending)``, called on the loop: run ``handler`` (counted with
#: :meth:`RouteChain.claim` already) as route ``name`` and settle ``pending`` when it finishes.
RunOnLoop = Callable[[str, RouteHandler, Pending], None]


def forward_in_this_thread(
    bridge: LoopBridge, chain: RouteChain, name: str, req: Any, run_on_loop: RunOnLoop
) -> Pending:
    """Run route ``name`` of ``chain`` with ``req`` in the calling worker thread (for a ``def``
    route forwarding to a ``def`` route); it has finished when this returns.

    It is counted in the chain like any forward, and an unknown or failing route reaches the
    chain's outcomes as from :meth:`RouteChain.start` (failures are logged, not raised here).
    A route replaced by an ``async def`` one meanwhile is handed to ``run_on_loop`` instead."""
    handler: RouteHandler | None = bridge.call_and_wait(chain.claim, name)
    if handler is None:
        return Pending.completed()
    if is_async_callable(handler):
        pending = Pending()
        bridge.call(run_on_loop, name, handler, pending)
        return pending
    try:
        result = _in_route_thread(handler, req)
        if inspect.isawaitable(result):
            bridge.call_and_wait(_schedule, result).result()
    except Exception as error:
        logger.error("error in realtime route %r", name, exc_info=error)
        bridge.call(chain.report_failure, name, error)
    return Pending.completed()


def _schedule(awaitable: Awaitable[Any]) -> concurrent.futures.Future[Any]:
    """Run ``awaitable`` on the loop (call there); its outcome, readable from any thread."""

    async def wait() -> Any:
        return await awaitable

    return asyncio.run_coroutine_threadsafe(wait(), asyncio.get_running_loop())


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


def is_async_callable(function: Any) -> bool:
    """True for ``async def`` functions, also behind ``functools.partial`` or as ``__call__``."""
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an object with an async __call__
    )
