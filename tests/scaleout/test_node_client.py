"""The official Node socket.io-client across processes: two Node clients on two server
processes and a python-socketio client on a third broadcast to one another."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import ROOT

from .conftest import WAIT, ServerProcess

Connect = Callable[..., Any]
SCRIPT = ROOT / "tests" / "scaleout" / "node" / "cluster_clients.mjs"


async def read_step(process: asyncio.subprocess.Process, expected: str) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), WAIT)
    assert line, f"the Node script ended before {expected!r}"
    record: dict[str, Any] = json.loads(line)
    assert record["step"] == expected, record
    return record


@pytest.mark.parametrize("transports", ["websocket", "polling,websocket", "polling"])
async def test_node_clients_across_processes(
    trio: list[ServerProcess], clients: Connect, transports: str
) -> None:
    python_client = await clients(trio[2].url)
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), "--urls", f"{trio[0].url},{trio[1].url}",
        "--transports", transports,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        connected = await read_step(process, "connected")
        assert len(set(connected["pids"])) == 2
        broadcasts = await read_step(process, "broadcasts")
        hello = ["from-node", {"text": "hi", "n": 1}]
        assert [item for item in broadcasts["x"] if item[0] != "node-fence"] == [hello]
        assert [item for item in broadcasts["y"] if item[0] != "node-fence"] == [
            hello, ["to-room", {"$binary": "010203"}],
        ]  # fmt: skip
        await python_client.wait_for("node-fence")
        assert python_client.events("from-node") == [({"text": "hi", "n": 1},)]
        assert python_client.events("to-room") == []

        await read_step(process, "ready")
        assert await python_client.call("broadcast", {"event": "from-python", "args": [[1, 2]]})
        from_python = await read_step(process, "from-python")
        assert from_python["x"] == from_python["y"] == [["from-python", [1, 2]]]
        await read_step(process, "done")
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if process.stderr is not None:
            errors = (await process.stderr.read()).decode(errors="replace")
            if errors.strip():
                print(errors)
