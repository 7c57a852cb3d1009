"""Redis killed and restarted during traffic: every process keeps serving its own clients, logs
the outage once, reconnects by itself, and cross-process delivery resumes; nothing is delivered
twice and nothing dropped is replayed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from tests.redis_support import RedisServer

from .conftest import WAIT, Client, Cluster, ServerProcess, wait_subscribers_async

Connect = Callable[..., Any]


async def wait_for_log(server: ServerProcess, text: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while text not in server.log():
        assert asyncio.get_running_loop().time() < deadline, f"never logged {text!r}"
        await asyncio.sleep(0.05)


async def wait_link_up(client: Client) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not (await client.call("stats"))["up"]:
        assert asyncio.get_running_loop().time() < deadline, "the link never came back"
        await asyncio.sleep(0.05)


async def send_ticks(client: Client, stop: asyncio.Event, limit: int = 3000) -> int:
    """Broadcast "tick" n (to all, from this client's process) every 10 ms until told to stop."""
    sent = 0
    while not stop.is_set() and sent < limit:
        await client.sio.emit("broadcast", {"event": "tick", "args": [sent]})
        sent += 1
        await asyncio.sleep(0.01)
    return sent


def ticks(client: Client) -> list[int]:
    return [args[0] for args in client.events("tick")]


async def test_redis_restart_during_traffic(
    redis_server: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    servers = [cluster.start_realtime(redis_server.url) for _ in range(3)]
    await wait_subscribers_async(redis_server.url, "expressio-request#/#", 3)
    a = await clients(servers[0].url)
    a_neighbour = await clients(servers[0].url)
    b = await clients(servers[1].url)
    c = await clients(servers[2].url)
    everyone = [a, a_neighbour, b, c]

    stop = asyncio.Event()
    traffic = asyncio.ensure_future(send_ticks(b, stop))
    for client in everyone:
        await client.wait_for("tick", 5)

    redis_server.stop()
    for server in servers:
        await wait_for_log(server, "unreachable")
    # Each process serves its own clients: local acks, local broadcasts, local rooms.
    assert await a.call("echo", "still here") == "still here"
    assert await a.call("join", "local-room")
    assert await a_neighbour.call("broadcast", {"event": "local-only", "args": [1]})
    assert await a_neighbour.call("broadcast", {"event": "room", "args": [], "to": "local-room"})
    await a.wait_for("local-only")
    await a.wait_for("room")
    await a_neighbour.wait_for("local-only")
    during_outage = len(b.events("tick"))
    # b's own ticks still reach b, for long enough that the processes retry several times
    await b.wait_for("tick", during_outage + 60)

    redis_server.start()  # same port, empty: the processes must resubscribe by themselves
    await wait_subscribers_async(redis_server.url, "expressio-request#/#", 3)
    for client in (a, b, c):
        await wait_link_up(client)
    assert await a.call("broadcast", {"event": "after", "args": ["back"]})
    for client in everyone:
        await client.wait_for("after")
    for client in everyone:  # b's traffic crosses processes again
        await client.wait_for("tick", len(client.events("tick")) + 5)
    stop.set()
    sent = await traffic
    assert await b.call("broadcast", {"event": "fence", "args": []})
    for client in everyone:
        await client.wait_for("fence")

    # b's process delivered all its ticks to b; nobody got a tick twice or out of order
    assert ticks(b) == list(range(sent))
    for client in everyone:
        received = ticks(client)
        assert received == sorted(set(received)), "a tick arrived twice or out of order"
    # the others missed the ticks of the outage (dropped, not replayed) but got later ones
    for client in (a, a_neighbour, c):
        received = ticks(client)
        assert sent - 1 in received
        assert len(received) < sent
    assert b.events("local-only") == [] and c.events("local-only") == []

    for server in servers:
        log = server.log()
        assert log.count("unreachable") == 1, log
        assert log.count("reachable again") == 1, log
    dropped = re.search(r"(\d+) cross-process messages were dropped", servers[1].log())
    assert dropped is not None and int(dropped.group(1)) >= 60
