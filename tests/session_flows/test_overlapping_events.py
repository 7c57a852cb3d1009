"""Two events of one client running at the same time over a store that answers slowly: the
session re-read before an event must never throw away what a running event wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import expressio
from expressio.sessions import MemoryStore
from tests.forwarding.harness import WAIT, socket_clients
from tests.support import served

from .app_under_test import SECRET
from .conftest import cookie_header, cookie_of

LOAD_DELAY = 0.3  # seconds each store read takes: long enough for a write to land during one


class SlowStore(MemoryStore):
    """A MemoryStore whose reads are slow, and which says when a read starts."""

    def __init__(self) -> None:
        super().__init__()
        self.read_started: asyncio.Event | None = None

    async def load(self, session_id: str) -> bytes | None:
        if self.read_started is not None:
            self.read_started.set()
        await asyncio.sleep(LOAD_DELAY)
        return await super().load(session_id)


def make_app(store: SlowStore) -> expressio.Application:
    app = expressio.express()
    app.http().io()
    app.use(expressio.session(secret=SECRET, store=store))
    progress: dict[str, asyncio.Event] = {}

    @app.post("/login")
    def login(req: Any, res: Any) -> Any:
        req.session["user"] = "ada"
        return {"ok": True}

    @app.get("/me")
    async def me(req: Any, res: Any) -> Any:
        return dict(req.session)

    @app.io.route("slow_write")
    async def slow_write(req: Any) -> None:
        # Wait until the other event is under way: either its re-read of the session has
        # started (the write below then lands in the middle of it), or its handler runs.
        moved_on = progress["other"] = asyncio.Event()
        store.read_started = moved_on
        req.io.emit("slow_write_started")
        await asyncio.wait_for(moved_on.wait(), WAIT)
        store.read_started = None
        req.session["a"] = 1
        req.io.respond(True)

    @app.io.route("quick_write")
    async def quick_write(req: Any) -> None:
        progress["other"].set()
        req.session["b"] = 2
        req.io.respond(True)

    return app


@pytest.fixture
def site() -> Iterator[str]:
    with served(make_app(SlowStore())) as base_url:
        yield base_url


async def test_an_event_starting_while_another_runs_keeps_both_writes(site: str) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=10) as browser:
        await browser.post("/login")
        async with socket_clients(site) as connect:
            client = await connect(headers=cookie_header(cookie_of(browser)))
            slow_answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await client.sio.emit("slow_write", callback=slow_answer.set_result)
            await client.inbox.wait_for("slow_write_started")
            assert await client.call("quick_write") is True
            assert await asyncio.wait_for(slow_answer, WAIT) is True
        stored = (await browser.get("/me")).json()
    assert stored == {"user": "ada", "a": 1, "b": 2}
