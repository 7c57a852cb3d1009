"""Tasks belong to their client: when it disconnects, its events still running are cancelled,
so reconnecting over and over cannot pile tasks up; shutdown waits for what is left."""

from __future__ import annotations

import asyncio
from typing import Any

import expressio
from expressio.io.appio import runtime_of
from tests.socket_clients import clients
from tests.support import served

EVENTS = 50  # per connection, each parked in a slow route
ROUNDS = 5


async def test_a_disconnecting_clients_events_are_cancelled() -> None:
    app = expressio.express()
    app.http().io()
    started: list[str] = []
    cancelled: list[str] = []
    forwarded: list[str] = []

    @app.io.route("park")
    async def park(req: Any) -> None:
        started.append(req.socket.id)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(req.socket.id)
            raise

    @app.io.route("park_forwarding")
    async def park_forwarding(req: Any) -> None:
        await req.io.route("parked_target")

    @app.io.route("parked_target")
    async def parked_target(req: Any) -> None:
        forwarded.append(req.socket.id)
        await asyncio.sleep(60)

    tasks = runtime_of(app.io).tasks
    with served(app) as url:
        for round_number in range(1, ROUNDS + 1):
            async with clients(url) as connect:
                client = await connect()
                for _ in range(EVENTS):
                    await client.emit("park")
                await client.emit("park_forwarding")
                await _until(
                    lambda n=round_number: len(started) == EVENTS * n and len(forwarded) == n
                )
                assert len(tasks) >= EVENTS  # parked while the client is there
            # the client is gone: its events (and what they forwarded to) go too
            await _until(lambda: len(tasks) == 0)
        assert len(started) == EVENTS * ROUNDS
        assert len(cancelled) == EVENTS * ROUNDS
        assert len(forwarded) == ROUNDS


async def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)
