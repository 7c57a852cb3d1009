"""Requests between expressio and Node processes of one streams cluster: server count,
server-side emits with answers, broadcasts with acks, and room operations on every process."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

import expressio
from tests.redis_support import RedisServer
from tests.scaleout.conftest import WAIT, Cluster
from tests.scaleout.streams.conftest import start_expressio, start_node, warm_up

pytestmark = pytest.mark.timeout(90)


async def test_requests_between_expressio_and_node(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    python_server = start_expressio(cluster, redis_server.url)
    node_server = start_node(cluster, redis_server.url)
    a = await clients(python_server.url)
    n = await clients(node_server.url)
    for client, name in ((a, "a"), (n, "n")):
        client.sio.on("question", lambda data, name=name: f"{name} says {data}")
    await warm_up([a, n])

    assert await a.call("server-count") == 2
    assert await n.call("server-count") == 2

    assert await a.call("ask-servers", 1) == ["pong 1 from node"]
    assert await n.call("ask-servers", 2) == ["pong 2 from expressio"]

    assert sorted(await a.call("ask-clients", "hi")) == ["a says hi", "n says hi"]
    assert sorted(await n.call("ask-clients", "yo")) == ["a says yo", "n says yo"]

    # a room operation from expressio reaches Node's client, and the other way round
    assert await n.call("join", "lobby") is True
    assert await a.call("rooms-join", {"room": "lobby", "other": "vip"}) is True

    async def wait_rooms(client: Any, room: str) -> list[str]:
        while room not in (rooms := (await client.call("whoami"))["rooms"]):
            await asyncio.sleep(0.05)
        return rooms

    assert "vip" in await asyncio.wait_for(wait_rooms(n, "vip"), WAIT)
    assert "vip" not in (await a.call("whoami"))["rooms"]

    assert await a.call("join", "target") is True
    gone = asyncio.Event()
    a.sio.on("disconnect", lambda *args: gone.set())
    assert await n.call("rooms-disconnect", "target") is True
    await asyncio.wait_for(gone.wait(), WAIT)
    assert (await n.call("whoami"))["server"] == "node"  # not in "target": still connected


async def test_requests_wait_for_a_silent_process_at_most_requests_timeout(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    python_server = start_expressio(
        cluster, redis_server.url, "expressio", False, "--requests-timeout", "1"
    )
    frozen = start_expressio(cluster, redis_server.url)
    node_server = start_node(cluster, redis_server.url)
    live = [await clients(python_server.url), await clients(node_server.url)]
    lost = await clients(frozen.url)
    await warm_up([*live, lost])
    for client in (*live, lost):
        assert await client.call("join", "quiz") is True
    # Still subscribed (Redis counts it), never answering: a process dying mid-request.
    frozen.process.send_signal(signal.SIGSTOP)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        found = await live[0].call("fetch", {"to": "quiz"})
        waited = loop.time() - started
        assert {item["id"] for item in found} == {client.sid() for client in live}
        assert 0.9 < waited < 4.0, f"settled after {waited:.1f} s, not after the 1 s asked for"
    finally:
        frozen.kill()
    assert "1 of 2 other processes answered within 1.0 s" in python_server.log()


def test_requests_timeout_must_be_positive() -> None:
    for wrong in (0, -1.0):
        with pytest.raises(ValueError, match="requests_timeout"):
            expressio.RedisStreamsAdapter("redis://127.0.0.1:6379/0", requests_timeout=wrong)
    adapter = expressio.RedisStreamsAdapter("redis://127.0.0.1:6379/0", requests_timeout=2)
    assert adapter.requests_timeout == 2.0
