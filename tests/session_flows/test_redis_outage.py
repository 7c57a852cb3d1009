"""The Redis session store against a private redis-server: shared by HTTP and sockets, then
stopped mid-test (HTTP 503, realtime error acks, clear log lines, nothing crashes) and
restarted (service resumes by itself)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

import expressio
from tests.forwarding.harness import socket_clients
from tests.redis_support import REDIS_SERVER, RedisServer
from tests.support import served

from .app_under_test import make_app
from .conftest import cookie_header, cookie_of

UNAVAILABLE = {"error": "Session store unavailable"}


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the RedisStore tests need it")
    with RedisServer() as server:
        yield server


@pytest.fixture
def url(redis: RedisServer) -> Iterator[str]:
    store = expressio.RedisStore(redis.url, prefix="flows:")
    with served(make_app(store)) as base_url:
        yield base_url


async def test_redis_sessions_are_shared_by_http_and_sockets(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
        await browser.post("/login", json={"nick": "ada"})
        client = await connect(headers=cookie_header(cookie_of(browser)))
        assert (await client.call("me"))["data"] == {"nick": "ada"}
        assert await client.call("set", {"key": "via", "value": "socket"}) is True
        assert (await browser.get("/me")).json()["data"] == {"nick": "ada", "via": "socket"}
        await browser.post("/set", json={"key": "via", "value": "http"})
        assert (await client.call("me"))["data"]["via"] == "http"


async def test_store_outage_gives_503_and_error_acks_then_service_resumes(
    url: str, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
        await browser.post("/login", json={"nick": "ada"})
        cookie = cookie_of(browser)
        client = await connect(headers=cookie_header(cookie))
        polling = await connect(headers=cookie_header(cookie), transports=("polling",))
        assert (await client.call("me"))["data"] == {"nick": "ada"}

        redis.stop()
        with caplog.at_level(logging.ERROR, logger="expressio"):
            response = await browser.get("/me")
            assert response.status_code == 503
            assert await client.call("me") == UNAVAILABLE
            assert await polling.call("set", {"key": "x", "value": 1}) == UNAVAILABLE
            assert (await browser.post("/set", json={"key": "x", "value": 1})).status_code == 503
        logged = " ".join(record.getMessage() for record in caplog.records)
        assert "session store unavailable" in logged.lower()
        # nothing crashed: the connections are still there
        assert client.sio.connected and polling.sio.connected

        redis.start()  # back, and empty (nothing is persisted)
        me = await browser.get("/me")
        assert me.status_code == 200
        assert me.json()["data"] == {}  # the old session is gone with the data
        # the sockets work again; their session id is no longer stored, so they read it empty
        assert (await client.call("me"))["data"] == {}
        # a new login is shared again by HTTP and a new connection
        await browser.post("/login", json={"nick": "ada again"})
        fresh = await connect(headers=cookie_header(cookie_of(browser)))
        assert (await fresh.call("me"))["data"] == {"nick": "ada again"}


async def test_forwarded_routes_use_the_redis_session_and_its_outage(
    url: str, redis: RedisServer
) -> None:
    async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
        await browser.post("/login", json={"nick": "ada"})
        client = await connect(headers=cookie_header(cookie_of(browser)))
        # a realtime route run from HTTP changes the HTTP session; the socket sees it
        response = await browser.post("/fw/set", json={"key": "via", "value": "forward"})
        assert response.json() is True
        assert (await client.call("me"))["data"] == {"nick": "ada", "via": "forward"}
        redis.stop()
        # the session cannot be read: 503 before any route runs
        response = await browser.post("/fw/set", json={"key": "via", "value": "lost"})
        assert response.status_code == 503
        redis.start()
        response = await browser.post("/fw/set", json={"key": "after", "value": "outage"})
        assert response.json() is True
        assert (await browser.get("/me")).json()["data"] == {"after": "outage"}


async def test_routes_that_never_read_the_session_serve_during_an_outage(
    url: str, redis: RedisServer
) -> None:
    async with httpx.AsyncClient(base_url=url) as browser, socket_clients(url) as connect:
        await browser.post("/login", json={"nick": "ada"})
        cookie = cookie_of(browser)
        client = await connect(headers=cookie_header(cookie))
        polling = await connect(headers=cookie_header(cookie), transports=("polling",))
        redis.stop()
        # a session-reading route cannot be served...
        assert (await browser.get("/me")).status_code == 503
        assert await client.call("me") == UNAVAILABLE
        # ...but every route that never reads it is, HTTP and realtime, def and async def
        health = await browser.get("/health", headers={"cookie": f"expressio.sid={cookie}"})
        assert (health.status_code, health.json()) == (200, {"ok": True})
        assert await client.call("ping") == "pong"
        assert await polling.call("ping") == "pong"
        assert await client.call("shout", "hi") is True
        assert await polling.inbox.wait_for("shouted") == ["hi"]
        redis.start()
