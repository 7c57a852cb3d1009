"""Broadcasts across a cluster of expressio and Node socket.io processes sharing one stream."""

from __future__ import annotations

from typing import Any

import pytest

from tests.redis_support import RedisServer
from tests.scaleout.conftest import Cluster
from tests.scaleout.streams.conftest import broadcast, start_expressio, start_node, warm_up

pytestmark = pytest.mark.timeout(90)


async def test_broadcasts_rooms_and_exclusions_both_ways(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    python_a = start_expressio(cluster, redis_server.url)
    python_b = start_expressio(cluster, redis_server.url)
    node = start_node(cluster, redis_server.url)
    a = await clients(python_a.url)
    b = await clients(python_b.url)
    n = await clients(node.url)
    await warm_up([a, b, n])
    assert (await n.call("whoami"))["server"] == "node"
    assert await b.call("join", "lobby") is True
    assert await n.call("join", "lobby") is True

    # from expressio: to all, to a room, to everyone but the sender
    await broadcast(a, "all", {"from": "a"})
    await broadcast(a, "room", [1, 2], to="lobby")
    await broadcast(a, "others", "x", skip_self=True)
    # from Node: the same
    await broadcast(n, "all", {"from": "n"})
    await broadcast(n, "room", "node", to="lobby")
    await broadcast(n, "others", "y", skip_self=True)
    # binary both ways (msgpack in the entry, base64)
    await broadcast(a, "bytes", {"blob": b"\x00\xffa"})
    await broadcast(n, "bytes", {"blob": b"\x01\x02"})
    fence = "fence"
    for sender in (a, n):
        await broadcast(sender, fence)
    for client in (a, b, n):
        await client.wait_for(fence, 2)

    def same(events: list[Any], expected: list[Any]) -> bool:
        # two senders' broadcasts interleave as Redis got them; each sender's order is kept
        return sorted(map(repr, events)) == sorted(map(repr, expected))

    for client in (a, b, n):
        assert same(client.events("all"), [({"from": "a"},), ({"from": "n"},)])
        assert same(client.events("bytes"), [({"blob": b"\x00\xffa"},), ({"blob": b"\x01\x02"},)])
    assert a.events("room") == []
    assert same(b.events("room"), [([1, 2],), ("node",)])
    assert same(n.events("room"), [([1, 2],), ("node",)])
    assert a.events("others") == [("y",)]
    assert same(b.events("others"), [("x",), ("y",)])
    assert n.events("others") == [("x",)]


async def test_one_processs_broadcasts_keep_their_order_everywhere(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    python_server = start_expressio(cluster, redis_server.url)
    node_server = start_node(cluster, redis_server.url)
    a = await clients(python_server.url)
    n = await clients(node_server.url)
    await warm_up([a, n])
    for i in range(50):
        await broadcast(a, "seq", i)
    for client in (a, n):
        await client.wait_for("seq", 50)
        assert client.events("seq") == [(i,) for i in range(50)]
