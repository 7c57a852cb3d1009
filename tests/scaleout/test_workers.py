"""Several worker processes on one port: ``app.listen(workers=N)`` and ``expressio run``; the
refusal of apps that keep rooms or sessions in one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import expressio
from expressio.http.workers import WorkerConfigError, check_shareable
from expressio.realtime import RealtimeServer
from tests.redis_support import RedisServer
from tests.scaleout import apps
from tests.support import ROOT, free_port

from .conftest import WAIT, Cluster

EXPRESSIO = str(Path(sys.executable).parent / "expressio")


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def wait_children(pid: int, count: int, exclude: frozenset[int] = frozenset()) -> set[int]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = children(pid)
        if len(found) == count and not found & exclude:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{pid} has children {children(pid)}, expected {count}")


def test_refuses_in_memory_rooms_with_the_reason() -> None:
    with pytest.raises(WorkerConfigError, match="rooms and broadcasts in one process") as error:
        check_shareable(apps.memory_rooms_app, 2)
    assert "RedisAdapter" in str(error.value)
    with pytest.raises(WorkerConfigError, match="namespaces /"):
        check_shareable(RealtimeServer(), 4)
    check_shareable(apps.memory_rooms_app, 1)  # one process: nothing to share


def test_refuses_memory_sessions_with_the_reason() -> None:
    with pytest.raises(WorkerConfigError, match="MemoryStore") as error:
        apps.memory_sessions_app.listen(free_port(), workers=2)
    assert "RedisStore" in str(error.value)


def test_accepts_shared_adapter_and_store(redis_server: RedisServer) -> None:
    check_shareable(apps.build_shared_app(redis_server.url), 3)
    check_shareable(apps.http_app, 3)
    check_shareable(RealtimeServer(adapter_factory=expressio.RedisAdapter(redis_server.url)), 3)


def test_cli_refuses_and_says_why() -> None:
    completed = subprocess.run(
        [EXPRESSIO, "run", "tests.scaleout.apps:memory_rooms_app", "--workers", "2",
         "--port", str(free_port())],
        capture_output=True, text=True, cwd=ROOT, timeout=WAIT * 2, check=False,
    )  # fmt: skip
    assert completed.returncode == 1
    assert "cannot serve with 2 workers" in completed.stderr
    assert "RedisAdapter" in completed.stderr


def test_cli_starts_workers_and_replaces_a_dead_one(cluster: Cluster) -> None:
    server = cluster.start(
        [EXPRESSIO, "run", "tests.scaleout.apps:http_app", "--workers", "3", "--log-level",
         "warning"]
    )  # fmt: skip
    supervisor = server.process.pid
    workers = wait_children(supervisor, 3)
    served_by: set[int] = set()
    for _ in range(30):
        # a new connection each time: the kernel picks a worker per connection
        with httpx.Client(base_url=server.url) as client:
            response = client.get("/pid")
        assert response.status_code == 200
        served_by.add(response.json()["pid"])
    assert served_by <= workers

    victim = next(iter(workers))
    os.kill(victim, signal.SIGKILL)
    replaced = wait_children(supervisor, 3, exclude=frozenset({victim}))
    assert len(replaced & workers) == 2
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/pid").json()["pid"] in replaced

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=WAIT * 2) == 0
    for pid in replaced:  # every worker stopped (and was reaped) with the supervisor
        assert not Path(f"/proc/{pid}").exists()


LISTEN_SCRIPT = """
import sys
from tests.scaleout.apps import http_app
http_app.listen(int(sys.argv[1]), workers=2, log_level="warning")
"""


def test_app_listen_with_workers(cluster: Cluster) -> None:
    port = free_port()
    server = cluster.start([sys.executable, "-c", LISTEN_SCRIPT, str(port)], port=port)
    # cluster.start appends --port: the script reads its port from argv[1] instead
    workers = wait_children(server.process.pid, 2)
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/pid").json()["pid"] in workers
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=WAIT * 2) == 0
