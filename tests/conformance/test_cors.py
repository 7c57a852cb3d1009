"""Cross-origin long-polling on both mount points: the protocol server accepts any origin, and
a browser sending credentials (cookies) needs its own origin echoed back, never `*`."""

from __future__ import annotations

import httpx

from tests.conformance.wire import (
    Endpoint,
    http_client,
    open_polling_session,
    open_websocket,
    parse_open_packet,
    receive_text,
)

ORIGIN = "http://app.example.com"


def assert_allows_origin_with_credentials(headers: httpx.Headers) -> None:
    assert headers.get("access-control-allow-origin") == ORIGIN
    assert headers.get("access-control-allow-credentials") == "true"


async def test_polling_handshake_from_another_origin(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        response = await client.get(any_endpoint.polling_url(), headers={"Origin": ORIGIN})
    assert response.status_code == 200
    parse_open_packet(response.text)
    assert_allows_origin_with_credentials(response.headers)


async def test_polling_post_from_another_origin(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        response = await client.post(
            any_endpoint.polling_url(sid), content=b"3", headers={"Origin": ORIGIN}
        )
    assert response.status_code == 200
    assert_allows_origin_with_credentials(response.headers)


async def test_preflight_allows_posting_text(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        response = await client.options(
            any_endpoint.polling_url(),
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert response.status_code in (200, 204)
    assert_allows_origin_with_credentials(response.headers)
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST"} <= methods
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed_headers


async def test_websocket_from_another_origin(any_endpoint: Endpoint) -> None:
    async with open_websocket(any_endpoint.websocket_url(), origin=ORIGIN) as ws:
        parse_open_packet(await receive_text(ws))
