"""Forwarding from ``def`` routes that wait for the forwarded route: never a deadlock, even
with every realtime worker thread taken by such waits; and ``Pending.result()`` refuses to
block an event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import expressio
from expressio.io.loop_bridge import Pending
from expressio.io.routes import REALTIME_THREADS

from .conftest import WAIT, clients, served


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    # Every waiting route holds its worker thread at the same moment before it forwards.
    all_waiting = threading.Barrier(REALTIME_THREADS, timeout=WAIT)

    @app.io.route("outer")
    def outer(req: Any) -> None:
        all_waiting.wait()
        req.io.route("inner").result(WAIT)
        req.io.respond(req.inner_thread == threading.get_ident())

    @app.io.route("inner")
    def inner(req: Any) -> None:
        req.inner_thread = threading.get_ident()

    @app.io.route("outer_failing")
    def outer_failing(req: Any) -> None:
        req.io.route("inner_failing").result(WAIT)
        req.io.emit("after_forward", "outer carried on")

    @app.io.route("inner_failing")
    def inner_failing(req: Any) -> None:
        raise ValueError("inner route failed")

    @app.io.route("outer_unknown")
    def outer_unknown(req: Any) -> None:
        req.io.route("no-such-route").result(WAIT)

    @app.io.route("result_on_loop")
    async def result_on_loop(req: Any) -> None:
        try:
            req.io.emit_with_ack("question", timeout=WAIT).result(WAIT)
        except RuntimeError as error:
            req.io.respond(str(error))

    return app


@pytest.fixture
def site() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url


async def test_def_routes_waiting_on_def_forwards_never_deadlock(site: str) -> None:
    async with clients(site) as connect:
        client = await connect()
        answers = await asyncio.gather(*(client.call("outer") for _ in range(REALTIME_THREADS)))
    # each forwarded def route ran in the thread of the route that waited for it
    assert answers == [True] * REALTIME_THREADS


async def test_a_failing_def_forward_answers_the_ack_and_the_caller_carries_on(
    site: str,
) -> None:
    async with clients(site) as connect:
        client = await connect()
        assert await client.call("outer_failing") == {"error": "Internal Server Error"}
        assert await client.inbox.wait_for("after_forward") == ["outer carried on"]
        assert await client.call("outer_unknown") == {"error": "Unknown route: no-such-route"}


async def test_pending_result_on_the_loop_raises_at_once(site: str) -> None:
    with pytest.raises(RuntimeError, match="await"):
        Pending().result(WAIT)
    async with clients(site) as connect:
        client = await connect()
        assert "would block the event loop" in await client.call("result_on_loop")
