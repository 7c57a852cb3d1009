"""A fake connection for driving ``DirectWebSocketProtocol`` without sockets: a transport that
records its writes, the uvicorn server state the protocol expects, and masked client frames.
Used by tests/direct/test_writes.py and bench/realtime/hotpath.py."""

from __future__ import annotations

import asyncio
from typing import Any

from expressio.engine.direct import DirectWebSocketProtocol
from expressio.http.serving import build_config

MASK = b"\x12\x34\x56\x78"
#: Writes kept (every write is counted): enough to check answers, bounded for long runs.
KEPT_WRITES = 10_000


def masked(payload: bytes) -> bytes:
    return bytes(byte ^ MASK[index % 4] for index, byte in enumerate(payload))


def client_text(text: str) -> bytes:
    """A client's one-frame text message (masked, under 126 bytes)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + MASK + masked(payload)


def client_binary(payload: bytes) -> bytes:
    """A client's one-frame binary message (masked, under 126 bytes)."""
    assert len(payload) < 126
    return bytes((0x82, 0x80 | len(payload))) + MASK + masked(payload)


def client_ping(payload: bytes) -> bytes:
    return bytes((0x89, 0x80 | len(payload))) + MASK + masked(payload)


class RecordingTransport(asyncio.Transport):
    """Counts every write and keeps the first ``KEPT_WRITES`` of them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.count = 0

    def write(self, data: Any) -> None:
        self.count += 1
        if len(self.writes) < KEPT_WRITES:
            self.writes.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name in ("peername", "sockname") else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class ServerState:
    """What the protocol uses of uvicorn's ``ServerState``."""

    def __init__(self) -> None:
        self.connections: set[Any] = set()
        self.default_headers: list[tuple[bytes, bytes]] = []


UPGRADE_REQUEST = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"host: 127.0.0.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
    b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
)


def connect_client(
    app: Any, connect_frame: bytes | None = None
) -> tuple[DirectWebSocketProtocol, RecordingTransport]:
    """A direct-websocket connection to ``app`` on a recording transport, upgraded and joined
    to the default namespace with ``connect_frame`` (the JSON parser's ``40`` by default; run
    the loop a few turns for the answers)."""
    config = build_config(app, host="127.0.0.1", port=1, log_level="warning")
    protocol = DirectWebSocketProtocol(config, ServerState(), {})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(UPGRADE_REQUEST)
    protocol.data_received(connect_frame or client_text("40"))
    return protocol, transport
