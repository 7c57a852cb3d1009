"""``EngineSocket.writable``: whether a message queued now goes out without waiting behind
others — what a volatile packet asks before it is sent (and is dropped when the answer is no)."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.engine.conftest import EngineUnderTest
from tests.engine.helpers import open_websocket


async def until(server: EngineUnderTest, sid: str, expected: bool) -> None:
    deadline = time.monotonic() + 5
    while server.call(lambda: server.engine.sockets[sid].writable) is not expected:
        assert time.monotonic() < deadline, f"writable never became {expected}"
        await asyncio.sleep(0.01)


async def test_polling_is_writable_only_while_a_get_waits(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    assert server.call(lambda: server.engine.sockets[sid].writable) is False  # no GET yet
    poll = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await until(server, sid, True)  # the GET is parked, waiting for something to answer
    server.call(lambda: server.engine.sockets[sid].send("hello"))
    # The first message woke the GET: what comes next would wait for the next one.
    assert server.call(lambda: server.engine.sockets[sid].writable) is False
    assert (await poll).text == "4hello"


async def test_an_open_websocket_is_writable_and_a_closed_session_is_not(
    server: EngineUnderTest,
) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    sid = handshake["sid"]
    await until(server, sid, True)
    engine_socket = server.call(lambda: server.engine.sockets[sid])
    await websocket.close()
    deadline = time.monotonic() + 5
    while server.call(lambda: engine_socket.writable):
        assert time.monotonic() < deadline, "a closed session stayed writable"
        await asyncio.sleep(0.01)
