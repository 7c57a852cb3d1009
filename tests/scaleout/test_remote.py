"""By-id operations on sockets of another process, app isolation by channel, and malformed
messages on the pub/sub channel, across three server processes sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis

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
    await wait_subscribers_async(shared_redis.url, "other-app#/#", 2)
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


async def test_malformed_messages_are_ignored_and_logged(
    trio: list[ServerProcess], shared_redis: RedisServer, clients: Connect
) -> None:
    everyone = [await clients(server.url) for server in trio]
    garbage = [
        b"not a message at all",
        b"XIO1{not json}\n",
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[500]}\n2["short"]',
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[11]}\n3["nope",1]',  # an ACK, not event
        b'XIO1{"n":"x","k":"b","r":null,"x":null,"l":[14]}\n2/chat,["ns"]',  # wrong namespace
        b'XIO1{"n":"x","k":"j","s":"abc"}\n',  # a join without a room
        b'XIO1{"n":"x","k":"zz"}\n',
    ]
    with redis.Redis.from_url(shared_redis.url) as publisher:
        for message in garbage:
            assert publisher.publish("expressio#/#", message) == 3
    await fence(everyone[0], everyone, "after-garbage")
    for client in everyone:
        assert [name for _, name, _ in client.received] == ["after-garbage"]
    for server in trio:
        assert server.log().count("ignored a malformed message") == len(garbage)
        assert server.process.poll() is None
