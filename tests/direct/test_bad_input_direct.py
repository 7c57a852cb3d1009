"""Input no client library sends, met by the frame parser and the direct transport: a message
kept open with endless empty continuation frames, and an upgrade request whose
``Sec-WebSocket-Key`` is not base64 (non-ASCII bytes)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from expressio.engine.upgrade_request import handshake_problem, parse_upgrade_request
from expressio.protocol.websocket_frames import (
    CONTINUATION,
    MAX_FRAGMENTS,
    MESSAGE_TOO_BIG,
    TEXT,
    FrameParser,
    ProtocolError,
    TextMessage,
)
from tests.direct.conftest import DirectUnderTest
from tests.direct.test_engine_direct import raw_upgrade, read_frame, recv_message
from tests.direct.test_frames import client_frame

WAIT = 5.0
EMPTY_CONTINUATION = client_frame(CONTINUATION, b"", final=False)

# -- a message in too many fragments ---------------------------------------------------------


def test_a_message_of_max_fragments_frames_is_accepted() -> None:
    """Checks: a message in exactly MAX_FRAGMENTS frames (empty ones included) is whole."""
    parser = FrameParser(1000)
    data = client_frame(TEXT, b"4", final=False)
    data += EMPTY_CONTINUATION * (MAX_FRAGMENTS - 2)
    data += client_frame(CONTINUATION, b"x")
    assert parser.feed(data) == [TextMessage("4x")]
    # the count starts again with the next message
    assert parser.feed(data) == [TextMessage("4x")]


def test_empty_continuations_past_max_fragments_are_refused_1009() -> None:
    """Checks: zero-length continuation frames cannot keep a message open forever: the frame
    one past MAX_FRAGMENTS is a 1009 protocol error and later input is ignored."""
    parser = FrameParser(1000)
    assert parser.feed(client_frame(TEXT, b"4", final=False)) == []
    for _ in range(MAX_FRAGMENTS - 1):
        assert parser.feed(EMPTY_CONTINUATION) == []
    events = parser.feed(EMPTY_CONTINUATION)
    assert len(events) == 1 and isinstance(events[0], ProtocolError)
    assert events[0].code == MESSAGE_TOO_BIG
    assert parser.failed
    assert parser.feed(EMPTY_CONTINUATION * 10) == []


def test_empty_continuations_in_one_read_are_refused_1009() -> None:
    """Checks: the same flood arriving in a single read stops at the bound too."""
    parser = FrameParser(1000)
    data = client_frame(TEXT, b"4", final=False) + EMPTY_CONTINUATION * (MAX_FRAGMENTS * 3)
    events = parser.feed(data)
    assert len(events) == 1 and isinstance(events[0], ProtocolError)
    assert events[0].code == MESSAGE_TOO_BIG


async def test_empty_continuation_flood_closes_the_direct_websocket_1009(
    direct: DirectUnderTest,
) -> None:
    """Checks, through the direct transport: the flood ends with a 1009 close frame and the
    session reports a transport error."""

    def scenario() -> int:
        sock, head = raw_upgrade(direct)
        with sock:
            assert head.startswith(b"HTTP/1.1 101 "), head
            assert read_frame(sock)[0] == 0x1  # the open packet
            sock.sendall(client_frame(TEXT, b"4", final=False))
            flood = EMPTY_CONTINUATION * 100
            try:
                for _ in range(MAX_FRAGMENTS // 100 + 5):
                    sock.sendall(flood)
            except OSError:
                pass  # the server may already have closed
            while True:
                opcode, payload = read_frame(sock)
                if opcode == 0x8:
                    return int.from_bytes(payload[:2], "big")

    assert await asyncio.to_thread(scenario) == 1009
    for _ in range(100):
        if "transport error" in direct.disconnected.values():
            break
        await asyncio.sleep(0.01)
    assert "transport error" in direct.disconnected.values()


# -- a Sec-WebSocket-Key that is not base64 --------------------------------------------------

HEAD = (
    b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: 127.0.0.1:1\r\n"
    b"upgrade: websocket\r\nconnection: Upgrade\r\n"
    b"sec-websocket-key: KEY\r\nsec-websocket-version: 13"
)


@pytest.mark.parametrize(
    "key",
    [
        b"\xff" * 24,
        b"\xc3\xa9" * 12,
        b"AAAAAAAAAAAAAAAAAAAAAAAA",  # base64 of 18 bytes, not 16
        b"dGhlIHNhbXBsZSBub25jZQ=a",
        b"dGhlIHNhbXBsZSBub25jZ!==",
    ],
)
def test_a_key_that_is_not_base64_of_16_bytes_gets_400(key: bytes) -> None:
    """Checks: handshake_problem refuses (400) a 24-byte key that is not the base64 of 16
    bytes, rather than letting the accept key computation raise later."""
    request = parse_upgrade_request(HEAD.replace(b"KEY", key), "")
    assert request is not None
    answer = handshake_problem(request)
    assert answer is not None and answer.startswith(b"HTTP/1.1 400 ")


def test_the_rfc_sample_key_is_accepted() -> None:
    request = parse_upgrade_request(HEAD.replace(b"KEY", b"dGhlIHNhbXBsZSBub25jZQ=="), "")
    assert request is not None and handshake_problem(request) is None


def raw_request(direct: DirectUnderTest, path: str, key: bytes) -> bytes:
    """Send an upgrade request with ``key`` as it is; the whole answer until the server
    closes the connection."""
    request = (
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{direct.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: "
        ).encode()
        + key
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", direct.port), timeout=WAIT) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


async def test_non_ascii_key_gets_400_and_leaves_the_polling_session_as_it_was(
    direct: DirectUnderTest,
) -> None:
    """Checks, end to end: a non-ASCII key gets an HTTP 400 (not a traceback and a dropped
    connection), for a new session and for the upgrade of a polling session; that session is
    not left probing: a proper upgrade of the same sid afterwards works."""
    answer = await asyncio.to_thread(
        raw_request, direct, "/engine.io/?EIO=4&transport=websocket", b"\xff" * 24
    )
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(direct.polling_url())
        sid = orjson.loads(opened.text[1:])["sid"]
        path = f"/engine.io/?EIO=4&transport=websocket&sid={sid}"
        answer = await asyncio.to_thread(raw_request, direct, path, b"\xff" * 24)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert sid not in direct.disconnected
        async with connect(direct.engine_url(sid)) as ws:
            await ws.send("2probe")
            assert await asyncio.wait_for(ws.recv(), WAIT) == "3probe"
            await ws.send("5")
            await ws.send("4upgraded")
            assert await recv_message(ws) == "4upgraded"
