"""A worker killed under its clients: they reconnect (same port, another worker) with their
session intact (RedisStore), and app.io broadcasts keep crossing the workers (RedisAdapter).
Served by ``expressio run --workers 2`` through the express.io API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.redis_support import RedisServer

from .conftest import WAIT, Client, Cluster, wait_subscribers_async

Connect = Callable[..., Any]
EXPRESSIO = str(Path(sys.executable).parent / "expressio")
MAX_TRIES = 40  # connections tried until both workers have clients


async def test_killed_worker_clients_reconnect_with_their_session(
    redis_server: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    server = cluster.start(
        [EXPRESSIO, "run", "tests.scaleout.apps:shared_app", "--workers", "2"],
        env={"EXPRESSIO_TEST_REDIS": redis_server.url},
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        login = await http.get("/login", params={"user": "ada"})
    assert login.json()["user"] == "ada"
    cookie = f"expressio.sid={login.cookies['expressio.sid']}"

    # Connections land on whichever worker accepts them: open some until both have clients.
    by_pid: dict[int, list[Client]] = {}
    for _ in range(MAX_TRIES):
        # Headers as a function: python-socketio's client removes a Cookie header from the dict
        # it was given at its first connection, so a reconnection would go without it.
        client = await clients(
            server.url,
            headers=lambda: {"Cookie": cookie},
            reconnection=True,
            reconnection_delay=0.1,
            reconnection_delay_max=0.5,
        )
        identity = await client.call("whoami")
        assert identity["user"] == "ada"  # the HTTP session, on whichever worker
        by_pid.setdefault(identity["pid"], []).append(client)
        if len(by_pid) == 2:
            break
    assert len(by_pid) == 2, "every connection went to the same worker"
    # Workers subscribe when their first client connects (the adapter connects lazily).
    await wait_subscribers_async(redis_server.url, "expressio-request#/#", 2)
    everyone = [client for group in by_pid.values() for client in group]

    first, second = by_pid
    assert await by_pid[first][0].call("shout", {"n": 1})
    for client in everyone:
        await client.wait_for("shouted")

    victims = by_pid[first]
    old_sids = [client.sid() for client in victims]
    os.kill(first, signal.SIGKILL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    live_pids = {second}
    for client, old_sid in zip(victims, old_sids, strict=True):
        # python-socketio notices the drop and reconnects by itself: a new socket id
        while client.sio.get_sid("/") in (None, old_sid) or not client.sio.connected:
            assert loop.time() < deadline, "a client of the killed worker never came back"
            await asyncio.sleep(0.05)
        identity = await client.call("whoami")
        assert identity["user"] == "ada", "the session did not survive the worker"
        assert identity["pid"] != first
        live_pids.add(identity["pid"])
    # A replacement worker subscribes when its first client arrives: wait until it has.
    await wait_subscribers_async(redis_server.url, "expressio-request#/#", len(live_pids))

    # The supervisor replaced the worker; broadcasts reach everyone, wherever they are now.
    assert await by_pid[second][0].call("shout", {"n": 2})
    for client in everyone:
        await client.wait_for("shouted", 2)
        assert [args[0]["n"] for args in client.events("shouted")] == [1, 2]
