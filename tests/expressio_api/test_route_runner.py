"""``async def`` routes run in one task per loop turn, not one per event: what a route can
tell apart must not change. Through a real server and python-socketio clients: a route that
waits keeps its task (``current_task``, ``asyncio.timeout``, task groups), context variables
stay per event, a waiting route holds up no other event, events run in the order they came.
Then the runner alone: events of a client gone before they started never start, a batch
cancelled at shutdown closes what it held, a waiting route's task is cancelled with its client.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import types
import warnings
from typing import Any

import pytest

import expressio
from expressio.io.route_runner import RouteRunner
from expressio.realtime.tasks import TaskSet
from tests.socket_clients import clients
from tests.support import served

CALLS = 40
current_caller: contextvars.ContextVar[str] = contextvars.ContextVar("current_caller")


def build_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    release = asyncio.Event()
    order: list[int] = []

    @app.io.route("keeps_its_task")
    async def keeps_its_task(req: Any) -> None:
        first = asyncio.current_task()
        async with asyncio.timeout(5):  # needs a task in the route's first step
            async with asyncio.TaskGroup() as group:
                child = group.create_task(asyncio.sleep(0.01, "child"))
            await asyncio.sleep(0.01)
        req.io.respond(
            {
                "had_a_task": first is not None,
                "same_task": asyncio.current_task() is first,
                "child": child.result(),
            }
        )

    @app.io.route("times_out")
    async def times_out(req: Any) -> None:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            req.io.respond("timed out")

    @app.io.route("context")
    async def context(req: Any) -> None:
        before = current_caller.get("unset")
        current_caller.set(req.data)
        if req.data.endswith("0"):
            await asyncio.sleep(0)  # some wait, some don't
        req.io.respond([before, current_caller.get()])

    @app.io.route("wait_for_release")
    async def wait_for_release(req: Any) -> None:
        await asyncio.wait_for(release.wait(), 5)
        req.io.respond("released")

    @app.io.route("release")
    async def release_route(req: Any) -> None:
        release.set()
        req.io.respond("released it")

    @app.io.route("order")
    async def record_order(req: Any) -> None:
        order.append(req.data)
        if req.data % 7 == 0:
            await asyncio.sleep(0.001)

    @app.io.route("order_seen")
    async def order_seen(req: Any) -> None:
        req.io.respond(order)

    return app


async def test_a_route_that_waits_keeps_the_task_it_started_in() -> None:
    with served(build_app()) as url:
        async with clients(url) as connect:
            client = await connect()
            answers = await asyncio.gather(*(client.call("keeps_its_task") for _ in range(10)))
            assert answers == [{"had_a_task": True, "same_task": True, "child": "child"}] * 10
            assert await client.call("times_out") == "timed out"


async def test_context_variables_are_per_event() -> None:
    with served(build_app()) as url:
        async with clients(url) as connect:
            client = await connect()
            names = [f"call-{index}" for index in range(CALLS)]
            answers = await asyncio.gather(*(client.call("context", name) for name in names))
            assert answers == [["unset", name] for name in names]


async def test_a_waiting_route_holds_up_no_other_event() -> None:
    with served(build_app()) as url:
        async with clients(url) as connect:
            client = await connect()
            waiting = asyncio.ensure_future(client.call("wait_for_release"))
            assert await client.call("release") == "released it"
            assert await waiting == "released"


async def test_events_start_in_the_order_they_came() -> None:
    with served(build_app()) as url:
        async with clients(url) as connect:
            client = await connect()
            for index in range(CALLS):
                await client.emit("order", index)
            seen: list[int] = []
            for _ in range(100):
                seen = await client.call("order_seen")
                if len(seen) == CALLS:
                    break
                await asyncio.sleep(0.02)
            assert seen == list(range(CALLS))


# -- the runner alone ---------------------------------------------------------------------------


class StubClient:
    """What the runner uses of a client: its counters, its flag, the tasks it tracks."""

    def __init__(self) -> None:
        self.socket = types.SimpleNamespace(id="stub")
        self.dropped = False
        self.running = 0
        self.tasks: set[asyncio.Future[Any]] = set()

    def track(self, task: asyncio.Future[Any]) -> None:
        self.tasks.add(task)

    def finished(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        self.running -= 1


async def test_a_dropped_clients_events_never_start() -> None:
    runner = RouteRunner(TaskSet())
    client, other = StubClient(), StubClient()
    ran: list[str] = []

    async def event(name: str) -> None:
        ran.append(name)

    for name, owner in (("a", client), ("b", other), ("c", client)):
        owner.running += 1
        runner.submit(owner, event(name))  # type: ignore[arg-type]
    client.dropped = True
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == ["b"]
    assert client.running == 0 and other.running == 0


async def test_a_batch_cancelled_before_it_ran_closes_its_events() -> None:
    tasks = TaskSet()
    runner = RouteRunner(tasks)
    client = StubClient()
    ran: list[int] = []

    async def event(index: int) -> None:
        ran.append(index)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine ... was never awaited"
        for index in range(3):
            client.running += 1
            runner.submit(client, event(index))  # type: ignore[arg-type]
        await tasks.finish(0)  # shutdown at once: the batch is cancelled before it runs
        gc.collect()
    assert ran == []
    assert client.running == 0 and len(runner) == 0
    # and the runner still works afterwards
    client.running += 1
    runner.submit(client, event(9))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert ran == [9]


async def test_a_waiting_routes_task_is_its_own_and_goes_with_its_client() -> None:
    tasks = TaskSet()
    runner = RouteRunner(tasks)
    client = StubClient()
    outcome: list[str] = []
    after: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    async def quick() -> None:
        after.append("ran")

    client.running += 2
    runner.submit(client, waits())  # type: ignore[arg-type]
    runner.submit(client, quick())  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert after == ["ran"]  # went on in another task
    assert len(client.tasks) == 1 and client.running == 1
    (waiting,) = client.tasks
    waiting.cancel()  # as Client.drop_events does
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert outcome == ["cancelled"]
    assert client.tasks == set() and client.running == 0 and len(tasks) == 0


async def test_what_a_waiting_route_gets_back_reaches_it() -> None:
    runner = RouteRunner(TaskSet())
    client = StubClient()
    results: list[Any] = []
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    failing: asyncio.Future[str] = loop.create_future()

    async def waits() -> None:
        results.append(await answer)
        try:
            await failing
        except ValueError as error:
            results.append(str(error))
        await asyncio.sleep(0)  # a bare yield to the loop
        results.append("done")

    client.running += 1
    runner.submit(client, waits())  # type: ignore[arg-type]
    await asyncio.sleep(0)
    answer.set_result("an answer")
    failing.set_exception(ValueError("a failure"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert results == ["an answer", "a failure", "done"]
    assert client.running == 0


async def test_an_error_outside_the_route_is_logged_and_the_queue_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = RouteRunner(TaskSet())
    client = StubClient()
    ran: list[str] = []

    async def broken() -> None:
        raise ValueError("not the route's")

    async def cancels_itself() -> None:
        raise asyncio.CancelledError

    async def fine() -> None:
        ran.append("fine")

    for run in (broken(), cancels_itself(), fine()):
        client.running += 1
        runner.submit(client, run)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="expressio.io"):
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    assert ran == ["fine"] and client.running == 0
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and "socket stub" in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ValueError
