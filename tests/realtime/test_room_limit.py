"""``max_rooms_per_socket``: the rooms one socket may join (its own room not counted).

Without a bound, one socket could be made to join rooms without end (446 B each: 500k rooms
grew the server by 196 MB).
"""

from __future__ import annotations

from typing import Any

import pytest

from expressio.realtime import RoomLimitError, Socket

Make = Any


def _connected(make_server: Make, **options: Any) -> Socket:
    server, engine = make_server(**options)
    client = engine.connect()
    client.receive("0")
    (socket,) = server.of("/").sockets.values()
    return socket


async def test_a_join_beyond_the_limit_raises_and_changes_nothing(make_server: Make) -> None:
    """Checks: three rooms join, the fourth raises RoomLimitError naming the room and the
    limit; the socket keeps its rooms and stays connected."""
    socket = _connected(make_server, max_rooms_per_socket=3)
    for room in ("a", "b", "c"):
        socket.join(room)
    with pytest.raises(RoomLimitError, match=r"in 3 rooms already.*'d'"):
        socket.join("d")
    assert socket.rooms == {socket.id, "a", "b", "c"}
    assert socket.connected
    assert socket.namespace.adapter.sockets_in(["d"]) == set()


async def test_rejoining_and_joining_after_a_leave_are_within_the_limit(make_server: Make) -> None:
    socket = _connected(make_server, max_rooms_per_socket=2)
    socket.join("a")
    socket.join("b")
    socket.join("a")  # already in it: nothing grows
    socket.leave("b")
    socket.join("c")
    assert socket.rooms == {socket.id, "a", "c"}


async def test_the_limit_applies_to_sockets_connected_before_it_changed(make_server: Make) -> None:
    socket = _connected(make_server)
    socket.join("a")
    socket.namespace.server.max_rooms_per_socket = 1
    with pytest.raises(RoomLimitError):
        socket.join("b")


async def test_the_default_limit_is_one_thousand_rooms(make_server: Make) -> None:
    socket = _connected(make_server)
    for index in range(1000):
        socket.join(f"room {index}")
    with pytest.raises(RoomLimitError):
        socket.join("one too many")
    assert len(socket.rooms) == 1001
