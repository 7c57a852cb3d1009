"""Cross-site WebSocket hijacking protection: the session rides on cookies, so a handshake from a
foreign ``Origin`` is refused with 403 (polling and websocket) before any session is read;
``origins`` widens the policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import InvalidStatus

from tests.forwarding.harness import WAIT, socket_clients
from tests.support import served

from .app_under_test import CountingStore, make_app
from .conftest import cookie_header, cookie_of

EVIL = "http://evil.example"
GOOD = "https://good.example"


class Site:
    def __init__(self, url: str, store: CountingStore, app: Any, connects: list[Any]) -> None:
        self.url = url
        self.store = store
        self.app = app
        self.connects = connects

    @property
    def own_origin(self) -> str:
        return self.url


def site(**io_options: Any) -> Iterator[Site]:
    store = CountingStore()
    app = make_app(store, **io_options)
    connects: list[Any] = []
    app.io.route("connect", lambda req: connects.append(req.session))
    with served(app) as url:
        yield Site(url, store, app, connects)


@pytest.fixture
def default_site() -> Iterator[Site]:
    yield from site()


@pytest.fixture
def widened_site() -> Iterator[Site]:
    yield from site(origins=[GOOD])


async def logged_in_cookie(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as browser:
        await browser.post("/login", json={"nick": "victim"})
        return cookie_of(browser)


async def polling_handshake(url: str, origin: str | None, cookie: str) -> httpx.Response:
    headers = cookie_header(cookie)
    if origin is not None:
        headers["Origin"] = origin
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.get("/socket.io/?EIO=4&transport=polling", headers=headers)


async def websocket_status(url: str, origin: str | None, cookie: str) -> int:
    """The status of a websocket handshake: 101 when accepted, else the refusal's."""
    target = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    headers = cookie_header(cookie)
    if origin is not None:
        headers["Origin"] = origin
    try:
        async with websocket_connect(target, additional_headers=headers, open_timeout=WAIT):
            return 101
    except InvalidStatus as refusal:
        return refusal.response.status_code


async def test_foreign_origin_polling_handshake_is_refused_without_a_session(
    default_site: Site,
) -> None:
    cookie = await logged_in_cookie(default_site.url)
    loads = default_site.store.loads
    response = await polling_handshake(default_site.url, EVIL, cookie)
    assert response.status_code == 403
    assert 0 < len(response.text) < 200  # a short refusal, nothing of the session
    assert "victim" not in response.text
    assert "set-cookie" not in response.headers
    assert default_site.store.loads == loads  # the session was never read
    # the page's own origin, and a client sending no Origin, are accepted
    own = await polling_handshake(default_site.url, default_site.own_origin, cookie)
    assert own.status_code == 200 and own.text.startswith("0{")
    assert (await polling_handshake(default_site.url, None, cookie)).status_code == 200


async def test_foreign_origin_websocket_handshake_is_refused_without_a_session(
    default_site: Site,
) -> None:
    cookie = await logged_in_cookie(default_site.url)
    loads = default_site.store.loads
    assert await websocket_status(default_site.url, EVIL, cookie) == 403
    assert await websocket_status(default_site.url, "null", cookie) == 403
    assert default_site.store.loads == loads
    assert await websocket_status(default_site.url, default_site.own_origin, cookie) == 101
    assert await websocket_status(default_site.url, None, cookie) == 101


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_a_socketio_client_from_a_foreign_origin_never_gets_the_session(
    default_site: Site, transports: tuple[str, ...]
) -> None:
    cookie = await logged_in_cookie(default_site.url)
    loads = default_site.store.loads
    async with socket_clients(default_site.url) as connect:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(headers={**cookie_header(cookie), "Origin": EVIL}, transports=transports)
        assert default_site.connects == []  # no connect hook ran
        assert default_site.store.loads == loads
        own = await connect(
            headers={**cookie_header(cookie), "Origin": default_site.own_origin},
            transports=transports,
        )
        assert (await own.call("me"))["data"] == {"nick": "victim"}
    assert len(default_site.connects) == 1


async def test_the_origins_setting_widens_the_policy(widened_site: Site) -> None:
    cookie = await logged_in_cookie(widened_site.url)
    assert (await polling_handshake(widened_site.url, GOOD, cookie)).status_code == 200
    assert await websocket_status(widened_site.url, GOOD, cookie) == 101
    assert (await polling_handshake(widened_site.url, EVIL, cookie)).status_code == 403
    assert await websocket_status(widened_site.url, EVIL, cookie) == 403
    async with socket_clients(widened_site.url) as connect:
        client = await connect(headers={**cookie_header(cookie), "Origin": GOOD})
        assert (await client.call("me"))["data"] == {"nick": "victim"}


async def test_origins_changed_at_run_time_apply_to_new_handshakes(default_site: Site) -> None:
    cookie = await logged_in_cookie(default_site.url)
    assert (await polling_handshake(default_site.url, GOOD, cookie)).status_code == 403
    default_site.app.io.set("origins", [GOOD])
    assert (await polling_handshake(default_site.url, GOOD, cookie)).status_code == 200
    assert await websocket_status(default_site.url, GOOD, cookie) == 101
    default_site.app.io.set("origins", "*")
    assert (await polling_handshake(default_site.url, EVIL, cookie)).status_code == 200
    assert await websocket_status(default_site.url, EVIL, cookie) == 101
