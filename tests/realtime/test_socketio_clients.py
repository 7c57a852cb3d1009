"""End to end: the python-socketio client against RealtimeServer on a real uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import socketio
import websockets

from expressio.realtime import RealtimeServer, Socket

Serve = Callable[[Any], Awaitable[str]]
TRANSPORTS = [["websocket"], ["polling"], ["polling", "websocket"]]


class App:
    """A realtime server exercising every feature, plus what it saw."""

    def __init__(self) -> None:
        self.server = RealtimeServer(ping_interval=5, ping_timeout=5, connect_timeout=5)
        self.disconnects: list[tuple[str, str]] = []
        self.connected = asyncio.Event()
        root = self.server.of("/")
        root.use(self.check_token)
        root.on_connect = self.greet
        root.on_disconnect = lambda socket, reason: self.disconnects.append((socket.id, reason))
        root.on("echo", lambda socket, *args: args)
        root.on("message", lambda socket, *args: socket.emit("message-back", *args))
        root.on("boom", self.boom)
        root.on("join", lambda socket, room: socket.join(room))
        root.on("leave", lambda socket, room: socket.leave(room))
        root.on("rooms", lambda socket: sorted(socket.rooms - {socket.id}))
        root.on("to-room", self.to_room)
        root.on("to-all", self.to_all)
        root.on("ask", self.ask)
        root.on("ask-callback", self.ask_with_callback)
        root.on("kick", lambda socket: socket.disconnect())
        chat = self.server.of("/chat")
        chat.on_connect = self.greet
        chat.on("where", lambda socket: socket.namespace.name)
        private = self.server.of("/private")
        private.use(self.refuse)

    def check_token(self, socket: Socket, auth: dict[str, Any]) -> None:
        if auth.get("token") == "bad":
            raise ConnectionRefusedError("not authorized")

    async def refuse(self, socket: Socket, auth: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        raise ConnectionRefusedError("members only", {"login": "/login"})

    def greet(self, socket: Socket, auth: Any) -> None:
        socket.emit("auth", auth)

    async def boom(self, socket: Socket, *args: Any) -> None:
        raise RuntimeError("handler failure")

    def to_room(self, socket: Socket, room: str, payload: Any) -> None:
        socket.namespace.emit("room-message", payload, to=room, skip=socket.id)

    def to_all(self, socket: Socket, payload: Any, include_self: bool) -> None:
        socket.namespace.emit("news", payload, skip=None if include_self else socket.id)

    async def ask(self, socket: Socket, question: Any, timeout: float) -> Any:
        try:
            return await socket.emit_with_ack("question", question, timeout=timeout)
        except TimeoutError:
            return "timed out"

    def ask_with_callback(self, socket: Socket, question: Any) -> None:
        socket.emit(
            "question",
            question,
            callback=lambda *answer: socket.emit("answer-was", *answer),
        )


class Client:
    """A python-socketio AsyncClient that records the events it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self.errors: list[Any] = []
        self.answers: dict[str, Any] = {}
        self.disconnected = asyncio.Event()

        @self.sio.on("*")
        async def any_event(event: str, *args: Any) -> None:
            await self.events.put((event, args))

        @self.sio.on("*", namespace="/chat")
        async def any_chat_event(event: str, *args: Any) -> None:
            await self.events.put((event, args))

        @self.sio.on("question")
        async def question(value: Any) -> Any:
            if self.answers.get("silent"):
                await asyncio.sleep(2)  # answers long after the server stopped waiting
            return self.answers.get("question", ("answer to", value))

        @self.sio.event
        def connect_error(data: Any) -> None:
            self.errors.append(data)

        @self.sio.event
        def disconnect(*reason: Any) -> None:
            self.disconnected.set()

    async def next(self, timeout: float = 5) -> tuple[str, tuple[Any, ...]]:
        return await asyncio.wait_for(self.events.get(), timeout)


@pytest.fixture
async def app_url(serve: Serve) -> AsyncIterator[tuple[App, str]]:
    app = App()
    url = await serve(app.server)
    yield app, url
    await app.server.shutdown()


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    made: list[Client] = []

    async def connect(url: str, transports: list[str] | None = None, **kwargs: Any) -> Client:
        client = Client()
        made.append(client)
        # python-socketio joins every namespace it has handlers for unless told otherwise
        kwargs.setdefault("namespaces", ["/"])
        await client.sio.connect(
            url, transports=transports or ["websocket"], wait_timeout=5, **kwargs
        )
        return client

    yield connect
    for client in made:
        if client.sio.connected:
            await asyncio.wait_for(client.sio.disconnect(), 5)


@pytest.mark.parametrize("transports", TRANSPORTS, ids="+".join)
async def test_connect_with_auth_emit_and_ack_both_ways(
    app_url: tuple[App, str], clients: Any, transports: list[str]
) -> None:
    app, url = app_url
    client = await clients(url, transports, auth={"token": "good"})
    assert await client.next() == ("auth", ({"token": "good"},))
    assert client.sio.get_sid() in app.server.of("/").sockets
    await client.sio.emit("message", [1, "2", {"3": [True]}])
    assert await client.next() == ("message-back", ([1, "2", {"3": [True]}],))
    assert await client.sio.call("echo", "one", timeout=5) == "one"
    assert await client.sio.call("echo", ("a", 2, None), timeout=5) == ("a", 2, None)
    # server -> client ack, awaited by the server
    assert await client.sio.call("ask", ("what", 5), timeout=5) == ("answer to", "what")
    # server -> client ack, with a callback
    await client.sio.emit("ask-callback", "why")
    assert await client.next() == ("answer-was", ("answer to", "why"))
    client.answers["question"] = ["one list"]
    assert await client.sio.call("ask", ("list?", 5), timeout=5) == ["one list"]


async def test_connect_without_auth_gets_an_empty_object(
    app_url: tuple[App, str], clients: Any
) -> None:
    _, url = app_url
    client = await clients(url)
    assert await client.next() == ("auth", ({},))


async def test_server_ack_times_out_when_the_client_never_answers(
    app_url: tuple[App, str], clients: Any
) -> None:
    _, url = app_url
    client = await clients(url)
    client.answers["silent"] = True
    assert await client.sio.call("ask", ("silent?", 0.2), timeout=5) == "timed out"


@pytest.mark.parametrize("transports", TRANSPORTS, ids="+".join)
async def test_binary_both_ways_nested(
    app_url: tuple[App, str], clients: Any, transports: list[str]
) -> None:
    _, url = app_url
    client = await clients(url, transports)
    await client.next()
    payload = {"file": b"\x00\x01\xff", "parts": [b"a", {"deep": bytearray(b"b")}], "n": 1}
    expected = {"file": b"\x00\x01\xff", "parts": [b"a", {"deep": b"b"}], "n": 1}
    assert await client.sio.call("echo", payload, timeout=5) == expected
    await client.sio.emit("message", (b"x", [b"y"]))
    assert await client.next() == ("message-back", (b"x", [b"y"]))
    client.answers["question"] = [b"binary answer", {"k": b"v"}]
    assert await client.sio.call("ask", (b"q", 5), timeout=5) == [b"binary answer", {"k": b"v"}]


async def test_namespaces_and_refusals(app_url: tuple[App, str], clients: Any) -> None:
    app, url = app_url
    client = await clients(url, namespaces=["/", "/chat"])
    assert [await client.next(), await client.next()] == [("auth", ({},))] * 2
    assert await client.sio.call("where", namespace="/chat", timeout=5) == "/chat"
    assert len(app.server.of("/chat").sockets) == 1
    assert client.sio.get_sid("/chat") != client.sio.get_sid("/")

    for namespace, error in (
        ("/private", {"message": "members only", "data": {"login": "/login"}}),
        ("/nope", {"message": "Invalid namespace"}),
    ):
        refused = Client()
        refused.sio.on("connect_error", refused.errors.append, namespace=namespace)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.sio.connect(
                url, namespaces=[namespace], transports=["websocket"], wait_timeout=5
            )
        assert refused.errors == [error]
        await refused.sio.disconnect()


async def test_middleware_refusal_reaches_connect_error_with_the_reason(
    app_url: tuple[App, str],
) -> None:
    app, url = app_url
    refused = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.sio.connect(
            url, auth={"token": "bad"}, namespaces=["/"], transports=["websocket"], wait_timeout=5
        )
    assert refused.errors == [{"message": "not authorized"}]
    assert app.server.of("/").sockets == {}
    await refused.sio.disconnect()


async def test_handler_exception_answers_an_error_and_the_connection_survives(
    app_url: tuple[App, str], clients: Any
) -> None:
    _, url = app_url
    client = await clients(url)
    other = await clients(url)
    assert await client.sio.call("boom", 1, timeout=5) == {"error": "Internal Server Error"}
    assert await client.sio.call("echo", "still here", timeout=5) == "still here"
    assert await other.sio.call("echo", "me too", timeout=5) == "me too"


async def test_rooms_and_broadcasts_with_exclusions(app_url: tuple[App, str], clients: Any) -> None:
    _app, url = app_url
    alice, bob, carol = [await clients(url) for _ in range(3)]
    for client in (alice, bob, carol):
        assert (await client.next())[0] == "auth"
    await alice.sio.call("join", "lobby", timeout=5)
    await bob.sio.call("join", "lobby", timeout=5)
    await bob.sio.call("join", "vip", timeout=5)
    assert await bob.sio.call("rooms", timeout=5) == ["lobby", "vip"]

    await alice.sio.emit("to-room", ("lobby", {"from": "alice"}))
    assert await bob.next() == ("room-message", ({"from": "alice"},))
    # the sender need not be in the room, and is never included
    await carol.sio.emit("to-room", ("lobby", b"\x01"))
    assert await alice.next() == ("room-message", (b"\x01",))
    assert await bob.next() == ("room-message", (b"\x01",))

    await alice.sio.emit("to-all", ("hello all", False))
    assert await bob.next() == ("news", ("hello all",))
    assert await carol.next() == ("news", ("hello all",))
    await carol.sio.emit("to-all", ("everyone", True))
    for client in (alice, bob, carol):
        assert await client.next() == ("news", ("everyone",))

    await bob.sio.call("leave", "lobby", timeout=5)
    await carol.sio.emit("to-room", ("lobby", "after leave"))
    assert await alice.next() == ("room-message", ("after leave",))
    # nothing else arrived anywhere: a marker sent to all shows up first
    await alice.sio.emit("to-all", ("marker", True))
    for client in (alice, bob, carol):
        assert await client.next() == ("news", ("marker",))


async def test_server_disconnect_reaches_the_client(app_url: tuple[App, str], clients: Any) -> None:
    app, url = app_url
    client = await clients(url)
    sid = client.sio.get_sid()
    await client.sio.emit("kick")
    await asyncio.wait_for(client.disconnected.wait(), 5)
    assert (sid, "server namespace disconnect") in app.disconnects
    assert app.server.of("/").sockets == {}


async def test_client_disconnect_is_reported_with_its_reason(
    app_url: tuple[App, str], clients: Any
) -> None:
    app, url = app_url
    client = await clients(url)
    sid = client.sio.get_sid()
    await client.sio.disconnect()
    for _ in range(100):
        if app.disconnects:
            break
        await asyncio.sleep(0.02)
    # python-socketio queues its DISCONNECT packet and may close the websocket before sending
    # it; socket.io reports that case as "transport close" too. The DISCONNECT packet itself is
    # covered with a raw websocket below.
    assert app.disconnects in (
        [(sid, "client namespace disconnect")],
        [(sid, "transport close")],
    )


async def test_disconnect_packet_and_transport_close_reasons(app_url: tuple[App, str]) -> None:
    app, url = app_url
    ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:
        await ws.recv()  # Engine.IO open
        await ws.send("40")
        first = orjson.loads(str(await ws.recv())[2:])["sid"]
        await ws.recv()  # auth
        await ws.send("41")
        await ws.send("40")
        second = orjson.loads(str(await ws.recv())[2:])["sid"]
        await ws.recv()  # auth
    for _ in range(100):
        if len(app.disconnects) == 2:
            break
        await asyncio.sleep(0.02)
    assert app.disconnects == [
        (first, "client namespace disconnect"),
        (second, "transport close"),
    ]
