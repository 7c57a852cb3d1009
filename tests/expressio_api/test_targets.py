"""Socket.IO 4 targeting on one process, with python-socketio clients and raw websockets:
several rooms and exclusions, broadcasts with acks, fetch_sockets and its views, room-level
join/leave/disconnect, volatile packets under backpressure, req.socket.data and server-side
messages, plus the bad input each of them refuses."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import expressio
from expressio.io.targets import FetchSocketsLimitError
from tests.socket_clients import SLOW, WAIT, Client, Connect, clients

from .conftest import run_node, served

#: what routes recorded, for assertions the clients cannot see
RECORDS: dict[str, Any] = {}


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    app.use(expressio.json())

    @app.io.use
    def remember_user(handshake: Any) -> None:
        # Middleware may leave per-connection values in the socket's data dict.
        user = handshake.auth.get("user")
        if user is not None:
            handshake.socket_data["user"] = user

    @app.io.route("join")
    def join(req: Any) -> None:
        for room in req.data:
            req.io.join(room)
        req.io.respond(sorted(req.socket.rooms))

    @app.io.route("select")
    def select(req: Any) -> None:
        spec = req.data
        target: Any = req.io if spec.get("from_sender") else app.io
        if spec.get("rooms"):
            target = target.room(*spec["rooms"])
        if spec.get("excluding"):
            target = target.excluding(*spec["excluding"])
        if spec.get("then_rooms"):
            target = target.room(*spec["then_rooms"])
        target.broadcast("selected", spec["tag"])
        req.io.respond("sent")

    @app.io.route("ask")
    async def ask(req: Any) -> None:
        spec = req.data
        target: Any = req.io if spec.get("from_sender") else app.io
        if spec.get("rooms"):
            target = target.room(*spec["rooms"])
        started = time.monotonic()
        answers = await target.broadcast_with_ack("question", spec["q"], timeout=spec["timeout"])
        req.io.respond({"answers": answers, "took": time.monotonic() - started})

    @app.io.route("ask-from-thread", blocking=True)
    def ask_from_thread(req: Any) -> None:
        pending = app.io.broadcast_with_ack("question", req.data["q"], timeout=req.data["timeout"])
        req.io.respond({"answers": pending.result(10)})

    @app.io.route("ask-forwarded")
    async def ask_forwarded(req: Any) -> None:
        # Forwarded from HTTP: req.io has no socket, so its broadcast reaches everyone.
        answers = await req.io.broadcast_with_ack("question", req.data["q"], timeout=2.0)
        req.io.respond(answers)

    @app.post("/ask")
    def ask_over_http(req: Any, res: Any) -> None:
        req.io.route("ask-forwarded")

    @app.post("/ask-direct")
    async def ask_directly(req: Any, res: Any) -> Any:
        return await app.io.broadcast_with_ack("question", req.body["q"], timeout=2.0)

    @app.io.route("fetch")
    async def fetch(req: Any) -> None:
        rooms = req.data or []
        target = app.io.room(*rooms) if rooms else app.io
        views = await target.fetch_sockets()
        RECORDS["fetched"] = views
        req.io.respond(
            sorted(
                (
                    {
                        "id": view.id,
                        "rooms": sorted(view.rooms),
                        "data": dict(view.data),
                        "user": view.handshake.auth.get("user"),
                    }
                    for view in views
                ),
                key=lambda item: item["id"],
            )
        )

    @app.io.route("handshake-is-mine")
    def handshake_is_mine(req: Any) -> None:
        views = {view.id: view for view in RECORDS["fetched"]}
        view = views[req.socket.id]
        req.io.respond(view.handshake is req.handshake and view.data is req.socket.data)

    @app.io.route("act-on-fetched")
    async def act_on_fetched(req: Any) -> None:
        action = req.data["action"]
        for view in await app.io.room(req.data["room"]).fetch_sockets():
            if action == "emit":
                view.emit("direct", view.id)
            elif action == "join":
                view.join("joined-by-view")
            elif action == "leave":
                view.leave(req.data["room"])
            elif action == "disconnect":
                view.disconnect()
        req.io.respond("done")

    @app.io.route("room-op")
    def room_op(req: Any) -> None:
        spec = req.data
        target = app.io.room(spec["room"])
        if spec["op"] == "join":
            target.join(spec["other"])
        elif spec["op"] == "leave":
            target.leave(spec["other"])
        else:
            target.disconnect()
        # Takes effect at once, in call order: a broadcast right after sees it.
        if spec.get("then_broadcast"):
            app.io.room(spec["then_broadcast"]).broadcast("after-op", spec["op"])
        req.io.respond("done")

    @app.io.route("rooms")
    def rooms(req: Any) -> None:
        req.io.respond(sorted(req.socket.rooms))

    @app.io.route("set-data")
    def set_data(req: Any) -> None:
        req.socket.data[req.data["key"]] = req.data["value"]

    @app.io.route("get-data")
    def get_data(req: Any) -> None:
        req.io.respond(req.socket.data)

    @app.io.route("server-side")
    async def server_side(req: Any) -> None:
        app.io.server_side_emit("hello", 1, 2)
        req.io.respond(await app.io.server_side_emit_with_ack("count", timeout=1.0))

    @app.io.route("volatile-burst")
    async def volatile_burst(req: Any) -> None:
        padding = "x" * req.data["size"]
        for index in range(req.data["count"]):
            app.io.volatile.broadcast("v", {"i": index, "pad": padding})
            # Paced by the requester: once it acks, it has read everything sent before, so
            # its connection can take the next packet; a client that reads nothing cannot.
            await req.io.emit_with_ack("step", index, timeout=30.0)
        req.io.respond("done")

    @app.io.route("volatile-self")
    def volatile_self(req: Any) -> None:
        req.io.volatile.emit("self", "one")
        req.io.respond("done")

    @app.io.route("bad-input")
    async def bad_input(req: Any) -> None:
        kind = req.data
        try:
            if kind == "unencodable":
                app.io.broadcast_with_ack("question", {1, 2})
            elif kind == "reserved":
                app.io.broadcast_with_ack("disconnect", 1)
            elif kind == "zero-timeout":
                app.io.broadcast_with_ack("question", 1, timeout=0)
            elif kind == "negative-timeout":
                req.io.room("r").broadcast_with_ack("question", 1, timeout=-1)
            elif kind == "reserved-server-side":
                app.io.server_side_emit("connect")
            elif kind == "reserved-server-route":
                app.io.server_side_route("error", lambda: None)
            elif kind == "room-not-str":
                app.io.room(3)
            elif kind == "over-limit":
                await app.io.fetch_sockets()
        except Exception as error:
            req.io.respond({"raised": type(error).__name__, "message": str(error)})
            return
        req.io.respond({"raised": None})

    return app


@pytest.fixture(scope="module")
def app() -> expressio.Application:
    return make_app()


@pytest.fixture(scope="module")
def url(app: expressio.Application) -> Iterator[str]:
    with served(app) as base_url:
        yield base_url


@pytest.fixture
async def connect(url: str) -> Any:
    async with clients(url) as open_client:
        yield open_client


@pytest.fixture
async def fresh() -> Any:
    """An app of its own, for a test that targets every client (no other test's clients)."""
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as open_client:
            yield app, base_url, open_client


async def joined(connect: Connect, *rooms: str, **options: Any) -> Client:
    client = await connect(**options)
    await client.call("join", list(rooms))
    return client


async def nothing_more(client: Client, event: str, count: int) -> None:
    """``client`` received exactly ``count`` ``event`` (after a moment for strays)."""
    await asyncio.sleep(0.2)
    assert len(client.inbox.of(event)) == count, client.inbox.received


# -- selectors -----------------------------------------------------------------------------------


async def test_several_rooms_reach_each_member_once(connect: Connect) -> None:
    both = await joined(connect, "a", "b")
    only_a = await joined(connect, "a")
    only_b = await joined(connect, "b")
    neither = await joined(connect, "c")
    sender = await connect()
    assert await sender.call("select", {"rooms": ["a", "b"], "tag": "ab"}) == "sent"
    for client in (both, only_a, only_b):
        assert await client.inbox.wait_for("selected") == ["ab"]
    for client in (both, only_a, only_b, neither, sender):
        await nothing_more(client, "selected", 0 if client in (neither, sender) else 1)


async def test_excluding_and_chained_rooms(connect: Connect) -> None:
    in_a = await joined(connect, "x-a")
    in_a_and_b = await joined(connect, "x-a", "x-b")
    in_c = await joined(connect, "x-c")
    in_c_and_b = await joined(connect, "x-c", "x-b")
    sender = await connect()
    # to("a").except("b").to("c"): rooms a and c, minus b, as socket.io composes them.
    spec = {"rooms": ["x-a"], "excluding": ["x-b"], "then_rooms": ["x-c"], "tag": "chain"}
    await sender.call("select", spec)
    assert await in_a.inbox.wait_for("selected") == ["chain"]
    assert await in_c.inbox.wait_for("selected") == ["chain"]
    await nothing_more(in_a_and_b, "selected", 0)
    await nothing_more(in_c_and_b, "selected", 0)


async def test_excluding_from_everyone_and_from_the_sender(connect: Connect) -> None:
    muted = await joined(connect, "muted")
    other = await connect()
    sender = await joined(connect, "x")
    await sender.call("select", {"excluding": ["muted"], "tag": "all-but-muted"})
    assert await other.inbox.wait_for("selected") == ["all-but-muted"]
    assert await sender.inbox.wait_for("selected") == ["all-but-muted"]
    await nothing_more(muted, "selected", 0)
    # req.io already leaves the sender out; excluding adds to it. A socket id is a room.
    spec = {"from_sender": True, "excluding": [muted.sid], "tag": "from-sender"}
    await sender.call("select", spec)
    assert await other.inbox.wait_for("selected", 2) == ["all-but-muted", "from-sender"]
    await nothing_more(sender, "selected", 1)
    await nothing_more(muted, "selected", 0)


# -- broadcast_with_ack --------------------------------------------------------------------------


async def test_broadcast_with_ack_resolves_when_everyone_answered(connect: Connect) -> None:
    first = await joined(connect, "quiz", answers={"question": "one"})
    second = await joined(connect, "quiz", answers={"question": ["two", 2]})
    asker = await connect(answers={"question": "me"})
    result = await asker.call("ask", {"rooms": ["quiz"], "q": "?", "timeout": 4.0})
    assert sorted(map(str, result["answers"])) == ["['two', 2]", "one"]
    assert result["took"] < 3.0  # resolved by the answers, not by the timeout
    assert first.inbox.of("question") == ["?"] and second.inbox.of("question") == ["?"]


async def test_broadcast_with_ack_keeps_what_arrived_at_the_timeout(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    await joined(connect, "slow-quiz", answers={"question": "quick"})
    await joined(connect, "slow-quiz", answers={"question": SLOW})  # answers after 1 s
    asker = await connect()
    with caplog.at_level("WARNING", logger="expressio.io"):
        result = await asker.call("ask", {"rooms": ["slow-quiz"], "q": "?", "timeout": 0.4})
    assert result["answers"] == ["quick"]
    assert 0.3 < result["took"] < 0.95
    assert "1 of 2 clients did not answer" in caplog.text


async def test_broadcast_with_ack_from_the_sender_leaves_it_out(connect: Connect) -> None:
    await joined(connect, "pair", answers={"question": "other"})
    asker = await joined(connect, "pair", answers={"question": "me"})
    spec = {"from_sender": True, "rooms": ["pair"], "q": "?", "timeout": 2.0}
    result = await asker.call("ask", spec)
    assert result["answers"] == ["other"]


async def test_broadcast_with_ack_with_nobody_targeted_is_empty_at_once(connect: Connect) -> None:
    asker = await connect()
    result = await asker.call("ask", {"rooms": ["empty-room"], "q": "?", "timeout": 4.0})
    assert result["answers"] == []
    assert result["took"] < 1.0


async def test_broadcast_with_ack_from_a_worker_thread(fresh: Any) -> None:
    _, _, connect = fresh
    answerer = await connect(answers={"question": 7})
    asker = await connect(answers={"question": 8})
    result = await asker.call("ask-from-thread", {"q": "?", "timeout": 2.0})
    assert sorted(result["answers"]) == [7, 8]
    assert answerer.inbox.of("question") == ["?"]


async def test_broadcast_with_ack_from_http(fresh: Any) -> None:
    _, url, connect = fresh
    await connect(answers={"question": "a"})
    await connect(answers={"question": "b"})
    async with httpx.AsyncClient(base_url=url) as http:
        forwarded = await http.post("/ask", json={"q": "?"})
        direct = await http.post("/ask-direct", json={"q": "?"})
    assert forwarded.status_code == 200 and sorted(forwarded.json()) == ["a", "b"]
    assert direct.status_code == 200 and sorted(direct.json()) == ["a", "b"]


# -- fetch_sockets -------------------------------------------------------------------------------


async def test_fetch_sockets_and_their_views(connect: Connect) -> None:
    alice = await joined(connect, "fetch-room", auth={"user": "alice"})
    bob = await joined(connect, "fetch-room", "extra")
    await bob.emit("set-data", {"key": "color", "value": "blue"})
    outsider = await connect()
    views = await outsider.call("fetch", ["fetch-room"])
    assert [view["id"] for view in views] == sorted([alice.sid, bob.sid])
    by_id = {view["id"]: view for view in views}
    assert by_id[alice.sid]["rooms"] == sorted([alice.sid, "fetch-room"])
    assert by_id[alice.sid]["data"] == {"user": "alice"}  # set by the handshake middleware
    assert by_id[alice.sid]["user"] == "alice"
    assert by_id[bob.sid]["rooms"] == sorted([bob.sid, "fetch-room", "extra"])
    assert by_id[bob.sid]["data"] == {"color": "blue"}
    assert await alice.call("handshake-is-mine") is True

    await outsider.call("act-on-fetched", {"room": "fetch-room", "action": "emit"})
    assert await alice.inbox.wait_for("direct") == [alice.sid]
    assert await bob.inbox.wait_for("direct") == [bob.sid]
    await outsider.call("act-on-fetched", {"room": "fetch-room", "action": "join"})
    assert "joined-by-view" in await alice.call("rooms")
    await outsider.call("act-on-fetched", {"room": "extra", "action": "leave"})
    assert "extra" not in await bob.call("rooms")
    await outsider.call("act-on-fetched", {"room": "fetch-room", "action": "disconnect"})
    for client in (alice, bob):
        await _disconnected(client)
    assert outsider.sio.connected


async def _disconnected(client: Client) -> None:
    deadline = time.monotonic() + WAIT
    while client.namespace in client.sio.namespaces and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert client.namespace not in client.sio.namespaces, "the client is still connected"


async def test_fetch_sockets_over_the_limit_raises(fresh: Any) -> None:
    app, _, connect = fresh
    first = await connect()
    await connect()
    app.io.set("fetch sockets limit", 1)
    try:
        answer = await first.call("bad-input", "over-limit")
    finally:
        app.io.set("fetch sockets limit", 10_000)
    assert answer["raised"] == FetchSocketsLimitError.__name__
    assert "fetch sockets limit" in answer["message"]
    assert first.sio.connected
    with pytest.raises(ValueError):
        app.io.set("fetch sockets limit", 0)


# -- room-level join, leave, disconnect ----------------------------------------------------------


async def test_room_join_leave_and_disconnect(connect: Connect) -> None:
    one = await joined(connect, "ops")
    two = await joined(connect, "ops")
    other = await connect()
    admin = await connect()
    await admin.call("room-op", {"room": "ops", "op": "join", "other": "ops2",
                                 "then_broadcast": "ops2"})
    # The join took effect before the broadcast made right after it.
    assert await one.inbox.wait_for("after-op") == ["join"]
    assert await two.inbox.wait_for("after-op") == ["join"]
    assert "ops2" in await one.call("rooms")
    await nothing_more(other, "after-op", 0)
    await admin.call("room-op", {"room": "ops", "op": "leave", "other": "ops2",
                                 "then_broadcast": "ops2"})
    assert "ops2" not in await two.call("rooms")
    await nothing_more(one, "after-op", 1)
    await admin.call("room-op", {"room": "ops", "op": "disconnect"})
    await _disconnected(one)
    await _disconnected(two)
    assert other.sio.connected and admin.sio.connected


# -- socket.data, server-side messages -----------------------------------------------------------


async def test_socket_data_lasts_across_events(connect: Connect) -> None:
    client = await connect()
    other = await connect()
    await client.emit("set-data", {"key": "score", "value": 1})
    await client.emit("set-data", {"key": "name", "value": "ann"})
    assert await client.call("get-data") == {"score": 1, "name": "ann"}
    assert await other.call("get-data") == {}


async def test_server_side_emit_with_ack_is_empty_with_one_process(connect: Connect) -> None:
    client = await connect()
    assert await client.call("server-side") == []


async def test_server_side_route_answers_another_process(app: expressio.Application) -> None:
    # What a cross-process adapter does on receiving: the route's return value is the answer.
    answers: list[Any] = []

    @app.io.server_side_route("count")
    async def count(*args: Any) -> Any:
        return {"args": list(args)}

    namespace = app.io.server.of("/")
    namespace.on_server_side(["count", 1, "two"], answers.append)
    namespace.on_server_side(["nobody-listens"], answers.append)
    deadline = time.monotonic() + WAIT
    while len(answers) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert sorted(answers, key=str) == sorted([{"args": [1, "two"]}, None], key=str)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("unencodable", "TypeError"),
        ("reserved", "ValueError"),
        ("zero-timeout", "ValueError"),
        ("negative-timeout", "ValueError"),
        ("reserved-server-side", "ValueError"),
        ("reserved-server-route", "ValueError"),
        ("room-not-str", "TypeError"),
    ],
)
async def test_bad_input_raises_in_the_caller(connect: Connect, kind: str, error: str) -> None:
    client = await connect()
    bystander = await connect()
    answer = await client.call("bad-input", kind)
    assert answer["raised"] == error, answer
    assert client.sio.connected and bystander.sio.connected
    assert bystander.inbox.of("question") == []


def test_bad_input_from_outside_a_route(app: expressio.Application) -> None:
    with pytest.raises(TypeError):
        app.io.room("ok").broadcast_with_ack("question", object())
    with pytest.raises(ValueError):
        app.io.broadcast_with_ack("question", 1, timeout=0.0)
    with pytest.raises(TypeError):
        app.io.broadcast_with_ack("question", 1, timeout="5")
    with pytest.raises(TypeError):
        app.io.excluding()
    with pytest.raises(TypeError):
        app.io.server_side_route("")


# -- volatile ------------------------------------------------------------------------------------

UPGRADE = (
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)


def masked_text(text: str) -> bytes:
    """A client text frame with a zero mask key (valid, and leaves the payload as it is)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload), 0, 0, 0, 0]) + payload


def read_frame(sock: socket.socket) -> bytes:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed mid-frame")
            data += chunk
        return data

    _, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(8))[0]
    return exactly(length)


def stalled_client(url: str) -> socket.socket:
    """A Socket.IO client on a raw websocket that joins ``/`` and then reads nothing."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(UPGRADE.format(port=port, key=key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert read_frame(sock).startswith(b"0{")  # Engine.IO open
    sock.sendall(masked_text("40"))
    assert read_frame(sock).startswith(b"40{")  # Socket.IO CONNECT answered
    return sock


def drain(sock: socket.socket) -> list[bytes]:
    """Every frame the stalled client can still read, until a quiet half second."""
    sock.settimeout(0.5)
    frames = []
    try:
        while True:
            frames.append(read_frame(sock))
    except (TimeoutError, ConnectionError):
        pass
    return frames


async def test_volatile_packets_are_dropped_for_a_client_that_stopped_reading(
    fresh: Any,
) -> None:
    app, url, connect = fresh
    # A send buffer of 20 packets: had the volatile packets queued for the stalled client,
    # the slow-client policy would have closed it.
    app.io.set("max send buffer", 20)
    stalled = await asyncio.to_thread(stalled_client, url)
    try:
        reader = await connect()
        count, size = 300, 40_000
        burst = {"count": count, "size": size}
        assert await reader.sio.call("volatile-burst", burst, timeout=60) == "done"
        assert [item["i"] for item in reader.inbox.of("v")] == list(range(count))
        # The stalled client now reads what reached it: far from everything, no backlog.
        frames = await asyncio.to_thread(drain, stalled)
        volatile = [frame for frame in frames if frame.startswith(b'42["v"')]
        assert 0 < len(volatile) < count // 2, len(volatile)
        # ... and it is still connected: a plain broadcast reaches it.
        app.io.broadcast("after", 1)
        frames = await asyncio.to_thread(drain, stalled)
        assert b'42["after",1]' in frames, frames[-3:]
    finally:
        stalled.close()


async def test_volatile_emit_to_a_connected_client_arrives(connect: Connect) -> None:
    client = await connect()
    assert await client.call("volatile-self") == "done"
    assert await client.inbox.wait_for("self") == ["one"]


# -- the official Node client --------------------------------------------------------------------

NODE_MODES = {"websocket-only": "websocket", "polling-then-upgrade": "polling,websocket"}


@pytest.fixture(scope="module")
def node_results() -> Iterator[Any]:
    cache: dict[str, dict[str, dict[str, Any]]] = {}
    with served(make_app()) as url:  # its own app: no other test's clients around

        def results_for(mode: str) -> dict[str, dict[str, Any]]:
            if mode not in cache:
                cache[mode] = run_node("targets_client.mjs", url, "--transports", NODE_MODES[mode])
            return cache[mode]

        yield results_for


def node_step(results: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    assert name in results, f"the client script never reported {name!r}: {results}"
    record = results[name]
    assert "error" not in record, f"{name} failed in the client:\n{record['error']}"
    return record


node_modes = pytest.mark.parametrize("mode", list(NODE_MODES))


@node_modes
def test_node_broadcast_with_ack_and_a_silent_client(node_results: Any, mode: str) -> None:
    record = node_step(node_results(mode), "ack_with_a_silent_client")
    assert sorted(map(str, record["answers"])) == ["one", "{'n': 2}"]
    assert record["silentGot"] == 1  # it received the question, and never answered
    assert 0.9 < record["took"] < 3.0  # resolved at the timeout
    everyone = node_step(node_results(mode), "ack_from_everyone")
    assert sorted(everyone["answers"]) == ["one", "two"]
    assert everyone["took"] < 3.0  # before the 4 s timeout


@node_modes
def test_node_several_rooms_reach_each_client_once(node_results: Any, mode: str) -> None:
    record = node_step(node_results(mode), "several_rooms_once")
    assert (record["both"], record["onlyA"], record["outside"]) == (1, 1, 0)


@node_modes
def test_node_fetch_sockets(node_results: Any, mode: str) -> None:
    record = node_step(node_results(mode), "fetch_and_act")
    (view,) = record["views"]
    assert view["id"] == record["memberId"]
    assert view["rooms"] == sorted([record["memberId"], "node-fetch"])
    assert view["data"] == {"user": "node-user", "k": "v"}
    assert record["directId"] == record["memberId"]
    assert record["reason"] == "io server disconnect"


@node_modes
def test_node_room_join_leave_disconnect(node_results: Any, mode: str) -> None:
    record = node_step(node_results(mode), "room_operations")
    assert "node-ops2" in record["joined"]
    assert "node-ops2" not in record["left"] and "node-ops" in record["left"]
    assert record["reason"] == "io server disconnect"


@node_modes
def test_node_socket_data_and_server_side(node_results: Any, mode: str) -> None:
    assert node_step(node_results(mode), "socket_data")["data"] == {"a": 1, "b": [2]}
    assert node_step(node_results(mode), "server_side")["answers"] == []
