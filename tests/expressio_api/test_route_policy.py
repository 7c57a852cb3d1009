"""How realtime ``def`` routes run: a first call in a worker thread, timed; then on the event
loop when it was quick, and back to worker threads once seen blocking (one warning naming the
route); ``blocking=True`` and routes whose code waits on purpose stay in threads. Checked by the
order things happen in and the thread each call ran in, not by timings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import expressio
from tests.socket_clients import clients
from tests.support import served

#: How long a route blocks when the test does not release it: past the 0.1 s threshold.
FIRST_BLOCK = 0.3
#: How long it waits for the test's release on later calls (it is released long before).
LATER_BLOCK = 5.0


class Gate:
    """A pipe the blocking route waits on with ``select``: a blocking call the route's code
    does not name (no ``sleep``, ``wait`` or ``result``), so only running it shows it blocks."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()

    def block(self, seconds: float) -> bool:
        readable, _, _ = select.select([self.read_end], [], [], seconds)
        if readable:
            os.read(self.read_end, 1)
        return bool(readable)

    def open(self) -> None:
        os.write(self.write_end, b"x")

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)


def make_app(gate: Gate, order: list[str]) -> expressio.Application:
    app = expressio.express()
    app.http().io()
    calls = [0]
    threads: dict[str, str] = {}

    @app.io.route("slow")
    def slow(req: Any) -> None:
        calls[0] += 1
        threads["slow"] = threading.current_thread().name
        if calls[0] == 1:
            order.append("slow 1 quick")
        else:
            released = gate.block(FIRST_BLOCK if calls[0] == 2 else LATER_BLOCK)
            order.append(f"slow {calls[0]} {'released' if released else 'timed out'}")
        req.io.respond(threads["slow"])

    @app.io.route("stuck")
    def stuck(req: Any) -> None:
        gate.block(LATER_BLOCK)  # its first call: as if it never returned, until released
        order.append("stuck released")
        req.io.respond(threading.current_thread().name)

    @app.io.route("echo")
    def echo(req: Any) -> None:
        order.append(f"echo {req.data}")
        req.io.respond(req.data)

    @app.io.route("declared", blocking=True)
    def declared(req: Any) -> None:
        req.io.respond(threading.current_thread() is threading.main_thread())

    @app.io.route("sleeper")
    def sleeper(req: Any) -> None:
        time.sleep(0.01)
        req.io.respond("slept")

    @app.io.route("quick")
    def quick(req: Any) -> None:
        req.io.respond("quick")

    return app


@pytest.fixture
def gate() -> Iterator[Gate]:
    opened = Gate()
    yield opened
    opened.close()


async def test_a_first_call_runs_in_a_thread_then_a_quick_route_on_the_loop() -> None:
    gate = Gate()
    order: list[str] = []
    app = make_app(gate, order)
    try:
        with served(app) as url:
            async with clients(url) as connect:
                client = await connect()
                assert not app.io.routes["echo"].on_loop
                assert await client.call("echo", 1) == 1  # first call: a worker thread
                assert app.io.routes["echo"].on_loop
                assert await client.call("slow") != ""
                assert app.io.routes["slow"].on_loop
                second = await client.call("quick")
                third = await client.call("quick")
                assert second == third == "quick"
    finally:
        gate.close()


async def test_a_route_that_never_returns_holds_a_thread_not_the_loop(gate: Gate) -> None:
    order: list[str] = []
    app = make_app(gate, order)
    with served(app) as url:
        async with clients(url) as connect:
            stuck_client, other = await connect(), await connect()
            stuck = asyncio.ensure_future(stuck_client.call("stuck"))
            await asyncio.sleep(0.05)
            for number in range(3):
                assert await other.call("echo", number) == number
            assert order == ["echo 0", "echo 1", "echo 2"]
            await asyncio.sleep(FIRST_BLOCK)  # blocked past the threshold before its release
            gate.open()
            assert not (await stuck).startswith("uvicorn")  # it ran in a worker thread
            assert order[-1] == "stuck released"
            assert app.io.routes["stuck"].in_threads  # it took too long: it stays in threads


async def test_a_route_seen_blocking_on_the_loop_delays_others_once_then_runs_in_threads(
    gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="expressio.io")
    order: list[str] = []
    app = make_app(gate, order)
    with served(app) as url:
        async with clients(url) as connect:
            blocker, other = await connect(), await connect()
            assert await other.call("echo", 0) == 0  # echo now runs on the loop
            assert not (await blocker.call("slow")).startswith("uvicorn")  # quick, in a thread
            assert app.io.routes["slow"].on_loop

            # Second call, on the loop: it blocks, so the other client's event waits for it.
            second = asyncio.ensure_future(blocker.call("slow"))
            await asyncio.sleep(0.05)  # the slow event reaches the server first
            assert await other.call("echo", 1) == 1
            assert (await second).startswith("uvicorn")  # the thread serving the loop
            assert order[-2:] == ["slow 2 timed out", "echo 1"]
            assert app.io.routes["slow"].in_threads and not app.io.routes["slow"].on_loop

            # Later calls run in a worker thread: the other client is served meanwhile, and
            # the slow route is still blocked until the test lets it go.
            for round_number in (3, 4):
                later = asyncio.ensure_future(blocker.call("slow"))
                await asyncio.sleep(0.05)
                assert await other.call("echo", round_number) == round_number
                assert order[-1] == f"echo {round_number}"
                gate.open()
                thread_name = await later
                assert order[-1] == f"slow {round_number} released"
                assert not thread_name.startswith("uvicorn")  # a worker thread

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    moved = [message for message in warnings if "'slow'" in message]
    assert len(moved) == 1, warnings
    assert "worker threads" in moved[0] and "blocking threshold" in moved[0]
    assert "test_route_policy.py" in moved[0]  # where the route is


def make_first_call_app(gate: Gate, order: list[str]) -> expressio.Application:
    """A route whose first call waits on the gate (its later calls do not)."""
    app = expressio.express()
    app.http().io()
    calls = [0]

    @app.io.route("step")
    def step(req: Any) -> None:
        calls[0] += 1
        if calls[0] == 1:
            order.append(f"{req.data} started")
            gate.block(LATER_BLOCK)
        order.append(str(req.data))
        req.io.respond(req.data)

    return app


async def test_events_that_come_during_a_quick_first_call_run_after_it(gate: Gate) -> None:
    """A client's events to a route keep their order while its first call is being timed."""
    order: list[str] = []
    app = make_first_call_app(gate, order)
    app.io.set("blocking threshold", 30.0)  # the first call is "quick" however long it waits
    with served(app) as url:
        async with clients(url) as connect:
            client = await connect()
            first = asyncio.ensure_future(client.call("step", "first"))
            second = asyncio.ensure_future(client.call("step", "second"))
            while "first started" not in order:
                await asyncio.sleep(0.01)
            # time for "second" to reach the server while "first" runs; it must not start
            await asyncio.sleep(0.2)
            assert order == ["first started"]
            gate.open()
            assert await first == "first" and await second == "second"
            assert order == ["first started", "first", "second"]
            assert app.io.routes["step"].on_loop


async def test_events_that_come_during_a_blocking_first_call_are_not_held_by_it(
    gate: Gate,
) -> None:
    """Past the threshold, the first call is a blocking one: the calls that waited for its
    verdict run in worker threads, beside it, and another client is never held."""
    order: list[str] = []
    app = make_first_call_app(gate, order)
    with served(app) as url:
        async with clients(url) as connect:
            held, other = await connect(), await connect()
            first = asyncio.ensure_future(held.call("step", "first"))
            while "first started" not in order:
                await asyncio.sleep(0.01)
            assert await other.call("step", "other") == "other"  # while "first" still waits
            assert order == ["first started", "other"]
            assert app.io.routes["step"].in_threads
            gate.open()
            assert await first == "first"


async def test_declared_and_waiting_routes_start_in_threads(gate: Gate) -> None:
    app = make_app(gate, [])
    routes = app.io.routes
    assert routes["declared"].in_threads
    assert routes["sleeper"].in_threads  # its code calls sleep()
    assert not routes["quick"].in_threads and not routes["slow"].in_threads
    with served(app) as url:
        async with clients(url) as connect:
            client = await connect()
            assert await client.call("declared") is False  # not the loop's thread
            assert await client.call("sleeper") == "slept"
            assert await client.call("quick") == "quick"


def test_the_threshold_is_a_setting() -> None:
    app = expressio.express()
    app.io()
    assert app.io.get("blocking threshold") == 0.1
    app.io.set("blocking threshold", 0.5)
    assert app.io.get("blocking_threshold") == 0.5
    with pytest.raises(ValueError, match="positive number of seconds"):
        app.io.set("blocking threshold", 0)
