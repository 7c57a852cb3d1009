"""How many ``transport.write`` calls the direct transport makes: one per read burst per
connection, done after the loop turn's reads for the common read (one whole text frame)."""

from __future__ import annotations

import asyncio
from typing import Any

from expressio.engine.direct import DirectWebSocketProtocol
from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket
from tests.direct.fakes import RecordingTransport, ServerState, client_ping, client_text


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
    config = build_config(server, host="127.0.0.1", port=1, log_level="warning")
    protocol = DirectWebSocketProtocol(config, ServerState(), {})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        b"host: 127.0.0.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
        b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    )
    protocol.data_received(client_text("40"))
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
