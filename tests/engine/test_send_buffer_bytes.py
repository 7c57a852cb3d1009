"""The send buffer's byte bound (``max_send_buffer_bytes``): counted per queued message, reset
when the outbox is taken, and the slow-client policy once exceeded, on the sans-IO connection
and end to end over long-polling."""

from __future__ import annotations

import asyncio
import base64
import os
import socket as socket_module
import struct

import httpx
import pytest

from expressio.engine import EngineServer
from expressio.engine.connection import DEFAULT_MAX_SEND_BUFFER_BYTES, Closed, Connection
from expressio.io.settings import DEFAULTS, convert, engine_options, setting_key
from expressio.protocol.engineio import PreparedMessage
from tests.engine.conftest import EngineUnderTest


def make(transport: str = "websocket", *, max_bytes: int, max_messages: int = 10_000) -> Connection:
    return Connection(
        transport,
        now=100.0,
        ping_interval=25.0,
        ping_timeout=20.0,
        max_payload=1_000_000,
        max_send_buffer=max_messages,
        max_send_buffer_bytes=max_bytes,
    )


# -- the connection ----------------------------------------------------------------------


def test_queued_bytes_are_counted_and_reset_when_taken() -> None:
    connection = make(max_bytes=1000)
    assert connection.send(PreparedMessage("a" * 99)) is None  # "4" + 99 characters
    assert connection.send(PreparedMessage(b"\x00" * 50)) is None
    assert connection.outbox_bytes == 150
    assert len(connection.take_outbox()) == 2
    assert connection.outbox_bytes == 0
    assert connection.send(PreparedMessage("b" * 9)) is None
    assert connection.outbox_bytes == 10


def test_polling_answer_resets_the_count() -> None:
    connection = make("polling", max_bytes=1000)
    connection.send(PreparedMessage("x" * 199))
    assert connection.outbox_bytes == 200
    assert connection.start_poll(100.0) == "4" + "x" * 199
    assert connection.outbox_bytes == 0


def test_a_message_over_the_bound_closes_with_transport_error() -> None:
    connection = make(max_bytes=1000)
    assert connection.send(PreparedMessage("a" * 999)) is None  # exactly the bound
    assert connection.send(PreparedMessage("b")) == Closed("transport error")
    assert not connection.is_open
    assert connection.outbox == []
    assert connection.outbox_bytes == 0


def test_a_single_message_larger_than_the_bound_closes_at_once() -> None:
    connection = make(max_bytes=1000)
    assert connection.send(PreparedMessage(b"\x01" * 1001)) == Closed("transport error")


def test_many_small_messages_within_the_bound_are_fine() -> None:
    connection = make(max_bytes=100_000)
    for _ in range(10):
        for index in range(5000):
            assert connection.send(PreparedMessage(f"{index % 10}")) is None  # 2 bytes each
        assert connection.outbox_bytes == 10_000
        assert len(connection.take_outbox()) == 5000
    assert connection.is_open


def test_a_shared_broadcast_message_counts_in_every_queue_holding_it() -> None:
    shared = PreparedMessage("z" * 399)
    first, second = make(max_bytes=1000), make(max_bytes=1000)
    for connection in (first, second):
        assert connection.send(shared) is None
        assert connection.send(shared) is None
        assert connection.outbox_bytes == 800
    first.take_outbox()  # a reader that keeps up
    assert first.send(shared) is None
    assert second.send(shared) == Closed("transport error")  # the slow one
    assert first.is_open


def test_default_bound_and_the_io_setting() -> None:
    assert DEFAULT_MAX_SEND_BUFFER_BYTES == 16 * 1024 * 1024
    assert EngineServer().max_send_buffer_bytes == DEFAULT_MAX_SEND_BUFFER_BYTES
    assert setting_key("max send buffer bytes") == "max_send_buffer_bytes"
    assert DEFAULTS["max_send_buffer_bytes"] == DEFAULT_MAX_SEND_BUFFER_BYTES
    assert engine_options(DEFAULTS)["max_send_buffer_bytes"] == DEFAULT_MAX_SEND_BUFFER_BYTES
    with pytest.raises(ValueError):
        EngineServer(max_send_buffer_bytes=0)
    with pytest.raises((ValueError, TypeError)):
        convert("max_send_buffer_bytes", -1)


# -- long-polling, end to end ------------------------------------------------------------

MESSAGE_SIZE = 300_000
BOUND = 4 * 1024 * 1024


async def test_polling_session_that_never_gets_is_closed_at_the_byte_bound(
    make_server: object,
) -> None:
    with make_server(  # type: ignore[operator]
        max_send_buffer_bytes=BOUND, ping_interval=30, ping_timeout=30
    ) as server:
        assert isinstance(server, EngineUnderTest)
        async with httpx.AsyncClient(timeout=10) as client:
            sid = (await server.handshake(client))["sid"]
            socket = server.engine.sockets[sid]
            posted = 0
            # Each POST is echoed into the outbox; no GET ever takes it.
            for index in range(100):
                body = "4" + f"{index:08d}" + "x" * (MESSAGE_SIZE - 8)
                response = await client.post(server.polling_url(sid), content=body)
                if response.status_code != 200 or sid in server.disconnected:
                    break
                posted += 1
                queued = server.call(lambda: socket._connection.outbox_bytes)
                assert queued == posted * (MESSAGE_SIZE + 1)
            reason = await server.disconnect_reason(sid)
            assert reason == "transport error"
            # The echo that would have gone past the bound closed it.
            assert posted == BOUND // (MESSAGE_SIZE + 1)
            assert server.call(lambda: socket._connection.outbox_bytes) == 0
            # The client learns it on its next GET.
            response = await client.get(server.polling_url(sid))
            assert response.text in ("1", "") or response.status_code == 400


async def test_polling_client_that_gets_is_not_limited(make_server: object) -> None:
    with make_server(  # type: ignore[operator]
        max_send_buffer_bytes=BOUND, ping_interval=30, ping_timeout=30
    ) as server:
        assert isinstance(server, EngineUnderTest)
        async with httpx.AsyncClient(timeout=10) as client:
            sid = (await server.handshake(client))["sid"]
            body = "4" + "y" * MESSAGE_SIZE
            for _ in range(3 * BOUND // MESSAGE_SIZE):  # three bounds' worth, in all
                assert (await client.post(server.polling_url(sid), content=body)).text == "ok"
                answer = (await client.get(server.polling_url(sid))).text
                assert answer == body
            assert sid not in server.disconnected


# -- websocket over ASGI, end to end -----------------------------------------------------


def _raw_websocket(port: int) -> socket_module.socket:
    """A websocket client that never reads: the upgrade, then a small receive buffer."""
    sock = socket_module.socket(socket_module.AF_INET, socket_module.SOCK_STREAM)
    sock.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def _large_text_frame(index: int) -> bytes:
    payload = b"4" + f"{index:08d}".encode() + b"x" * (MESSAGE_SIZE - 8)
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", len(payload)) + bytes(4) + payload


async def test_asgi_websocket_client_that_stops_reading_is_closed_at_the_byte_bound(
    make_server: object,
) -> None:
    with make_server(  # type: ignore[operator]
        max_send_buffer_bytes=BOUND, ping_interval=30, ping_timeout=30
    ) as server:
        assert isinstance(server, EngineUnderTest)
        sock = await asyncio.to_thread(_raw_websocket, server.port)
        await asyncio.sleep(0.05)
        sid = server.connected[0]

        def flood() -> int:
            sent = 0
            try:
                while sent < 200 and sid not in server.disconnected:
                    sock.sendall(_large_text_frame(sent))
                    sent += 1
            except OSError:
                pass
            return sent

        sent = await asyncio.to_thread(flood)
        assert await server.disconnect_reason(sid, timeout=10) == "transport error"
        assert sent < 200
        sock.close()
