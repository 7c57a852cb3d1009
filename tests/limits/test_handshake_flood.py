"""A flood of Engine.IO polling handshakes that never poll again.

Without bounds, 12.3k such handshakes a second left 184,725 sessions open for 45 s (+534 MB):
each lived until its ping timeout. Now a session whose client neither polls nor upgrades
within ``first contact timeout`` is closed, and at most ``max clients`` sessions are open at
once (one more handshake gets HTTP 503, polling and websocket alike).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import InvalidStatus

from tests.socket_clients import clients

from .conftest import limits_server

MAX_CLIENTS = 40
FIRST_CONTACT = 2.0
#: Generous: sessions go at FIRST_CONTACT (plus a timer's lateness on a loaded machine).
GONE_WITHIN = FIRST_CONTACT + 6.0
FLOOD_SECONDS = 3.0
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


async def _open_clients(http: httpx.AsyncClient) -> int:
    stats = await http.get("/stats")
    count: int = stats.json()["clients"]
    return count


async def _flood(base_url: str, until: float, statuses: dict[int, int], bodies: set[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.monotonic() < until:
            response = await http.get(HANDSHAKE)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 200:
                bodies.add(response.content)
                assert response.headers["content-type"] == "application/json"


async def _wait_for_count(http: httpx.AsyncClient, expected: int, within: float) -> float:
    begin = time.monotonic()
    while (count := await _open_clients(http)) != expected:
        if time.monotonic() - begin > within:
            raise AssertionError(f"{count} sessions still open after {within} s, not {expected}")
        await asyncio.sleep(0.1)
    return time.monotonic() - begin


async def test_a_handshake_flood_stays_bounded_and_real_clients_are_served() -> None:
    """Checks: during a flood of handshakes that never poll, open sessions never exceed
    max clients, the surplus gets 503 with Engine.IO's JSON error, a client connected before
    keeps getting acks, the flood's sessions are gone within the first-contact bound, and a
    new client connects afterwards."""
    options = ("--max-clients", str(MAX_CLIENTS), "--first-contact-timeout", str(FIRST_CONTACT))
    with limits_server(*options) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http, clients(base_url) as open_client:
            steady = await open_client(transports=("polling", "websocket"))
            assert await _open_clients(http) == 1

            # Sessions that never poll go at the first-contact deadline, not at the ping's.
            for _ in range(10):
                assert (await http.get(HANDSHAKE)).status_code == 200
            assert await _open_clients(http) == 11
            assert await _wait_for_count(http, 1, GONE_WITHIN) < GONE_WITHIN

            statuses: dict[int, int] = {}
            bodies: set[bytes] = set()
            until = time.monotonic() + FLOOD_SECONDS
            flood = [
                asyncio.ensure_future(_flood(base_url, until, statuses, bodies))
                for _ in range(8)
            ]
            most = 0
            acks = 0
            while time.monotonic() < until:
                most = max(most, await _open_clients(http))
                assert await steady.call("echo", acks) == acks
                acks += 1
                await asyncio.sleep(0.05)
            await asyncio.gather(*flood)

            assert most <= MAX_CLIENTS, most
            # The steady client holds one of the MAX_CLIENTS places.
            assert statuses.get(200, 0) >= MAX_CLIENTS - 1 and statuses.get(503, 0) > 0, statuses
            assert set(statuses) <= {200, 503}, statuses
            assert [orjson.loads(body) for body in bodies] == [
                {"code": 3, "message": "Too many clients"}
            ]
            assert acks > 0

            await _wait_for_count(http, 1, GONE_WITHIN)
            assert await steady.call("echo", "after") == "after"
            late = await open_client(transports=("websocket",))
            assert await late.call("echo", "late") == "late"
            assert await _open_clients(http) == 2


async def test_at_max_clients_polling_and_websocket_handshakes_get_503() -> None:
    """Checks: with max clients sessions open (live ones: each keeps a GET waiting), a
    polling and a websocket handshake are both refused with 503 and the JSON error; once
    those sessions end, a socket.io client connects and gets its ack."""
    options = ("--max-clients", str(MAX_CLIENTS), "--first-contact-timeout", str(FIRST_CONTACT))
    with limits_server(*options) as base_url:
        limits = httpx.Limits(max_connections=MAX_CLIENTS + 5)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
            sids = []
            for _ in range(MAX_CLIENTS):
                opened = await http.get(HANDSHAKE)
                sids.append(orjson.loads(opened.text[1:])["sid"])
            waiting = [
                asyncio.ensure_future(http.get(f"{HANDSHAKE}&sid={sid}")) for sid in sids
            ]
            await asyncio.sleep(FIRST_CONTACT + 0.5)  # past the first-contact deadline
            assert await _open_clients(http) == MAX_CLIENTS  # polling: they all stay

            refused = await http.get(HANDSHAKE)
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/json"
            assert refused.json() == {"code": 3, "message": "Too many clients"}
            websocket_url = base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
            try:
                async with websocket_connect(websocket_url):
                    raise AssertionError("the websocket handshake was accepted")
            except InvalidStatus as refusal:
                assert refusal.response.status_code == 503
                assert orjson.loads(refusal.response.body) == {
                    "code": 3,
                    "message": "Too many clients",
                }

            for poll in waiting:
                poll.cancel()  # the client goes away: its session closes
            await asyncio.gather(*waiting, return_exceptions=True)
            await _wait_for_count(http, 0, GONE_WITHIN)
        async with clients(base_url) as open_client:
            client = await open_client(transports=("websocket",))
            assert await client.call("echo", "in") == "in"
