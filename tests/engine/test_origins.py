"""The origin check and CORS for polling."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.engine.conftest import EngineUnderTest
from tests.engine.helpers import open_websocket


async def test_no_origin_header_is_accepted(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    response = await client.get(server.polling_url())
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_same_origin_is_accepted_with_cors_headers(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    response = await client.get(server.polling_url(), headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_foreign_origin_is_refused_by_default(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    response = await client.get(server.polling_url(), headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Forbidden: this origin may not connect")
    assert response.text
    assert "access-control-allow-origin" not in response.headers
    assert server.connected == []


async def test_same_host_on_another_port_or_scheme_is_foreign(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    for origin in (f"https://127.0.0.1:{server.port}", "http://127.0.0.1:1"):
        response = await client.get(server.polling_url(), headers={"Origin": origin})
        assert response.status_code == 403, origin


async def test_foreign_origin_cannot_use_an_existing_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    response = await client.post(
        server.polling_url(sid), content="4x", headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert server.messages == []


async def test_foreign_origin_websocket_is_refused(server: EngineUnderTest) -> None:
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(server.websocket_url(), origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refusal.value.response.status_code == 403


async def test_same_origin_websocket_is_accepted(server: EngineUnderTest) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    websocket, handshake = await open_websocket(server.websocket_url(), origin=origin)
    async with websocket:
        assert handshake["sid"] in server.engine.sockets


async def test_listed_origins_are_allowed_and_others_refused(make_server: Any) -> None:
    with make_server(origins=["http://app.example", "https://other.example:8443"]) as server:
        async with httpx.AsyncClient() as client:
            for origin in (
                "http://app.example",
                "https://other.example:8443",
                "HTTP://APP.EXAMPLE",
            ):
                response = await client.get(server.polling_url(), headers={"Origin": origin})
                assert response.status_code == 200, origin
                assert response.headers["access-control-allow-origin"] == origin
            for origin in ("http://evil.example", f"http://127.0.0.1:{server.port}", "null"):
                response = await client.get(server.polling_url(), headers={"Origin": origin})
                assert response.status_code == 403, origin


async def test_star_allows_every_origin(make_server: Any) -> None:
    with make_server(origins="*") as server:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                server.polling_url(), headers={"Origin": "http://anywhere.example"}
            )
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "http://anywhere.example"
            assert response.headers["access-control-allow-credentials"] == "true"
        websocket, _ = await open_websocket(
            server.websocket_url(),
            origin="http://anywhere.example",
        )
        await websocket.close()


async def test_preflight_is_answered_204(make_server: Any) -> None:
    with make_server(origins=["http://app.example"]) as server:
        async with httpx.AsyncClient() as client:
            response = await client.options(
                server.polling_url(),
                headers={
                    "Origin": "http://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert response.status_code == 204
            assert response.headers["access-control-allow-origin"] == "http://app.example"
            assert response.headers["access-control-allow-credentials"] == "true"
            assert "POST" in response.headers["access-control-allow-methods"]
            assert response.headers["access-control-allow-headers"] == "content-type"
            refused = await client.options(
                server.polling_url(), headers={"Origin": "http://evil.example"}
            )
            assert refused.status_code == 403


async def test_error_answers_carry_cors_headers_for_allowed_origins(make_server: Any) -> None:
    with make_server(origins=["http://app.example"]) as server:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                server.polling_url("unknown"), headers={"Origin": "http://app.example"}
            )
            assert response.status_code == 400
            assert response.headers["access-control-allow-origin"] == "http://app.example"
