"""Limits one client cannot push past: events in flight per connection, and worker threads
realtime ``def`` routes may occupy (never those ``def`` HTTP handlers need)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import expressio
from expressio.io.routes import REALTIME_THREADS
from expressio.io.settings import UnknownSettingError

from .conftest import WAIT, clients, served

MAX_IN_FLIGHT = 5


def make_app() -> tuple[expressio.Application, threading.Event, list[int]]:
    app = expressio.express()
    app.http().io(max_in_flight_events=MAX_IN_FLIGHT)
    release = threading.Event()  # lets the blocked def routes go
    blocked = [0]  # def routes blocked right now
    held: dict[str, asyncio.Event] = {}

    @app.get("/ping")
    def ping(req: Any, res: Any) -> str:
        return "pong"

    @app.io.route("hold")
    async def hold(req: Any) -> None:
        event = held.setdefault("release", asyncio.Event())
        await asyncio.wait_for(event.wait(), WAIT * 2)

    @app.io.route("release_held")
    async def release_held(req: Any) -> None:
        held.setdefault("release", asyncio.Event()).set()
        req.io.respond(True)

    @app.io.route("block")
    def block(req: Any) -> None:
        blocked[0] += 1
        try:
            release.wait(WAIT * 2)
        finally:
            blocked[0] -= 1

    @app.io.route("echo")
    def echo(req: Any) -> None:
        req.io.respond(req.data)

    return app, release, blocked


@pytest.fixture
def site() -> Iterator[tuple[str, threading.Event, list[int]]]:
    app, release, blocked = make_app()
    try:
        with served(app) as base_url:
            yield base_url, release, blocked
    finally:
        release.set()


async def test_a_client_flooding_events_is_disconnected_and_others_carry_on(
    site: tuple[str, threading.Event, list[int]], caplog: pytest.LogCaptureFixture
) -> None:
    base_url, _, _ = site
    caplog.set_level(logging.WARNING, logger="expressio.io")
    async with clients(base_url) as connect:
        flooder, bystander = await connect(), await connect()
        gone = asyncio.Event()
        flooder.sio.on("disconnect", lambda *reason: gone.set())
        for _ in range(MAX_IN_FLIGHT * 3):
            await flooder.emit("hold")
        await asyncio.wait_for(gone.wait(), WAIT)
        assert not flooder.sio.connected
        # the other client, connected all along, is served as before
        assert await bystander.call("echo", "still here") == "still here"
        assert await bystander.call("release_held") is True
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("events in flight" in message for message in warnings), warnings


async def test_events_up_to_the_limit_are_served(
    site: tuple[str, threading.Event, list[int]],
) -> None:
    base_url, _, _ = site
    async with clients(base_url) as connect:
        client, other = await connect(), await connect()
        for _ in range(MAX_IN_FLIGHT - 1):
            await client.emit("hold")
        assert await client.call("echo", "last one") == "last one"  # the fifth in flight
        assert client.sio.connected
        assert await other.call("release_held") is True


async def test_blocked_def_realtime_routes_leave_threads_for_def_http_handlers(
    site: tuple[str, threading.Event, list[int]],
) -> None:
    base_url, release, blocked = site
    async with clients(base_url) as connect:
        senders = [await connect() for _ in range(REALTIME_THREADS // (MAX_IN_FLIGHT - 1) + 1)]
        for index in range(REALTIME_THREADS):
            await senders[index // (MAX_IN_FLIGHT - 1)].emit("block")
        deadline = time.monotonic() + WAIT
        while blocked[0] < REALTIME_THREADS:  # every realtime thread token is taken
            assert time.monotonic() < deadline, f"only {blocked[0]} routes blocked"
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=base_url, timeout=WAIT) as http:
            response = await http.get("/ping")
        assert (response.status_code, response.text) == (200, "pong")
        release.set()


def test_the_limit_is_a_setting() -> None:
    app = expressio.express()
    app.io()
    assert app.io.get("max in flight events") == 1000
    app.io.set("max in-flight events", 3)
    assert app.io.get("max_in_flight_events") == 3
    assert app.io.of("/").max_in_flight_events == 3  # what the event pipeline reads
    with pytest.raises(ValueError, match="positive whole number"):
        app.io.set("max in flight events", 0)
    with pytest.raises(UnknownSettingError):
        app.io.set("max inflight", 3)
