"""One session for HTTP and realtime, end to end: a browser-like HTTP client logs in, then the
python-socketio client and the official JS client carry its cookie."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.forwarding.harness import run_node

from .conftest import Served, cookie_header, cookie_of

NODE_SCRIPT = Path(__file__).resolve().parent / "node" / "session_client.mjs"


async def log_in(browser: httpx.AsyncClient, nick: str) -> dict[str, Any]:
    first = (await browser.get("/me")).json()  # a visit before login: a session already
    assert first["data"] == {}
    login = (await browser.post("/login", json={"nick": nick})).json()
    assert login["old_id"] == first["id"]
    assert login["id"] != first["id"]
    return {"before_login": first, **login}


async def test_login_over_http_then_the_socket_shares_the_session(
    browser: httpx.AsyncClient, connect: Any
) -> None:
    login = await log_in(browser, "ada")
    client = await connect(headers=cookie_header(cookie_of(browser)))
    answer = await client.call("me")
    assert answer == {"id": login["id"], "data": {"nick": "ada"}, "stored": True}


async def test_http_change_is_seen_at_the_next_socket_event(
    browser: httpx.AsyncClient, connect: Any
) -> None:
    await log_in(browser, "ada")
    client = await connect(headers=cookie_header(cookie_of(browser)))
    assert (await client.call("me"))["data"] == {"nick": "ada"}
    await browser.post("/set", json={"key": "colour", "value": "red"})
    assert (await client.call("me"))["data"] == {"nick": "ada", "colour": "red"}
    await browser.post("/set", json={"key": "colour", "value": "blue"})
    assert (await client.call("me"))["data"]["colour"] == "blue"


async def test_socket_change_is_seen_at_the_next_http_request(
    browser: httpx.AsyncClient, connect: Any
) -> None:
    await log_in(browser, "ada")
    client = await connect(
        headers=cookie_header(cookie_of(browser)), transports=("polling", "websocket")
    )
    assert await client.call("set", {"key": "mood", "value": "happy"}) is True
    # the ack leaves once the change is stored: the very next request sees it
    assert (await browser.get("/me")).json()["data"] == {"nick": "ada", "mood": "happy"}


async def test_after_login_the_old_id_is_dead(
    browser: httpx.AsyncClient, connect: Any, url: str
) -> None:
    before_cookie = None
    await browser.get("/me")
    before_cookie = cookie_of(browser)
    login = (await browser.post("/login", json={"nick": "ada"})).json()
    async with httpx.AsyncClient(base_url=url) as attacker:
        # whoever planted or kept the pre-login cookie gets a fresh, empty session
        stale = await attacker.get("/me", headers=cookie_header(before_cookie))
        assert stale.json()["data"] == {}
        assert stale.json()["id"] not in (login["id"], login["old_id"])
    client = await connect(headers=cookie_header(before_cookie))
    assert (await client.call("me"))["data"] == {}


async def test_concurrent_events_on_one_session_lose_nothing(
    browser: httpx.AsyncClient, connect: Any
) -> None:
    await log_in(browser, "ada")
    client = await connect(headers=cookie_header(cookie_of(browser)))
    counts = await asyncio.gather(*(client.call("append", index) for index in range(25)))
    assert sorted(counts) == list(range(1, 26))
    stored = (await browser.get("/me")).json()["data"]
    assert sorted(stored["items"]) == list(range(25))


async def test_two_sockets_of_one_browser_share_the_session(
    browser: httpx.AsyncClient, connect: Any
) -> None:
    await log_in(browser, "ada")
    headers = cookie_header(cookie_of(browser))
    tab_one, tab_two = await connect(headers=headers), await connect(headers=headers)
    assert await tab_one.call("set", {"key": "tab", "value": "one"}) is True
    assert (await tab_two.call("me"))["data"]["tab"] == "one"


async def test_a_connection_without_cookie_has_a_session_of_its_own(connect: Any) -> None:
    first, second = await connect(), await connect()
    assert await first.call("set", {"key": "scratch", "value": 1}) is True
    assert (await first.call("me"))["data"] == {"scratch": 1}
    assert (await first.call("me"))["stored"] is False  # lives as long as the connection
    assert (await second.call("me"))["data"] == {}


async def test_official_js_client_carries_the_cookie(
    browser: httpx.AsyncClient, server: Served
) -> None:
    login = await log_in(browser, "grace")
    cookie = f"expressio.sid={cookie_of(browser)}"
    results = await asyncio.to_thread(run_node, NODE_SCRIPT, server.url, "--cookie", cookie)
    for step in ("websocket", "polling", "no_cookie"):
        assert "error" not in results[step], results[step]["error"]
    assert results["websocket"]["before"]["id"] == login["id"]
    assert results["websocket"]["before"]["data"] == {"nick": "grace"}
    assert results["websocket"]["set"] is True
    # the change made over the websocket is visible over polling, then over HTTP
    assert results["polling"]["before"]["data"] == {"nick": "grace", "from_node": "websocket"}
    assert results["polling"]["after"]["data"]["from_node_polling"] == "polling"
    assert (await browser.get("/me")).json()["data"] == {
        "nick": "grace",
        "from_node": "websocket",
        "from_node_polling": "polling",
    }
    assert results["no_cookie"]["before"]["data"] == {}
    assert results["no_cookie"]["after"] == {
        "id": None,
        "data": {"mine": 1},
        "stored": False,
    }
    # a foreign page cannot ride the cookie: refused on both transports
    for step in ("foreign_origin_polling", "foreign_origin_websocket"):
        assert results[step]["connected"] is False, results[step]
    # while the page's own origin connects with that cookie and gets the session
    for step in ("own_origin_polling", "own_origin_websocket"):
        assert results[step]["connected"] is True, results[step]
        assert results[step]["me"]["data"]["nick"] == "grace"
