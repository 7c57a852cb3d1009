"""The stream entry and pub/sub message codec, without Redis (the format of
``@socket.io/redis-streams-adapter`` and socket.io-adapter's ClusterAdapter)."""

from __future__ import annotations

import base64

import msgpack  # type: ignore[import-untyped]
import orjson
import pytest

from expressio.protocol.parsers import get_parser
from expressio.protocol.socketio import encode_event
from expressio.scaleout import stream_entries as entries
from expressio.scaleout.stream_entries import MalformedEntry, MessageType


def as_redis(fields: dict[str, str]) -> dict[bytes, bytes]:
    return {key.encode(): value.encode() for key, value in fields.items()}


def test_a_json_broadcast_is_written_around_the_packets_own_text() -> None:
    packet = encode_event("/chat", "news", [{"x": 1}, "y"])
    data = entries.broadcast_data(packet, "/chat", ["r"], ["sid1"])
    assert isinstance(data, str)  # no second encoding
    fields = entries.encode_entry("u1", "/chat", MessageType.BROADCAST, data)
    assert fields["type"] == "3" and fields["uid"] == "u1" and fields["nsp"] == "/chat"
    assert orjson.loads(fields["data"]) == {
        "packet": {"type": 2, "data": ["news", {"x": 1}, "y"], "nsp": "/chat"},
        "opts": {"rooms": ["r"], "except": ["sid1"], "flags": {}},
    }


def test_binary_goes_as_base64_msgpack_and_comes_back_as_bytes() -> None:
    packet = encode_event("/", "file", [{"blob": b"\x00\xff"}])
    data = entries.broadcast_data(packet, "/", [], [], volatile=True)
    fields = entries.encode_entry("u1", "/", MessageType.BROADCAST, data)
    assert not fields["data"].startswith("{")
    decoded = msgpack.unpackb(base64.b64decode(fields["data"]))
    assert decoded["packet"]["data"] == ["file", {"blob": b"\x00\xff"}]
    broadcast = entries.read_broadcast(entries.decode_entry(as_redis(fields)))
    assert broadcast.args == ["file", {"blob": b"\x00\xff"}]
    assert broadcast.volatile is True and broadcast.rooms == frozenset()


def test_a_msgpack_parser_packet_is_carried_too() -> None:
    parser = get_parser("msgpack")
    packet = parser.encode_event("/", "hi", [1, b"\x01"])
    data = entries.broadcast_data(packet, "/", ["a", "b"], [])
    fields = entries.encode_entry("u", "/", MessageType.BROADCAST, data)
    broadcast = entries.read_broadcast(entries.decode_entry(as_redis(fields)))
    assert broadcast.args == ["hi", 1, b"\x01"] and broadcast.rooms == {"a", "b"}


def test_node_entries_decode_and_reencode_with_an_offset() -> None:
    node = {
        "uid": "abc",
        "nsp": "/",
        "type": "3",
        "data": '{"packet":{"type":2,"data":["m",1],"nsp":"/"},'
        '"opts":{"rooms":["r"],"except":["x"],"flags":{}}}',
    }
    broadcast = entries.read_broadcast(entries.decode_entry(as_redis(node)))
    assert (broadcast.rooms, broadcast.except_rooms) == ({"r"}, {"x"})
    packet = entries.packet_of(broadcast.args, "/", get_parser("json"), "1700000000000-3")
    assert packet.text == '2["m",1,"1700000000000-3"]'


def test_room_operations_round_trip() -> None:
    data = entries.room_request_data(["sid"], [], ["lobby"])
    fields = entries.encode_entry("u", "/", MessageType.SOCKETS_JOIN, data)
    request = entries.read_room_request(entries.decode_entry(as_redis(fields)))
    assert request.rooms == {"sid"} and request.target_rooms == ("lobby",)
    data = entries.room_request_data(["r"], ["s"], None, close=True)
    fields = entries.encode_entry("u", "/", MessageType.DISCONNECT_SOCKETS, data)
    request = entries.read_room_request(entries.decode_entry(as_redis(fields)))
    assert request.close is True and request.except_rooms == {"s"}


def test_sessions_round_trip_and_match_node_s_shape() -> None:
    session = entries.Session("sid", "pid", ["sid", "r"], {"user": "ann"})
    stored = entries.encode_session(session)
    assert msgpack.unpackb(base64.b64decode(stored)) == {
        "sid": "sid",
        "pid": "pid",
        "rooms": ["sid", "r"],
        "data": {"user": "ann"},
    }
    assert entries.decode_session(stored.encode()) == session


def test_pubsub_messages_round_trip() -> None:
    payload = entries.encode_pubsub(
        "u", "/", MessageType.SERVER_SIDE_EMIT, {"packet": ["hello", b"\x00"], "requestId": "q"}
    )
    message = entries.decode_pubsub(payload)
    assert (message.uid, message.type) == ("u", MessageType.SERVER_SIDE_EMIT)
    assert message.data == {"packet": ["hello", b"\x00"], "requestId": "q"}


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"nsp": "/", "type": "3"}, "uid missing"),
        ({"uid": "u", "type": "3"}, "nsp missing"),
        ({"uid": "u", "nsp": "/", "type": "-1"}, "type not a number"),
        ({"uid": "u", "nsp": "/", "type": "0"}, "unknown message type"),
        ({"uid": "u", "nsp": "/", "type": "3", "data": "{x"}, "data is not JSON"),
        ({"uid": "u", "nsp": "/", "type": "3", "data": "%%%"}, "data is neither JSON nor base64"),
        ({"uid": "u", "nsp": "/", "type": "3", "data": "wQ=="}, "data is not msgpack"),
    ],
)
def test_malformed_entries_name_their_kind(fields: dict[str, str], kind: str) -> None:
    with pytest.raises(MalformedEntry) as raised:
        entries.decode_entry(as_redis(fields))
    assert raised.value.kind == kind


def test_non_utf8_and_deep_values_are_malformed_not_crashes() -> None:
    with pytest.raises(MalformedEntry):
        entries.decode_entry({b"uid": b"\xff", b"nsp": b"/", b"type": b"3"})
    deep = base64.b64encode(b"\x91" * 100_000 + b"\xc0").decode()
    with pytest.raises(MalformedEntry):
        entries.decode_entry({b"uid": b"u", b"nsp": b"/", b"type": b"3", b"data": deep.encode()})
    with pytest.raises(MalformedEntry):
        entries.decode_session(b"not base64!")
    with pytest.raises(MalformedEntry):
        entries.decode_session(base64.b64encode(msgpack.packb({"sid": 1})))
    with pytest.raises(MalformedEntry):
        entries.decode_pubsub(msgpack.packb({"uid": "u", "nsp": "/", "type": "3"}))
