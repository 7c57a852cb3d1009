"""The RFC 6455 frame codec at the sans-IO level: client frames in, events out."""

from __future__ import annotations

import os
import struct

import pytest

from expressio.protocol.websocket_frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    INVALID_PAYLOAD,
    MESSAGE_TOO_BIG,
    PING,
    PONG,
    PROTOCOL_ERROR,
    TEXT,
    BinaryMessage,
    Close,
    FrameParser,
    Ping,
    Pong,
    ProtocolError,
    TextMessage,
    _apply_mask_python,
    accept_key,
    apply_mask,
    binary_frame,
    close_frame,
    encode_frame,
    text_frame,
)

MASK = b"\x37\xfa\x21\x3d"


def client_frame(
    opcode: int,
    payload: bytes,
    *,
    final: bool = True,
    masked: bool = True,
    rsv: int = 0,
    mask: bytes = MASK,
    declared_length: int | None = None,
) -> bytes:
    """A frame as a client sends it (masked), built independently of the codec."""
    first = (0x80 if final else 0) | rsv | opcode
    length = len(payload) if declared_length is None else declared_length
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = bytes([first, mask_bit | length])
    elif length < 65536:
        header = bytes([first, mask_bit | 126]) + struct.pack("!H", length)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return header + payload
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + mask + body


def parse_server_frame(frame: bytes) -> tuple[bool, int, bytes]:
    """(final, opcode, payload) of an unmasked server frame, decoded by hand."""
    final = bool(frame[0] & 0x80)
    opcode = frame[0] & 0x0F
    assert not frame[1] & 0x80, "server frames are never masked"
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length = struct.unpack("!H", frame[2:4])[0]
        offset = 4
    elif length == 127:
        length = struct.unpack("!Q", frame[2:10])[0]
        offset = 10
    payload = frame[offset:]
    assert len(payload) == length
    return final, opcode, payload


# -- handshake and masking ------------------------------------------------------------------


def test_accept_key_is_the_rfc_example() -> None:
    # RFC 6455 section 1.3
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 1000, 70_001])
def test_masking_matches_the_definition(size: int) -> None:
    payload = os.urandom(size)
    expected = bytes(byte ^ MASK[index % 4] for index, byte in enumerate(payload))
    assert apply_mask(payload, MASK) == expected
    assert _apply_mask_python(payload, MASK) == expected
    assert apply_mask(expected, MASK) == payload


# -- encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_server_frames_use_the_shortest_length_encoding(size: int) -> None:
    payload = os.urandom(size)
    frame = binary_frame(payload)
    assert parse_server_frame(frame) == (True, BINARY, payload)
    expected_header = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(frame) == expected_header + size


def test_text_frame_is_utf8() -> None:
    assert parse_server_frame(text_frame("héllo ✓")) == (True, TEXT, "héllo ✓".encode())


def test_close_frame_carries_code_and_reason() -> None:
    assert parse_server_frame(close_frame(1001, "bye")) == (True, CLOSE, b"\x03\xe9bye")
    assert parse_server_frame(close_frame(1005)) == (True, CLOSE, b"")
    # a control frame never exceeds 125 bytes, even with a long reason
    assert len(parse_server_frame(close_frame(1000, "x" * 300))[2]) == 125


def test_encode_frame_control_opcodes() -> None:
    assert parse_server_frame(encode_frame(PONG, b"abc")) == (True, PONG, b"abc")


# -- decoding messages ----------------------------------------------------------------------


def test_text_and_binary_messages() -> None:
    parser = FrameParser(1000)
    events = parser.feed(client_frame(TEXT, "4héllo".encode()) + client_frame(BINARY, b"\x00\xff"))
    assert events == [TextMessage("4héllo"), BinaryMessage(b"\x00\xff")]
    assert type(events[0].data) is str and type(events[1].data) is bytes  # type: ignore[union-attr]


def test_empty_messages() -> None:
    parser = FrameParser(1000)
    assert parser.feed(client_frame(TEXT, b"") + client_frame(BINARY, b"")) == [
        TextMessage(""),
        BinaryMessage(b""),
    ]


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 100_000])
def test_every_length_encoding_is_read(size: int) -> None:
    payload = os.urandom(size)
    assert FrameParser(200_000).feed(client_frame(BINARY, payload)) == [BinaryMessage(payload)]


def test_a_frame_split_at_every_byte_arrives_once_complete() -> None:
    frame = client_frame(TEXT, b"4" + b"x" * 300)
    parser = FrameParser(1000)
    events: list[object] = []
    for index in range(len(frame)):
        events += parser.feed(frame[index : index + 1])
        if index < len(frame) - 1:
            assert events == []
    assert events == [TextMessage("4" + "x" * 300)]


def test_several_frames_in_one_read_and_a_remainder() -> None:
    frames = client_frame(TEXT, b"one") + client_frame(TEXT, b"two")
    third = client_frame(BINARY, b"three")
    parser = FrameParser(1000)
    assert parser.feed(frames + third[:4]) == [TextMessage("one"), TextMessage("two")]
    assert parser.feed(third[4:]) == [BinaryMessage(b"three")]


def test_large_frame_in_many_reads() -> None:
    payload = os.urandom(300_000)
    frame = client_frame(BINARY, payload)
    parser = FrameParser(1_000_000)
    events: list[object] = []
    for start in range(0, len(frame), 4096):
        events += parser.feed(frame[start : start + 4096])
    assert events == [BinaryMessage(payload)]


def test_fragmented_message_is_reassembled() -> None:
    parser = FrameParser(1000)
    events = parser.feed(
        client_frame(TEXT, b"4he", final=False)
        + client_frame(CONTINUATION, b"ll", final=False)
        + client_frame(CONTINUATION, b"o", final=True)
    )
    assert events == [TextMessage("4hello")]


def test_utf8_character_split_across_fragments_is_valid() -> None:
    encoded = "✓".encode()
    parser = FrameParser(1000)
    events = parser.feed(
        client_frame(TEXT, encoded[:1], final=False) + client_frame(CONTINUATION, encoded[1:])
    )
    assert events == [TextMessage("✓")]


def test_control_frames_interleaved_with_fragments() -> None:
    parser = FrameParser(1000)
    events = parser.feed(
        client_frame(BINARY, b"ab", final=False)
        + client_frame(PING, b"p1")
        + client_frame(CONTINUATION, b"cd", final=False)
        + client_frame(PONG, b"p2")
        + client_frame(CONTINUATION, b"ef")
    )
    assert events == [Ping(b"p1"), Pong(b"p2"), BinaryMessage(b"abcdef")]


def test_ping_and_pong_payloads() -> None:
    parser = FrameParser(1000)
    assert parser.feed(client_frame(PING, b"")) == [Ping(b"")]
    assert parser.feed(client_frame(PING, b"x" * 125)) == [Ping(b"x" * 125)]
    assert parser.feed(client_frame(PONG, b"y")) == [Pong(b"y")]


# -- close frames ---------------------------------------------------------------------------


def test_close_without_payload() -> None:
    assert FrameParser(10).feed(client_frame(CLOSE, b"")) == [Close(1005, "")]


def test_close_with_code_and_reason() -> None:
    parser = FrameParser(10)
    assert parser.feed(client_frame(CLOSE, b"\x03\xe8done")) == [Close(1000, "done")]


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_valid_close_codes(code: int) -> None:
    payload = code.to_bytes(2, "big")
    assert FrameParser(10).feed(client_frame(CLOSE, payload)) == [Close(code, "")]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_invalid_close_codes_are_protocol_errors(code: int) -> None:
    events = FrameParser(10).feed(client_frame(CLOSE, code.to_bytes(2, "big")))
    assert [(type(e), e.code) for e in events] == [(ProtocolError, PROTOCOL_ERROR)]  # type: ignore[union-attr]


def test_close_payload_of_one_byte_is_a_protocol_error() -> None:
    assert _error_code(FrameParser(10).feed(client_frame(CLOSE, b"\x03"))) == PROTOCOL_ERROR


def test_close_reason_must_be_utf8() -> None:
    events = FrameParser(10).feed(client_frame(CLOSE, b"\x03\xe8\xff\xfe"))
    assert _error_code(events) == INVALID_PAYLOAD


# -- protocol errors ------------------------------------------------------------------------


def _error_code(events: list[object]) -> int:
    assert events, "expected a protocol error"
    last = events[-1]
    assert isinstance(last, ProtocolError), events
    return last.code


def test_unmasked_client_frame_is_a_protocol_error() -> None:
    parser = FrameParser(1000)
    assert _error_code(parser.feed(client_frame(TEXT, b"4hi", masked=False))) == PROTOCOL_ERROR
    assert parser.failed


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10])
def test_reserved_bits_are_a_protocol_error(rsv: int) -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(TEXT, b"x", rsv=rsv))) == 1002


@pytest.mark.parametrize("opcode", [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xF])
def test_unknown_opcodes_are_protocol_errors(opcode: int) -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(opcode, b"x"))) == PROTOCOL_ERROR


def test_fragmented_control_frame_is_a_protocol_error() -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(PING, b"x", final=False))) == 1002


def test_control_frame_over_125_bytes_is_a_protocol_error() -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(PING, b"x" * 126))) == 1002


def test_continuation_without_a_message_is_a_protocol_error() -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(CONTINUATION, b"x"))) == 1002


def test_new_message_inside_a_fragmented_one_is_a_protocol_error() -> None:
    parser = FrameParser(1000)
    events = parser.feed(client_frame(TEXT, b"a", final=False) + client_frame(TEXT, b"b"))
    assert _error_code(events) == PROTOCOL_ERROR


def test_invalid_utf8_text_is_invalid_payload() -> None:
    assert _error_code(FrameParser(1000).feed(client_frame(TEXT, b"4\xc3\x28"))) == 1007


def test_utf16_surrogate_in_text_is_invalid_payload() -> None:
    # CESU-style encoded surrogate: not valid UTF-8.
    assert _error_code(FrameParser(1000).feed(client_frame(TEXT, b"\xed\xa0\x80"))) == 1007


def test_invalid_utf8_across_fragments_is_invalid_payload() -> None:
    events = FrameParser(1000).feed(
        client_frame(TEXT, b"\xe2\x9c", final=False) + client_frame(CONTINUATION, b"\x41")
    )
    assert _error_code(events) == INVALID_PAYLOAD


def test_oversize_message_is_refused_from_its_header() -> None:
    parser = FrameParser(100)
    # Only the header arrives: the size is refused before any payload is buffered.
    header = client_frame(BINARY, b"", declared_length=101)
    assert _error_code(parser.feed(header)) == MESSAGE_TOO_BIG


def test_a_message_of_exactly_the_limit_is_accepted() -> None:
    assert FrameParser(100).feed(client_frame(BINARY, b"x" * 100)) == [BinaryMessage(b"x" * 100)]


def test_oversize_fragmented_message_is_refused() -> None:
    parser = FrameParser(100)
    events = parser.feed(
        client_frame(BINARY, b"x" * 60, final=False) + client_frame(CONTINUATION, b"y" * 41)
    )
    assert _error_code(events) == MESSAGE_TOO_BIG


def test_64_bit_length_with_high_bit_is_too_big() -> None:
    frame = bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + MASK
    assert _error_code(FrameParser(1 << 20).feed(frame)) == MESSAGE_TOO_BIG


def test_events_before_an_error_are_kept_and_later_input_is_ignored() -> None:
    parser = FrameParser(1000)
    events = parser.feed(client_frame(TEXT, b"ok") + client_frame(TEXT, b"bad", masked=False))
    assert events[0] == TextMessage("ok")
    assert _error_code(events) == PROTOCOL_ERROR
    assert parser.feed(client_frame(TEXT, b"after")) == []


# -- single_text: the one-whole-text-frame shortcut agrees with feed ----------------------------


@pytest.mark.parametrize(
    "data",
    [
        client_frame(TEXT, b""),
        client_frame(TEXT, b'42["ack",1]'),
        client_frame(TEXT, "h\u00e9llo \u20ac".encode()),
        client_frame(TEXT, b"x" * 125),
        client_frame(TEXT, b"y" * 126),
        client_frame(TEXT, b"z" * 1000),
    ],
)
def test_single_text_reads_one_whole_text_frame(data: bytes) -> None:
    (expected,) = FrameParser(1 << 20).feed(data)
    assert isinstance(expected, TextMessage)
    assert FrameParser(1 << 20).single_text(data) == expected.data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x81",
        client_frame(TEXT, b"hello")[:-1],  # incomplete
        client_frame(TEXT, b"hello") + client_frame(TEXT, b"more"),  # two frames
        client_frame(TEXT, b"hello", masked=False),
        client_frame(TEXT, b"hello", final=False),
        client_frame(TEXT, b"hello", rsv=0x40),
        client_frame(BINARY, b"hello"),
        client_frame(PING, b"hello"),
        client_frame(TEXT, b"\xff\xfe"),  # invalid UTF-8: feed reports it
        client_frame(TEXT, b"w" * 70000),  # a 64-bit length
    ],
)
def test_single_text_leaves_anything_else_to_feed(data: bytes) -> None:
    parser = FrameParser(1 << 20)
    assert parser.single_text(data) is None
    assert parser._pending is None  # nothing consumed


def test_single_text_leaves_an_oversize_message_to_feed() -> None:
    parser = FrameParser(100)
    data = client_frame(TEXT, b"v" * 101)
    assert parser.single_text(data) is None
    assert parser._pending is None  # nothing consumed


def test_single_text_waits_for_a_message_or_frame_in_progress() -> None:
    parser = FrameParser(1000)
    assert parser.feed(client_frame(TEXT, b"start", final=False)) == []
    assert parser.single_text(client_frame(TEXT, b"new")) is None
    parser = FrameParser(1000)
    assert parser.feed(client_frame(TEXT, b"partial")[:4]) == []
    assert parser.single_text(client_frame(TEXT, b"next")) is None
    parser = FrameParser(1000)
    parser.feed(client_frame(TEXT, b"bad", masked=False))
    assert parser.failed
    assert parser.single_text(client_frame(TEXT, b"after")) is None
