"""Clusters on one Redis stream: expressio processes (``streams_app.py``) and Node socket.io
processes (``node_streams_server.js``, ``@socket.io/redis-streams-adapter`` on node-redis).

Readiness is proved, not waited for: :func:`warm_up` broadcasts from each process until a
client of every other process received it (every reader is then reading the stream)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.scaleout.conftest import Client, Cluster, ServerProcess

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
WARM_UP_ROUNDS = 40


def start_expressio(
    cluster: Cluster,
    redis_url: str,
    stream: str = "expressio",
    recovery: bool = False,
    *extra: str,
) -> ServerProcess:
    argv = [sys.executable, str(HERE / "streams_app.py"), "--redis", redis_url, "--stream", stream]
    return cluster.start([*argv, *(["--recovery"] if recovery else []), *extra])


def start_node(
    cluster: Cluster, redis_url: str, stream: str = "expressio", recovery: bool = False
) -> ServerProcess:
    if NODE is None:
        pytest.fail("node is not installed: the Node cluster tests need it (scripts/setup.sh)")
    argv = [NODE, str(HERE / "node_streams_server.js"), "--redis", redis_url, "--stream", stream]
    return cluster.start([*argv, *(["--recovery"] if recovery else [])])


async def broadcast(client: Client, event: str, data: Any = None, **spec: Any) -> None:
    assert await client.call("broadcast", {"event": event, "data": data, **spec}) is True


async def warm_up(clients: list[Client]) -> None:
    """Until a broadcast from each client's process reaches every other client's process."""
    for index, sender in enumerate(clients):
        others = [client for client in clients if client is not sender]
        for round_number in range(WARM_UP_ROUNDS):
            event = f"warm-up-{index}-{round_number}"
            await broadcast(sender, event)
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(other.wait_for(event) for other in others)), 0.5
                )
                break
            except (TimeoutError, AssertionError):
                continue
        else:
            raise AssertionError(f"process of client {index} never reached the others")
    for client in clients:
        client.received.clear()
