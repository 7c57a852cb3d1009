"""Running ``async def`` routes' events without a task for each.

Most realtime routes finish without ever waiting: they answer, join a room, broadcast and
return. A task per event costs more than such a route (creating and registering it, scheduling
its step, its done callback), so a :class:`RouteRunner` runs the events that arrive during one
loop turn in one task, one after another, each in a context of its own (as a task of its own
would have), each until it finishes or first waits for something.

A route that waits keeps the task it started in: that task is then the route's alone (it is
what ``asyncio.current_task()`` returned to the route, so ``asyncio.timeout``, task groups and
cancellation keep meaning that route), and the events queued behind it go on in a new task. So
an event runs when it would have in a task of its own (on the loop turn after it arrived), in
the order events arrived, and one that waits holds up nobody.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import types
from collections import deque
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..realtime.tasks import TaskSet
    from .clients import Client

logger = logging.getLogger("expressio.io")

EventRun = Coroutine[Any, Any, None]


class RouteRunner:
    """The ``async def`` route events of one namespace, run in batches (see the module)."""

    __slots__ = ("_batch", "_queue", "_tasks")

    def __init__(self, tasks: TaskSet) -> None:
        self._tasks = tasks
        self._queue: deque[tuple[Client, EventRun]] = deque()
        #: the task running the queue, until it ends or a route keeps it
        self._batch: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, client: Client, run: EventRun) -> None:
        """Run ``run`` (one event of ``client``, counted in its ``running`` already) on the
        next loop turn; ``client.finished`` is its end."""
        self._queue.append((client, run))
        if self._batch is None:
            self._start_batch()

    def _start_batch(self) -> None:
        self._batch = self._tasks.spawn(self._run_batch(), self._batch_ended)

    async def _run_batch(self) -> None:
        queue = self._queue
        while queue:
            client, run = queue.popleft()
            if client.dropped:
                _never_started(client, run)  # as a task cancelled before its first step
                continue
            context = contextvars.copy_context()
            try:
                waiting_on = context.run(run.send, None)
            except (StopIteration, asyncio.CancelledError):
                client.running -= 1  # done (or cancelled by itself, as its task would end)
                continue
            except Exception:
                # Not the route's error (the event's run answers those): one of ours.
                client.running -= 1
                logger.exception("unexpected error running an event of socket %s", client.socket.id)
                continue
            except BaseException:
                client.running -= 1
                raise  # KeyboardInterrupt, SystemExit: the queue is closed as the task ends
            # The route waits: this task is its own from now on; the queue goes on in another.
            self._batch = None
            if queue:
                self._start_batch()
            task = asyncio.current_task()
            assert task is not None
            client.track(task)
            try:
                await _resume(run, context, waiting_on)
            finally:
                client.finished(task)
            return
        self._batch = None

    def _batch_ended(self, task: asyncio.Future[None]) -> None:
        # A batch task cancelled before it ran (at shutdown) leaves its queue: close it, so
        # that no event is left half started or warned about as never awaited.
        if self._batch is task:
            self._batch = None
            while self._queue:
                _never_started(*self._queue.popleft())


def _never_started(client: Client, run: EventRun) -> None:
    """An event that will not run: closed unstarted (nothing of it runs), no longer counted."""
    run.close()
    client.running -= 1


@types.coroutine
def _resume(
    run: EventRun, context: contextvars.Context, waiting_on: Any
) -> Generator[Any, Any, None]:
    """Go on with ``run``, which is waiting on ``waiting_on``, as its own task would: each step
    in ``context``, with what the task sends or throws in (a result, a cancellation)."""
    while True:
        try:
            value = yield waiting_on
        except GeneratorExit:
            run.close()
            raise
        except BaseException as error:
            thrown: BaseException | None = error
        else:
            thrown = None
        try:
            if thrown is None:
                waiting_on = context.run(run.send, value)
            else:
                waiting_on = context.run(run.throw, thrown)
        except StopIteration:
            return
