"""The mixed cluster: one Node socket.io 4.8 process (``@socket.io/redis-adapter``) and two
expressio processes (``RedisAdapter(channel="socket.io")``) on one Redis, started once per
module; and the official Node ``socket.io-client`` clients of a test, in one Node process."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.redis_support import RedisServer

from ..conftest import WAIT, Client, Cluster, ServerProcess, wait_subscribers
from .node_clients import NodeClients

HERE = Path(__file__).resolve().parent
NODE_SERVER = HERE / "node_server.mjs"
EXPRESSIO_SERVER = HERE / "expressio_server.py"
NODE_EMITTER = HERE / "node_emitter.mjs"
KEY = "socket.io"


class Mixed:
    def __init__(self, node: ServerProcess, python: list[ServerProcess]) -> None:
        self.node = node
        self.python = python
        self.servers = [node, *python]


@pytest.fixture(scope="module")
def mixed(shared_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mixed]:
    group = Cluster(tmp_path_factory.mktemp("mixed"))
    url = shared_redis.url
    try:
        node = group.start(["node", str(NODE_SERVER), "--redis", url, "--key", KEY])
        python = [
            group.start([sys.executable, str(EXPRESSIO_SERVER), "--redis", url, "--key", KEY])
            for _ in range(2)
        ]
        wait_subscribers(url, f"{KEY}-request#/#", 3)
        yield Mixed(node, python)
    finally:
        group.close()
        group.dump_logs()


@pytest.fixture
async def node_clients() -> AsyncIterator[NodeClients]:
    """``await node_clients.connect(url, transports=("websocket",), upgrade=False)`` → a
    connected official socket.io-client; every one is closed with its process at the end."""
    with tempfile.TemporaryFile() as errors:
        driver = NodeClients(errors)
        await driver.start()
        try:
            yield driver
        finally:
            output = await driver.close()
            if output.strip():
                sys.stderr.write(f"--- Node client driver ---\n{output}\n")  # shown on failure


async def until_received(sender: Client, receiver: Client, event: str) -> None:
    """Broadcast ``event`` from ``sender``'s process every 50 ms until ``receiver`` got one (a
    process still subscribing, or a link still reconnecting, drops messages, as promised:
    retrying is the test's job)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not receiver.events(event):
        assert asyncio.get_running_loop().time() < deadline, f"{event!r} never crossed"
        assert await sender.call("broadcast", {"event": event})
        await asyncio.sleep(0.05)
