"""The pub/sub message format, without Redis: round trips and what counts as malformed."""

from __future__ import annotations

import msgpack
import pytest

from expressio.protocol.msgpack_parser import MSGPACK_PARSER
from expressio.protocol.socketio import EncodedPacket, encode_event
from expressio.scaleout import wire


def test_broadcast_round_trip_keeps_the_encoded_packet_as_is() -> None:
    packet = encode_event("/chat", "news", [{"blob": b"\x00\n\xff"}, "line\nbreak", b"2"])
    assert packet.attachments  # a BINARY_EVENT with two attachments
    data = wire.encode_broadcast("node-1", packet, {"r1", "r\n2"}, {"sid-1"})
    message = wire.decode(data, "/chat")
    assert message == wire.Broadcast("node-1", packet, {"r1", "r\n2"}, {"sid-1"})


def test_broadcast_to_everyone_without_skips() -> None:
    packet = encode_event("/", "tick", [1])
    message = wire.decode(wire.encode_broadcast("n", packet, None, None), "/")
    assert message == wire.Broadcast("n", EncodedPacket('2["tick",1]'), None, None)


def test_socket_requests_round_trip() -> None:
    for kind, room in ((wire.JOIN, "a"), (wire.LEAVE, "b"), (wire.DISCONNECT, None)):
        data = wire.encode_socket_request("n", kind, "sid", room)
        assert wire.decode(data, "/") == wire.SocketRequest("n", kind, "sid", room)
    with pytest.raises(ValueError):
        wire.encode_socket_request("n", "x", "sid")


def test_channel_names_separate_apps_and_namespaces() -> None:
    assert wire.channel_name("expressio", "/") == b"expressio#/#"
    assert wire.channel_name("other", "/admin") == b"other#/admin#"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"XIO1",
        b"XIO1[1,2]\n",
        b'XIO1{"k":"b"}\n2["e"]',  # no sender
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[]}\n',
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[-1]}\n',
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[99]}\n2["e"]',
        b'XIO1{"n":"x","k":"b","r":"room","x":null,"l":[6]}\n2["e"]',  # rooms not a list
        b'XIO1{"n":"x","k":"b","r":[1],"x":null,"l":[6]}\n2["e"]',
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[2]}\n\xff\xfe',  # not UTF-8
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[6]}\n0{"a":',  # not an event
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[7]}\n21["e"]',  # an ack id
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[11]}\n2/other,["e"]',
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[8,1]}\n2["e",1]x',  # attachment on EVENT
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[46]}\n'
        b'52-["e",{"_placeholder":true,"num":0}]',  # announces 2, carries 0
        b'XIO1{"n":"x","k":"j","s":"sid"}\n',  # join without room
        b'XIO1{"n":"x","k":"q"}\n',
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(wire.MalformedMessage):
        wire.decode(data, "/")


# -- packets of the msgpack parser -------------------------------------------------------------


def test_a_msgpack_broadcast_round_trips_as_one_binary_packet() -> None:
    packet = MSGPACK_PARSER.encode_event("/chat", "news", [{"blob": b"\x00\n\xff"}, "a\nb"])
    data = wire.encode_broadcast("node-1", packet, {"r1"}, None)
    assert b'"p":"msgpack"' in data.split(b"\n", 1)[0]
    assert wire.decode(data, "/chat") == wire.Broadcast("node-1", packet, {"r1"}, None)
    # a JSON packet carries no parser name: the format of messages from before it existed
    json_data = wire.encode_broadcast("n", encode_event("/", "tick", [1]), None, None)
    assert b'"p"' not in json_data


def msgpack_broadcast(packed: bytes, parser: str = "msgpack", lengths: str = "") -> bytes:
    header = (
        f'{{"n":"x","k":"b","r":null,"x":null,"l":[{lengths or len(packed)}],"p":"{parser}"}}'
    )
    return b"XIO1" + header.encode() + b"\n" + packed


@pytest.mark.parametrize(
    "data",
    [
        msgpack_broadcast(MSGPACK_PARSER.encode_event("/", "e", [1]).text, parser="cbor"),
        msgpack_broadcast(b"\x83\xc1", lengths="1,1"),  # attachments
        msgpack_broadcast(MSGPACK_PARSER.encode_event("/other", "e", [1]).text),
        msgpack_broadcast(MSGPACK_PARSER.encode_event("/", "e", [1], ack_id=3).text),
        msgpack_broadcast(MSGPACK_PARSER.encode_connect("/", "sid").text),
        msgpack_broadcast(msgpack.packb({"type": 2, "nsp": "/", "data": "e"})),  # not an array
        msgpack_broadcast(b"\xc1\xc1"),
    ],
)
def test_malformed_msgpack_broadcasts_are_refused(data: bytes) -> None:
    with pytest.raises(wire.MalformedMessage):
        wire.decode(data, "/")
