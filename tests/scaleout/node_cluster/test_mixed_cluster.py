"""One cluster of a Node socket.io 4.8 process (``@socket.io/redis-adapter``) and two expressio
processes (``RedisAdapter(channel="socket.io")``) on one Redis: every feature, both directions.

The processes start once for the module; each test uses rooms and events of its own. "Nothing
else arrived" is proved with a fence: a broadcast sent after the ones under test by the same
process, which Redis and each process deliver in order.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
import redis.asyncio

from expressio import Emitter
from tests.redis_support import RedisServer
from tests.support import ROOT

from ..conftest import WAIT, Client
from .conftest import KEY, NODE_EMITTER, Mixed

Connect = Callable[..., Any]


async def everyone_on(mixed: Mixed, clients: Connect, **options: Any) -> list[Client]:
    """One client on each process: [node's, python 1's, python 2's]."""
    return [await clients(server.url, **options) for server in mixed.servers]


async def fence(sender: Client, receivers: list[Client], name: str) -> None:
    assert await sender.call("broadcast", {"event": name})
    for client in receivers:
        await client.wait_for(name)


async def fetched_ids(client: Client, spec: dict[str, Any], expected: set[str]) -> set[str]:
    """The ids ``client``'s process fetches for ``spec``, once they are ``expected``: a room
    operation another process published reaches each process in its own time (Node's own
    processes apply theirs when Redis hands it back), so wait for it (and fail after WAIT)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = {item["id"] for item in await client.call("fetch", spec)}
        if found == expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.02)


def names(client: Client) -> list[str]:
    return [event for _, event, _ in client.received]


SENDERS = pytest.mark.parametrize("sender", [0, 1], ids=["from-node", "from-python"])


# -- broadcasts --------------------------------------------------------------------------------


@SENDERS
async def test_broadcasts_to_all_rooms_and_exclusions(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    group = await everyone_on(mixed, clients)
    extra = await everyone_on(mixed, clients)
    tag = f"b{sender}"
    for client in (group[0], extra[1], group[2]):
        assert await client.call("join", f"{tag}-red")
    assert await extra[2].call("join", f"{tag}-blue")
    everybody = [*group, *extra]
    origin = group[sender]

    assert await origin.call(
        "broadcast", {"event": "to-all", "args": [{"n": 1, "bin": b"\x00\xff"}]}
    )
    assert await origin.call("broadcast", {"event": "to-red", "args": [2], "to": f"{tag}-red"})
    assert await origin.call(
        "broadcast", {"event": "red-or-blue", "to": [f"{tag}-red", f"{tag}-blue"]}
    )
    assert await origin.call("broadcast", {"event": "not-red", "except": f"{tag}-red", "args": [3]})
    assert await origin.call("broadcast", {"event": "not-me", "skip_self": True})
    assert await origin.call("broadcast", {"event": "volatile", "volatile": True})
    await fence(origin, everybody, "fence")

    red = {id(group[0]), id(extra[1]), id(group[2])}
    for client in everybody:
        assert client.events("to-all") == [({"n": 1, "bin": b"\x00\xff"},)]
        assert len(client.events("to-red")) == (id(client) in red)
        in_red_or_blue = id(client) in red or client is extra[2]
        assert len(client.events("red-or-blue")) == in_red_or_blue
        assert len(client.events("not-red")) == (id(client) not in red)
        assert len(client.events("not-me")) == (client is not origin)
        # a client whose connection is busy with the burst above may drop it, never twice
        assert client.events("volatile") in ([], [()])
        assert names(client).count("fence") == 1


async def test_an_expressio_broadcast_is_the_packet_object_node_expects(
    mixed: Mixed, shared_redis: RedisServer, clients: Connect
) -> None:
    """Read off Redis as a Node process reads it: ``[uid, packet, opts]`` in msgpack, on the
    room's own channel, with the volatile flag."""
    python = await clients(mixed.python[0].url)
    listener = redis.asyncio.Redis.from_url(shared_redis.url)
    pubsub = listener.pubsub()
    await pubsub.psubscribe(f"{KEY}#/#*")
    try:
        assert await python.call(
            "broadcast",
            {"event": "look", "args": [b"\x01"], "to": "seen", "except": "x", "volatile": True},
        )
        async with asyncio.timeout(WAIT):
            while (message := await pubsub.get_message(True, timeout=WAIT)) is None:
                pass
    finally:
        await pubsub.aclose()
        await listener.aclose()
    assert message["channel"] == f"{KEY}#/#seen#".encode()
    uid, packet, opts = msgpack.unpackb(message["data"])
    assert isinstance(uid, str) and uid
    assert packet == {"type": 2, "data": ["look", b"\x01"], "nsp": "/"}
    assert opts == {"rooms": ["seen"], "except": ["x"], "flags": {"volatile": True}}


# -- fetch_sockets and what its views do -------------------------------------------------------


@SENDERS
async def test_fetch_sockets_sees_the_other_language_s_clients(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    room = f"fetch-{sender}"
    group = []
    for index, server in enumerate(mixed.servers):
        client = await clients(server.url, auth={"token": f"t{index}"})
        assert await client.call("set-data", {"index": index, "tags": ["a", "b"]})
        assert await client.call("join", room)
        group.append(client)
    found = await group[sender].call("fetch", {"to": room})
    by_id = {item["id"]: item for item in found}
    assert set(by_id) == {client.sid() for client in group}
    for index, client in enumerate(group):
        item = by_id[client.sid()]
        assert item["remote"] == (index != sender)
        assert item["data"] == {"index": index, "tags": ["a", "b"]}
        assert item["auth"] == {"token": f"t{index}"}
        assert sorted(item["rooms"]) == sorted([client.sid(), room])
        assert item["address"] == "127.0.0.1" or item["address"].endswith("127.0.0.1")
        assert item["issued"] > 0
    excluded = await group[sender].call("fetch", {"to": room, "except": group[2].sid()})
    assert {item["id"] for item in excluded} == {group[0].sid(), group[1].sid()}


@SENDERS
async def test_fetched_views_of_the_other_language_act_through_the_adapter(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    other = 1 - sender  # node <-> python
    asker = await clients(mixed.servers[sender].url)
    target = await clients(mixed.servers[other].url)
    witness = await clients(mixed.servers[2].url)
    tag = f"act-{sender}"
    spec = {"only": target.sid()}

    assert await asker.call(
        "fetch-act", {**spec, "action": "emit", "arg": {"event": "direct", "args": [b"\x07"]}}
    )
    await target.wait_for("direct")
    assert target.events("direct") == [(b"\x07",)]

    assert await asker.call("fetch-act", {**spec, "action": "join", "arg": tag})
    joined = {target.sid()}  # a third process sees the membership
    assert await fetched_ids(witness, {"to": tag}, joined) == joined
    assert await witness.call("broadcast", {"event": "in-room", "to": tag})
    await target.wait_for("in-room")

    assert await asker.call("fetch-act", {**spec, "action": "leave", "arg": tag})
    assert await fetched_ids(witness, {"to": tag}, set()) == set()

    assert await asker.call("fetch-act", {**spec, "action": "disconnect"})
    deadline = asyncio.get_running_loop().time() + WAIT
    while target.sio.connected:
        assert asyncio.get_running_loop().time() < deadline, "never disconnected"
        await asyncio.sleep(0.02)
    assert asker.sio.connected and witness.sio.connected
    assert names(witness) == [] and asker.events("direct") == []


# -- room-level join / leave / disconnect --------------------------------------------------------


@SENDERS
async def test_room_level_join_leave_and_disconnect(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    tag = f"rooms-{sender}"
    group = await everyone_on(mixed, clients)
    bystanders = await everyone_on(mixed, clients)
    for client in group:
        assert await client.call("join", f"{tag}-a")
    origin = bystanders[sender]

    assert await origin.call("sockets-join", {"to": f"{tag}-a", "room": f"{tag}-b"})
    everyone_in_a = {client.sid() for client in group}
    assert await fetched_ids(bystanders[2], {"to": f"{tag}-b"}, everyone_in_a) == everyone_in_a

    assert await origin.call(
        "sockets-leave", {"to": f"{tag}-a", "except": group[1].sid(), "room": f"{tag}-b"}
    )
    kept = {group[1].sid()}
    assert await fetched_ids(bystanders[0], {"to": f"{tag}-b"}, kept) == kept

    assert await origin.call("sockets-disconnect", {"to": f"{tag}-a"})
    deadline = asyncio.get_running_loop().time() + WAIT
    while any(client.sio.connected for client in group):
        assert asyncio.get_running_loop().time() < deadline, "not every client was disconnected"
        await asyncio.sleep(0.02)
    assert all(client.sio.connected for client in bystanders)


# -- between the processes ---------------------------------------------------------------------


@SENDERS
async def test_server_side_emit_with_and_without_ack(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    group = await everyone_on(mixed, clients)
    marker = f"note-{sender}"
    assert await group[sender].call("server-emit", {"event": "note", "args": [marker, b"\x01"]})
    result = await group[sender].call(
        "server-emit-ack", {"event": "hello-servers", "args": [{"from": sender}]}
    )
    answers = result["answers"]
    assert "error" not in result
    # one answer from every OTHER process, in whatever order they came
    expected_langs = sorted(["python", "python"] if sender == 0 else ["node", "python"])
    assert sorted(answer["lang"] for answer in answers) == expected_langs
    assert all(answer["got"] == {"from": sender} for answer in answers)
    for index, client in enumerate(group):
        notes = await client.call("server-notes")
        got_note = [note for note in notes if note[0] == "note" and note[1] == marker]
        assert len(got_note) == (index != sender)  # never the sender itself
        if got_note:
            # binary crosses as JSON.stringify writes a Buffer
            assert got_note[0][2] in (b"\x01", {"type": "Buffer", "data": [1]})


async def test_server_count_is_the_same_for_both_languages(mixed: Mixed, clients: Connect) -> None:
    group = await everyone_on(mixed, clients)
    assert [await client.call("server-count") for client in group] == [3, 3, 3]


@SENDERS
async def test_broadcast_with_ack_gathers_every_process_s_clients(
    mixed: Mixed, clients: Connect, sender: int
) -> None:
    tag = f"quiz-{sender}"
    answering = [*await everyone_on(mixed, clients), await clients(mixed.servers[2].url)]
    for index, client in enumerate(answering):
        client.sio.on("question", lambda q, index=index: {"index": index, "q": q})
        assert await client.call("join", tag)
    asker = await clients(mixed.servers[sender].url)
    result = await asker.call(
        "ask", {"event": "question", "args": ["?"], "to": tag, "timeout": 4000}
    )
    assert "error" not in result, result
    assert sorted(answer["index"] for answer in result["answers"]) == [0, 1, 2, 3]
    assert all(answer["q"] == "?" for answer in result["answers"])
    # nobody in the room: an empty answer at once, from both languages
    empty = await asker.call("ask", {"event": "question", "to": f"{tag}-empty", "timeout": 4000})
    assert empty == {"answers": []}


# -- emitters ----------------------------------------------------------------------------------


async def test_node_emitter_reaches_expressio_clients(
    mixed: Mixed, shared_redis: RedisServer, clients: Connect
) -> None:
    group = [await clients(server.url, ("/", "/chat")) for server in mixed.servers]
    in_room = [group[1], group[0]]
    for client in in_room:
        assert await client.call("join", "e-room")
    completed = subprocess.run(
        ["node", str(NODE_EMITTER), "--redis", shared_redis.url, "--key", KEY],
        capture_output=True, text=True, cwd=ROOT, timeout=WAIT, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    for client in group:
        await client.wait_for("emitted-fence")
        await client.wait_for("emitted-chat", namespace="/chat")
        member = client in in_room
        assert client.events("emitted-all") == [({"from": "node-emitter"},)]
        assert client.events("emitted-room") == ([(b"\x01\x02\x03",)] if member else [])
        assert client.events("emitted-except") == ([] if member else [(1,)])
        assert client.events("emitted-volatile") in ([], [()])
        assert client.events("emitted-chat", "/chat") == [("hi",)]
        assert len(client.events("emitted-joined")) == member
        assert client.events("emitted-left") == []
    for server, client in zip(mixed.python, group[1:], strict=True):
        notes = await client.call("server-notes")
        assert ["note", "from-node-emitter"] in notes, server.log()[-2000:]


async def test_expressio_emitter_reaches_node_clients(
    mixed: Mixed, shared_redis: RedisServer, clients: Connect
) -> None:
    group = [await clients(server.url, ("/", "/chat")) for server in mixed.servers]
    in_room = [group[0], group[2]]
    for client in in_room:
        assert await client.call("join", "p-room")
    with Emitter(shared_redis.url, channel=KEY) as emitter:
        assert emitter.broadcast("p-all", {"from": "python-emitter"}) == 3
        emitter.room("p-room").broadcast("p-room", b"\x01\x02")
        emitter.excluding("p-room").broadcast("p-except", 1)
        emitter.volatile.broadcast("p-volatile")
        emitter.of("/chat").broadcast("p-chat", "hi")
        emitter.in_("p-room").join("p-joined")
        emitter.to("p-joined").broadcast("p-joined")
        emitter.room("p-joined").leave("p-joined")
        emitter.to("p-joined").broadcast("p-left")
        emitter.server_side_emit("note", "from-python-emitter")
        emitter.broadcast("p-fence")
    for client in group:
        await client.wait_for("p-fence")
        await client.wait_for("p-chat", namespace="/chat")
        member = client in in_room
        assert client.events("p-all") == [({"from": "python-emitter"},)]
        assert client.events("p-room") == ([(b"\x01\x02",)] if member else [])
        assert client.events("p-except") == ([] if member else [(1,)])
        assert client.events("p-volatile") in ([], [()])
        assert len(client.events("p-joined")) == member
        assert client.events("p-left") == []
    notes = await group[0].call("server-notes")  # the Node process
    assert ["note", "from-python-emitter"] in notes

    with Emitter(shared_redis.url, channel=KEY) as emitter:
        emitter.room("p-room").disconnect()
    deadline = asyncio.get_running_loop().time() + WAIT
    # disconnected from "/" only: their connections (and "/chat") carry on
    while any("/" in client.sio.namespaces for client in in_room):
        assert asyncio.get_running_loop().time() < deadline, "the emitter's disconnect was lost"
        await asyncio.sleep(0.02)
    assert all("/chat" in client.sio.namespaces for client in in_room)
    assert "/" in group[1].sio.namespaces
