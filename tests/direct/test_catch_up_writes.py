"""A paused client that catches up gets large broadcast frames as they are, shared with every
other recipient, not joined into a copy of its own (which, for many slow clients resuming at
once, would copy the same frames once per client)."""

from __future__ import annotations

import asyncio
from typing import Any

from expressio.realtime import RealtimeServer
from tests.direct.fakes import RecordingTransport, connect_client


class LinesTransport(RecordingTransport):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[list[bytes]] = []

    def writelines(self, data: Any) -> None:
        self.lines.append(list(data))


async def test_large_frames_go_unjoined_and_shared_small_ones_in_one_write() -> None:
    server = RealtimeServer(transports=["websocket"])
    connected: list[Any] = []
    server.of("/").on_connect = lambda socket, auth: connected.append(socket)
    clients = []
    for _ in range(2):
        protocol, _ = connect_client(server)
        transport = LinesTransport()
        protocol._transport = transport  # what the protocol writes to from now on
        clients.append((protocol, transport))
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(connected) == 2
    for protocol, _ in clients:
        protocol.pause_writing()
    big = "x" * 100_000
    for index in range(3):
        server.of("/").emit("big", index, big)
    for protocol, _ in clients:
        protocol.resume_writing()
    frames = [transport.lines for _, transport in clients]
    assert all(len(lines) == 1 and len(lines[0]) == 3 for lines in frames), frames
    first, second = frames[0][0], frames[1][0]
    assert all(a is b for a, b in zip(first, second, strict=True))  # shared: no copy
    # small messages still leave in one write
    protocol, transport = clients[0]
    writes = transport.count
    protocol.pause_writing()
    for index in range(3):
        server.of("/").emit("small", index)
    protocol.resume_writing()
    assert transport.count == writes + 1 and len(transport.lines) == 1
