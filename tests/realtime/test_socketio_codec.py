"""The Socket.IO v5 codec, byte for byte, including every malformed input we must refuse."""

from __future__ import annotations

import pytest

from expressio.protocol.socketio import (
    DecodeError,
    Decoder,
    EncodedPacket,
    Packet,
    PacketType,
    ack_text,
    encode_ack,
    encode_connect,
    encode_connect_error,
    encode_disconnect,
    encode_event,
    encode_packet,
)

PLACEHOLDER_0 = '{"_placeholder":true,"num":0}'
PLACEHOLDER_1 = '{"_placeholder":true,"num":1}'


def decode_all(*messages: str | bytes) -> list[Packet]:
    decoder = Decoder()
    packets = [decoder.feed(message) for message in messages]
    return [packet for packet in packets if packet is not None]


# --- encoding -------------------------------------------------------------------------------


def test_encode_examples_from_the_specification() -> None:
    assert encode_packet(PacketType.CONNECT).text == "0"
    assert encode_connect("/admin", "oSO0").text == '0/admin,{"sid":"oSO0"}'
    assert encode_connect_error("/", "Not authorized").text == '4{"message":"Not authorized"}'
    assert encode_event("/", "foo", []).text == '2["foo"]'
    assert encode_event("/admin", "bar", []).text == '2/admin,["bar"]'
    assert encode_event("/", "foo", [], ack_id=12).text == '212["foo"]'
    assert encode_ack("/admin", 13, ["bar"]).text == '3/admin,13["bar"]'
    assert encode_disconnect("/").text == "1"
    assert encode_disconnect("/admin").text == "1/admin,"


def test_encode_binary_event_uses_placeholders_and_attachments() -> None:
    packet = encode_event("/", "baz", [b"\x01\x02\x03\x04"])
    assert packet == EncodedPacket(f'51-["baz",{PLACEHOLDER_0}]', (b"\x01\x02\x03\x04",))
    packet = encode_event("/admin", "baz", [b"\x01\x02", bytearray(b"\x03\x04")])
    assert packet.text == f'52-/admin,["baz",{PLACEHOLDER_0},{PLACEHOLDER_1}]'
    assert packet.attachments == (b"\x01\x02", b"\x03\x04")
    assert packet.messages == (packet.text, b"\x01\x02", b"\x03\x04")


def test_encode_binary_ack_and_nested_binary_in_document_order() -> None:
    assert encode_ack("/", 15, ["bar", b"\x01"]) == EncodedPacket(
        f'61-15["bar",{PLACEHOLDER_0}]', (b"\x01",)
    )
    packet = encode_event("/", "e", [{"a": [1, memoryview(b"A")], "b": {"c": b"B"}}, b"C"])
    assert packet.attachments == (b"A", b"B", b"C")
    assert packet.text.startswith('53-["e",{"a":[1,{"_placeholder":true,"num":0}]')


def test_encode_connect_error_with_data_and_refuses_bad_values() -> None:
    assert encode_connect_error("/x", "no", {"code": 4}).text == (
        '4/x,{"message":"no","data":{"code":4}}'
    )
    with pytest.raises(TypeError):
        encode_event("/", "e", [object()])
    with pytest.raises(TypeError):
        encode_event("/", "e", [{"bin": b"x", "bad": object()}])
    with pytest.raises(TypeError):
        encode_packet(PacketType.CONNECT, "/", {"sid": b"x"})
    with pytest.raises(ValueError):
        encode_event("/a,b", "e", [])


# --- decoding -------------------------------------------------------------------------------


VALID_TEXT_PACKETS = [
    ("0", Packet(PacketType.CONNECT, "/", None, None)),
    ('0{"token":"123"}', Packet(PacketType.CONNECT, "/", {"token": "123"}, None)),
    ("0/custom,", Packet(PacketType.CONNECT, "/custom", None, None)),
    ("0/random", Packet(PacketType.CONNECT, "/random", None, None)),
    ('0/custom,{"token":"abc"}', Packet(PacketType.CONNECT, "/custom", {"token": "abc"})),
    ("1", Packet(PacketType.DISCONNECT)),
    ("1/custom", Packet(PacketType.DISCONNECT, "/custom")),
    (
        '2["message",1,"2",{"3":[true]}]',
        Packet(PacketType.EVENT, "/", ["message", 1, "2", {"3": [True]}]),
    ),
    ('2456["m"]', Packet(PacketType.EVENT, "/", ["m"], 456)),
    ('2/admin,7["m",null]', Packet(PacketType.EVENT, "/admin", ["m", None], 7)),
    ("30[]", Packet(PacketType.ACK, "/", [], 0)),
    ('3/admin,13["bar"]', Packet(PacketType.ACK, "/admin", ["bar"], 13)),
    ('20["m"]', Packet(PacketType.EVENT, "/", ["m"], 0)),
    ('2007["m"]', Packet(PacketType.EVENT, "/", ["m"], 7)),
    (f'2{2**53 - 1}["m"]', Packet(PacketType.EVENT, "/", ["m"], 2**53 - 1)),
    ('2["\u00e9",[1,{"a":"["}]]', Packet(PacketType.EVENT, "/", ["\u00e9", [1, {"a": "["}]])),
]


@pytest.mark.parametrize(("text", "expected"), VALID_TEXT_PACKETS)
def test_decode_text_packets(text: str, expected: Packet) -> None:
    assert decode_all(text) == [expected]


def test_decode_binary_event_waits_for_every_attachment() -> None:
    decoder = Decoder()
    assert decoder.feed(f'52-789["message",{PLACEHOLDER_0},{{"x":[{PLACEHOLDER_1}]}}]') is None
    assert decoder.reassembling
    assert decoder.feed(b"\x01\x02\x03") is None
    packet = decoder.feed(b"\x04\x05\x06")
    assert packet == Packet(
        PacketType.BINARY_EVENT, "/", ["message", b"\x01\x02\x03", {"x": [b"\x04\x05\x06"]}], 789
    )
    assert not decoder.reassembling
    # the decoder is ready for the next packet
    assert decoder.feed('2["next"]') == Packet(PacketType.EVENT, "/", ["next"])


def test_decode_binary_ack_and_zero_attachments() -> None:
    assert decode_all(f"61-/a,15[{PLACEHOLDER_0}]", b"z") == [
        Packet(PacketType.BINARY_ACK, "/a", [b"z"], 15)
    ]
    assert decode_all('50-["e"]') == [Packet(PacketType.BINARY_EVENT, "/", ["e"])]


def test_placeholder_lookalikes_in_plain_events_stay_objects() -> None:
    assert decode_all(f'2["e",{PLACEHOLDER_0}]')[0].data == ["e", {"_placeholder": True, "num": 0}]


MALFORMED_TEXTS = [
    "",
    "abc",  # unknown packet type
    "7",
    "9[]",
    "2",  # event without payload
    "2{}",  # payload is not an array
    "2[]",  # empty array
    "2[1]",  # event name is not a string
    '2"message"',
    '2abc["message-with-ack",1]',  # invalid ack id
    '2-1["e"]',
    '2["e"',  # broken JSON
    '2["e"]x',
    "0[]",  # CONNECT payload must be an object
    '0"token"',
    "01",
    '1{"a":1}',  # DISCONNECT carries nothing
    "3[]",  # ACK without id
    "31{}",  # ACK payload must be an array
    "31",
    '5["e",{}]',  # binary without attachment count
    '5x-["e"]',
    '5-1["e"]',
    '5999999999-["e"]',
    "2" + "9" * 20 + '["e"]',  # ack id out of range
    "2" + "[" * 3000 + "]" * 3000,
    "4",
    "2" + str(2**53) + '["e"]',  # ack id out of range, by value
    '2\u00b2["e"]',  # a digit, but not an ASCII one
    '2/admin["e"]',
]


@pytest.mark.parametrize("text", MALFORMED_TEXTS)
def test_decode_rejects_malformed_text(text: str) -> None:
    with pytest.raises(DecodeError):
        Decoder().feed(text)


@pytest.mark.parametrize(("text", "expected"), VALID_TEXT_PACKETS)
def test_default_event_agrees_with_feed_or_leaves_the_packet_to_it(
    text: str, expected: Packet
) -> None:
    event = Decoder().default_event(text)
    if expected.type is PacketType.EVENT and expected.namespace == "/":
        assert event == (expected.data, expected.id)
    else:
        assert event is None


@pytest.mark.parametrize("text", MALFORMED_TEXTS)
def test_default_event_leaves_malformed_text_to_feed(text: str) -> None:
    assert Decoder().default_event(text) is None


def test_default_event_waits_for_attachments_in_progress() -> None:
    decoder = Decoder()
    assert decoder.feed(f'51-["e",{PLACEHOLDER_0}]') is None
    assert decoder.default_event('2["next"]') is None
    with pytest.raises(DecodeError):
        decoder.feed('2["next"]')


@pytest.mark.parametrize(
    ("namespace", "ack_id", "args"),
    [
        ("/", 0, ()),
        ("/", 15, ("bar", {"a": [1, None]})),
        ("/", 2**53 - 1, ["x"]),
        ("/admin", 13, ("bar",)),
        ("/", 15, ("bar", b"\x01")),
    ],
)
def test_ack_text_is_encode_ack_for_text_acks_of_the_default_namespace(
    namespace: str, ack_id: int, args: tuple[object, ...] | list[object]
) -> None:
    packet = encode_ack(namespace, ack_id, args)
    expected = packet.text if namespace == "/" and not packet.attachments else None
    assert ack_text(namespace, ack_id, args) == expected


def test_ack_text_leaves_what_json_cannot_carry_to_encode_ack() -> None:
    assert ack_text("/", 1, (object(),)) is None
    with pytest.raises(TypeError):
        encode_ack("/", 1, (object(),))


def test_decode_rejects_out_of_place_and_bad_attachments() -> None:
    with pytest.raises(DecodeError):
        Decoder().feed(b"\x01")  # binary nobody announced
    decoder = Decoder()
    decoder.feed(f'51-["e",{PLACEHOLDER_0}]')
    with pytest.raises(DecodeError):
        decoder.feed('2["e"]')  # text while attachments are expected
    assert not decoder.reassembling
    for num in ("5", "-1", '"0"', "0.0", "true", "null"):
        decoder = Decoder()
        decoder.feed('51-["e",{"_placeholder":true,"num":' + num + "}]")
        with pytest.raises(DecodeError):
            decoder.feed(b"x")
    with pytest.raises(DecodeError):
        Decoder(max_attachments=2).feed('53-["e"]')


def test_attachment_count_is_limited_by_default() -> None:
    Decoder().feed("5100-" + '["e"]')  # the default allows 100
    with pytest.raises(DecodeError):
        Decoder().feed("5101-" + '["e"]')


def test_attachments_of_one_packet_share_a_byte_budget() -> None:
    decoder = Decoder(max_attachment_bytes=10)
    decoder.feed('53-["e"]')
    decoder.feed(b"x" * 4)
    decoder.feed(b"x" * 4)
    with pytest.raises(DecodeError):
        decoder.feed(b"x" * 3)  # 11 bytes held for one packet
    assert not decoder.reassembling
    # the budget is per packet: the next one starts from zero
    decoder.feed(f'52-["e",{PLACEHOLDER_0}]')
    decoder.feed(b"y" * 5)
    packet = decoder.feed(b"z" * 5)
    assert packet is not None and packet.data == ["e", b"y" * 5]


def test_deep_nesting_in_a_binary_packet_never_escapes_as_another_error() -> None:
    decoder = Decoder()
    decoder.feed('51-["e",' + "[" * 1020 + "]" * 1020 + "]")
    try:
        packet = decoder.feed(b"x")
    except DecodeError:
        return  # too deep for the reassembly walk: refused cleanly
    assert packet is not None and packet.data[0] == "e"


def test_round_trip_of_what_we_encode() -> None:
    payload = ["e", {"nested": [b"\x00\xff", {"deep": bytearray(b"ab")}]}, "text", 3.5, None]
    encoded = encode_event("/chat", payload[0], payload[1:], ack_id=42)
    (packet,) = decode_all(*encoded.messages)
    assert packet.type is PacketType.BINARY_EVENT
    assert packet.namespace == "/chat" and packet.id == 42
    assert packet.data == ["e", {"nested": [b"\x00\xff", {"deep": b"ab"}]}, "text", 3.5, None]
    assert all(
        type(b) is bytes for b in (packet.data[1]["nested"][0], packet.data[1]["nested"][1]["deep"])
    )
