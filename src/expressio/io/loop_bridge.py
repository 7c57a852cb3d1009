"""Reaching the event loop from any thread, in call order, and waiting from any thread.

Layers 1-3 live on the event loop's thread. The express.io API is also used from worker threads
(plain ``def`` routes run there, like Starlette's ``def`` endpoints), so every IO method goes
through :class:`LoopBridge`: on the loop thread it acts at once; elsewhere it is handed over
with ``call_soon_threadsafe``, which keeps the order of calls made by one thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

logger = logging.getLogger("expressio.io")


class LoopBridge:
    """Runs callables on one event loop: inline on its thread, handed over from other threads.

    The loop is learnt when the server starts, at the first HTTP request, and when a realtime
    client joins a namespace (websocket clients on the direct path make no ASGI call); before
    that there is no client to talk to, so calls run inline in the caller.
    """

    __slots__ = ("_loop", "thread_id")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        #: the loop's thread (``threading.get_ident()``), once known
        self.thread_id: int | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def attach(self) -> None:
        """Adopt the running loop (call on the loop's thread). A later loop replaces an earlier
        one: a test suite may serve the same app on several loops one after another."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self.thread_id = threading.get_ident()

    def on_loop_thread(self) -> bool:
        return self.thread_id is None or threading.get_ident() == self.thread_id


    def call(self, function: Callable[..., Any], *args: Any) -> None:
        """``function(*args)`` now when on the loop thread, else as soon as the loop can.

        An exception raised on the loop after a hand-over cannot reach the caller; it is logged
        with its traceback instead of vanishing in the loop's default handler."""
        loop = self._loop
        if loop is None or threading.get_ident() == self.thread_id:
            function(*args)
            return
        if loop.is_closed():
            logger.debug("call to %r dropped: the server's loop is closed", function)
            return
        loop.call_soon_threadsafe(_logged, function, args)


    def call_and_wait(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on the loop; from another thread, block until it has run there
        (and return its result or raise its exception). For changes the caller reads back at
        once, such as joining a room and then listing the rooms."""
        loop = self._loop
        if loop is None or threading.get_ident() == self.thread_id:
            return function(*args)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as error:
                future.set_exception(error)

        loop.call_soon_threadsafe(run)
        return future.result(HAND_OVER_TIMEOUT)


#: Seconds a worker thread waits for the loop to run a call it handed over (a loop that long
#: unresponsive is stuck or gone; the caller gets a TimeoutError rather than hanging forever).
HAND_OVER_TIMEOUT = 30.0


def _logged(function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        function(*args)
    except Exception:
        logger.exception("error in an IO call handed over from a worker thread")


class Pending:
    """Something that finishes later: ``await`` it on any loop, or ``result(timeout)`` from a
    worker thread (where awaiting is impossible)."""

    __slots__ = ("_future",)

    def __init__(self, future: concurrent.futures.Future[Any] | None = None) -> None:
        self._future: concurrent.futures.Future[Any] = future or concurrent.futures.Future()

    @classmethod
    def completed(cls, value: Any = None) -> Pending:
        pending = cls()
        pending._future.set_result(value)
        return pending

    @property
    def future(self) -> concurrent.futures.Future[Any]:
        return self._future

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.wrap_future(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Any:
        """Block until finished and return the value (or raise). For worker threads only: on
        an event loop's thread it raises ``RuntimeError`` at once, since the loop could not
        make progress while it blocked (``await`` the Pending there instead)."""
        if _loop_running_here():
            raise RuntimeError(
                "Pending.result() would block the event loop's thread (and wait forever): "
                "use 'await' in async def code, or call result() from a def route"
            )
        return self._future.result(timeout)

    def __repr__(self) -> str:
        state = "done" if self._future.done() else "pending"
        return f"<Pending {state}>"


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def settle(future: concurrent.futures.Future[Any], value: Any = None) -> None:
    """Resolve ``future`` unless something already did (a timeout, a cancellation)."""
    if not future.done():
        future.set_result(value)


def fail(future: concurrent.futures.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
