"""Binary attachments held for one packet are bounded, end to end over a real websocket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from expressio.realtime import RealtimeServer

Serve = Callable[[Any], Awaitable[str]]
MAX_PAYLOAD = 1000
PLACEHOLDER = '{"_placeholder":true,"num":%d}'


def binary_event(count: int, ack_id: int) -> str:
    placeholders = ",".join(PLACEHOLDER % index for index in range(count))
    return f'45{count}-{ack_id}["sizes",{placeholders}]'


async def test_one_packet_cannot_hold_more_than_max_payload_of_attachments(serve: Serve) -> None:
    server = RealtimeServer(max_payload=MAX_PAYLOAD, ping_interval=5, ping_timeout=5)
    reasons: list[str] = []
    root = server.of("/")
    root.on("sizes", lambda socket, *buffers: [len(buffer) for buffer in buffers])
    root.on_disconnect = lambda socket, reason: reasons.append(reason)
    url = await serve(server)
    ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    try:
        async with websockets.connect(ws_url) as ws:
            await ws.recv()  # Engine.IO open
            await ws.send("40")
            assert str(await ws.recv()).startswith("40")
            # within the budget: two attachments, 800 bytes in all
            await ws.send(binary_event(2, 1))
            await ws.send(b"a" * 400)
            await ws.send(b"b" * 400)
            assert await asyncio.wait_for(ws.recv(), 5) == "431[[400,400]]"
            # each message is within max_payload, but together they exceed it
            await ws.send(binary_event(3, 2))
            await ws.send(b"a" * 600)
            await ws.send(b"b" * 600)
            await ws.send(b"c" * 600)
            with pytest.raises(ConnectionClosed):
                while True:
                    frame = await asyncio.wait_for(ws.recv(), 5)
                    assert frame != "432[[600,600,600]]"
        for _ in range(100):
            if reasons:
                break
            await asyncio.sleep(0.02)
        assert reasons == ["parse error"]
    finally:
        await server.shutdown()


async def test_the_decoder_budget_is_the_engine_max_payload(make_server: Any) -> None:
    _server, engine = make_server(max_payload=MAX_PAYLOAD)
    connection = engine.connect().state
    assert connection.decoder.max_attachment_bytes == MAX_PAYLOAD
