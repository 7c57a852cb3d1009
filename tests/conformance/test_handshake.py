"""Engine.IO v4 handshake, on both mount points: what a session opens with, what is refused."""

from __future__ import annotations

import pytest

from tests.conformance.wire import (
    MAX_PAYLOAD,
    PING_INTERVAL_MS,
    PING_TIMEOUT_MS,
    Endpoint,
    expect_websocket_refused,
    http_client,
    open_websocket,
    parse_open_packet,
    receive_text,
)

OPEN_PACKET_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


def assert_open_packet(text: str, upgrades: list[str]) -> None:
    value = parse_open_packet(text)
    assert set(value) == OPEN_PACKET_KEYS
    assert isinstance(value["sid"], str) and value["sid"]
    assert value["upgrades"] == upgrades
    # Durations are integer milliseconds on the wire, sizes integer bytes.
    assert value["pingInterval"] == PING_INTERVAL_MS
    assert value["pingTimeout"] == PING_TIMEOUT_MS
    assert value["maxPayload"] == MAX_PAYLOAD
    for key in ("pingInterval", "pingTimeout", "maxPayload"):
        assert type(value[key]) is int, f"{key} must be an integer: {value[key]!r}"


async def test_polling_handshake_opens_a_session(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        response = await client.get(any_endpoint.polling_url())
    assert response.status_code == 200
    assert_open_packet(response.text, upgrades=["websocket"])


async def test_every_polling_handshake_gets_its_own_sid(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        first = await client.get(any_endpoint.polling_url())
        second = await client.get(any_endpoint.polling_url())
    assert parse_open_packet(first.text)["sid"] != parse_open_packet(second.text)["sid"]


async def test_websocket_handshake_opens_a_session(any_endpoint: Endpoint) -> None:
    async with open_websocket(any_endpoint.websocket_url()) as ws:
        # Nothing to upgrade to from a WebSocket.
        assert_open_packet(await receive_text(ws), upgrades=[])


@pytest.mark.parametrize(
    "query",
    [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
        "EIO=5&transport=polling",
    ],
    ids=["missing", "not-a-number", "v3", "v5"],
)
async def test_polling_with_a_bad_eio_is_refused(any_endpoint: Endpoint, query: str) -> None:
    async with http_client() as client:
        response = await client.get(any_endpoint.raw_url(query))
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc"], ids=["missing", "unknown"])
async def test_polling_with_a_bad_transport_is_refused(any_endpoint: Endpoint, query: str) -> None:
    async with http_client() as client:
        response = await client.get(any_endpoint.raw_url(query))
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_request_without_sid_that_is_not_get_is_refused(
    any_endpoint: Endpoint, method: str
) -> None:
    async with http_client() as client:
        response = await client.request(method, any_endpoint.polling_url(), content=b"4hello")
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_sid_is_refused(any_endpoint: Endpoint, method: str) -> None:
    async with http_client() as client:
        response = await client.request(
            method, any_endpoint.polling_url("no-such-session"), content=b"4hello"
        )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"],
    ids=["missing-eio", "bad-eio", "missing-transport", "unknown-transport"],
)
async def test_websocket_with_bad_query_is_refused(any_endpoint: Endpoint, query: str) -> None:
    await expect_websocket_refused(any_endpoint.raw_url(query, scheme="ws"))


async def test_websocket_with_an_unknown_sid_is_refused(any_endpoint: Endpoint) -> None:
    await expect_websocket_refused(any_endpoint.websocket_url("no-such-session"))
