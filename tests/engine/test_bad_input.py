"""What bad requests get: each refusal, and that nothing else is disturbed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.engine.conftest import EngineUnderTest

PROTOCOL_VERSION = {"code": 5, "message": "Unsupported protocol version"}
TRANSPORT_UNKNOWN = {"code": 0, "message": "Transport unknown"}


@pytest.mark.parametrize(
    "query", ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"]
)
async def test_bad_eio_is_refused(
    server: EngineUnderTest, client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"{server.url}?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == PROTOCOL_VERSION


@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc", "EIO=4&transport=websocket"])
async def test_bad_transport_is_refused(
    server: EngineUnderTest, client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"{server.url}?{query}")
    assert response.status_code == 400
    assert response.json() == TRANSPORT_UNKNOWN


async def test_disabled_transport_is_refused(make_server: Any) -> None:
    with make_server(transports=["websocket"]) as server:
        async with httpx.AsyncClient() as client:
            response = await client.get(server.polling_url())
            assert response.status_code == 400
            assert response.json() == TRANSPORT_UNKNOWN


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_handshake_needs_get(
    server: EngineUnderTest, client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method, server.polling_url(), content="4x")
    assert response.status_code == 400
    assert response.json() == {"code": 2, "message": "Bad handshake method"}
    assert server.connected == []


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_sid_is_refused(
    server: EngineUnderTest, client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method, server.polling_url("unknown"), content="4x")
    assert response.status_code == 400
    assert response.json() == {"code": 1, "message": "Session ID unknown"}


async def test_other_methods_on_a_session_are_refused(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    response = await client.put(server.polling_url(sid), content="4x")
    assert response.status_code == 400
    assert sid in server.engine.sockets


@pytest.mark.parametrize(
    "query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"]
)
async def test_bad_websocket_query_is_refused(server: EngineUnderTest, query: str) -> None:
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(f"{server.ws_url}?{query}"):
            pass
    assert refusal.value.response.status_code == 400


async def test_duplicate_poll_closes_the_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    first = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await asyncio.sleep(0.05)
    second = await client.get(server.polling_url(sid, t="burst"))
    assert second.status_code == 400
    answered = await first
    assert answered.status_code == 200
    assert answered.text == "1"
    assert await server.disconnect_reason(sid) == "transport error"
    assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_concurrent_posts_close_the_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"4first"
        await release.wait()

    first = asyncio.ensure_future(client.post(server.polling_url(sid), content=slow_body()))
    await asyncio.sleep(0.1)
    second = await client.post(server.polling_url(sid), content="4second")
    assert second.status_code == 400
    assert await server.disconnect_reason(sid) == "transport error"
    release.set()
    await first
    assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_undecodable_post_closes_only_that_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    bad = (await server.handshake(client))["sid"]
    good = (await server.handshake(client))["sid"]
    response = await client.post(server.polling_url(bad), content="abc")
    assert response.status_code == 400
    assert await server.disconnect_reason(bad) == "parse error"
    assert (await client.get(server.polling_url(bad))).status_code == 400
    await client.post(server.polling_url(good), content="4fine")
    assert (await client.get(server.polling_url(good))).text == "4fine"


@pytest.mark.parametrize("body", [b"4ok\x1e9bad", b"bnot base64!", b"4\xff\xfe", b""])
async def test_every_kind_of_malformed_payload_is_a_parse_error(
    server: EngineUnderTest, client: httpx.AsyncClient, body: bytes
) -> None:
    sid = (await server.handshake(client))["sid"]
    response = await client.post(server.polling_url(sid), content=body)
    assert response.status_code == 400
    assert await server.disconnect_reason(sid) == "parse error"
    assert server.messages == []


async def test_post_over_max_payload_is_413_and_closes_the_session(make_server: Any) -> None:
    with make_server(max_payload=1000) as server:
        async with httpx.AsyncClient() as client:
            sid = (await server.handshake(client))["sid"]
            ok = await client.post(server.polling_url(sid), content="4" + "a" * 999)
            assert ok.status_code == 200
            response = await client.post(server.polling_url(sid), content="4" + "a" * 1000)
            assert response.status_code == 413
            assert await server.disconnect_reason(sid) == "transport error"
            assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_oversized_chunked_post_is_413(make_server: Any) -> None:
    with make_server(max_payload=1000) as server:
        async with httpx.AsyncClient() as client:
            sid = (await server.handshake(client))["sid"]

            async def chunks() -> AsyncIterator[bytes]:
                yield b"4"
                for _ in range(20):
                    yield b"a" * 100

            response = await client.post(server.polling_url(sid), content=chunks())
            assert response.status_code == 413
            assert await server.disconnect_reason(sid) == "transport error"
