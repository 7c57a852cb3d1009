"""The msgpack parser (socket.io-msgpack-parser's format) without a network: what it encodes,
byte for byte where it matters, and every kind of bad input it must refuse with DecodeError.
(What the Node parser itself makes of these bytes: tests/interop/test_msgpack_packets.py.)"""

from __future__ import annotations

import datetime
import subprocess
import sys
from typing import Any

import msgpack
import pytest

from expressio.protocol import msgpack_parser
from expressio.protocol.msgpack_parser import (
    MSGPACK_PARSER,
    MsgpackDecoder,
    decode_packet,
    encode_ack,
    encode_connect,
    encode_connect_error,
    encode_disconnect,
    encode_event,
    encode_packet,
    event_prefix,
)
from expressio.protocol.parsers import JSON_PARSER, PARSER_NAMES, get_parser, transcode_event
from expressio.protocol.socketio import DecodeError, EncodedPacket, Packet, PacketType


def fields(packet: EncodedPacket) -> Any:
    assert type(packet.text) is bytes and packet.attachments == ()
    return msgpack.unpackb(packet.text)


def pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value)
    return packed


# --- encoding -------------------------------------------------------------------------------


def test_each_packet_is_one_map_in_one_binary_message() -> None:
    assert fields(encode_event("/", "foo", [1, "2"])) == {
        "type": 2,
        "nsp": "/",
        "data": ["foo", 1, "2"],
    }
    assert fields(encode_event("/chat", "foo", [], ack_id=12)) == {
        "type": 2,
        "nsp": "/chat",
        "data": ["foo"],
        "id": 12,
    }
    assert fields(encode_ack("/", 13, ("bar",))) == {
        "type": 3,
        "nsp": "/",
        "data": ["bar"],
        "id": 13,
    }
    assert fields(encode_connect("/admin", "oSO0")) == {
        "type": 0,
        "nsp": "/admin",
        "data": {"sid": "oSO0"},
    }
    assert fields(encode_connect_error("/", "Not authorized")) == {
        "type": 4,
        "nsp": "/",
        "data": {"message": "Not authorized"},
    }
    assert fields(encode_connect_error("/", "no", {"code": 7})) == {
        "type": 4,
        "nsp": "/",
        "data": {"message": "no", "data": {"code": 7}},
    }
    # The Node parser refuses a DISCONNECT with any data key, even null.
    assert fields(encode_disconnect("/x")) == {"type": 1, "nsp": "/x"}


def test_binary_travels_as_msgpack_bin_inside_the_data() -> None:
    packet = encode_event("/", "file", [{"a": [b"\x00\xff", bytearray(b"B")]}, memoryview(b"C")])
    assert packet.messages == (packet.text,)
    assert fields(packet)["data"] == ["file", {"a": [b"\x00\xff", b"B"]}, b"C"]
    # the BINARY_ kinds of the text format are plain EVENT / ACK here
    assert fields(encode_packet(PacketType.BINARY_EVENT, "/", ["e", b"x"]))["type"] == 2
    assert fields(encode_packet(PacketType.BINARY_ACK, "/", [b"x"], 3))["type"] == 3


def test_values_msgpack_has_no_type_for_go_as_the_json_parser_sends_them() -> None:
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    assert fields(encode_event("/", "at", [moment]))["data"] == ["at", "2024-05-06T07:08:09+00:00"]


@pytest.mark.parametrize("value", [{1, 2}, 2**70, object()])
def test_what_neither_format_can_carry_raises_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        encode_event("/", "e", [value])
    with pytest.raises(TypeError):
        encode_ack("/", 1, [value])
    # the ack fast path says "not here" and lets encode_ack raise
    assert MSGPACK_PARSER.ack_message("/", 1, [value]) is None


def test_the_ack_fast_path_is_the_whole_ack_in_any_namespace() -> None:
    message = MSGPACK_PARSER.ack_message("/chat", 4, ["ok", b"\x01"])
    assert message == encode_ack("/chat", 4, ["ok", b"\x01"]).text
    assert MSGPACK_PARSER.ack_message("/", 5, ()) == encode_ack("/", 5, []).text


def test_event_prefix_starts_every_broadcast_event_of_its_namespace() -> None:
    for namespace in ("/", "/a-much-longer-namespace-name-than-thirty-one-bytes"):
        packet = encode_event(namespace, "e", [1])
        assert type(packet.text) is bytes
        assert packet.text.startswith(event_prefix(namespace))
        assert not packet.text.startswith(event_prefix(namespace + "x"))
        asked = encode_event(namespace, "e", [1], ack_id=1)
        assert not asked.text.startswith(event_prefix(namespace))  # four keys, not three


# --- decoding -------------------------------------------------------------------------------


def test_round_trips_through_the_decoder() -> None:
    decoder = MSGPACK_PARSER.decoder(1000)
    packet = decoder.feed(encode_event("/chat", "e", [{"b": b"\x01"}, None, 1.5], ack_id=9).text)
    assert packet == Packet(PacketType.EVENT, "/chat", ["e", {"b": b"\x01"}, None, 1.5], 9)
    assert decoder.feed(encode_ack("/", 2, [b"x"]).text) == Packet(
        PacketType.ACK, "/", [b"x"], 2
    )
    assert decoder.feed(encode_disconnect("/").text) == Packet(PacketType.DISCONNECT, "/")
    assert not decoder.reassembling
    assert decoder.default_event('2["e"]') is None  # no text fast path


def test_what_javascript_clients_send() -> None:
    # socket.io-client adds an "options" key; notepack.io writes undefined as ext 0 (one zero
    # byte) and a browser's ArrayBuffer as ext 0 with its bytes; python-socketio sends
    # "data": nil for a CONNECT without auth.
    undefined = msgpack.ExtType(0, b"\x00")
    array_buffer = msgpack.ExtType(0, b"\x01\x02")
    sent = {
        "type": 2,
        "data": ["e", undefined, {"buf": array_buffer, "gone": undefined}],
        "options": {"compress": True},
        "id": 0,
        "nsp": "/",
    }
    assert decode_packet(pack(sent)) == Packet(
        PacketType.EVENT, "/", ["e", None, {"buf": b"\x01\x02", "gone": None}], 0
    )
    assert decode_packet(pack({"type": 0, "nsp": "/", "data": undefined})) == Packet(
        PacketType.CONNECT, "/"
    )
    assert decode_packet(pack({"type": 0, "nsp": "/", "data": None})) == Packet(
        PacketType.CONNECT, "/"
    )
    assert decode_packet(pack({"type": 0, "nsp": "/", "data": {"token": "t"}})) == Packet(
        PacketType.CONNECT, "/", {"token": "t"}
    )
    timestamp = msgpack.Timestamp(1, 0)
    decoded = decode_packet(pack({"type": 2, "nsp": "/", "data": ["at", timestamp]}))
    assert decoded.data == ["at", datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.UTC)]


def nested(depth: int) -> bytes:
    return b"\x91" * depth + b"\x90"


#: An EVENT map up to its data: the data array follows.
EVENT_HEAD = b"\x83" + b"".join(pack(part) for part in ("type", 2, "nsp", "/", "data"))


BAD_MESSAGES = {
    "not msgpack": b"\xc1",
    "truncated": pack({"type": 2, "nsp": "/", "data": ["e"]})[:-1],
    "two values": pack({"type": 2, "nsp": "/", "data": ["e"]}) + b"\x01",
    "empty": b"",
    "an array": pack([2, "/", ["e"]]),
    "a string": pack("2"),
    "no type": pack({"nsp": "/", "data": ["e"]}),
    "type out of range": pack({"type": 5, "nsp": "/", "data": ["e"]}),
    "negative type": pack({"type": -1, "nsp": "/"}),
    "type as text": pack({"type": "2", "nsp": "/", "data": ["e"]}),
    "type as bool": pack({"type": True, "nsp": "/"}),
    "type as float": pack({"type": 2.0, "nsp": "/", "data": ["e"]}),
    "no namespace": pack({"type": 2, "data": ["e"]}),
    "namespace as int": pack({"type": 2, "nsp": 1, "data": ["e"]}),
    "event without data": pack({"type": 2, "nsp": "/"}),
    "event data a map": pack({"type": 2, "nsp": "/", "data": {"e": 1}}),
    "event data empty": pack({"type": 2, "nsp": "/", "data": []}),
    "event name not a string": pack({"type": 2, "nsp": "/", "data": [1]}),
    "ack without id": pack({"type": 3, "nsp": "/", "data": []}),
    "ack data not an array": pack({"type": 3, "nsp": "/", "data": "x", "id": 1}),
    "connect data an array": pack({"type": 0, "nsp": "/", "data": [1]}),
    "disconnect with data": pack({"type": 1, "nsp": "/", "data": "x"}),
    "connect with an id": pack({"type": 0, "nsp": "/", "id": 1}),
    "negative id": pack({"type": 2, "nsp": "/", "data": ["e"], "id": -1}),
    "id beyond 2**53": pack({"type": 2, "nsp": "/", "data": ["e"], "id": 2**53}),
    "id as float": pack({"type": 2, "nsp": "/", "data": ["e"], "id": 1.5}),
    "id as text": pack({"type": 2, "nsp": "/", "data": ["e"], "id": "1"}),
    "bad UTF-8": b"\x83\xa4type\x02\xa3nsp\xa2\xff\xfe\xa4data\x91\xa1e",
    "an integer map key": pack({"type": 2, "nsp": "/", "data": ["e", {1: 2}]}),
    "another extension type": pack(
        {"type": 2, "nsp": "/", "data": ["e", msgpack.ExtType(5, b"x")]}
    ),
    "nested 2000 deep": EVENT_HEAD + b"\x92\xa1e" + nested(2000),
    "an array announcing 4 billion items": EVENT_HEAD + b"\xdd\xff\xff\xff\xff",
    "a string announcing 4 GB": b"\xdb\xff\xff\xff\xff" + b"x" * 10,
}


@pytest.mark.parametrize("message", list(BAD_MESSAGES.values()), ids=list(BAD_MESSAGES))
def test_bad_input_raises_decode_error(message: bytes) -> None:
    with pytest.raises(DecodeError):
        MsgpackDecoder().feed(message)


def test_a_text_message_is_refused() -> None:
    with pytest.raises(DecodeError, match="text message"):
        MsgpackDecoder().feed('2["e"]')


def test_nesting_within_the_limit_is_accepted() -> None:
    packet = decode_packet(EVENT_HEAD + b"\x92\xa1e" + nested(500))
    assert packet.type is PacketType.EVENT and packet.data[0] == "e"
    with pytest.raises(DecodeError, match="nested too deeply"):
        decode_packet(EVENT_HEAD + b"\x92\xa1e" + nested(2000))


# --- choosing a parser ------------------------------------------------------------------------


def test_parsers_by_name() -> None:
    assert get_parser("json") is JSON_PARSER
    assert get_parser("msgpack") is MSGPACK_PARSER
    assert get_parser(MSGPACK_PARSER) is MSGPACK_PARSER
    assert PARSER_NAMES == ("json", "msgpack")
    with pytest.raises(ValueError, match="known parsers: 'json', 'msgpack'"):
        get_parser("protobuf")


def test_without_the_msgpack_package_the_error_says_what_to_install() -> None:
    script = (
        "import sys; sys.modules['msgpack'] = None\n"
        "from expressio.protocol.parsers import get_parser\n"
        "try:\n"
        "    get_parser('msgpack')\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.startswith("ModuleNotFoundError ")
    assert "pip install 'expressio[msgpack]'" in completed.stdout


def test_transcoding_an_event_between_the_parsers() -> None:
    as_json = JSON_PARSER.encode_event("/chat", "e", [{"b": b"\x01"}, 2])
    as_msgpack = transcode_event(as_json, MSGPACK_PARSER)
    assert as_msgpack == MSGPACK_PARSER.encode_event("/chat", "e", [{"b": b"\x01"}, 2])
    assert transcode_event(as_msgpack, JSON_PARSER) == as_json
    assert transcode_event(as_json, JSON_PARSER) is as_json
    assert transcode_event(as_msgpack, MSGPACK_PARSER) is as_msgpack
    with pytest.raises(DecodeError):
        transcode_event(MSGPACK_PARSER.encode_disconnect("/"), JSON_PARSER)


def test_the_module_documents_its_format() -> None:
    assert msgpack_parser.__doc__ is not None and "notepack.io" in msgpack_parser.__doc__
