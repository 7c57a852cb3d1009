"""Sockets of other processes as fetch_sockets answers carry them (socket.io's shape)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest

from expressio.realtime import Handshake
from expressio.scaleout.remote import (
    RemoteSocket,
    encode_details,
    remote_sockets,
    socket_details,
)

NODE_DETAILS = {  # what a Node socket.io 4.8 process answers (JSON)
    "id": "abc",
    "handshake": {
        "headers": {"host": "127.0.0.1:3000", "x-many": ["a", "b"]},
        "time": "Wed May 01 2024 12:00:00 GMT+0000 (Coordinated Universal Time)",
        "address": "::ffff:127.0.0.1",
        "xdomain": False,
        "secure": False,
        "issued": 1714564800007,
        "url": "/socket.io/?EIO=4&transport=websocket",
        "query": {"EIO": "4", "transport": "websocket", "tag": ["x", "y"]},
        "auth": {"token": "t"},
    },
    "rooms": ["abc", "lobby"],
    "data": {"user": "ada"},
}


def test_a_node_socket_reads_as_a_remote_socket() -> None:
    remote = RemoteSocket.from_details(NODE_DETAILS)
    assert remote.id == "abc" and remote.rooms == {"abc", "lobby"}
    assert remote.data == {"user": "ada"}
    handshake = remote.handshake
    assert handshake.address == "::ffff:127.0.0.1" and handshake.auth == {"token": "t"}
    assert handshake.issued == 1714564800007
    assert handshake.time == datetime(2024, 5, 1, 12, 0, 0, 7000, tzinfo=UTC)
    assert handshake.headers["x-many"] == "a, b" and handshake.query["tag"] == "x"


@pytest.mark.parametrize(
    "details", [None, [], {"rooms": []}, {"id": 1}, {"id": "a", "rooms": "lobby"}]
)
def test_what_is_not_a_socket_is_refused(details: object) -> None:
    with pytest.raises(ValueError):
        RemoteSocket.from_details(details)


def test_missing_handshake_fields_are_left_empty() -> None:
    remote = RemoteSocket.from_details({"id": "a", "handshake": {"issued": "soon"}, "data": 3})
    assert remote.data == {} and remote.rooms == frozenset()
    assert remote.handshake.issued == 0 and remote.handshake.auth == {}


def test_a_local_socket_is_written_in_socket_io_s_shape() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    handshake = Handshake(
        headers={"Origin": "http://x", "Host": "h"},
        address="127.0.0.1",
        time=moment,
        query={"EIO": "4"},
        url="/socket.io/?EIO=4",
        secure=True,
        issued=int(moment.timestamp() * 1000),
        auth={"k": 1},
    )
    socket = SimpleNamespace(id="s1", handshake=handshake, rooms={"s1", "r"}, data={"a": 1})
    details = socket_details(socket)  # type: ignore[arg-type]
    assert details["handshake"] == {
        "headers": {"origin": "http://x", "host": "h"},
        "time": "Wed May 01 2024 12:00:00 GMT+0000 (Coordinated Universal Time)",
        "address": "127.0.0.1",
        "xdomain": True,
        "secure": True,
        "issued": 1714564800000,
        "url": "/socket.io/?EIO=4",
        "query": {"EIO": "4"},
        "auth": {"k": 1},
    }
    assert sorted(details["rooms"]) == ["r", "s1"] and details["data"] == {"a": 1}
    # and reads back
    back = RemoteSocket.from_details(details)
    expected = {**handshake, "headers": {"origin": "http://x", "host": "h"}}
    assert dict(back.handshake) == expected


def _socket(sid: str, data: object, auth: object = None) -> SimpleNamespace:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    handshake = Handshake(
        headers={},
        address="127.0.0.1",
        time=moment,
        query={},
        url="/",
        secure=False,
        issued=0,
        auth=auth if auth is not None else {},  # type: ignore[arg-type]
    )
    return SimpleNamespace(id=sid, handshake=handshake, rooms={sid}, data=data)


def _json(details: list[dict[str, object]]) -> bytes:
    return orjson.dumps(details)


def test_an_answer_with_data_the_format_cannot_carry_still_gets_through() -> None:
    sockets = [
        _socket("fine", {"a": 1}),
        _socket("odd", {"a": {1, 2}}),  # a set: not JSON
        _socket("worse", {}, auth={"key": object()}),  # its handshake cannot be sent either
    ]
    encoded, changed = encode_details(sockets, _json)  # type: ignore[arg-type]
    assert changed == 2
    assert [(item["id"], item["data"]) for item in orjson.loads(encoded)] == [
        ("fine", {"a": 1}),
        ("odd", {}),
    ]


def test_an_answer_that_fits_is_encoded_once_unchanged() -> None:
    calls: list[int] = []

    def encode(details: list[dict[str, object]]) -> bytes:
        calls.append(len(details))
        return _json(details)

    encoded, changed = encode_details([_socket("a", {}), _socket("b", {"x": [1]})], encode)  # type: ignore[list-item]
    assert changed == 0 and calls == [2]
    assert [item["data"] for item in orjson.loads(encoded)] == [{}, {"x": [1]}]


def test_the_sockets_of_every_answer_and_what_is_not_one() -> None:
    bad: list[str] = []
    answers = [
        [NODE_DETAILS, "not a socket"],
        "not a list",
        [{"id": "b", "rooms": ["b"]}, {"id": 7}],
        [],
    ]
    found = remote_sockets(answers, lambda error: bad.append(str(error)))
    assert [remote.id for remote in found] == ["abc", "b"]
    assert bad == ["a socket is a map", "a socket needs an id and a list of rooms"]
