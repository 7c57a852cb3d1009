"""The adapter's targeted operations (socket.io's Adapter) over the recording fake engine:
rooms minus rooms, volatile, broadcasts with acks, fetching, room-level join/leave/disconnect,
and what one process answers for the others."""

from __future__ import annotations

from typing import Any

import pytest

from expressio.protocol.socketio import encode_event
from expressio.realtime import BroadcastFlags, BroadcastOptions, RealtimeServer, Socket
from expressio.realtime.adapter import InMemoryAdapter

from .fake_engine import FakeEngineSocket
from .test_server_unit import connect, settle, sockets_of

Make = Any


def opts(
    rooms: tuple[str, ...] = (), excluding: tuple[str, ...] = (), **flags: bool
) -> BroadcastOptions:
    return BroadcastOptions(frozenset(rooms), frozenset(excluding), BroadcastFlags(**flags))


def four(make_server: Make) -> tuple[RealtimeServer, list[FakeEngineSocket], list[Socket]]:
    server, engine = make_server()
    clients = [connect(engine) for _ in range(4)]
    for client in clients:
        client.take()
    a, b, c, _d = sockets = sockets_of(server)
    a.join("red")
    b.join("red")
    b.join("blue")
    c.join("blue")
    return server, clients, sockets


def adapter_of(server: RealtimeServer) -> InMemoryAdapter:
    adapter = server.of("/").adapter
    assert isinstance(adapter, InMemoryAdapter)
    return adapter


async def test_rooms_minus_rooms_each_socket_once(make_server: Make) -> None:
    server, _clients, (a, b, c, d) = four(make_server)
    adapter = adapter_of(server)
    assert {s.id for s in adapter.targets(opts(("red", "blue")))} == {a.id, b.id, c.id}
    assert len(adapter.targets(opts(("red", "blue")))) == 3  # b, in both, once
    assert {s.id for s in adapter.targets(opts(("red", "blue"), ("blue",)))} == {a.id}
    assert {s.id for s in adapter.targets(opts((), ("red", d.id)))} == {c.id}
    assert adapter.targets(opts(("nowhere",))) == []


async def test_volatile_skips_a_client_that_cannot_take_it_now(make_server: Make) -> None:
    server, clients, (_a, _b, _c, _d) = four(make_server)
    clients[1].writable = False
    tick = encode_event("/", "tick", ())
    server.of("/").adapter.broadcast(tick, opts(("red",), volatile=True))
    assert clients[0].take() == ['2["tick"]']
    assert clients[1].take() == []
    clients[1].writable = True
    server.of("/").adapter.broadcast(tick, opts(("red",)))
    assert clients[1].take() == ['2["tick"]']


async def test_broadcast_with_ack_one_id_free_on_every_recipient(make_server: Make) -> None:
    server, clients, (a, b, _c, _d) = four(make_server)
    # a has used ack ids 0..2 already: the broadcast's id must be free on a too.
    for _ in range(3):
        a.emit("private", callback=lambda *args: None)
    clients[0].take()
    counts: list[int] = []
    answers: list[tuple[Any, ...]] = []
    stop = adapter_of(server).broadcast_with_ack(
        "q", (1,), opts(("red",)), counts.append, lambda *args: answers.append(args)
    )
    assert counts == [2]
    (sent_a,) = clients[0].take()
    (sent_b,) = clients[1].take()
    assert sent_a == sent_b == '23["q",1]'  # encoded once, id 3 for both
    assert clients[2].take() == []
    clients[0].receive('33["yes"]')
    clients[1].receive("33[]")
    await settle()
    assert answers == [("yes",), ()]
    assert not clients[0].closed and not clients[1].closed
    stop()  # nothing left to forget; harmless
    assert a.pending_acks == 3 and b.pending_acks == 0


async def test_stop_waiting_forgets_unanswered_acks(make_server: Make) -> None:
    server, clients, (a, b, c, d) = four(make_server)
    stop = adapter_of(server).broadcast_with_ack(
        "q", (), opts(), lambda count: None, lambda *args: None
    )
    assert [s.pending_acks for s in (a, b, c, d)] == [1, 1, 1, 1]
    stop()
    assert [s.pending_acks for s in (a, b, c, d)] == [0, 0, 0, 0]
    clients[0].receive("30[]")  # a late answer is ignored, the connection stays
    assert not clients[0].closed


async def test_fetch_join_leave_disconnect_and_one_process(make_server: Make) -> None:
    server, clients, (a, b, c, d) = four(make_server)
    adapter = adapter_of(server)
    assert {s.id for s in await adapter.fetch_sockets(opts(("blue",)))} == {b.id, c.id}
    adapter.add_sockets(opts(("red",)), ["green", "gold"])
    assert {"green", "gold"} <= a.rooms and {"green", "gold"} <= b.rooms
    assert "green" not in c.rooms
    adapter.del_sockets(opts(("green",), (b.id,)), ["gold"])
    assert "gold" not in a.rooms and "gold" in b.rooms
    adapter.disconnect_sockets(opts(("blue",)), close=False)
    assert not b.connected and not c.connected and a.connected and d.connected
    assert clients[1].take()[-1] == "1" and not clients[1].closed
    adapter.disconnect_sockets(opts((), (a.id,)), close=True)
    assert clients[3].closed and not clients[0].closed
    answers: list[list[Any]] = []
    adapter.server_side_emit(["ping"], answers.append)
    assert answers == [[]]
    assert await adapter.server_count() == 1


@pytest.mark.parametrize("skip", ["one-id", "room"])
async def test_namespace_emit_skip_takes_ids_and_rooms(make_server: Make, skip: str) -> None:
    server, clients, (a, _b, _c, _d) = four(make_server)
    server.of("/").emit("hi", to="red", skip=a.id if skip == "one-id" else "blue")
    assert clients[0].take() == ([] if skip == "one-id" else ['2["hi"]'])
    assert clients[1].take() == (['2["hi"]'] if skip == "one-id" else [])
