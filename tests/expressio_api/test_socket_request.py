"""``req`` in a realtime route: one test per row of API.md's SocketRequest table, the session
shared with HTTP routes included."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import expressio
from expressio.sessions import MemoryStore, SessionStoreUnavailable

from .app_under_test import make_app
from .conftest import Connect, clients, served


async def test_data_is_the_first_argument_or_none(connect: Connect) -> None:
    client = await connect()
    assert (await client.call("whoami"))["data"] is None
    assert (await client.call("whoami", {"x": 1}))["data"] == {"x": 1}
    assert (await client.call("whoami", "first", "second"))["data"] == "first"


async def test_headers_are_the_initial_request_headers_case_insensitive(
    connect: Connect,
) -> None:
    client = await connect(headers={"X-Test-Header": "hello"})
    answer = await client.call("whoami")
    assert answer["header"] == answer["header_lower"] == "hello"


async def test_handshake_attributes_and_mapping(connect: Connect) -> None:
    before = time.time()
    client = await connect(auth={"token": "abc"}, query="user=grace")
    answer = await client.call("whoami")
    assert answer["auth"] == {"token": "abc"}
    assert answer["address"] == "127.0.0.1"
    assert answer["query_user"] == "grace"
    assert answer["user"] == "grace"  # added by the handshake middleware, read as a mapping
    assert answer["secure"] is False
    assert answer["url"].startswith("/socket.io/")
    assert before - 1 <= answer["time"] <= time.time()
    assert answer["issued"] == int(answer["time"] * 1000)


async def test_socket_id_rooms_and_namespace(connect: Connect) -> None:
    client = await connect()
    answer = await client.call("whoami")
    assert answer["id"] == client.sid
    assert answer["rooms"] == sorted([client.sid, "lobby"])
    assert answer["namespace"] == "/"


async def test_def_routes_run_in_a_worker_thread(connect: Connect) -> None:
    client = await connect()
    assert (await client.call("whoami"))["thread"] is True


async def test_session_is_none_without_session_middleware(connect: Connect) -> None:
    client = await connect()
    assert await client.call("session") is None


# -- the session shared with HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def session_url() -> Any:
    with served(make_app(sessions=True)) as base_url:
        yield base_url


@pytest.fixture
async def browser(session_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with a cookie jar, like the browser that loads the page."""
    async with httpx.AsyncClient(base_url=session_url) as http:
        yield http


async def test_session_set_over_http_is_seen_by_the_socket_and_back(
    browser: httpx.AsyncClient, session_url: str
) -> None:
    await browser.post("/session", json={"user": "ada"})
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    async with clients(session_url) as open_client:
        client = await open_client(headers={"Cookie": cookie})
        assert await client.call("session") == {"data": {"user": "ada"}, "persistent": True}
        # changed over HTTP after connecting: visible at the next event
        await browser.post("/session", json={"theme": "dark"})
        answer = await client.call("session")
        assert answer["data"] == {"user": "ada", "theme": "dark"}
        # changed by a realtime route: saved when it ends, visible to the next HTTP request
        await client.call("session", {"score": 3})
        assert (await browser.get("/session")).json() == {
            "user": "ada",
            "theme": "dark",
            "score": 3,
        }


async def test_connection_without_cookie_gets_its_own_session(session_url: str) -> None:
    async with clients(session_url) as open_client:
        first, second = await open_client(), await open_client()
        assert await first.call("session", {"n": 1}) == {"data": {"n": 1}, "persistent": False}
        assert (await first.call("session"))["data"] == {"n": 1}
        assert (await second.call("session"))["data"] == {}


class SwitchableStore(MemoryStore):
    """A memory store that can be made unreachable, like a Redis that went down."""

    down = False

    async def load(self, session_id: str) -> bytes | None:
        if self.down:
            raise SessionStoreUnavailable("store is down (test)")
        return await super().load(session_id)

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        if self.down:
            raise SessionStoreUnavailable("store is down (test)")
        await super().save(session_id, payload, ttl)


async def test_store_unavailable_answers_an_error_ack_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SwitchableStore()
    app = expressio.express().io()
    app.use(expressio.session(secret="monkey", store=store, save_uninitialized=True))
    app.get("/login", lambda req: {"id": req.session.id})
    app.io.route("count", _count)
    with served(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            await http.get("/login")
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        async with clients(base_url) as open_client:
            client = await open_client(headers={"Cookie": cookie})
            assert await client.call("count") == 1
            store.down = True
            assert await client.call("count") == {"error": "Session store unavailable"}
            assert "session store unavailable" in caplog.text
            store.down = False
            assert await client.call("count") == 2


def _count(req: Any) -> None:
    req.session["count"] = req.session.get("count", 0) + 1
    req.io.respond(req.session["count"])
