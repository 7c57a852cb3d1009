"""Tasks belong to their client: when it disconnects, its events still running are cancelled,
so reconnecting over and over cannot pile tasks up, and what it still owes an answer to fails
at once."""

from __future__ import annotations

import asyncio
from typing import Any

import expressio
from expressio.io.appio import runtime_of
from tests.socket_clients import SLOW, clients
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


async def test_emit_with_ack_fails_at_once_when_the_client_disconnects() -> None:
    app = expressio.express()
    app.http().io()
    outcomes: list[str] = []

    background: set[asyncio.Future[None]] = set()

    @app.io.route("ask")
    async def ask(req: Any) -> None:
        waiting = req.io.emit_with_ack("question", timeout=30)

        async def wait_for_the_answer() -> None:  # outlives the event, which is cancelled
            try:
                await waiting
            except Exception as error:
                outcomes.append(type(error).__name__)

        background.add(asyncio.ensure_future(wait_for_the_answer()))

    @app.io.route("disconnect")
    def gone(req: Any) -> None:
        outcomes.append("disconnect hook")

    with served(app) as url:
        async with clients(url) as connect:
            client = await connect(answers={"question": SLOW})  # it answers after a second
            await client.emit("ask")
            await client.inbox.wait_for("question")
        await _until(lambda: "ConnectionResetError" in outcomes)
    assert "TimeoutError" not in outcomes
