"""Tasks that belong to an owner: a server, a namespace, one request.

The event loop keeps only weak references to tasks, so whoever starts one must hold it until
it ends; a :class:`TaskSet` does that for one owner, counts them, and on shutdown waits for them
a bounded time and cancels what is left, so nothing outlives the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TaskSet:
    """The running tasks of one owner."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(
        self,
        awaitable: Coroutine[Any, Any, T] | Awaitable[T],
        when_done: Callable[[asyncio.Future[T]], object] | None = None,
    ) -> asyncio.Future[T]:
        """Run ``awaitable`` in a task held here until it ends; ``when_done(task)`` then runs
        in the same done-callback (one loop callback per task, not two)."""
        if isinstance(awaitable, Coroutine):
            # What ensure_future does for a coroutine, without its checks (about 1 µs a task,
            # paid by every event of an ``async def`` route).
            task: asyncio.Future[T] = asyncio.get_running_loop().create_task(awaitable)
        else:
            task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        if when_done is None:
            task.add_done_callback(self._tasks.discard)
        else:
            tasks = self._tasks

            def done(finished: asyncio.Future[T]) -> None:
                tasks.discard(finished)
                when_done(finished)

            task.add_done_callback(done)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def finish(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every task (also those started meanwhile), then
        cancel the ones still running and give them as long again to end (a task waiting for a
        worker thread ends only when the thread's function returns)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(tuple(self._tasks), timeout=remaining)
        left = tuple(self._tasks)
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=timeout)
