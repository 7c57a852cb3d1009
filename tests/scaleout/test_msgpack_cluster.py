"""Processes with different Socket.IO parsers on one Redis: a broadcast made by a JSON process,
a msgpack process or an Emitter of either parser reaches the clients of every process in their
own parser's format, bytes included (a process re-encodes what another parser encoded)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from tests.redis_support import RedisServer
from tests.support import ROOT

from .conftest import WAIT, Cluster, wait_subscribers

Connect = Callable[..., Any]

EMITTER_SCRIPT = textwrap.dedent(
    """
    import sys
    from expressio import Emitter

    with Emitter(sys.argv[1], parser=sys.argv[2]) as emitter:
        print(emitter.broadcast("from-emitter", sys.argv[2], {"blob": b"\\x00\\xff"}))
    """
)


async def test_json_and_msgpack_processes_form_one_cluster(
    cluster: Cluster, redis_server: RedisServer, clients: Connect
) -> None:
    json_process = cluster.start_realtime(redis_server.url)
    msgpack_process = cluster.start_realtime(redis_server.url, "expressio", "--parser", "msgpack")
    wait_subscribers(redis_server.url, "expressio-request#/#", 2)
    json_client = await clients(json_process.url)
    msgpack_client = await clients(msgpack_process.url, serializer="msgpack")
    receivers = (json_client, msgpack_client)
    assert await json_client.call("join", "room")
    assert await msgpack_client.call("join", "room")

    payload = {"blob": b"\x01\x02", "nested": [b"\x03"], "text": "hi"}
    for index, sender in enumerate(receivers):
        spec = {"event": f"news-{index}", "args": [payload, index], "to": "room"}
        assert await sender.call("broadcast", spec)
        for client in receivers:
            await client.wait_for(f"news-{index}")
            assert client.events(f"news-{index}") == [(payload, index)]

    for parser in ("json", "msgpack"):
        completed = subprocess.run(
            [sys.executable, "-c", EMITTER_SCRIPT, redis_server.url, parser],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=WAIT,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.split() == ["2"]  # both processes received it
        for client in receivers:
            await client.wait_for("from-emitter", count=1 if parser == "json" else 2)
    for client in receivers:
        assert client.events("from-emitter") == [
            ("json", {"blob": b"\x00\xff"}),
            ("msgpack", {"blob": b"\x00\xff"}),
        ]
