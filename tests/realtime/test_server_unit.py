"""The realtime layer over a recording fake engine: every Socket.IO rule, no network."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from expressio.realtime import RESERVED_EVENTS, Ack, RealtimeServer, Socket, check_event_name

from .fake_engine import FakeEngineServer, FakeEngineSocket

Make = Any


def connect(engine: FakeEngineServer, namespace: str = "/", auth: str = "") -> FakeEngineSocket:
    client = engine.connect()
    prefix = "" if namespace == "/" else namespace + ","
    client.receive(f"0{prefix}{auth}")
    return client


def sid_of(message: str | bytes, namespace: str = "/") -> str:
    assert isinstance(message, str)
    prefix = "0" if namespace == "/" else f"0{namespace},"
    assert message.startswith(prefix)
    payload = orjson.loads(message[len(prefix) :])
    assert list(payload) == ["sid"]
    sid: str = payload["sid"]
    return sid


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# --- connecting ------------------------------------------------------------------------------


async def test_connect_answers_with_a_socket_id_distinct_from_the_engine_sid(
    make_server: Make,
) -> None:
    server, engine = make_server()
    seen: list[tuple[Socket, Any]] = []
    server.of("/").on_connect = lambda socket, auth: seen.append((socket, auth))
    client = connect(engine, auth='{"token":"123"}')
    (answer,) = client.take()
    sid = sid_of(answer)
    assert sid != client.sid and len(sid) == 20
    [(socket, auth)] = seen
    assert socket.id == sid and socket.connected and auth == {"token": "123"}
    assert server.of("/").sockets[sid] is socket
    assert socket.rooms == {sid}
    assert socket.handshake.auth == {"token": "123"}
    assert socket.handshake["address"] == "127.0.0.1"
    assert socket.handshake.time.tzinfo is not None
    assert socket.handshake.issued == int(socket.handshake.time.timestamp() * 1000)


async def test_connect_without_payload_gives_empty_auth(make_server: Make) -> None:
    server, engine = make_server()
    seen: list[Any] = []
    server.of("/").on_connect = lambda socket, auth: socket.emit("auth", auth)
    server.of("/custom").on_connect = lambda socket, auth: seen.append(auth)
    client = connect(engine)
    assert client.take()[1] == '2["auth",{}]'
    client.receive("0/custom,")
    sid_of(client.take()[0], "/custom")
    assert seen == [{}]


async def test_unknown_namespace_is_refused(make_server: Make) -> None:
    _, engine = make_server()
    client = connect(engine, "/random")
    assert client.take() == ['4/random,{"message":"Invalid namespace"}']
    assert not client.closed
    client.receive("0")  # the default namespace still works on the same connection
    sid_of(client.take()[0])


async def test_namespace_names_are_normalised_and_checked(make_server: Make) -> None:
    server, _ = make_server()
    assert server.of("admin") is server.of("/admin")
    assert set(server.namespaces) == {"/", "/admin"}
    with pytest.raises(ValueError):
        server.of("/a,b")


async def test_middleware_refusal_reaches_the_client_with_reason_and_data(
    make_server: Make,
) -> None:
    server, engine = make_server()
    calls: list[Any] = []

    def first(socket: Socket, auth: dict[str, Any]) -> None:
        calls.append(("first", auth))

    def second(socket: Socket, auth: dict[str, Any]) -> None:
        if auth.get("token") != "good":
            raise ConnectionRefusedError("not authorized", {"hint": "token"})

    server.of("/").use(first)
    server.of("/").use(second)
    connected: list[Socket] = []
    server.of("/").on_connect = lambda socket, auth: connected.append(socket)
    client = connect(engine, auth='{"token":"bad"}')
    assert client.take() == ['4{"message":"not authorized","data":{"hint":"token"}}']
    assert connected == [] and server.of("/").sockets == {}
    client.receive('0{"token":"good"}')
    sid_of(client.take()[0])
    assert len(connected) == 1
    assert calls == [("first", {"token": "bad"}), ("first", {"token": "good"})]


async def test_async_middleware_and_refusal_without_a_reason(make_server: Make) -> None:
    server, engine = make_server()
    order: list[str] = []

    async def slow(socket: Socket, auth: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        order.append("slow")

    def then(socket: Socket, auth: dict[str, Any]) -> None:
        order.append("then")
        if auth.get("refuse"):
            raise ConnectionRefusedError()

    server.of("/").use(slow)
    server.of("/").use(then)
    client = connect(engine)
    assert client.take() == []
    await asyncio.sleep(0.05)
    sid_of(client.take()[0])
    assert order == ["slow", "then"]
    other = connect(engine, auth='{"refuse":true}')
    await asyncio.sleep(0.05)
    assert other.take() == ['4{"message":"Connection refused"}']


async def test_middleware_bug_is_logged_and_refused_generically(
    make_server: Make, caplog: pytest.LogCaptureFixture
) -> None:
    server, engine = make_server()
    server.of("/").use(lambda socket, auth: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="expressio"):
        client = connect(engine)
    assert client.take() == ['4{"message":"Internal Server Error"}']
    assert "ZeroDivisionError" in caplog.text


async def test_connect_timeout_closes_a_silent_connection(make_server: Make) -> None:
    _, engine = make_server(connect_timeout=0.02)
    silent = engine.connect()
    joined = connect(engine)
    await asyncio.sleep(0.1)
    assert silent.closed
    assert not joined.closed


async def test_a_packet_before_any_connect_closes_the_connection(make_server: Make) -> None:
    _, engine = make_server()
    client = engine.connect()
    client.receive('2["hello"]')
    assert client.closed and client.close_reason == "parse error"


# --- events and acks from the client ---------------------------------------------------------


async def test_event_reaches_its_handler_and_the_return_value_answers_the_ack(
    make_server: Make,
) -> None:
    server, engine = make_server()
    received: list[tuple[Any, ...]] = []
    root = server.of("/")
    root.on("message", lambda socket, *args: received.append(args))
    root.on("echo", lambda socket, *args: args)
    root.on("one", lambda socket, value: [value])
    root.on("none", lambda socket: None)
    client = connect(engine)
    client.take()
    client.receive('2["message",1,"2",{"3":[true]}]')
    assert received == [(1, "2", {"3": [True]})]
    client.receive('2456["echo",1,"2",{"3":[false]}]', '27["one",5]', '28["none"]')
    assert client.take() == ['3456[1,"2",{"3":[false]}]', "37[[5]]", "38[]"]


async def test_async_handler_answers_when_it_finishes(make_server: Make) -> None:
    server, engine = make_server()

    async def slow_double(socket: Socket, value: int) -> int:
        await asyncio.sleep(0.01)
        return value * 2

    server.of("/").on("double", slow_double)
    client = connect(engine)
    client.take()
    client.receive('21["double",21]')
    assert client.take() == []
    await asyncio.sleep(0.05)
    assert client.take() == ["31[42]"]


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_handler_exception_answers_an_error_ack_and_the_connection_lives_on(
    make_server: Make, caplog: pytest.LogCaptureFixture, asynchronous: bool
) -> None:
    server, engine = make_server()
    root = server.of("/")
    if asynchronous:

        async def broken(socket: Socket) -> None:
            raise RuntimeError("boom")

        root.on("broken", broken)
    else:
        root.on("broken", lambda socket: 1 / 0)
    root.on("ok", lambda socket: "fine")
    client = connect(engine)
    client.take()
    with caplog.at_level(logging.ERROR, logger="expressio"):
        client.receive('23["broken"]', '24["broken"]', '2["broken"]')
        await settle()
    assert client.take() == [
        '33[{"error":"Internal Server Error"}]',
        '34[{"error":"Internal Server Error"}]',
    ]
    assert ("RuntimeError" if asynchronous else "ZeroDivisionError") in caplog.text
    assert "Traceback" in caplog.text
    assert not client.closed
    client.receive('25["ok"]')
    await settle()
    assert client.take() == ['35["fine"]']


async def test_a_return_value_json_cannot_carry_is_an_error_ack(make_server: Make) -> None:
    server, engine = make_server()
    server.of("/").on("weird", lambda socket: object())
    client = connect(engine)
    client.take()
    client.receive('29["weird"]')
    assert client.take() == ['39[{"error":"Internal Server Error"}]']


async def test_dispatch_hook_receives_every_event_and_an_ack_object(make_server: Make) -> None:
    server, engine = make_server()
    seen: list[tuple[str, list[Any], Ack | None]] = []

    def dispatch(socket: Socket, event: str, args: list[Any], ack: Ack | None) -> None:
        seen.append((event, args, ack))
        if ack is not None:
            ack("answer", 2)
            ack("ignored")

    root = server.of("/")
    root.on("ping", lambda socket: "from the table")
    root.dispatch = dispatch
    client = connect(engine)
    client.take()
    client.receive('2["ping",1]', '211["ping"]')
    assert [(event, args) for event, args, _ in seen] == [("ping", [1]), ("ping", [])]
    assert seen[0][2] is None and seen[1][2] is not None and seen[1][2].answered
    assert client.take() == ['311["answer",2]']


async def test_binary_from_the_client_arrives_as_bytes_and_goes_back_as_attachments(
    make_server: Make,
) -> None:
    server, engine = make_server()
    root = server.of("/")
    root.on("message", lambda socket, *args: socket.emit("message-back", *args))
    root.on("message-with-ack", lambda socket, *args: args)
    client = connect(engine)
    client.take()
    header = '["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    client.receive("52-" + header, b"\x01\x02\x03", b"\x04\x05\x06")
    assert client.take() == [
        '52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01\x02\x03",
        b"\x04\x05\x06",
    ]
    client.receive(
        '52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01",
        b"\x02",
    )
    assert client.take() == [
        '62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01",
        b"\x02",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        "2{}",
        '2abc["message-with-ack",1]',
        "2[]",
        '5["x"]',
        b"\x00",
        '0/admin,"token"',
        '4{"message":"client cannot refuse"}',
    ],
)
async def test_malformed_input_closes_only_that_connection(
    make_server: Make, bad: str | bytes
) -> None:
    server, engine = make_server()
    reasons: list[str] = []
    server.of("/").on_disconnect = lambda socket, reason: reasons.append(reason)
    server.of("/").on("message", lambda socket, *args: args)
    bystander = connect(engine)
    client = connect(engine)
    client.receive(bad)
    assert client.closed and client.close_reason == "parse error"
    assert reasons == ["parse error"]
    bystander.take()
    bystander.receive('21["message",1]')
    assert bystander.take() == ["31[1]"]


async def test_client_disconnect_from_one_namespace_keeps_the_others(make_server: Make) -> None:
    server, engine = make_server()
    reasons: list[tuple[str, str]] = []
    root, custom = server.of("/"), server.of("/custom")
    root.on_disconnect = lambda socket, reason: reasons.append(("/", reason))
    custom.on_disconnect = lambda socket, reason: reasons.append(("/custom", reason))
    root.on("message", lambda socket, *args: socket.emit("message-back", *args))
    client = connect(engine)
    client.receive("0/custom")
    client.take()
    client.receive("1/custom", '2["message","message to main namespace"]')
    assert client.take() == ['2["message-back","message to main namespace"]']
    assert reasons == [("/custom", "client namespace disconnect")]
    assert custom.sockets == {} and len(root.sockets) == 1
    client.receive("1")
    assert reasons[-1] == ("/", "client namespace disconnect")
    assert not client.closed  # the engine connection stays up, as in socket.io
    client.receive('2["message","after"]')  # for a namespace it left: ignored
    assert client.take() == []


async def test_transport_close_disconnects_every_socket_with_the_engine_reason(
    make_server: Make,
) -> None:
    server, engine = make_server()
    reasons: list[str] = []
    for name in ("/", "/custom"):
        server.of(name).on_disconnect = lambda socket, reason: reasons.append(reason)
    client = connect(engine)
    client.receive("0/custom,")
    client.drop("ping timeout")
    assert reasons == ["ping timeout", "ping timeout"]
    assert server.of("/").sockets == {} and server.of("/custom").sockets == {}


async def test_a_second_connect_to_the_same_namespace_replaces_the_socket(
    make_server: Make,
) -> None:
    server, engine = make_server()
    reasons: list[str] = []
    server.of("/").on_disconnect = lambda socket, reason: reasons.append(reason)
    client = connect(engine)
    first = sid_of(client.take()[0])
    client.receive("0")
    second = sid_of(client.take()[0])
    assert first != second and list(server.of("/").sockets) == [second]
    assert reasons == ["client namespace disconnect"]


# --- the server's side ----------------------------------------------------------------------


async def test_server_disconnect_sends_disconnect_and_can_close_the_connection(
    make_server: Make,
) -> None:
    server, engine = make_server()
    reasons: list[str] = []
    server.of("/custom").on_disconnect = lambda socket, reason: reasons.append(reason)
    client = connect(engine, "/custom")
    socket = next(iter(server.of("/custom").sockets.values()))
    client.take()
    socket.disconnect()
    assert client.take() == ["1/custom,"]
    assert reasons == ["server namespace disconnect"] and not socket.connected
    assert not client.closed
    socket.emit("late")  # a disconnected socket drops what it is asked to send
    assert client.take() == []
    client.receive("0")
    root_socket = next(iter(server.of("/").sockets.values()))
    client.take()
    root_socket.disconnect(close=True)
    assert client.take() == ["1"]
    assert client.closed


async def test_emit_refuses_reserved_names_and_unencodable_values(make_server: Make) -> None:
    server, engine = make_server()
    connect(engine)
    socket = next(iter(server.of("/").sockets.values()))
    for name in ("connect", "disconnect", "connect_error", "disconnecting", "newListener"):
        with pytest.raises(ValueError):
            socket.emit(name)
        with pytest.raises(ValueError):
            server.of("/").emit(name)
    with pytest.raises(TypeError):
        socket.emit("x", object())


async def test_server_to_client_acks_with_callback_and_awaitable(make_server: Make) -> None:
    server, engine = make_server()
    custom = server.of("/custom")
    client = connect(engine, "/custom")
    socket = next(iter(custom.sockets.values()))
    client.take()
    answers: list[tuple[Any, ...]] = []
    socket.emit("question", 1, callback=lambda *args: answers.append(args))
    socket.emit("question", b"\x07", callback=lambda *args: answers.append(args))
    assert client.take() == [
        '2/custom,0["question",1]',
        '51-/custom,1["question",{"_placeholder":true,"num":0}]',
        b"\x07",
    ]
    client.receive('3/custom,1["b"]', '61-/custom,0["a",{"_placeholder":true,"num":0}]', b"\xff")
    assert answers == [("b",), ("a", b"\xff")]

    waiting = asyncio.ensure_future(socket.emit_with_ack("q", timeout=5))
    await settle()
    assert client.take() == ['2/custom,2["q"]']
    client.receive('3/custom,2["x",2]')
    assert await waiting == ("x", 2)
    for reply, value in (("[]", None), ('["one"]', "one")):
        waiting = asyncio.ensure_future(socket.emit_with_ack("q", timeout=5))
        await settle()
        (sent,) = client.take()
        ack_id = str(sent).split("[")[0].removeprefix("2/custom,")
        client.receive(f"3/custom,{ack_id}{reply}")
        assert await waiting == value


async def test_emit_with_ack_times_out_and_a_late_ack_is_harmless(make_server: Make) -> None:
    server, engine = make_server()
    client = connect(engine)
    socket = next(iter(server.of("/").sockets.values()))
    with pytest.raises(TimeoutError):
        await socket.emit_with_ack("q", timeout=0.02)
    client.receive('30["too late"]')
    assert not client.closed


async def test_an_ack_for_an_id_never_sent_closes_the_connection(make_server: Make) -> None:
    _server, engine = make_server()
    client = connect(engine)
    client.receive('35["never asked"]')
    assert client.closed and client.close_reason == "parse error"


async def test_async_ack_callback_runs_as_a_task(make_server: Make) -> None:
    server, engine = make_server()
    client = connect(engine)
    socket = next(iter(server.of("/").sockets.values()))
    got: list[Any] = []

    async def callback(value: Any) -> None:
        await asyncio.sleep(0)
        got.append(value)

    socket.emit("q", callback=callback)
    client.receive('30["v"]')
    await settle()
    assert got == ["v"]


# --- rooms and broadcast -----------------------------------------------------------------------


def sockets_of(server: RealtimeServer, name: str = "/") -> list[Socket]:
    return list(server.of(name).sockets.values())


async def test_rooms_index_join_leave_and_cleanup(make_server: Make) -> None:
    server, engine = make_server()
    clients = [connect(engine) for _ in range(3)]
    a, b, c = sockets_of(server)
    a.join("lobby")
    b.join("lobby")
    b.join("vip")
    assert a.rooms == {a.id, "lobby"} and b.rooms == {b.id, "lobby", "vip"}
    adapter = server.of("/").adapter
    assert adapter.sockets_in(["lobby"]) == {a.id, b.id}
    assert adapter.sockets_in(["lobby", "vip", c.id]) == {a.id, b.id, c.id}
    b.leave("vip")
    assert adapter.sockets_in(["vip"]) == set()
    clients[0].drop()
    assert adapter.sockets_in(["lobby"]) == {b.id}
    assert adapter.rooms_of(a.id) == set()
    assert "vip" not in adapter.room_names  # type: ignore[attr-defined]


async def test_broadcasts_to_all_rooms_and_with_exclusions_encode_and_prepare_once(
    make_server: Make,
) -> None:
    server, engine = make_server()
    clients = [connect(engine) for _ in range(4)]
    for client in clients:
        client.take()
    other = connect(engine, "/custom")  # another namespace hears nothing
    other.take()
    a, b, c, d = sockets_of(server)
    a.join("lobby")
    b.join("lobby")
    c.join("vip")
    root = server.of("/")

    root.emit("all", 1)
    assert [client.take() for client in clients] == [['2["all",1]']] * 4
    assert len(engine.prepared) == 1
    assert all(client.prepared_received[-1] is engine.prepared[0] for client in clients)

    root.emit("lobby", to="lobby", skip=a.id)
    root.emit("two rooms", to=["lobby", "vip"], skip=[b.id, c.id])
    root.emit("bin", b"\x01", to={"vip", d.id})
    assert clients[0].take() == ['2["two rooms"]']
    assert clients[1].take() == ['2["lobby"]']
    assert clients[2].take() == ['51-["bin",{"_placeholder":true,"num":0}]', b"\x01"]
    assert clients[3].take() == ['51-["bin",{"_placeholder":true,"num":0}]', b"\x01"]
    assert other.take() == []
    root.emit("nobody", to="empty room")
    assert len(engine.prepared) == 1 + 1 + 1 + 2  # nothing prepared for no recipient


async def test_shutdown_disconnects_everyone_with_the_shutdown_reason(make_server: Make) -> None:
    server, engine = make_server()
    reasons: list[str] = []
    server.of("/").on_disconnect = lambda socket, reason: reasons.append(reason)
    clients = [connect(engine) for _ in range(2)]
    await server.shutdown()
    assert reasons == ["server shutting down"] * 2
    assert engine.shut_down == "server shutting down"
    assert all(client.closed for client in clients)


def test_one_list_of_reserved_event_names_for_every_layer() -> None:
    for name in ("error", "message", "disconnecting", "reconnect", "newListener"):
        with pytest.raises(ValueError, match="reserved"):
            check_event_name(name)
    check_event_name("chat")
    with pytest.raises(TypeError):
        check_event_name(42)  # type: ignore[arg-type]
    assert len(RESERVED_EVENTS) == 13


async def test_unanswered_acks_are_bounded_per_socket(make_server: Make) -> None:
    from expressio.realtime.socket import MAX_PENDING_ACKS

    server, engine = make_server()
    client = connect(engine)
    socket = next(iter(server.of("/").sockets.values()))
    answered: list[int] = []
    for index in range(MAX_PENDING_ACKS + 5):
        socket.emit("q", callback=lambda *args, index=index: answered.append(index))
    assert socket.pending_acks == MAX_PENDING_ACKS
    client.receive('30["late for the first"]')  # its wait was given up: ignored, harmless
    client.receive(f'3{MAX_PENDING_ACKS + 4}["the newest"]')
    assert answered == [MAX_PENDING_ACKS + 4]
    assert not client.closed
