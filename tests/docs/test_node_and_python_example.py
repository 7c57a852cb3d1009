"""examples/node_and_python, shown in docs/deployment-scaleout.md: a Node socket.io server and an
expressio app on one Redis form one cluster, as written."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import socketio

from tests.redis_support import RedisServer
from tests.scaleout.conftest import wait_subscribers
from tests.support import ROOT, free_port, server_process

EXAMPLE = ROOT / "examples" / "node_and_python"


@pytest.fixture
def cluster() -> Iterator[tuple[str, str]]:
    with RedisServer() as redis:
        env = {"REDIS_URL": redis.url}
        node_port, python_port = free_port(), free_port()
        node = server_process(
            ["node", str(EXAMPLE / "server.js")], node_port, env={**env, "PORT": str(node_port)}
        )
        python = server_process(
            [sys.executable, str(EXAMPLE / "app.py")],
            python_port,
            env={**env, "PORT": str(python_port)},
        )
        with node, python:
            wait_subscribers(redis.url, "socket.io-request#/#", 2)
            yield f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{python_port}"


def test_node_and_python_processes_are_one_cluster(cluster: tuple[str, str]) -> None:
    node_url, python_url = cluster
    with socketio.SimpleClient() as on_node, socketio.SimpleClient() as on_python:
        on_node.connect(node_url, transports=["websocket"])
        on_python.connect(python_url, transports=["websocket"])
        for client in (on_node, on_python):
            assert client.call("enter") == "in"

        on_python.emit("say", "from a Python process")
        for client in (on_node, on_python):
            assert client.receive(timeout=5) == [
                "said", {"text": "from a Python process", "from": "python"},
            ]  # fmt: skip
        on_node.emit("say", "from a Node process")
        for client in (on_node, on_python):
            assert client.receive(timeout=5) == [
                "said", {"text": "from a Node process", "from": "node"},
            ]  # fmt: skip

        answers = on_python.call("processes")
        assert len(answers) == 1 and answers[0].startswith("node ")
