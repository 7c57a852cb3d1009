"""Input no client library sends, met by the frame parser and the direct transport: a message
kept open with endless empty continuation frames."""

from __future__ import annotations

import asyncio

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
from tests.direct.test_engine_direct import raw_upgrade, read_frame
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
