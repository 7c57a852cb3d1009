"""Sockets of other processes as fetch_sockets answers carry them (socket.io's shape)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from expressio.realtime import Handshake
from expressio.scaleout.remote import RemoteSocket, socket_details

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
