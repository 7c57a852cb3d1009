"""The realtime layer with the msgpack parser, over the recording fake engine: every packet the
server sends is one binary message in socket.io-msgpack-parser's format, every bad message
closes its own connection only ("parse error")."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest

from expressio.protocol.msgpack_parser import MSGPACK_PARSER
from expressio.realtime import RealtimeServer, Socket

from .fake_engine import FakeEngineServer, FakeEngineSocket

Make = Any


def pack(**fields: Any) -> bytes:
    packed: bytes = msgpack.packb(fields)
    return packed


def unpack_all(messages: list[str | bytes]) -> list[Any]:
    assert all(type(message) is bytes for message in messages), messages
    return [msgpack.unpackb(message) for message in messages]


def connect(
    engine: FakeEngineServer, namespace: str = "/", auth: Any = None
) -> FakeEngineSocket:
    client = engine.connect()
    fields: dict[str, Any] = {"type": 0, "nsp": namespace}
    if auth is not None:
        fields["data"] = auth
    client.receive(pack(**fields))
    return client


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_the_server_keeps_its_parser(make_server: Make) -> None:
    server, _ = make_server(parser="msgpack")
    assert server.parser is MSGPACK_PARSER
    with pytest.raises(ValueError, match="known parsers: 'json', 'msgpack'"):
        RealtimeServer(parser="bson")


async def test_connect_emit_ack_and_binary_both_ways(make_server: Make) -> None:
    server, engine = make_server(parser="msgpack")
    root = server.of("/")
    received: list[Any] = []
    root.on("echo", lambda socket, *args: args)
    root.on("keep", lambda socket, *args: received.append(args))
    client = connect(engine, auth={"token": "t"})
    [connected] = unpack_all(client.take())
    assert connected["type"] == 0 and connected["nsp"] == "/"
    sid = connected["data"]["sid"]
    socket = root.sockets[sid]
    assert socket.handshake.auth == {"token": "t"}

    client.receive(pack(type=2, nsp="/", data=["echo", {"b": b"\x00\x01"}, [b"\xff"]], id=7))
    assert unpack_all(client.take()) == [
        {"type": 3, "nsp": "/", "data": [{"b": b"\x00\x01"}, [b"\xff"]], "id": 7}
    ]
    client.receive(pack(type=2, nsp="/", data=["keep", b"raw"]))
    assert received == [(b"raw",)]

    answers: list[Any] = []
    socket.emit("ask", {"blob": b"\x02"}, callback=lambda *args: answers.append(args))
    [asked] = unpack_all(client.take())
    assert asked == {"type": 2, "nsp": "/", "data": ["ask", {"blob": b"\x02"}], "id": 0}
    client.receive(pack(type=3, nsp="/", data=[b"\x03", "fine"], id=0))
    assert answers == [(b"\x03", "fine")]


async def test_other_namespaces_refusals_and_disconnects(make_server: Make) -> None:
    server, engine = make_server(parser="msgpack")

    def refuse(socket: Socket, auth: dict[str, Any]) -> None:
        raise ConnectionRefusedError("not authorized", {"retry": False})

    server.of("/private").use(refuse)
    server.of("/chat").on("who", lambda socket: socket.namespace.name)
    client = connect(engine, "/private")
    assert unpack_all(client.take()) == [
        {
            "type": 4,
            "nsp": "/private",
            "data": {"message": "not authorized", "data": {"retry": False}},
        }
    ]
    client.receive(pack(type=0, nsp="/nowhere"))
    assert unpack_all(client.take()) == [
        {"type": 4, "nsp": "/nowhere", "data": {"message": "Invalid namespace"}}
    ]
    client.receive(pack(type=0, nsp="/chat"))
    [connected] = unpack_all(client.take())
    assert connected["nsp"] == "/chat"
    client.receive(pack(type=2, nsp="/chat", data=["who"], id=1))
    assert unpack_all(client.take()) == [{"type": 3, "nsp": "/chat", "data": ["/chat"], "id": 1}]
    socket = next(iter(server.of("/chat").sockets.values()))
    socket.disconnect()
    assert unpack_all(client.take()) == [{"type": 1, "nsp": "/chat"}]
    assert not client.closed


async def test_a_disconnect_with_nil_data_is_a_client_leaving(make_server: Make) -> None:
    """python-socketio sends {"type": 1, "nsp": ..., "data": nil}, where the Node parser sends
    no data key: both are a client leaving the namespace, not bad input."""
    server, engine = make_server(parser="msgpack")
    reasons: list[str] = []
    server.of("/").on_disconnect = lambda socket, reason: reasons.append(reason)
    for disconnect in (pack(type=1, nsp="/", data=None), pack(type=1, nsp="/")):
        client = connect(engine)
        client.take()
        client.receive(disconnect)
        assert not client.closed
    assert reasons == ["client namespace disconnect"] * 2


async def test_a_broadcast_is_encoded_and_prepared_once(make_server: Make) -> None:
    server, engine = make_server(parser="msgpack")
    root = server.of("/")
    clients = [connect(engine) for _ in range(3)]
    for client in clients:
        client.take()
    sockets = list(root.sockets.values())
    sockets[0].join("room")
    sockets[1].join("room")
    root.emit("news", {"b": b"\x01"}, to="room", skip=sockets[0].id)
    assert len(engine.prepared) == 1
    assert unpack_all([engine.prepared[0].data]) == [
        {"type": 2, "nsp": "/", "data": ["news", {"b": b"\x01"}]}
    ]
    assert [len(client.take()) for client in clients] == [0, 1, 0]


BAD_MESSAGES = {
    "a text frame": '2["e"]',
    "not msgpack": b"\xc1\xc1",
    "msgpack but not a map": msgpack.packb([2, "/", ["e"]]),
    "a map without a type": msgpack.packb({"nsp": "/", "data": ["e"]}),
    "a type as text": msgpack.packb({"type": "2", "nsp": "/", "data": ["e"]}),
    "a namespace as a number": msgpack.packb({"type": 2, "nsp": 7, "data": ["e"]}),
    "event data as a map": msgpack.packb({"type": 2, "nsp": "/", "data": {"e": 1}}),
    "an ack id as text": msgpack.packb({"type": 2, "nsp": "/", "data": ["e"], "id": "1"}),
    "an ack never asked for": msgpack.packb({"type": 3, "nsp": "/", "data": [], "id": 5}),
    "a CONNECT_ERROR from a client": msgpack.packb({"type": 4, "nsp": "/", "data": "x"}),
    "nested 5000 deep": msgpack.packb({"type": 2, "nsp": "/", "data": "x"})[:-2]
    + b"\x92\xa1e"
    + b"\x91" * 5000
    + b"\x90",
    "an array announcing 4 billion items": msgpack.packb({"type": 2, "nsp": "/", "data": "x"})[
        :-2
    ]
    + b"\xdd\xff\xff\xff\xff",
}


@pytest.mark.parametrize("bad", list(BAD_MESSAGES.values()), ids=list(BAD_MESSAGES))
async def test_bad_input_closes_that_connection_only(make_server: Make, bad: str | bytes) -> None:
    server, engine = make_server(parser="msgpack")
    root = server.of("/")
    reasons: list[str] = []
    root.on_disconnect = lambda socket, reason: reasons.append(reason)
    root.on("echo", lambda socket, *args: args)
    bystander = connect(engine)
    client = connect(engine)
    client.take()
    client.receive(bad)
    assert client.closed and client.close_reason == "parse error"
    assert reasons == ["parse error"]
    bystander.take()
    bystander.receive(pack(type=2, nsp="/", data=["echo", 1], id=3))
    assert unpack_all(bystander.take()) == [{"type": 3, "nsp": "/", "data": [1], "id": 3}]
    assert len(root.sockets) == 1


async def test_a_text_packet_before_connect_is_refused(make_server: Make) -> None:
    _, engine = make_server(parser="msgpack")
    client = engine.connect()
    client.receive('0{"token":"t"}')
    assert client.closed and client.close_reason == "parse error"


async def test_what_the_parser_cannot_encode_raises_in_the_caller(make_server: Make) -> None:
    server, engine = make_server(parser="msgpack")
    connect(engine).take()
    socket = next(iter(server.of("/").sockets.values()))
    with pytest.raises(TypeError):
        socket.emit("e", {1, 2})
    with pytest.raises(TypeError):
        server.of("/").emit("e", object())
