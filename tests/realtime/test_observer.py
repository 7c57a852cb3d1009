"""The realtime layer's observer hook (``RealtimeServer.observe``) over the fake engine: what it
is told, when, and that it is told nothing twice; a namespace declared later is observed too."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from expressio.realtime import Socket

from .fake_engine import FakeEngineServer, FakeEngineSocket
from .test_server_unit import Make, connect, sid_of


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def socket_connected(self, socket: Socket) -> None:
        self.seen.append(("connected", socket.namespace.name, socket.id))

    def socket_disconnected(self, socket: Socket, reason: str, rooms: Set[str]) -> None:
        self.seen.append(("disconnected", socket.id, reason, sorted(rooms)))

    def room_joined(self, socket: Socket, room: str) -> None:
        self.seen.append(("joined", socket.id, room))

    def room_left(self, socket: Socket, room: str) -> None:
        self.seen.append(("left", socket.id, room))

    def event_received(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        self.seen.append(("received", socket.id, event, list(args)))

    def event_sent(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        self.seen.append(("sent", socket.id, event, list(args)))


def joined(engine: FakeEngineServer, namespace: str = "/") -> tuple[FakeEngineSocket, str]:
    client = connect(engine, namespace)
    return client, sid_of(client.take()[0], namespace)


async def test_an_unobserved_server_has_no_observer(make_server: Make) -> None:
    server, engine = make_server()
    _, sid = joined(engine)
    assert server.observer is None
    assert server.of("/").observer is None
    server.of("/").sockets[sid].join("room")  # the plain path still works
    assert server.of("/").sockets[sid].rooms == {sid, "room"}


async def test_the_observer_hears_connects_rooms_events_and_disconnects(make_server: Make) -> None:
    server, engine = make_server()
    recorder = Recorder()
    server.observe(recorder)
    seen = recorder.seen
    server.of("/").on("ping", lambda socket, value: socket.emit("pong", value))
    client, sid = joined(engine)
    socket = server.of("/").sockets[sid]
    socket.join("a")
    socket.join("a")  # already in: not told again
    socket.leave("b")  # never in: not told
    client.receive('2["ping",7]')
    socket.emit("news", 1, callback=lambda *answer: None)
    socket.leave("a")
    socket.join("c")
    client.drop("transport close")
    assert seen == [
        ("connected", "/", sid),
        ("joined", sid, "a"),
        ("received", sid, "ping", [7]),
        ("sent", sid, "pong", [7]),
        ("sent", sid, "news", [1]),
        ("left", sid, "a"),
        ("joined", sid, "c"),
        ("disconnected", sid, "transport close", sorted([sid, "c"])),
    ]


async def test_a_namespace_declared_later_is_observed(make_server: Make) -> None:
    server, engine = make_server()
    recorder = Recorder()
    server.observe(recorder)
    server.of("/later")
    _, sid = joined(engine, "/later")
    assert recorder.seen == [("connected", "/later", sid)]
