"""Engine.IO v4 messages against the raw echo server at /engine.io/: payload framing, binary,
client-initiated close, and the input that must close a session (and only that session)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conformance.target import beyond_node_reference
from tests.conformance.wire import (
    MAX_PAYLOAD,
    RECORD_SEPARATOR,
    Endpoint,
    assert_engine_echo,
    expect_closed,
    http_client,
    open_polling_session,
    poll,
    poll_until,
    push,
    receive,
    websocket_session,
)

# How long a poll started in the background is given to reach the server before the test goes
# on; well under the 300 ms ping interval that would otherwise answer it.
POLL_SETTLE = 0.1

# --- HTTP long-polling -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "4hello",
        RECORD_SEPARATOR.join(["4test1", "4test2", "4test3"]),
        # `b` + base64 is a binary message inside a text payload.
        "4hello" + RECORD_SEPARATOR + "bAQIDBA==",
        "4h\u00e9llo \u2603 \U0001f600",
    ],
    ids=["one-text", "several-texts", "text-and-binary", "non-ascii"],
)
async def test_polling_payload_is_echoed(engine_endpoint: Endpoint, payload: str) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, engine_endpoint)
        pushed = await push(client, engine_endpoint, sid, payload)
        assert pushed.status_code == 200
        assert pushed.text == "ok"
        expected = payload.split(RECORD_SEPARATOR)
        assert await poll_until(client, engine_endpoint, sid, len(expected)) == expected


INVALID_PACKETS = pytest.mark.parametrize(
    "packet",
    [
        pytest.param("abc", id="garbage"),
        pytest.param("9hello", id="type-9"),
        pytest.param("7", id="type-7"),
        pytest.param(
            "bnot base64!",
            id="bad-base64",
            marks=beyond_node_reference("decodes base64 leniently, skipping bad characters"),
        ),
    ],
)


@INVALID_PACKETS
async def test_polling_invalid_packet_closes_the_session(
    engine_endpoint: Endpoint, packet: str
) -> None:
    async with http_client() as client, websocket_session(engine_endpoint) as bystander:
        sid = await open_polling_session(client, engine_endpoint)
        try:
            pushed = await push(client, engine_endpoint, sid, packet)
            # Node acknowledges the POST and closes the session after; 400 says it at once.
            assert pushed.status_code in (200, 400)
        except httpx.TransportError:
            pass  # closing the request abruptly is an acceptable answer too
        assert (await poll(client, engine_endpoint, sid)).status_code == 400
        await assert_engine_echo(bystander)


async def test_duplicate_poll_closes_the_session(engine_endpoint: Endpoint) -> None:
    async with http_client() as first_client, http_client() as second_client:
        sid = await open_polling_session(first_client, engine_endpoint)
        first = asyncio.create_task(poll(first_client, engine_endpoint, sid))
        # Let the first poll reach the server (the next ping, 300 ms on, would answer it).
        await asyncio.sleep(POLL_SETTLE)
        second = await second_client.get(engine_endpoint.polling_url(sid, t="burst"))
        # Whichever of the two the server saw first, that one is the waiting poll.
        waiting, duplicate = sorted([await first, second], key=lambda r: r.status_code)
        assert waiting.status_code == 200
        assert waiting.text == "1"  # the waiting poll learns that the session is closed
        # Node answers 500 here; 400 is the better answer and both are allowed.
        assert duplicate.status_code in (400, 500)
        assert (await poll(first_client, engine_endpoint, sid)).status_code == 400


async def test_cancelled_poll_closes_the_session(engine_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, engine_endpoint)
        async with http_client() as aborting_client:
            pending = asyncio.create_task(poll(aborting_client, engine_endpoint, sid))
            await asyncio.sleep(POLL_SETTLE)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
        # The connection that carried the poll is gone now.
        assert (await poll(client, engine_endpoint, sid)).status_code == 400


@beyond_node_reference("answers 413 but keeps the session open")
async def test_polling_payload_over_max_payload_closes_the_session(
    engine_endpoint: Endpoint,
) -> None:
    async with http_client() as client, websocket_session(engine_endpoint) as bystander:
        sid = await open_polling_session(client, engine_endpoint)
        try:
            pushed = await push(client, engine_endpoint, sid, "4" + "x" * MAX_PAYLOAD)
            assert pushed.status_code in (400, 413)
        except httpx.TransportError:
            pass  # the server may drop the request before reading it all
        assert (await poll(client, engine_endpoint, sid)).status_code == 400
        await assert_engine_echo(bystander)


async def test_polling_payload_at_max_payload_is_accepted(engine_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, engine_endpoint)
        body = "4" + "x" * (MAX_PAYLOAD - 1)
        assert (await push(client, engine_endpoint, sid, body)).status_code == 200
        assert await poll_until(client, engine_endpoint, sid, 1) == [body]


# --- WebSocket ---------------------------------------------------------------------------------


async def test_websocket_text_is_echoed(engine_endpoint: Endpoint) -> None:
    async with websocket_session(engine_endpoint) as ws:
        await ws.send("4hello")
        assert await receive(ws) == "4hello"


async def test_websocket_binary_is_echoed_as_binary(engine_endpoint: Endpoint) -> None:
    async with websocket_session(engine_endpoint) as ws:
        await ws.send(bytes([1, 2, 3, 4]))
        assert await receive(ws) == bytes([1, 2, 3, 4])


async def test_websocket_messages_keep_their_order(engine_endpoint: Endpoint) -> None:
    async with websocket_session(engine_endpoint) as ws:
        sent: list[str | bytes] = []
        for index in range(50):
            message: str | bytes = f"4m{index}" if index % 2 else bytes([index])
            sent.append(message)
            await ws.send(message)
        assert [await receive(ws) for _ in sent] == sent


@INVALID_PACKETS
async def test_websocket_invalid_packet_closes_the_session(
    engine_endpoint: Endpoint, packet: str
) -> None:
    async with websocket_session(engine_endpoint) as bystander:
        async with websocket_session(engine_endpoint) as ws:
            await ws.send(packet)
            await expect_closed(ws)
        await assert_engine_echo(bystander)


async def test_websocket_message_over_max_payload_closes_the_session(
    engine_endpoint: Endpoint,
) -> None:
    async with websocket_session(engine_endpoint) as bystander:
        async with websocket_session(engine_endpoint) as ws:
            await ws.send("4" + "x" * MAX_PAYLOAD)
            await expect_closed(ws)
        await assert_engine_echo(bystander)
