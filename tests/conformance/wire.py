"""A deliberately dumb Engine.IO / Socket.IO client for conformance tests.

It speaks the wire format by hand (httpx for long-polling, `websockets` for WebSocket) so that
every byte the tests send or expect is visible in the test itself; nothing here understands the
protocol beyond splitting frames and answering heartbeats where a test asks it to.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

# Generous bounds for "this must happen": they only decide how long a broken server is waited
# for, never whether a correct one passes.
RECEIVE_TIMEOUT = 5.0
CLOSE_TIMEOUT = 5.0

# The settings examples/protocol_server.py (and the Node reference) run with.
PING_INTERVAL_MS = 300
PING_TIMEOUT_MS = 200
MAX_PAYLOAD = 1_000_000

RECORD_SEPARATOR = "\x1e"


@dataclass(frozen=True)
class Endpoint:
    """One Engine.IO mount point of the server under test (`/engine.io/` or `/socket.io/`)."""

    port: int
    path: str

    def polling_url(self, sid: str | None = None, **extra: str) -> str:
        return self._url("http", "polling", sid, extra)

    def websocket_url(self, sid: str | None = None, **extra: str) -> str:
        return self._url("ws", "websocket", sid, extra)

    def raw_url(self, query: str, scheme: str = "http") -> str:
        """A URL with a hand-written query string, for the malformed-request tests."""
        return f"{scheme}://127.0.0.1:{self.port}{self.path}?{query}"

    def _url(self, scheme: str, transport: str, sid: str | None, extra: dict[str, str]) -> str:
        query = f"EIO=4&transport={transport}"
        if sid is not None:
            query += f"&sid={sid}"
        for name, value in extra.items():
            query += f"&{name}={value}"
        return f"{scheme}://127.0.0.1:{self.port}{self.path}?{query}"


def http_client() -> httpx.AsyncClient:
    # trust_env=False: a proxy configured in the environment must never see 127.0.0.1 traffic.
    return httpx.AsyncClient(timeout=RECEIVE_TIMEOUT, trust_env=False)


def parse_open_packet(text: str) -> dict[str, Any]:
    assert text.startswith("0"), f"expected an Engine.IO open packet, got {text!r}"
    value: dict[str, Any] = json.loads(text[1:])
    return value


async def open_polling_session(client: httpx.AsyncClient, endpoint: Endpoint) -> str:
    response = await client.get(endpoint.polling_url())
    assert response.status_code == 200, response.text
    sid: str = parse_open_packet(response.text)["sid"]
    return sid


async def poll(client: httpx.AsyncClient, endpoint: Endpoint, sid: str) -> httpx.Response:
    return await client.get(endpoint.polling_url(sid))


async def push(
    client: httpx.AsyncClient, endpoint: Endpoint, sid: str, body: str | bytes
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        endpoint.polling_url(sid),
        content=content,
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )


async def poll_until(
    client: httpx.AsyncClient, endpoint: Endpoint, sid: str, count: int
) -> list[str]:
    """Poll until `count` packets other than pings arrived; answer the pings meanwhile."""
    packets: list[str] = []
    while len(packets) < count:
        response = await poll(client, endpoint, sid)
        assert response.status_code == 200, response.text
        for packet in response.text.split(RECORD_SEPARATOR):
            if packet == "2":
                await push(client, endpoint, sid, "3")
            else:
                packets.append(packet)
    return packets


class RawHttpConnection:
    """One HTTP/1.1 connection written by hand: a request goes on the wire in the same step
    as the call, with no client machinery before it (for tests about what arrives when)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def request(self, method: str, url: str) -> tuple[int, str]:
        """Send a body-less request at once; the response's status and body."""
        parts = urlsplit(url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        self._writer.write(
            f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode("ascii")
        )
        head = await asyncio.wait_for(self._reader.readuntil(b"\r\n\r\n"), RECEIVE_TIMEOUT)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await asyncio.wait_for(self._reader.readexactly(length), RECEIVE_TIMEOUT)
        return int(status_line.split()[1]), body.decode()


@asynccontextmanager
async def raw_http(endpoint: Endpoint) -> AsyncIterator[RawHttpConnection]:
    """An open connection to the server under test, for :class:`RawHttpConnection`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    try:
        yield RawHttpConnection(reader, writer)
    finally:
        writer.close()


def open_websocket(url: str, origin: str | None = None) -> Any:
    """`websockets.connect` with settings that keep the wire exactly what the test writes."""
    # The client's own WebSocket-level pings are off: heartbeats are the server's business here.
    return connect(
        url,
        origin=Origin(origin) if origin else None,
        proxy=None,
        ping_interval=None,
        open_timeout=RECEIVE_TIMEOUT,
        max_size=None,
    )


async def receive(ws: ClientConnection, *, answer_pings: bool = True) -> str | bytes:
    """The next message; Engine.IO pings are answered and skipped unless `answer_pings` is off."""
    while True:
        message = await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT)
        if answer_pings and message == "2":
            await ws.send("3")
            continue
        return message


async def receive_text(ws: ClientConnection, *, answer_pings: bool = True) -> str:
    message = await receive(ws, answer_pings=answer_pings)
    assert isinstance(message, str), f"expected a text frame, got {message!r}"
    return message


async def expect_closed(ws: ClientConnection) -> list[str | bytes]:
    """Wait until the server closes the connection; returns what it sent before closing."""
    seen: list[str | bytes] = []

    async def drain() -> None:
        try:
            while True:
                seen.append(await ws.recv())
        except ConnectionClosed:
            return

    try:
        await asyncio.wait_for(drain(), CLOSE_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"the server did not close the connection; it sent {seen!r}")
    return seen


async def expect_websocket_refused(url: str) -> None:
    """The server must refuse the WebSocket: an HTTP 400, or an accept then a close without
    ever opening an Engine.IO session."""
    try:
        async with open_websocket(url) as ws:
            seen = await expect_closed(ws)
    except InvalidStatus as refusal:
        assert refusal.response.status_code == 400
        return
    assert not any(isinstance(m, str) and m.startswith("0") for m in seen), seen


@asynccontextmanager
async def websocket_session(endpoint: Endpoint) -> AsyncIterator[ClientConnection]:
    """A WebSocket-only Engine.IO session, past its open packet."""
    async with open_websocket(endpoint.websocket_url()) as ws:
        parse_open_packet(await receive_text(ws))
        yield ws


@asynccontextmanager
async def socketio_session(
    endpoint: Endpoint, namespace: str = "/", auth: str = ""
) -> AsyncIterator[ClientConnection]:
    """A WebSocket Socket.IO connection to `namespace`, past its CONNECT and "auth" packets."""
    async with websocket_session(endpoint) as ws:
        prefix = "" if namespace == "/" else f"{namespace},"
        await ws.send(f"40{prefix}{auth}")
        connected = await receive_text(ws)
        assert connected.startswith(f"40{prefix}"), connected
        auth_event = await receive_text(ws)
        assert auth_event.startswith(f"42{prefix}"), auth_event
        yield ws


async def assert_engine_echo(ws: ClientConnection, text: str = "still here") -> None:
    await ws.send(f"4{text}")
    assert await receive_text(ws) == f"4{text}"


async def assert_socketio_echo(ws: ClientConnection, text: str = "still here") -> None:
    await ws.send("42" + json.dumps(["message", text], separators=(",", ":")))
    expected = "42" + json.dumps(["message-back", text], separators=(",", ":"))
    assert await receive_text(ws) == expected
