"""``app.io(parser="msgpack")``: the express.io API over socket.io-msgpack-parser's format, with
python-socketio's msgpack clients, on app.listen()'s direct websocket path and over polling.
Routes answer, emit and broadcast with bytes from the loop and from worker threads, where what
the parser cannot carry raises in the route."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import orjson
import pytest
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

import expressio

from .conftest import WAIT, Refused, clients, served

TRANSPORTS = {"websocket": ("websocket",), "polling": ("polling",)}
DISCONNECTS: list[str] = []  # the reasons the disconnect hook was given


def make_app() -> expressio.Application:
    app = expressio.express()
    app.io(parser="msgpack", ping_interval=5, ping_timeout=5)
    io = app.io

    async def refuse_some(handshake):  # type: ignore[no-untyped-def]
        if handshake.auth.get("deny"):
            raise ConnectionRefusedError("denied", {"why": b"\x00bytes"})

    io.use(refuse_some)

    @io.route("disconnect")
    def on_disconnect(req):  # type: ignore[no-untyped-def]
        DISCONNECTS.append(req.data)

    @io.route("echo")
    def echo(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data)

    @io.route("join")
    async def join(req):  # type: ignore[no-untyped-def]
        req.io.join(req.data)
        req.io.respond(req.data)

    @io.route("in_thread", blocking=True)
    def in_thread(req):  # type: ignore[no-untyped-def]
        req.io.emit("to_you", {"blob": b"\x01\x02"})
        req.io.room(req.data).broadcast("to_room", [b"\x03"])
        io.broadcast("to_all", b"\x04")
        try:
            req.io.emit("never", {1, 2})
        except TypeError:
            req.io.respond("refused a set")

    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url


def test_the_parser_is_chosen_once() -> None:
    app = expressio.express()
    app.io(parser="msgpack")
    assert app.io.server is not None and app.io.server.parser.name == "msgpack"
    assert app.io.get("parser") == "msgpack"
    app.io.set("parser", "msgpack")  # the same: nothing changes
    with pytest.raises(RuntimeError, match="chosen once"):
        app.io.set("parser", "json")
    assert expressio.express().io().io.server.parser.name == "json"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="known parsers: 'json', 'msgpack'"):
        expressio.express().io(parser="cbor")


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_routes_answer_emit_and_broadcast_bytes(url: str, transport: str) -> None:
    async with clients(url, serializer="msgpack") as connect:
        sender = await connect(transports=TRANSPORTS[transport])
        peer = await connect(transports=TRANSPORTS[transport])
        payload = {"nested": [b"\x00\xff", {"deep": b"\x10"}], "n": 1.5, "none": None}
        assert await sender.call("echo", payload) == payload
        room = f"room-{transport}"
        assert await peer.call("join", room) == room
        assert await sender.call("in_thread", room) == "refused a set"
        assert await sender.inbox.wait_for("to_you") == [{"blob": b"\x01\x02"}]
        assert await peer.inbox.wait_for("to_room") == [[b"\x03"]]
        for client in (sender, peer):
            assert await client.inbox.wait_for("to_all") == [b"\x04"]
        assert "to_room" not in sender.inbox.events()
        assert "never" not in sender.inbox.events()


async def test_a_refusal_reaches_connect_error(url: str) -> None:
    async with clients(url, serializer="msgpack") as connect:
        with pytest.raises(Refused) as refused:
            await connect(auth={"deny": True})
        assert refused.value.args[0] == "denied"
        data: Any = refused.value.args[1]
        assert data == {"message": "denied", "data": {"why": b"\x00bytes"}}


# -- bad input: that one connection is closed ("parse error"), nothing else is disturbed ----

CONNECT = msgpack.packb({"type": 0, "nsp": "/"})
GARBAGE = {
    "a text message": '42["echo",1]',  # an Engine.IO message carrying a JSON packet
    "not msgpack": b"\xc1\x00\xff",
    "msgpack but not a map": msgpack.packb(["echo", 1]),
    "a map of the wrong types": msgpack.packb({"type": "2", "nsp": ["/"], "data": "echo"}),
    "nested 3000 deep": msgpack.packb({"type": 2, "nsp": "/", "data": "x"})[:-2]
    + b"\x92\xa4echo"
    + b"\x91" * 3000
    + b"\x90",
    "a map announcing 4 billion keys": b"\xdf\xff\xff\xff\xff",
}


async def wait_for_disconnects(count: int) -> list[str]:
    for _ in range(int(WAIT / 0.02)):
        if len(DISCONNECTS) >= count:
            break
        await asyncio.sleep(0.02)
    return DISCONNECTS[:]


@pytest.mark.parametrize("bad", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_on_a_websocket_closes_that_connection_only(
    url: str, bad: str | bytes
) -> None:
    async with clients(url, serializer="msgpack") as connect:
        bystander = await connect()
        DISCONNECTS.clear()
        ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        async with websocket_connect(ws_url) as ws:
            assert str(await ws.recv()).startswith("0{")  # Engine.IO open
            await ws.send(CONNECT)
            connected = msgpack.unpackb(await asyncio.wait_for(ws.recv(), WAIT))
            assert connected["type"] == 0
            await ws.send(bad)
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), WAIT)
        assert await wait_for_disconnects(1) == ["parse error"]
        assert await bystander.call("echo", b"still here") == b"still here"


async def test_garbage_over_polling_closes_that_session_only(url: str) -> None:
    async with clients(url, serializer="msgpack") as connect:
        bystander = await connect(transports=("polling",))
        DISCONNECTS.clear()
        async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
            opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            sid = orjson.loads(opened.text[1:])["sid"]
            params = {"EIO": "4", "transport": "polling", "sid": sid}

            def binary(message: bytes) -> str:
                return "b" + base64.b64encode(message).decode()

            await http.post("/socket.io/", params=params, content=binary(CONNECT))
            answer = await http.get("/socket.io/", params=params)
            assert answer.text.startswith("b")  # the CONNECT answer, a binary message
            await http.post("/socket.io/", params=params, content=binary(b"\xc1"))
            assert await wait_for_disconnects(1) == ["parse error"]
            after = await http.get("/socket.io/", params=params)
            assert after.status_code == 400 or after.text.startswith("1")
        assert await bystander.call("echo", [b"\x01"]) == [b"\x01"]

