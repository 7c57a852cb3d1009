"""By-id operations on sockets of another process, app isolation by channel, and malformed
messages on the pub/sub channel, across three server processes sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgpack
import orjson
import redis
import redis.asyncio

from tests.redis_support import RedisServer

from .conftest import WAIT, Client, Cluster, ServerProcess, wait_subscribers_async

Connect = Callable[..., Any]


async def fence(sender: Client, receivers: list[Client], name: str) -> None:
    assert await sender.call("broadcast", {"event": name, "args": []})
    for client in receivers:
        await client.wait_for(name)


async def test_remote_join_and_leave_by_socket_id(
    trio: list[ServerProcess], clients: Connect
) -> None:
    a = await clients(trio[0].url)
    b = await clients(trio[1].url)
    c = await clients(trio[2].url)
    # a's process does not own c: the join travels over Redis to c's process
    assert await a.call("remote-join", {"sid": c.sid(), "room": "green"})
    assert await a.call("broadcast", {"event": "green-1", "args": [], "to": "green"})
    await c.wait_for("green-1")
    # the room membership is real on c's process: a broadcast from a third process finds it
    assert await b.call("broadcast", {"event": "green-2", "args": [], "to": "green"})
    await c.wait_for("green-2")

    assert await b.call("remote-leave", {"sid": c.sid(), "room": "green"})
    assert await b.call("broadcast", {"event": "green-3", "args": [], "to": "green"})
    await fence(b, [a, b, c], "fence")
    assert c.events("green-3") == []
    assert [len(client.events("green-1")) for client in (a, b, c)] == [0, 0, 1]


async def test_remote_join_of_a_local_socket_and_of_an_unknown_one(
    trio: list[ServerProcess], clients: Connect
) -> None:
    a = await clients(trio[0].url)
    b = await clients(trio[1].url)
    other = await clients(trio[0].url)
    assert await a.call("remote-join", {"sid": other.sid(), "room": "local"})
    assert await a.call("remote-join", {"sid": "no-such-socket", "room": "local"})
    assert await b.call("broadcast", {"event": "to-local", "args": [], "to": "local"})
    await other.wait_for("to-local")
    await fence(b, [a, b, other], "fence")
    assert [len(client.events("to-local")) for client in (a, b, other)] == [0, 0, 1]


async def test_remote_disconnect_by_socket_id(trio: list[ServerProcess], clients: Connect) -> None:
    a = await clients(trio[0].url, ("/", "/chat"))
    b = await clients(trio[1].url, ("/", "/chat"))
    assert await a.call("remote-disconnect", {"sid": b.sid("/chat")}, namespace="/chat")
    deadline = asyncio.get_running_loop().time() + WAIT
    while "/chat" in b.sio.namespaces:
        assert asyncio.get_running_loop().time() < deadline, "b was never disconnected"
        await asyncio.sleep(0.02)
    # only that namespace: b's connection and its "/" socket carry on
    assert (await b.call("whoami"))["namespace"] == "/"


async def test_two_apps_on_one_redis_do_not_see_each_other(
    trio: list[ServerProcess], shared_redis: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    others = [cluster.start_realtime(shared_redis.url, "other-app") for _ in range(2)]
    await wait_subscribers_async(shared_redis.url, "other-app-request#/#", 2)
    ours = [await clients(server.url) for server in trio]
    theirs = [await clients(server.url) for server in others]

    assert await theirs[0].call("broadcast", {"event": "their-news", "args": []})
    assert await theirs[0].call("stats")  # published before anything below is
    await fence(theirs[0], theirs, "their-fence")
    assert await ours[0].call("broadcast", {"event": "our-news", "args": []})
    await fence(ours[0], ours, "our-fence")
    # their-fence was published after their-news and before our-news: with both fences in,
    # any leak would have arrived already
    assert await theirs[1].call("stats")
    await fence(theirs[1], theirs, "their-fence-2")
    for client in ours:
        assert client.events("their-news") == [] and client.events("our-news") == [()]
    for client in theirs:
        assert client.events("our-news") == [] and client.events("their-news") == [()]


def packed(value: Any) -> bytes:
    return bytes(msgpack.packb(value))


EVENT = {"type": 2, "data": ["e"], "nsp": "/"}

#: (channel, message, the kind of problem it is): every kind is logged once, then counted
GARBAGE = [
    ("expressio#/#", b"not msgpack at all", "not msgpack"),
    ("expressio#/#", packed([1, 2]), "broadcast is not [uid, packet, opts]"),
    ("expressio#/#", packed(["x", {**EVENT, "type": 3}, {}]), "packet is not an EVENT"),
    ("expressio#/#", packed(["x", {**EVENT, "data": []}, {}]), "packet data is not [event, ...]"),
    ("expressio#/#", packed(["x", {**EVENT, "nsp": "/chat"}, {}]), "packet of another namespace"),
    ("expressio#/#", packed(["x", EVENT, {"rooms": "r"}]), "rooms is not a list"),
    ("expressio#/#", packed(["x", msgpack.ExtType(5, b"?"), {}]), "not msgpack"),
    ("expressio-request#/#", b"{not json", "not JSON"),
    ("expressio-request#/#", b'{"type":42}', "unknown request type"),
    ("expressio-request#/#", b'{"type":5,"uid":"x"}', "REMOTE_FETCH request without a request id"),
    (
        "expressio-request#/#",
        b'{"type":2,"opts":{"rooms":[]}}',
        "REMOTE_JOIN request without rooms",
    ),
    ("expressio-request#/#", b'{"type":8,"requestId":"q"}', "not a request type"),
    ("expressio-response#/#", b'{"sockets":[]}', "response without a request id"),
]


async def test_malformed_messages_are_dropped_and_each_kind_logged_once(
    trio: list[ServerProcess], shared_redis: RedisServer, clients: Connect
) -> None:
    everyone = [await clients(server.url) for server in trio]
    with redis.Redis.from_url(shared_redis.url) as publisher:
        for _ in range(2):
            for channel, message, _kind in GARBAGE:
                assert publisher.publish(channel, message) == 3
        # another app's traffic on the same Redis never reaches this one's processes
        assert publisher.publish("other-app#/#", packed(["x", EVENT, {}])) == 0
    await fence(everyone[0], everyone, "after-garbage")
    for client in everyone:
        assert [name for _, name, _ in client.received] == ["after-garbage"]
    kinds = {kind for _, _, kind in GARBAGE}
    for server in trio:
        log = server.log()
        assert log.count("ignored a malformed or foreign message") == len(kinds), log
        for kind in kinds:
            assert log.count(f"({kind}") == 1, kind
        assert server.process.poll() is None
        assert "Traceback" not in log


async def test_a_fetch_from_an_unknown_process_is_answered(
    trio: list[ServerProcess], shared_redis: RedisServer, clients: Connect
) -> None:
    """As Node's adapter does: every process answers a fetch, whoever asks (here on the asker's
    own response channel, which every socket.io adapter listens to)."""
    mine = [await clients(server.url) for server in trio]
    client = redis.asyncio.Redis.from_url(shared_redis.url)
    pubsub = client.pubsub()
    await pubsub.subscribe("expressio-response#/#stranger#")
    request = {"uid": "stranger", "type": 5, "requestId": "q1", "opts": {"rooms": [], "except": []}}
    try:
        assert await client.publish("expressio-request#/#", orjson.dumps(request)) == 3
        answers: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT):
            while len(answers) < 3:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=WAIT)
                if message is not None:
                    answers.append(orjson.loads(message["data"]))
    finally:
        await pubsub.aclose()
        await client.aclose()
    assert {answer["requestId"] for answer in answers} == {"q1"}
    fetched = {socket["id"] for answer in answers for socket in answer["sockets"]}
    assert {client.sid() for client in mine} <= fetched
    one = answers[0]["sockets"][0]
    assert set(one) == {"id", "handshake", "rooms", "data"}
    assert one["id"] in one["rooms"]
    assert {
        "headers",
        "time",
        "address",
        "xdomain",
        "secure",
        "issued",
        "url",
        "query",
        "auth",
    } <= set(one["handshake"])
