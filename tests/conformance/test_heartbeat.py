"""Engine.IO v4 heartbeats on both mount points: the server pings, the client answers, and a
client that stops answering is dropped after pingInterval + pingTimeout."""

from __future__ import annotations

import asyncio

from tests.conformance.wire import (
    PING_INTERVAL_MS,
    PING_TIMEOUT_MS,
    Endpoint,
    expect_closed,
    http_client,
    open_polling_session,
    open_websocket,
    parse_open_packet,
    poll,
    push,
    receive,
    receive_text,
    websocket_session,
)

# Past the point where a server that stopped hearing from its client must have closed it
# (one ping interval, then one ping timeout), with room for a busy machine.
SILENCE_THAT_KILLS = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000 * 2


async def test_polling_heartbeat_is_server_initiated(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        for _ in range(3):
            pinged = await poll(client, any_endpoint, sid)
            assert pinged.status_code == 200
            assert pinged.text == "2"
            assert (await push(client, any_endpoint, sid, "3")).status_code == 200


async def test_polling_session_without_pong_times_out(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        await asyncio.sleep(SILENCE_THAT_KILLS)
        assert (await poll(client, any_endpoint, sid)).status_code == 400


async def test_websocket_heartbeat_is_server_initiated(any_endpoint: Endpoint) -> None:
    async with websocket_session(any_endpoint) as ws:
        for _ in range(3):
            assert await receive(ws, answer_pings=False) == "2"
            await ws.send("3")


async def test_websocket_session_without_pong_times_out(any_endpoint: Endpoint) -> None:
    async with open_websocket(any_endpoint.websocket_url()) as ws:
        parse_open_packet(await receive_text(ws, answer_pings=False))
        seen = await expect_closed(ws)
        assert "2" in seen  # it was pinged first
