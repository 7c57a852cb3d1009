"""A Redis outage loses no broadcast: each process serves its own clients at once, queues
what it broadcasts, and when Redis is back publishes the queue and reads the stream from the
last id it had read.

Two outages: Redis paused (``SIGSTOP``: unreachable, but it keeps its data, as a Redis
restarting with persistence or behind a network cut would), long enough that every reader
timed out and is reconnecting; and Redis killed and restarted empty (this private server
persists nothing), where what was queued during the outage still reaches everyone."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from tests.redis_support import RedisServer
from tests.scaleout.conftest import WAIT, Client, Cluster
from tests.scaleout.streams.conftest import broadcast, start_expressio, start_node, warm_up

pytestmark = pytest.mark.timeout(120)

BLOCK_TIME = "1"  # seconds per XREAD: a paused Redis is noticed by the readers within 3 s


async def wait_link(client: Client, reader_up: bool) -> None:
    async def reached() -> None:
        while (await client.call("link"))["reader_up"] is not reader_up:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), WAIT)


@pytest.mark.parametrize("outage", ["paused", "restarted"])
async def test_broadcasts_made_during_an_outage_reach_everyone_once(
    redis_server: RedisServer, cluster: Cluster, clients: Any, outage: str
) -> None:
    a_server = start_expressio(
        cluster, redis_server.url, "expressio", False, "--block-time", BLOCK_TIME
    )
    b_server = start_expressio(
        cluster, redis_server.url, "expressio", False, "--block-time", BLOCK_TIME
    )
    node_server = start_node(cluster, redis_server.url)
    a, b, n = [await clients(s.url) for s in (a_server, b_server, node_server)]
    await warm_up([a, b, n])
    await broadcast(a, "before", 0)
    for client in (a, b, n):
        await client.wait_for("before")

    process = redis_server._process
    assert process is not None
    if outage == "paused":
        os.kill(process.pid, signal.SIGSTOP)
    else:
        redis_server.stop()
    try:
        for i in range(10):
            await broadcast(a, "during", i)
        for i in range(5):
            await broadcast(b, "during-b", i)
        # each process keeps serving its own clients, at once
        await a.wait_for("during", 10)
        await b.wait_for("during-b", 5)
        assert a.events("during") == [(i,) for i in range(10)]
        assert (await a.call("whoami"))["server"] == "expressio"
        # the readers noticed: they resume from their last id, not from the stream's end
        await wait_link(a, reader_up=False)
        await wait_link(b, reader_up=False)
    finally:
        if outage == "paused":
            os.kill(process.pid, signal.SIGCONT)
        else:
            redis_server.start()

    for client in (a, b, n):
        await client.wait_for("during", 10)
        await client.wait_for("during-b", 5)
    await broadcast(a, "after", 1)
    await broadcast(b, "after", 2)
    for client in (a, b, n):
        await client.wait_for("after", 2)
        assert client.events("during") == [(i,) for i in range(10)]
        assert client.events("during-b") == [(i,) for i in range(5)]
    stats = await a.call("stats")
    assert stats["dropped"] == 0
    assert "unreachable" in a_server.log() or outage == "paused"
