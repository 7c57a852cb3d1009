"""The wire format of ``@socket.io/redis-adapter`` and ``@socket.io/redis-emitter``, without
Redis: byte-for-byte equality with what Node's encoder (notepack.io) makes, round trips, and
what counts as malformed."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import msgpack
import orjson
import pytest

from expressio.scaleout import wire
from expressio.scaleout.wire import MalformedMessage, RequestType
from tests.support import ROOT

VECTORS = ROOT / "tests" / "scaleout" / "node" / "notepack_vectors.mjs"


@pytest.fixture(scope="module")
def node_bytes() -> dict[str, bytes]:
    """What Node's adapters and emitter publish, encoded by Node itself (one run per module)."""
    completed = subprocess.run(
        ["node", str(VECTORS)], capture_output=True, text=True, cwd=ROOT, timeout=30, check=True
    )
    return {name: bytes.fromhex(value) for name, value in json.loads(completed.stdout).items()}


# -- broadcasts --------------------------------------------------------------------------------

NEWS = ["news", {"n": 1, "big": 4294967296, "neg": -129, "f": 1.5}, b"\x00\x01\xff"]


def test_a_broadcast_is_byte_for_byte_what_node_publishes(node_bytes: dict[str, bytes]) -> None:
    ours = wire.encode_broadcast("abc123", "/", NEWS, ["room"], ["sid"], {})
    assert ours == node_bytes["broadcast"]


def test_a_node_broadcast_decodes_with_its_types(node_bytes: dict[str, bytes]) -> None:
    message = wire.decode_broadcast(node_bytes["broadcast"])
    assert message == wire.Broadcast(
        "abc123", "/", NEWS, frozenset({"room"}), frozenset({"sid"}), volatile=False
    )
    assert type(message.data[2]) is bytes  # msgpack bin: a Buffer there, bytes here
    assert type(message.data[1]["big"]) is int and type(message.data[1]["f"]) is float


def test_an_emitter_broadcast_carries_its_namespace_and_volatile_flag(
    node_bytes: dict[str, bytes],
) -> None:
    message = wire.decode_broadcast(node_bytes["emitter_broadcast"])
    assert message == wire.Broadcast(
        wire.EMITTER_UID, "/chat", ["tick", 7], frozenset(), frozenset(), volatile=True
    )


def test_own_broadcasts_are_recognised_by_their_first_bytes() -> None:
    ours = wire.encode_broadcast("node-1", "/", ["e"], [], [], {})
    assert ours.startswith(wire.echo_prefix("node-1"))
    assert not ours.startswith(wire.echo_prefix("node-2"))


def test_a_packet_without_namespace_is_the_default_namespace_and_numbers_are_rooms() -> None:
    data = msgpack.packb(["x", {"type": 2, "data": ["e", 1]}, {"rooms": [42, 1.5], "except": None}])
    message = wire.decode_broadcast(data)
    assert message.namespace == "/"
    assert message.rooms == {"42", "1.5"} and message.except_rooms == frozenset()


def test_javascript_values_without_a_msgpack_type(node_bytes: dict[str, bytes]) -> None:
    assert wire.unpack(node_bytes["undefined_value"]) == [None, None]
    assert wire.unpack(node_bytes["date"]) == "2024-05-01T12:00:00.007Z"  # Date.toJSON()
    assert wire.unpack(node_bytes["array_buffer"]) == b"\x01\x02\x03"
    for name in ("long_string", "long_array"):  # str 8 and array 16 headers, both ways
        assert wire.pack(wire.unpack(node_bytes[name])) == node_bytes[name]


def test_values_msgpack_has_no_type_for_go_as_json_would_carry_them() -> None:
    from datetime import UTC, datetime

    packed = wire.pack({"at": datetime(2024, 5, 1, tzinfo=UTC), "tags": {"a"}})
    assert wire.unpack(packed) == {"at": "2024-05-01T00:00:00+00:00", "tags": ["a"]}
    with pytest.raises(TypeError):
        wire.pack(2**70)
    with pytest.raises(TypeError):
        wire.pack(object())


# -- channels ----------------------------------------------------------------------------------


def test_channel_names_are_node_s() -> None:
    channels = wire.Channels("socket.io", "/chat")
    assert channels.broadcast == b"socket.io#/chat#"
    assert channels.pattern == b"socket.io#/chat#*"
    assert channels.request == b"socket.io-request#/chat#"
    assert channels.response == b"socket.io-response#/chat#"
    assert channels.response_for("abc") == b"socket.io-response#/chat#abc#"
    # one room: the room's own channel; several or none: the namespace's
    assert channels.broadcast_to(frozenset({"r"})) == b"socket.io#/chat#r#"
    assert channels.broadcast_to(frozenset({"r", "s"})) == b"socket.io#/chat#"
    assert channels.broadcast_to(frozenset()) == b"socket.io#/chat#"
    assert channels.room_of(b"socket.io#/chat#r#") == "r"
    assert channels.room_of(b"socket.io#/chat#") == ""
    assert channels.room_of(b"other#/chat#r#") is None


def test_glob_characters_of_a_key_are_matched_literally() -> None:
    assert wire.Channels("a*b?[c]", "/").pattern == b"a\\*b\\?\\[c\\]#/#*"


@pytest.mark.parametrize("key", ["", "a#b"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        wire.check_key(key)


# -- requests and answers ----------------------------------------------------------------------


def test_requests_are_the_json_node_writes() -> None:
    # JSON.stringify of the objects @socket.io/redis-adapter and -emitter build, key order kept
    assert wire.encode_fetch("u", "q", ["r"], ["x"]) == (
        b'{"uid":"u","type":5,"requestId":"q","opts":{"rooms":["r"],"except":["x"]}}'
    )
    join = wire.encode_sockets_operation(RequestType.REMOTE_JOIN, "u", ["r"], [], ["new"])
    assert join == b'{"uid":"u","type":2,"opts":{"rooms":["r"],"except":[]},"rooms":["new"]}'
    disconnect = wire.encode_sockets_operation(
        RequestType.REMOTE_DISCONNECT, None, [], [], close=True
    )
    assert disconnect == b'{"type":4,"opts":{"rooms":[],"except":[]},"close":true}'
    assert wire.encode_server_side_emit("u", ["hello", 1]) == (
        b'{"uid":"u","type":6,"data":["hello",1]}'
    )
    assert wire.encode_server_side_emit("u", ["hello"], "q") == (
        b'{"uid":"u","type":6,"requestId":"q","data":["hello"]}'
    )
    with pytest.raises(ValueError):
        wire.encode_sockets_operation(RequestType.REMOTE_FETCH, "u", [], [])


def test_binary_in_json_is_what_json_stringify_makes_of_a_buffer() -> None:
    message = wire.encode_server_side_emit("u", ["e", b"\x01\x02"])
    assert orjson.loads(message)["data"][1] == {"type": "Buffer", "data": [1, 2]}


def test_a_broadcast_with_acks_is_byte_for_byte_node_s(node_bytes: dict[str, bytes]) -> None:
    ours = wire.encode_broadcast_with_ack(
        "abc123", "r1", "/", ["ask", "?"], [], [], {"timeout": 1000}
    )
    assert ours == node_bytes["broadcast_request"]
    request = wire.decode_request(node_bytes["broadcast_request"])
    assert request.type is RequestType.BROADCAST
    assert (request.uid, request.request_id, request.data) == ("abc123", "r1", ["ask", "?"])
    assert request.flags == {"timeout": 1000}


def test_a_client_ack_is_byte_for_byte_node_s(node_bytes: dict[str, bytes]) -> None:
    assert wire.encode_client_ack("r1", {"ok": True, "bin": b"hi"}) == node_bytes["client_ack"]
    response = wire.decode_response(node_bytes["client_ack"])
    assert response == wire.Response("r1", RequestType.BROADCAST_ACK, {"ok": True, "bin": b"hi"})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            wire.encode_fetch("u", "q", ["r"], []),
            {"type": RequestType.REMOTE_FETCH, "uid": "u", "request_id": "q", "rooms": {"r"}},
        ),
        (
            wire.encode_sockets_operation(RequestType.REMOTE_LEAVE, None, [], ["x"], ["a", "b"]),
            {"type": RequestType.REMOTE_LEAVE, "uid": None, "new_rooms": ("a", "b")},
        ),
        (
            b'{"type":2,"uid":"u","requestId":"q","sid":"s1","room":"r"}',  # the by-id form
            {"by_opts": False, "sid": "s1", "room": "r", "request_id": "q"},
        ),
        (
            b'{"type":4,"sid":"s1","close":true}',
            {"type": RequestType.REMOTE_DISCONNECT, "by_opts": False, "close": True},
        ),
        (b'{"type":0,"uid":"u","requestId":"q","rooms":["a"]}', {"rooms": {"a"}}),
        (b'{"type":1,"uid":"u","requestId":"q"}', {"type": RequestType.ALL_ROOMS}),
        (b'{"uid":"emitter","type":6,"data":["hi",2]}', {"data": ["hi", 2], "request_id": None}),
    ],
)
def test_requests_decode(message: bytes, expected: dict[str, Any]) -> None:
    request = wire.decode_request(message)
    for name, value in expected.items():
        assert getattr(request, name) == value, name


def test_answers_decode() -> None:
    fetched = wire.encode_fetch_response("q", [{"id": "s"}])
    assert wire.decode_response(fetched) == wire.Response("q", None, [{"id": "s"}])
    rooms = wire.encode_rooms_response("q", ["a"])
    assert wire.decode_response(rooms) == wire.Response("q", None, ["a"])
    count = wire.encode_client_count("q", 3)
    assert count == b'{"type":8,"requestId":"q","clientCount":3}'
    assert wire.decode_response(count) == wire.Response("q", RequestType.BROADCAST_CLIENT_COUNT, 3)
    answer = wire.encode_server_side_response("q", {"x": 1})
    assert answer == b'{"type":6,"requestId":"q","data":{"x":1}}'
    assert wire.decode_response(answer).value == {"x": 1}
    assert wire.decode_response(wire.encode_done_response("q")) == wire.Response("q", None, None)


# -- malformed ---------------------------------------------------------------------------------


def packed(value: Any) -> bytes:
    return bytes(msgpack.packb(value))


EVENT = {"type": 2, "data": ["e"], "nsp": "/"}


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"not msgpack",
        b"\xc1",
        packed({"a": 1}),
        packed(["x", EVENT]),
        packed(["x", "packet", {}]),
        packed(["x", {**EVENT, "type": 3}, {}]),  # an ACK
        packed(["x", {**EVENT, "data": []}, {}]),
        packed(["x", {**EVENT, "data": [1]}, {}]),  # event name not a string
        packed(["x", {**EVENT, "data": "e"}, {}]),
        packed(["x", {**EVENT, "nsp": 1}, {}]),
        packed(["x", EVENT, []]),
        packed(["x", EVENT, {"rooms": "r"}]),
        packed(["x", EVENT, {"except": [None]}]),
        packed(["x", msgpack.ExtType(5, b"?"), {}]),  # an extension notepack never writes
        b"\x91" * 5000 + b"\xc0",  # nested deeper than any message
    ],
)
def test_malformed_broadcasts_are_refused(message: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        wire.decode_broadcast(message)
    assert caught.value.kind


@pytest.mark.parametrize(
    "message",
    [
        b"{not json",
        b"[]",
        b'{"type":42}',
        b'{"type":"5"}',
        b'{"uid":"u"}',
        b'{"type":5,"uid":"u"}',  # a fetch without request id
        b'{"type":5,"requestId":"q","opts":"all"}',
        b'{"type":2,"opts":{"rooms":[]}}',  # join which rooms?
        b'{"type":2,"sid":"s"}',  # the by-id form without room
        b'{"type":6,"data":[]}',
        b'{"type":7,"requestId":"q","packet":{"type":2,"data":["e"]}}',  # no opts
        b'{"type":8,"requestId":"q"}',  # an answer's type on the request channel
        packed({"type": 7, "requestId": "q", "packet": "p", "opts": {}}),
        b"\xc1",
    ],
)
def test_malformed_requests_are_refused(message: bytes) -> None:
    with pytest.raises(MalformedMessage):
        wire.decode_request(message)


@pytest.mark.parametrize(
    "message",
    [
        b"{",
        b'{"sockets":[]}',
        b'{"requestId":1}',
        b'{"requestId":"q","type":99}',
        b'{"requestId":"q","type":5}',
        b'{"requestId":"q","type":8,"clientCount":-1}',
        b'{"requestId":"q","type":8,"clientCount":"3"}',
        packed(["q"]),
    ],
)
def test_malformed_answers_are_refused(message: bytes) -> None:
    with pytest.raises(MalformedMessage):
        wire.decode_response(message)
