"""Engine.IO v4 packet codec: websocket frames, polling payloads, prepared messages."""

from __future__ import annotations

import contextlib
import random

import pytest

from expressio.protocol.engineio import (
    DecodeError,
    Packet,
    PacketType,
    PreparedMessage,
    decode_frame,
    decode_payload,
    encode_frame,
    encode_payload,
    encode_polling_packet,
)


@pytest.mark.parametrize(
    ("packet", "frame"),
    [
        (Packet(PacketType.OPEN, '{"sid":"x"}'), '0{"sid":"x"}'),
        (Packet(PacketType.CLOSE), "1"),
        (Packet(PacketType.PING), "2"),
        (Packet(PacketType.PING, "probe"), "2probe"),
        (Packet(PacketType.PONG, "probe"), "3probe"),
        (Packet(PacketType.MESSAGE, "hello"), "4hello"),
        (Packet(PacketType.MESSAGE, ""), "4"),
        (Packet(PacketType.MESSAGE, "€ and \x00"), "4€ and \x00"),
        (Packet(PacketType.UPGRADE), "5"),
        (Packet(PacketType.NOOP), "6"),
        (Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04"),
    ],
)
def test_frames_round_trip(packet: Packet, frame: str | bytes) -> None:
    assert encode_frame(packet) == frame
    assert decode_frame(frame) == packet


def test_binary_frames_of_any_buffer_type_are_binary_messages() -> None:
    assert decode_frame(bytearray(b"\xff\x00")) == Packet(PacketType.MESSAGE, b"\xff\x00")
    assert decode_frame(memoryview(b"ab")) == Packet(PacketType.MESSAGE, b"ab")
    assert decode_frame(b"") == Packet(PacketType.MESSAGE, b"")


@pytest.mark.parametrize("frame", ["", "7", "9hello", "abc", "a", " 4", "\x1e", "-1"])
def test_undecodable_text_frames_raise_decode_error(frame: str) -> None:
    with pytest.raises(DecodeError):
        decode_frame(frame)


def test_a_frame_that_is_neither_text_nor_bytes_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_frame(42)  # type: ignore[arg-type]


def test_only_message_packets_carry_binary() -> None:
    with pytest.raises(ValueError):
        encode_frame(Packet(PacketType.PING, b"x"))
    with pytest.raises(ValueError):
        encode_polling_packet(Packet(PacketType.PONG, b"x"))


def test_payload_with_text_and_binary_packets() -> None:
    packets = decode_payload("4hello\x1ebAQIDBA==\x1e2\x1e4")
    assert packets == [
        Packet(PacketType.MESSAGE, "hello"),
        Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04"),
        Packet(PacketType.PING, ""),
        Packet(PacketType.MESSAGE, ""),
    ]
    assert encode_payload(packets) == "4hello\x1ebAQIDBA==\x1e2\x1e4"


def test_payload_given_as_utf8_bytes() -> None:
    assert decode_payload("4é\x1e4ü".encode()) == [
        Packet(PacketType.MESSAGE, "é"),
        Packet(PacketType.MESSAGE, "ü"),
    ]


def test_single_packet_payload() -> None:
    assert decode_payload("3") == [Packet(PacketType.PONG, "")]
    assert decode_payload("b") == [Packet(PacketType.MESSAGE, b"")]


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "abc",
        "4hello\x1e",  # trailing separator: an empty packet
        "\x1e4hello",
        "4a\x1e\x1e4b",
        "4a\x1e8b",
        "b!!notbase64",
        "bAQIDBA=",  # bad padding
        b"4\xff\xfe",  # not UTF-8
    ],
)
def test_malformed_payloads_raise_decode_error(payload: str | bytes) -> None:
    with pytest.raises(DecodeError):
        decode_payload(payload)


def test_payload_of_wrong_type_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_payload(None)  # type: ignore[arg-type]


def test_random_input_only_ever_raises_decode_error() -> None:
    generator = random.Random(20240501)
    alphabet = "0123456789b4\x1e=+/abcXYZ€\x00"
    for _ in range(5000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 12)))
        for attempt in (text, text.encode(), generator.randbytes(generator.randint(0, 8))):
            with contextlib.suppress(DecodeError):
                decode_payload(attempt)
            with contextlib.suppress(DecodeError):
                decode_frame(attempt)


def test_prepared_text_message() -> None:
    prepared = PreparedMessage("hi €")
    assert prepared.websocket == "4hi €"
    assert prepared.polling == "4hi €"
    assert not prepared.is_binary
    assert prepared.frame is None


def test_prepared_binary_message_encodes_base64_once_for_polling() -> None:
    prepared = PreparedMessage(b"\x01\x02\x03\x04")
    assert prepared.is_binary
    assert prepared.websocket == b"\x01\x02\x03\x04"
    first = prepared.polling
    assert first == "bAQIDBA=="
    assert prepared.polling is first


def test_prepared_message_copies_mutable_buffers() -> None:
    buffer = bytearray(b"abc")
    prepared = PreparedMessage(buffer)
    buffer[0] = ord("z")
    assert prepared.websocket == b"abc"


def test_prepared_message_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        PreparedMessage(12)  # type: ignore[arg-type]


def test_prepared_control_packets() -> None:
    assert PreparedMessage.control(PacketType.PING).websocket == "2"
    assert PreparedMessage.control(PacketType.PONG, "probe").polling == "3probe"


def test_prepared_frame_slot_caches_a_transport_framing() -> None:
    prepared = PreparedMessage("x")
    prepared.frame = b"\x81\x024x"
    assert prepared.frame == b"\x81\x024x"
