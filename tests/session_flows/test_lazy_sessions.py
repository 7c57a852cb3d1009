"""Sessions load only for code that reads ``req.session``: every other request or event costs
no store round trip (counted on a store that records its calls)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

import expressio
from tests.forwarding.harness import socket_clients
from tests.support import served

from .app_under_test import make_app
from .conftest import cookie_header, cookie_of


class CountingStore(expressio.MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def load(self, session_id: str) -> bytes | None:
        self.calls.append("load")
        return await super().load(session_id)

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        self.calls.append("save")
        await super().save(session_id, payload, ttl)

    async def touch(self, session_id: str, ttl: float) -> None:
        self.calls.append("touch")
        await super().touch(session_id, ttl)


async def test_requests_and_events_that_never_read_the_session_cost_no_store_call() -> None:
    store = CountingStore()
    with served(make_app(store)) as url:
        async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
            await browser.post("/login", json={"nick": "ada"})
            client = await connect(headers=cookie_header(cookie_of(browser)))
            store.calls.clear()
            assert (await client.call("me"))["data"] == {"nick": "ada"}
            # the event that read the session refreshes it after its ack has gone out: wait
            # for that, so that it is not counted against the events below
            for _ in range(200):
                if "touch" in store.calls or "save" in store.calls:
                    break
                await asyncio.sleep(0.01)
            assert "load" in store.calls and ("touch" in store.calls or "save" in store.calls)
            store.calls.clear()
            for _ in range(20):
                assert (await browser.get("/health")).json() == {"ok": True}
                assert await client.call("ping") == "pong"
                assert await client.call("shout", "x") is True
            assert store.calls == []
            # and a route that reads it still sees the latest saved session
            await browser.post("/set", json={"key": "via", "value": "http"})
            assert (await client.call("me"))["data"] == {"nick": "ada", "via": "http"}
            assert "load" in store.calls


async def test_a_session_read_through_a_helper_is_loaded_on_the_spot() -> None:
    app = expressio.express()
    app.http().io()
    app.use(expressio.session(secret="helpers"))
    read_by = getattr  # hides the attribute name from the route's code

    @app.post("/login")
    def login(req: Any, res: Any) -> Any:
        req.session["user"] = "ada"
        return {"ok": True}

    @app.get("/who")
    async def who(req: Any, res: Any) -> Any:
        return {"user": read_by(req, "sess" + "ion").get("user")}

    @app.io.route("who")
    def socket_who(req: Any) -> None:
        req.io.respond(read_by(req, "sess" + "ion").get("user"))

    assert not app.io.routes["who"].mentions_session
    with served(app) as url:
        async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
            await browser.post("/login")
            assert (await browser.get("/who")).json() == {"user": "ada"}
            client = await connect(headers=cookie_header(cookie_of(browser)))
            assert await client.call("who") == "ada"  # the in-memory store answers at once
            assert app.io.routes["who"].mentions_session  # loaded first from now on
            assert await client.call("who") == "ada"
