"""What bad input gets: tampered, unsigned or unknown cookies give a fresh session (never
another user's) over HTTP and over the socket; no session id is ever taken from a URL; a
session that cannot be stored fails clearly at save time."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from expressio.sessions.cookie import SessionIdSigner

from .app_under_test import COOKIE, SECRET
from .conftest import cookie_header, cookie_of


async def victim_cookie(url: str) -> tuple[str, str]:
    """A logged-in user's cookie value and session id."""
    async with httpx.AsyncClient(base_url=url) as victim:
        login = (await victim.post("/login", json={"nick": "victim"})).json()
        return cookie_of(victim), login["id"]


def forgeries(cookie: str, session_id: str) -> dict[str, str]:
    """Cookie values an attacker could send in place of the victim's."""
    # The first character of the signature carries six signature bits (the last one carries
    # padding bits too, which a base64 decoder may ignore: changing it can leave it valid).
    dot = cookie.rindex(".") + 1
    flipped = "A" if cookie[dot] != "A" else "B"
    return {
        "signature changed": cookie[:dot] + flipped + cookie[dot + 1 :],
        "unsigned id": session_id,
        "signed with another secret": SessionIdSigner("not the secret").sign(session_id),
        "signature of another id": session_id + "x" + cookie[len(session_id) :],
        "garbage": "%%%not-a-cookie",
    }


async def test_forged_cookies_get_a_fresh_session_over_http(url: str) -> None:
    cookie, session_id = await victim_cookie(url)
    for kind, forged in forgeries(cookie, session_id).items():
        async with httpx.AsyncClient(base_url=url) as attacker:
            response = await attacker.get("/me", headers=cookie_header(forged))
            answer = response.json()
            assert answer["data"] == {}, kind
            assert answer["id"] != session_id, kind
            # and a new cookie of its own
            assert COOKIE in response.cookies, kind
    # the victim's session is untouched
    async with httpx.AsyncClient(base_url=url) as victim:
        me = (await victim.get("/me", headers=cookie_header(cookie))).json()
        assert me == {"id": session_id, "data": {"nick": "victim"}}


async def test_forged_cookies_get_a_fresh_session_over_the_socket(url: str, connect: Any) -> None:
    cookie, session_id = await victim_cookie(url)
    for kind, forged in forgeries(cookie, session_id).items():
        client = await connect(headers=cookie_header(forged))
        answer = await client.call("me")
        assert answer == {"id": None, "data": {}, "stored": False}, kind
        # what it writes stays in its own connection
        assert await client.call("set", {"key": "nick", "value": "attacker"}) is True
    genuine = await connect(headers=cookie_header(cookie))
    assert (await genuine.call("me"))["data"] == {"nick": "victim"}


async def test_unknown_or_expired_ids_get_a_fresh_session(url: str, connect: Any) -> None:
    never_issued = SessionIdSigner(SECRET).sign("no-such-session-id")
    async with httpx.AsyncClient(base_url=url) as browser:
        answer = (await browser.get("/me", headers=cookie_header(never_issued))).json()
        assert answer["data"] == {}
        assert answer["id"] != "no-such-session-id"
    client = await connect(headers=cookie_header(never_issued))
    assert await client.call("me") == {"id": None, "data": {}, "stored": False}


async def test_a_session_id_in_the_url_is_ignored(url: str, connect: Any) -> None:
    cookie, _ = await victim_cookie(url)
    for transports in (("websocket",), ("polling",)):
        client = await connect(query=f"{COOKIE}={cookie}&session={cookie}", transports=transports)
        assert (await client.call("me"))["data"] == {}
    async with httpx.AsyncClient(base_url=url) as browser:
        assert (await browser.get(f"/me?{COOKIE}={cookie}")).json()["data"] == {}


async def test_data_that_cannot_be_stored_fails_at_save_over_http(
    browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await browser.post("/login", json={"nick": "ada"})
    for path, problem in (("/huge", "bytes"), ("/unserialisable", "JSON")):
        with caplog.at_level(logging.ERROR, logger="expressio"):
            caplog.clear()
            response = await browser.post(path)
        assert response.status_code == 500, path
        assert "SessionDataError" in response.text  # development mode shows the traceback
        messages = [r.getMessage() + str(r.exc_info[1]) for r in caplog.records if r.exc_info]
        assert any(problem in message for message in messages), messages
        # nothing was half-stored: the session is as it was
        assert (await browser.get("/me")).json()["data"] == {"nick": "ada"}


async def test_data_that_cannot_be_stored_fails_at_save_over_the_socket(
    browser: httpx.AsyncClient, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await browser.post("/login", json={"nick": "ada"})
    client = await connect(headers=cookie_header(cookie_of(browser)))
    for event in ("huge", "unserialisable"):
        with caplog.at_level(logging.ERROR, logger="expressio"):
            caplog.clear()
            answer = await client.call(event)
        assert answer == {"error": "Internal Server Error"}, event
        failures = [r for r in caplog.records if "session save failed" in r.getMessage()]
        assert failures, [r.getMessage() for r in caplog.records]
        assert type(failures[0].exc_info[1]).__name__ == "SessionDataError"  # type: ignore[index]
    assert (await browser.get("/me")).json()["data"] == {"nick": "ada"}
    assert client.sio.connected
