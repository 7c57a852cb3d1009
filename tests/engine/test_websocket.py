"""Websocket-only sessions end to end, with a real websockets client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.engine.conftest import EngineUnderTest
from tests.engine.helpers import (
    open_websocket,
    receive,
    receive_skipping_pings,
    wait_closed,
)


async def test_handshake_over_websocket(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    async with websocket:
        assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert handshake["upgrades"] == []
        assert handshake["pingInterval"] == 300
        assert handshake["pingTimeout"] == 200
        assert handshake["maxPayload"] == 1_000_000
        assert server.engine.sockets[handshake["sid"]].transport == "websocket"


async def test_text_and_binary_echo(server: EngineUnderTest) -> None:
    websocket, _ = await open_websocket(server.websocket_url())
    async with websocket:
        await websocket.send("4hello")
        assert await receive_skipping_pings(websocket) == "4hello"
        await websocket.send(b"\x01\x02\x03\x04")
        assert await receive_skipping_pings(websocket) == b"\x01\x02\x03\x04"
        await websocket.send("4€ unicode")
        assert await receive_skipping_pings(websocket) == "4€ unicode"


async def test_order_is_kept_for_many_messages(server: EngineUnderTest) -> None:
    websocket, _ = await open_websocket(server.websocket_url())
    async with websocket:
        for index in range(200):
            await websocket.send(f"4m{index}")
        received = [await receive_skipping_pings(websocket) for _ in range(200)]
        assert received == [f"4m{index}" for index in range(200)]


async def test_ping_pong_keeps_the_session_alive(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    async with websocket:
        for _ in range(3):
            assert await receive(websocket) == "2"
            await websocket.send("3")
        assert handshake["sid"] in server.engine.sockets


async def test_ping_timeout_closes_the_websocket(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    async with websocket:
        assert await wait_closed(websocket) == ["2"]
    assert await server.disconnect_reason(handshake["sid"]) == "ping timeout"


async def test_client_close_packet_closes_the_session(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    async with websocket:
        await websocket.send("1")
        await wait_closed(websocket)
    assert await server.disconnect_reason(handshake["sid"]) == "transport close"


async def test_client_going_away_is_a_transport_close(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    await websocket.close()
    assert await server.disconnect_reason(handshake["sid"]) == "transport close"
    assert handshake["sid"] not in server.engine.sockets


async def test_server_close_delivers_what_was_queued_first(server: EngineUnderTest) -> None:
    websocket, handshake = await open_websocket(server.websocket_url())
    async with websocket:
        await websocket.send("4cmd:close")
        frames = await wait_closed(websocket)
        assert frames[-1:] == ["4closing"]
    assert await server.disconnect_reason(handshake["sid"]) == "forced close"


@pytest.mark.parametrize("garbage", ["abc", "", "9x"])
async def test_invalid_packet_closes_only_that_connection(
    server: EngineUnderTest, garbage: str
) -> None:
    bystander, _ = await open_websocket(server.websocket_url())
    websocket, handshake = await open_websocket(server.websocket_url())
    async with bystander, websocket:
        await websocket.send(garbage)
        await wait_closed(websocket)
        assert await server.disconnect_reason(handshake["sid"]) == "parse error"
        await bystander.send("4still here")
        assert await receive_skipping_pings(bystander) == "4still here"


async def test_message_over_max_payload_closes_that_connection(make_server: Any) -> None:
    with make_server(max_payload=100) as server:
        bystander, _ = await open_websocket(server.websocket_url())
        websocket, handshake = await open_websocket(server.websocket_url())
        async with bystander, websocket:
            await websocket.send("4" + "x" * 99)
            assert await receive_skipping_pings(websocket) == "4" + "x" * 99
            await websocket.send(b"y" * 101)
            await wait_closed(websocket)
            assert await server.disconnect_reason(handshake["sid"]) == "transport error"
            await bystander.send("4ok")
            assert await receive_skipping_pings(bystander) == "4ok"


async def test_callback_exception_closes_only_that_connection(server: EngineUnderTest) -> None:
    bystander, _ = await open_websocket(server.websocket_url())
    websocket, handshake = await open_websocket(server.websocket_url())
    async with bystander, websocket:
        await websocket.send("4cmd:raise")
        await wait_closed(websocket)
        assert await server.disconnect_reason(handshake["sid"]) == "forced close"
        await bystander.send("4fine")
        assert await receive_skipping_pings(bystander) == "4fine"


async def test_send_buffer_overflow_disconnects_the_slow_client(make_server: Any) -> None:
    with make_server(max_send_buffer=50, ping_interval=5, ping_timeout=5) as server:
        websocket, handshake = await open_websocket(server.websocket_url())
        async with websocket:
            # 200 messages queued in one callback: more than the buffer holds.
            await websocket.send("4cmd:flood:200")
            await wait_closed(websocket)
        assert await server.disconnect_reason(handshake["sid"]) == "transport error"


async def test_a_burst_within_the_buffer_arrives_whole(make_server: Any) -> None:
    with make_server(max_send_buffer=500, ping_interval=5, ping_timeout=5) as server:
        websocket, _ = await open_websocket(server.websocket_url())
        async with websocket:
            await websocket.send("4cmd:flood:400")
            received = [await receive(websocket) for _ in range(400)]
            assert received == [f"4flood {index}" for index in range(400)]


async def test_server_send_prepared_reaches_every_socket(server: EngineUnderTest) -> None:
    sockets = [await open_websocket(server.websocket_url()) for _ in range(3)]
    try:

        def broadcast() -> None:
            prepared = server.engine.prepare(b"\x00shared")
            for socket in server.engine.sockets.values():
                socket.send_prepared(prepared)

        server.call(broadcast)
        for websocket, _ in sockets:
            assert await receive_skipping_pings(websocket) == b"\x00shared"
    finally:
        for websocket, _ in sockets:
            await websocket.close()


async def test_shutdown_closes_every_websocket(server: EngineUnderTest) -> None:
    sockets = [await open_websocket(server.websocket_url()) for _ in range(3)]
    assert server.loop is not None
    asyncio.run_coroutine_threadsafe(server.engine.shutdown(), server.loop).result(5)
    for websocket, handshake in sockets:
        await wait_closed(websocket)
        assert await server.disconnect_reason(handshake["sid"]) == "server shutting down"
    assert server.engine.sockets == {}


# uvicorn's legacy "websockets" implementation warns that it is deprecated, and its library
# warns about its own legacy API: both are uvicorn's business; the engine must still work on it.
@pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:remove second argument of ws_handler:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")
@pytest.mark.parametrize("ws_impl", ["websockets", "websockets-sansio", "wsproto"])
async def test_works_on_every_uvicorn_websocket_implementation(
    make_server: Any, ws_impl: str
) -> None:
    with make_server(ws_impl=ws_impl) as server:
        async with connect(server.websocket_url()) as websocket:
            assert str(await receive(websocket)).startswith("0")
            await websocket.send(b"\xffbin")
            assert await receive_skipping_pings(websocket) == b"\xffbin"
            await websocket.send("abc")
            await wait_closed(websocket)
