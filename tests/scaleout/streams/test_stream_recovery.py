"""Connection state recovery across processes: a client of process A comes back on process B
(expressio or Node) with its id, rooms and the broadcasts it missed; forged or stale ids get a
fresh session."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.redis_support import RedisServer
from tests.scaleout.conftest import WAIT, Client, Cluster, ServerProcess
from tests.scaleout.streams.conftest import broadcast, start_expressio, start_node, warm_up
from tests.support import ROOT

pytestmark = pytest.mark.timeout(120)

HERE = Path(__file__).resolve().parent
STARTERS = {"expressio": start_expressio, "node": start_node}


async def recovering_client(a: ServerProcess, b: ServerProcess, redis_url: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "recovering_client.mjs"),
        "--from", a.url, "--to", b.url, "--redis", redis_url,
        "--helpers", f"{a.url},{b.url}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 4 * WAIT)
    lines = output.decode(errors="replace").strip().splitlines()
    assert process.returncode == 0 and lines, output.decode(errors="replace")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@pytest.mark.parametrize(
    ("first", "second"), [("expressio", "expressio"), ("expressio", "node"), ("node", "expressio")]
)
async def test_a_client_recovers_on_another_process(
    redis_server: RedisServer, cluster: Cluster, clients: Any, first: str, second: str
) -> None:
    a = STARTERS[first](cluster, redis_server.url, recovery=True)
    b = STARTERS[second](cluster, redis_server.url, recovery=True)
    await warm_up([await clients(a.url), await clients(b.url)])

    result = await recovering_client(a, b, redis_server.url)

    before, after = result["before"], result["after"]
    assert (before["server"], after["server"]) == (first, second)
    assert result["recovered"] is True
    assert after["sid"] == before["sid"]
    assert "r" in after["rooms"]
    received = result["received"]
    # offsets are stream ids, the last argument of each broadcast
    assert all(len(args) == 3 and isinstance(args[2], str) for args in received), received
    events = [(event, data) for event, data, _offset in received]
    # each missed broadcast once, none meant for others; the first and last as sent
    assert events[0] == ("m", 0) and events[-1] == ("m", 5)
    assert sorted(events[1:-1], key=str) == sorted(
        [("m", 1), ("m", 2), ("m", 3), ("m", 4), ("m-all", "all")], key=str
    )
    # in the stream's order (two processes' broadcasts interleave in it as Redis got them),
    # which keeps each process's own order
    offsets = [tuple(map(int, offset.split("-"))) for _, _, offset in received]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    data = [value for _, value, _ in received]
    assert data.index(1) < data.index(3) and data.index(2) < data.index(4)

    # the session was taken: the same pid and offset again, on either process, start afresh
    for server in (a, b):
        again = Client(server.url)
        await again.sio.connect(
            server.url, auth=result["kept"], transports=["websocket"], wait_timeout=WAIT
        )
        me = await again.call("whoami")
        assert me["recovered"] is False and me["sid"] != before["sid"]
        await again.disconnect()


@pytest.mark.parametrize("kind", ["expressio", "node"])
async def test_forged_or_stale_ids_get_a_fresh_session(
    redis_server: RedisServer, cluster: Cluster, clients: Any, kind: str
) -> None:
    server = STARTERS[kind](cluster, redis_server.url, recovery=True)
    watcher = await clients(server.url)
    await broadcast(watcher, "something")  # the stream has an entry
    await watcher.wait_for("something")
    forged = [
        {"pid": "not-a-kept-pid", "offset": "0-0"},
        {"pid": "not-a-kept-pid", "offset": "garbage"},
        {"pid": "x" * 99, "offset": "99999999999999-0"},
    ]
    for auth in forged:
        client = Client(server.url)
        await client.sio.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=WAIT)
        me = await client.call("whoami")
        assert me["recovered"] is False
        assert me["rooms"] == [me["sid"]]
        await client.disconnect()
