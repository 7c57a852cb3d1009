"""A mixed cluster whose clients speak socket.io-msgpack-parser: a Node socket.io process
(``parser: require("socket.io-msgpack-parser")``) and an expressio process
(``app.io(parser="msgpack")``) on one Redis, with python-socketio's msgpack clients on each.
Broadcasts, binary included, cross both ways; broadcasts with acks, ``fetch_sockets`` and
server-side emits span both processes. (Between processes the Redis messages are msgpack
whatever the parser: each process encodes for its own clients.)"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tests.redis_support import RedisServer

from ..conftest import Cluster, ServerProcess, wait_subscribers_async
from .conftest import EXPRESSIO_SERVER, KEY, NODE_SERVER, until_received

Connect = Callable[..., Any]

PAYLOAD = {
    "bin": b"\x00\xff\x10",
    "nested": [b"\x01", {"deep": b"\xfe" * 1000}, "text"],
    "empty": b"",
    "n": 1,
    "float": 1.5,
}


def start(cluster: Cluster, redis_url: str) -> tuple[ServerProcess, ServerProcess]:
    node = cluster.start(
        ["node", str(NODE_SERVER), "--redis", redis_url, "--key", KEY, "--parser", "msgpack"]
    )
    python = cluster.start(
        [
            sys.executable,
            str(EXPRESSIO_SERVER),
            *("--redis", redis_url, "--key", KEY, "--parser", "msgpack"),
        ]
    )
    return node, python


async def test_msgpack_clients_of_both_languages_in_one_cluster(
    redis_server: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    node, python = start(cluster, redis_server.url)
    await wait_subscribers_async(redis_server.url, f"{KEY}-request#/#", 2)
    on_node = await clients(node.url, serializer="msgpack")
    on_python = await clients(python.url, serializer="msgpack")
    assert (await on_node.call("whoami"))["lang"] == "node"
    assert (await on_python.call("whoami"))["lang"] == "python"
    await until_received(on_node, on_python, "warm-up-node")
    await until_received(on_python, on_node, "warm-up-python")

    # binary, nested, empty: from each side to both, and back in an ack
    for sender, name in ((on_python, "python"), (on_node, "node")):
        event = f"binary-from-{name}"
        assert await sender.call("broadcast", {"event": event, "args": [PAYLOAD]}) is True
        for receiver in (on_node, on_python):
            await receiver.wait_for(event)
            assert receiver.events(event) == [(PAYLOAD,)], receiver.url
        assert await sender.call("echo", PAYLOAD) == PAYLOAD

    # a room broadcast made by a route, the sender excluded, reaching the other language
    for client in (on_node, on_python):
        assert await client.call("join", "room") is True
    assert await on_python.call(
        "room-broadcast", {"room": "room", "event": "in-room", "args": [b"\x80\x81"]}
    ) is True  # fmt: skip
    await on_node.wait_for("in-room")
    assert on_node.events("in-room") == [(b"\x80\x81",)]
    assert on_python.events("in-room") == []

    # a broadcast with acks from each side collects both clients' answers
    on_node.sio.on("question", lambda data: {"from": "node-client", "got": data})
    on_python.sio.on("question", lambda data: {"from": "python-client", "got": data})
    for asker in (on_python, on_node):
        asked = await asker.call(
            "ask", {"event": "question", "args": [b"\x07"], "to": "room", "timeout": 3000}
        )
        assert sorted(answer["from"] for answer in asked["answers"]) == [
            "node-client",
            "python-client",
        ]
        assert all(answer["got"] == b"\x07" for answer in asked["answers"])

    # fetch_sockets and server-side emits span both processes
    for asker in (on_python, on_node):
        found = await asker.call("fetch", {"to": "room"})
        assert {item["id"] for item in found} == {on_node.sid(), on_python.sid()}
    answers = await on_python.call("server-emit-ack", {"event": "hello-servers", "args": [1]})
    assert [answer["lang"] for answer in answers["answers"]] == ["node"]
    assert "Traceback" not in python.log()
