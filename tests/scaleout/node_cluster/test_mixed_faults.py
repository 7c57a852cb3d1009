"""Faults in a mixed Node/Python cluster: Redis restarted under both languages (delivery resumes
by itself, both ways), and a process that stops answering in the middle of a cluster request
(the request completes within its timeout with the live processes' answers)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from tests.redis_support import RedisServer

from ..conftest import WAIT, Cluster, ServerProcess, wait_subscribers_async
from .conftest import EXPRESSIO_SERVER, KEY, NODE_SERVER, until_received

Connect = Callable[..., Any]


def start_node(cluster: Cluster, redis_url: str) -> ServerProcess:
    return cluster.start(["node", str(NODE_SERVER), "--redis", redis_url, "--key", KEY])


def start_python(cluster: Cluster, redis_url: str, *extra: str) -> ServerProcess:
    argv = [sys.executable, str(EXPRESSIO_SERVER), "--redis", redis_url, "--key", KEY]
    return cluster.start([*argv, *extra])


async def test_redis_restart_under_both_languages(
    redis_server: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    node = start_node(cluster, redis_server.url)
    python = start_python(cluster, redis_server.url)
    await wait_subscribers_async(redis_server.url, f"{KEY}-request#/#", 2)
    on_node = await clients(node.url)
    on_python = await clients(python.url)
    await until_received(on_node, on_python, "before-node")
    await until_received(on_python, on_node, "before-python")

    redis_server.stop()
    deadline = asyncio.get_running_loop().time() + WAIT
    while "unreachable" not in python.log():
        assert asyncio.get_running_loop().time() < deadline, "the outage was never logged"
        await asyncio.sleep(0.05)
    # each process still serves its own clients
    assert await on_python.call("broadcast", {"event": "local-python"})
    await on_python.wait_for("local-python")
    assert await on_node.call("broadcast", {"event": "local-node"})
    await on_node.wait_for("local-node")

    redis_server.start()  # same port, empty: both languages resubscribe by themselves
    await wait_subscribers_async(redis_server.url, f"{KEY}-request#/#", 2)
    await until_received(on_node, on_python, "after-node")
    await until_received(on_python, on_node, "after-python")
    # expressio drops what it could not publish (a late broadcast is worse than a missing one);
    # node-redis keeps its commands in an offline queue and sends them once back, so Node's
    # "local-node" may or may not arrive: not asserted
    assert on_node.events("local-python") == []
    log = python.log()
    assert log.count("unreachable") == 1 and log.count("reachable again") == 1, log
    assert "Traceback" not in log


async def test_a_process_that_stops_answering_mid_request(
    redis_server: RedisServer, cluster: Cluster, clients: Connect
) -> None:
    node = start_node(cluster, redis_server.url)
    python = start_python(cluster, redis_server.url, "--requests-timeout", "1")
    frozen = start_python(cluster, redis_server.url, "--requests-timeout", "1")
    await wait_subscribers_async(redis_server.url, f"{KEY}-request#/#", 3)
    live = [await clients(node.url), await clients(python.url)]
    lost = await clients(frozen.url)
    for index, client in enumerate([*live, lost]):
        client.sio.on("question", lambda *_, index=index: index)
        assert await client.call("join", "quiz")

    # Still subscribed (Redis counts it), never answering: a process dying mid-request.
    frozen.process.send_signal(signal.SIGSTOP)
    try:
        found = await live[1].call("fetch", {"to": "quiz"})
        assert {item["id"] for item in found} == {client.sid() for client in live}
        asked = await live[1].call("ask", {"event": "question", "to": "quiz", "timeout": 1000})
        assert sorted(asked["answers"]) == [0, 1]
        # Node's side of the same: its broadcast with acks times out with the live answers
        from_node = await live[0].call("ask", {"event": "question", "to": "quiz", "timeout": 1000})
        assert from_node["error"] == "operation has timed out"
        assert sorted(from_node["answers"]) == [0, 1]
        answers = await live[1].call("server-emit-ack", {"event": "hello-servers", "args": [1]})
        assert [answer["lang"] for answer in answers["answers"]] == ["node"]
    finally:
        frozen.kill()
    assert "fetch_sockets on /: 1 of 2 other processes answered within 1.0 s" in python.log()
