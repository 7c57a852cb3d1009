"""Engine.IO packets and polling payloads under generated input.

The decoders' documented refusal is :class:`DecodeError` (a ``ValueError``); any other
exception escaping them is a bug. Where an encoder exists, encoding then decoding gives the
packet back.
"""

from __future__ import annotations

import base64

from hypothesis import example, given
from hypothesis import strategies as st

from expressio.protocol.engineio import (
    PAYLOAD_SEPARATOR,
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

# Text a peer may put in a packet: anything, weighted towards the characters that matter to
# the format (type digits, the separator, base64's alphabet and the ``b`` prefix).
_format_chars = st.sampled_from([*"0123456789b\x1e=+/ ", "", "\x00", "é", "\ud800"])
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(_format_chars, st.text(max_size=3)), max_size=20).map("".join),
)
# A packet's text data never holds the separator: the polling framing has no escape for it.
packet_texts = st.text().filter(lambda text: PAYLOAD_SEPARATOR not in text)
packet_types = st.sampled_from(PacketType)
text_packets = st.builds(Packet, packet_types, packet_texts)
binary_packets = st.builds(Packet, st.just(PacketType.MESSAGE), st.binary(max_size=300))
packets = st.one_of(text_packets, binary_packets)


@given(texts)
@example("")
@example("7")
@example("\x1e")
@example("b")
@example("b=")
@example("b\ud800")
def test_a_text_frame_decodes_or_raises_decode_error(frame: str) -> None:
    try:
        packet = decode_frame(frame)
    except DecodeError:
        assert frame[:1] not in "0123456" or not frame
        return
    assert packet == Packet(PacketType(int(frame[0])), frame[1:])


@given(st.binary(max_size=300))
def test_a_binary_frame_is_always_a_binary_message(frame: bytes) -> None:
    assert decode_frame(frame) == Packet(PacketType.MESSAGE, frame)
    assert decode_frame(bytearray(frame)) == Packet(PacketType.MESSAGE, frame)


@given(packets)
def test_frames_round_trip(packet: Packet) -> None:
    assert decode_frame(encode_frame(packet)) == packet


@given(st.one_of(texts, st.binary(max_size=500)))
@example(b"\xff")
@example(b"4a\x1e\xc3")
@example("4a\x1e\x1e4b")
@example("bAAA")
@example("b====")
@example("bQQ==\x1e2")
def test_a_polling_payload_decodes_or_raises_decode_error(payload: str | bytes) -> None:
    try:
        decoded = decode_payload(payload)
    except DecodeError:
        return
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    segments = text.split(PAYLOAD_SEPARATOR)
    assert len(decoded) == len(segments)
    for packet, segment in zip(decoded, segments, strict=True):
        if segment.startswith("b"):
            assert packet == Packet(
                PacketType.MESSAGE, base64.b64decode(segment[1:], validate=True)
            )
        else:
            assert encode_polling_packet(packet) == segment


@given(st.lists(packets, min_size=1, max_size=10))
def test_payloads_round_trip(sent: list[Packet]) -> None:
    payload = encode_payload(sent)
    assert decode_payload(payload) == sent
    assert decode_payload(payload.encode("utf-8")) == sent


@given(
    st.lists(packets, min_size=1, max_size=5), st.integers(0, 4), st.sampled_from(["", "7", "b!"])
)
def test_one_bad_packet_makes_the_whole_payload_invalid(
    sent: list[Packet], position: int, bad: str
) -> None:
    segments = [encode_polling_packet(packet) for packet in sent]
    segments.insert(min(position, len(segments)), bad)
    try:
        decode_payload(PAYLOAD_SEPARATOR.join(segments))
    except DecodeError:
        return
    raise AssertionError(f"{bad!r} inside a payload was accepted")


@given(st.one_of(packet_texts, st.binary(max_size=300)))
def test_a_prepared_message_decodes_back_on_both_transports(data: str | bytes) -> None:
    prepared = PreparedMessage(data)
    expected = Packet(PacketType.MESSAGE, data)
    assert decode_frame(prepared.websocket) == expected
    assert decode_payload(prepared.polling) == [expected]
