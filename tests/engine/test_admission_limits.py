"""Admission of new sessions: ``allow_request`` and ``max_clients``, on every transport.

Polling handshakes go through ASGI; websockets through the ASGI websocket transport (uvicorn's
own websocket protocol) and through the direct transport (``app.listen()``'s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from expressio.engine import HandshakeRequest
from expressio.engine.direct import DirectWebSocketProtocol

from .conftest import EngineUnderTest, serve_engine
from .helpers import open_websocket

FORBIDDEN = {"code": 4, "message": "Forbidden"}
TOO_MANY = {"code": 3, "message": "Too many clients"}
WEBSOCKETS = {"asgi": "auto", "direct": DirectWebSocketProtocol}


def _gate(seen: list[HandshakeRequest]) -> Callable[[HandshakeRequest], bool]:
    def allow(request: HandshakeRequest) -> bool:
        seen.append(request)
        if "boom" in request.query:
            raise RuntimeError("the gate failed on purpose")
        return "deny" not in request.query

    return allow


def _async_gate(seen: list[HandshakeRequest]) -> Callable[[HandshakeRequest], Any]:
    decide = _gate(seen)

    async def allow(request: HandshakeRequest) -> bool:
        await asyncio.sleep(0.01)
        return decide(request)

    return allow


async def _websocket_refusal(url: str) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    response = refused.value.response
    return response.status_code, orjson.loads(response.body)


async def _polling_answer(server: EngineUnderTest, **query: str) -> tuple[int, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.polling_url(**query), headers={"x-token": "t"})
    if response.status_code == 200:
        return 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


@pytest.mark.parametrize("websocket", list(WEBSOCKETS))
@pytest.mark.parametrize("kind", ["def", "async def"])
async def test_allow_request_refuses_and_accepts_on_both_transports(
    websocket: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Checks: a false answer refuses with 403 and {"code":4,"message":"Forbidden"} before any
    session exists; a raising gate refuses alike and its traceback is logged, not sent; a true
    answer opens the session; the gate sees method, headers, query and address."""
    seen: list[HandshakeRequest] = []
    gate = _gate(seen) if kind == "def" else _async_gate(seen)
    with serve_engine(allow_request=gate, ws_impl=WEBSOCKETS[websocket]) as server:
        assert await _polling_answer(server, deny="1") == (403, FORBIDDEN)
        assert await _websocket_refusal(server.websocket_url() + "&deny=1") == (403, FORBIDDEN)
        with caplog.at_level(logging.ERROR, logger="expressio.engine"):
            assert await _polling_answer(server, boom="1") == (403, FORBIDDEN)
            assert await _websocket_refusal(server.websocket_url() + "&boom=1") == (
                403,
                FORBIDDEN,
            )
        failures = [r for r in caplog.records if "allow_request raised" in r.getMessage()]
        assert len(failures) == 2 and all(r.exc_info for r in failures)
        assert server.connected == []

        status, body = await _polling_answer(server)
        assert status == 200 and body.startswith("0")
        websocket_session, handshake = await open_websocket(server.websocket_url())
        await websocket_session.close()
        assert len(server.connected) == 2 and handshake["sid"] in server.connected

    polling_request = seen[-2]
    assert polling_request.method == "GET"
    assert polling_request.headers["x-token"] == "t"
    assert polling_request.query["transport"] == "polling"
    assert polling_request.address == "127.0.0.1"
    assert seen[-1].query["transport"] == "websocket"


@pytest.mark.parametrize("websocket", list(WEBSOCKETS))
async def test_max_clients_refuses_new_sessions_with_503_until_one_closes(websocket: str) -> None:
    """Checks: with max_clients=2 and two sessions open, a polling or websocket handshake is
    refused with 503 and {"code":3,"message":"Too many clients"}; the open sessions carry on,
    and once one closes a handshake succeeds again."""
    with serve_engine(max_clients=2, ws_impl=WEBSOCKETS[websocket]) as server:
        first, _ = await open_websocket(server.websocket_url())
        second, _ = await open_websocket(server.websocket_url())
        assert await _polling_answer(server) == (503, TOO_MANY)
        assert await _websocket_refusal(server.websocket_url()) == (503, TOO_MANY)
        await first.send("4still here")
        assert await asyncio.wait_for(first.recv(), 5) == "4still here"
        await second.close()
        await asyncio.sleep(0.2)
        status, body = await _polling_answer(server)
        assert status == 200 and body.startswith("0")
        await first.close()


async def test_a_client_gone_while_an_async_gate_decides_leaves_nothing_behind() -> None:
    """Checks: on the direct transport, a client that closes while allow_request is awaited
    leaves no session behind; the server keeps serving."""
    release = asyncio.Event()
    server_loop: list[asyncio.AbstractEventLoop] = []

    async def slow(request: HandshakeRequest) -> bool:
        server_loop.append(asyncio.get_running_loop())
        await release.wait()
        return True

    with serve_engine(allow_request=slow, ws_impl=DirectWebSocketProtocol) as server:
        opening = asyncio.ensure_future(connect(server.websocket_url()))
        while not server_loop:
            await asyncio.sleep(0.01)
        opening.cancel()
        await asyncio.sleep(0.2)
        server.call(release.set)
        await asyncio.sleep(0.2)
        assert server.connected == [] and server.call(lambda: len(server.engine.sockets)) == 0
        status, _ = await _polling_answer(server)
        assert status == 200
