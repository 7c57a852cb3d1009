"""Engine.IO v4 on both mount points: client-initiated close, and the upgrade from long-polling
to WebSocket (probe, noop, and what the old transport gets after)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from tests.conformance.wire import (
    RECORD_SEPARATOR,
    Endpoint,
    assert_engine_echo,
    expect_closed,
    http_client,
    open_polling_session,
    open_websocket,
    poll,
    push,
    raw_http,
    receive,
    receive_text,
    websocket_session,
)

# --- close -------------------------------------------------------------------------------------


async def test_polling_close_packet_ends_the_session(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        pending = asyncio.create_task(poll(client, any_endpoint, sid))
        await asyncio.sleep(0.1)  # the poll must be waiting on the server before the close
        assert (await push(client, any_endpoint, sid, "1")).status_code == 200
        response = await pending
        assert response.status_code == 200
        assert response.text == "6"  # the waiting poll ends with a noop
        assert (await poll(client, any_endpoint, sid)).status_code == 400


async def test_websocket_close_packet_ends_the_session(any_endpoint: Endpoint) -> None:
    async with websocket_session(any_endpoint) as ws:
        await ws.send("1")
        await expect_closed(ws)


# --- upgrade -----------------------------------------------------------------------------------


async def upgrade(ws: ClientConnection) -> None:
    await ws.send("2probe")
    assert await receive(ws) == "3probe"
    await ws.send("5")


async def test_upgrade_from_polling_to_websocket(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await ws.send("2probe")
            assert await receive(ws) == "3probe"
            # The old transport is released with a noop (after a heartbeat, on a slow day).
            while True:
                released = await poll(client, any_endpoint, sid)
                assert released.status_code == 200
                if released.text != "2":
                    break
                await push(client, any_endpoint, sid, "3")
            assert released.text == "6"
            await ws.send("5")
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")
            else:
                # The session lives on over the WebSocket: the server pings there now.
                assert await receive(ws, answer_pings=False) == "2"


async def test_upgrade_loses_and_duplicates_nothing(engine_endpoint: Endpoint) -> None:
    """Echoes queued on the polling side before the upgrade arrive once, in order, on one of
    the two transports; what follows arrives on the WebSocket."""
    received: list[str] = []
    async with http_client() as client:
        sid = await open_polling_session(client, engine_endpoint)
        before = [f"4before{index}" for index in range(5)]
        pushed = await push(client, engine_endpoint, sid, RECORD_SEPARATOR.join(before))
        assert pushed.status_code == 200
        async with open_websocket(engine_endpoint.websocket_url(sid)) as ws:
            await ws.send("2probe")
            assert await receive(ws) == "3probe"
            while True:
                response = await poll(client, engine_endpoint, sid)
                assert response.status_code == 200, response.text
                packets = response.text.split(RECORD_SEPARATOR)
                received += [packet for packet in packets if packet.startswith("4")]
                if "6" in packets:
                    break
                if "2" in packets:
                    await push(client, engine_endpoint, sid, "3")
            await ws.send("5")
            after = [f"4after{index}" for index in range(5)]
            for message in after:
                await ws.send(message)
            while len(received) < len(before) + len(after):
                message = await receive_text(ws)
                assert message.startswith("4"), message
                received.append(message)
    assert received == before + after


async def test_poll_after_upgrade_is_refused(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await upgrade(ws)
            assert (await poll(client, any_endpoint, sid)).status_code == 400
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")


async def test_second_websocket_after_upgrade_is_closed(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await upgrade(ws)
            try:
                async with open_websocket(any_endpoint.websocket_url(sid)) as intruder:
                    seen = await expect_closed(intruder)
            except InvalidStatus as refusal:
                pytest.fail(f"the second WebSocket must be accepted then closed: {refusal}")
            assert not [message for message in seen if message != "2"], seen
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")
            else:
                assert await receive(ws, answer_pings=False) == "2"


async def test_poll_right_behind_the_upgrade_packet_is_refused(any_endpoint: Endpoint) -> None:
    """The official suite's "ignores HTTP requests with same sid after upgrade": the client
    sends ``5`` and, without waiting for anything, polls over another connection. Both reach
    the server at once and race inside it; the poll must be refused whichever is read first.
    The poll is written by hand on a connection opened beforehand, so that it follows the
    ``5`` within microseconds, as a fast client's would."""
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
    async with (
        open_websocket(any_endpoint.websocket_url(sid)) as ws,
        raw_http(any_endpoint) as http,
    ):
        await ws.send("2probe")
        assert await receive(ws) == "3probe"
        await ws.send("5")
        status, body = await http.request("GET", any_endpoint.polling_url(sid))
        assert status == 400, body
        if any_endpoint.path == "/engine.io/":
            await assert_engine_echo(ws, "hello")
