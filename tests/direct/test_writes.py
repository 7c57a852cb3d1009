"""How many ``transport.write`` calls the direct transport makes: one per read burst per
connection, done after the loop turn's reads for the common read (one whole text frame)."""

from __future__ import annotations

import asyncio
from typing import Any

from expressio.engine.direct import DirectWebSocketProtocol
from expressio.realtime import RealtimeServer, Socket
from tests.direct.fakes import RecordingTransport, client_ping, client_text, connect_client


def build_server() -> RealtimeServer:
    server = RealtimeServer(transports=["websocket"])

    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    server.of("/").on("echo", echo)
    return server


async def turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def open_client(server: RealtimeServer) -> tuple[DirectWebSocketProtocol, RecordingTransport]:
    protocol, transport = connect_client(server)
    await turn()
    transport.writes.clear()
    return protocol, transport


async def test_an_ack_is_written_once_after_the_turn_of_its_read() -> None:
    protocol, transport = await open_client(build_server())
    protocol.data_received(client_text('421["echo",{"a":1}]'))
    assert transport.writes == []  # written with the turn's other writes
    await turn()
    assert transport.writes == [b'\x81\x0c431[{"a":1}]']


async def test_each_connection_gets_one_write_per_turn() -> None:
    server = build_server()
    clients = [await open_client(server) for _ in range(3)]
    for index, (protocol, _) in enumerate(clients):
        protocol.data_received(client_text(f'42{index}["echo",{index}]'))
    await turn()
    for index, (_, transport) in enumerate(clients):
        assert transport.writes == [b"\x81\x06" + f"43{index}[{index}]".encode()]


async def test_a_read_of_several_frames_is_answered_in_one_write() -> None:
    protocol, transport = await open_client(build_server())
    protocol.data_received(client_text('421["echo",1]') + client_text('422["echo",2]'))
    await turn()
    assert len(transport.writes) == 1
    assert transport.writes == [b"\x81\x06431[1]\x81\x06432[2]"]


async def test_a_ping_is_answered_at_once() -> None:
    protocol, transport = await open_client(build_server())
    protocol.data_received(client_ping(b"hi"))
    assert transport.writes == [b"\x8a\x02hi"]
