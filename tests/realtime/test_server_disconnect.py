"""A server disconnect that closes the whole connection still tells the client first.

Socket.IO clients reconnect after a transport close but not after a server DISCONNECT packet,
so the packet must reach them before the connection ends, over either transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from expressio.realtime import RealtimeServer

Serve = Callable[[Any], Awaitable[str]]
WAIT = 5.0


@pytest.fixture
async def served(serve: Serve) -> AsyncIterator[tuple[RealtimeServer, list[str], str]]:
    server = RealtimeServer(ping_interval=5, ping_timeout=5)
    reasons: list[str] = []
    root = server.of("/")
    root.on("bye", lambda socket: socket.disconnect(close=True))
    root.on_disconnect = lambda socket, reason: reasons.append(reason)
    chat = server.of("/chat")
    chat.on_disconnect = lambda socket, reason: reasons.append(reason)
    url = await serve(server)
    yield server, reasons, url
    await server.shutdown()


async def test_disconnect_close_over_websocket_sends_the_packets_before_closing(
    served: tuple[RealtimeServer, list[str], str],
) -> None:
    _server, reasons, url = served
    ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:
        await ws.recv()  # Engine.IO open
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        await ws.send("40/chat,")
        assert str(await ws.recv()).startswith("40/chat,{")
        await ws.send('42["bye"]')
        frames: list[str | bytes] = []
        with pytest.raises(ConnectionClosed):
            while True:
                frames.append(await asyncio.wait_for(ws.recv(), WAIT))
    assert sorted(frames) == ["41", "41/chat,"]
    assert reasons == ["server namespace disconnect"] * 2


async def test_disconnect_close_over_polling_sends_the_packets_before_the_close(
    served: tuple[RealtimeServer, list[str], str],
) -> None:
    _server, reasons, url = served
    base = url + "/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(base)
        sid = orjson.loads(opened.text[1:])["sid"]
        session = f"{base}&sid={sid}"
        assert (await http.post(session, content="40")).text == "ok"
        assert (await http.get(session)).text.startswith("40{")
        assert (await http.post(session, content='42["bye"]')).text == "ok"
        last = await http.get(session)
    assert last.status_code == 200
    assert last.text.split("\x1e") == ["41", "1"]
    assert reasons == ["server namespace disconnect"]
