"""The scale-out benchmark measures something real: a tiny run over two processes sharing a
private Redis, for Node socket.io's Redis adapters, expressio's and python-socketio's, and the
mixed Node + expressio cluster in both directions (its processes speak one wire format, so it
must deliver everything too).

Run explicitly with the other benchmark tests:
    .venv/bin/pytest bench/tests
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.redis_support import RedisServer

BENCH = Path(__file__).resolve().parent.parent
RUNNER = BENCH / "scaleout" / "run.py"

# Loaded under its own name: the realtime benchmark has a module called "run" too.
_spec = importlib.util.spec_from_file_location("scaleout_run", RUNNER)
assert _spec is not None and _spec.loader is not None
scaleout = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = scaleout  # its dataclasses look their module up there
_spec.loader.exec_module(scaleout)

SINGLE_LANGUAGE = ("node", "node-streams", "expressio", "psio")
# One Node and one expressio process on one Redis; the trigger on the first one named.
MIXED = {
    "mixed": ["expressio_redis_server.py", "node_redis_server.mjs"],
    "mixed-node": ["node_redis_server.mjs", "expressio_redis_server.py"],
}


def test_a_tiny_run_delivers_everything_on_each_peer(tmp_path: Path) -> None:
    output = tmp_path / "scaleout.json"
    peers = [*SINGLE_LANGUAGE, "expressio-streams", *MIXED]
    completed = subprocess.run(
        [
            sys.executable, str(RUNNER), "--peers", ",".join(peers), "--processes", "2",
            "--clients", "20", "--duration", "0.3", "--samples", "5", "--output", str(output),
        ],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    rows = {row["peer"]: row for row in json.loads(output.read_text())["rows"]}
    assert sorted(rows) == sorted(peers)
    for name in [*SINGLE_LANGUAGE, *MIXED]:
        row = rows[name]
        assert row["status"] == "ok", row
        assert row["processes"] == 2
        # Pinned round-robin: one server per core.
        assert [server["core"] for server in row["servers"]] == ["0", "1"]
        fanout = row["fanout"]
        assert fanout["clients"] == 20
        assert fanout["deliveries"] > 0, row
        assert fanout["deliveries_missing"] == 0, row
        assert row["server_cpu_us_per_delivery"] >= 0
        # Every single tick reached the trigger's process and the other one, through Redis:
        # for a mixed row, a process of the other language.
        latency = row["latency"]
        assert latency["lost"] == 0, row
        assert latency["remote_median_us"] > 0, row

    streams = rows["expressio-streams"]
    if streams["status"].startswith("not available"):
        assert "RedisStreamsAdapter" in streams["status"], streams
    else:
        assert streams["status"] == "ok", streams
        assert streams["fanout"]["deliveries"] > 0, streams
        assert streams["fanout"]["deliveries_missing"] == 0, streams

    for name, scripts in MIXED.items():
        assert [server["script"] for server in rows[name]["servers"]] == scripts, rows[name]
    table = completed.stdout
    for row in rows.values():
        line = next(line for line in table.splitlines() if line.startswith(row["label"]))
        if "fanout" in row:
            assert f"{row['fanout']['deliveries_missing']:,}" in line.split(), (line, row)
        if row["status"] != "ok":
            assert row["status"] in line, (line, row)


def server_script(tmp_path: Path, body: str) -> Any:
    script = tmp_path / "server.py"
    script.write_text(body)
    return scaleout.Server((sys.executable, str(script)))


def measure_one(server: Any, processes: int = 1) -> dict[str, Any]:
    options = scaleout.parse_options(
        ["--clients", "5", "--duration", "0.2", "--samples", "2", "--cores", ""]
    )
    peer = scaleout.Peer("broken", "broken", (server,))
    with RedisServer() as redis:
        row: dict[str, Any] = scaleout.measure(peer, processes, redis, options)
    return row


def test_a_peer_whose_adapter_is_missing_shows_as_not_available(tmp_path: Path) -> None:
    server = server_script(
        tmp_path,
        "import sys\n"
        "print('NOT AVAILABLE: cannot import name RedisStreamsAdapter', file=sys.stderr)\n"
        "raise SystemExit(3)\n",
    )
    row = measure_one(server)
    assert row["status"] == "not available (cannot import name RedisStreamsAdapter)"
    assert "fanout" not in row


def test_a_server_that_cannot_start_is_a_failed_row_not_a_failed_run(tmp_path: Path) -> None:
    server = server_script(tmp_path, "raise SystemExit('no server here')\n")
    row = measure_one(server)
    assert row["status"].startswith("failed (server.py: server exited with 1"), row
    assert "no server here" in row["error"]


def test_a_server_that_dies_during_the_run_is_named_with_its_error(tmp_path: Path) -> None:
    # Listens long enough to be seen as started, then fails before any client arrives.
    server = server_script(
        tmp_path,
        "import socket, sys\n"
        "port = int(sys.argv[sys.argv.index('--port') + 1])\n"
        "listener = socket.create_server(('127.0.0.1', port))\n"
        "listener.accept()[0].close()\n"
        "listener.close()\n"
        "raise RuntimeError('lost its Redis')\n",
    )
    row = measure_one(server)
    assert row["status"] == (
        "failed (server.py exited with 1 during the run: RuntimeError: lost its Redis)"
    ), row
    assert "Traceback" in row["error"]


def test_a_mixed_cluster_needs_a_process_of_each_kind() -> None:
    options = scaleout.parse_options(["--peers", "mixed"])
    row = scaleout.measure(scaleout.PEERS_BY_NAME["mixed"], 1, None, options)
    assert row["status"] == "n/a (needs 2+ processes)"


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--peers", "expressio,nope"], "unknown peers ['nope']"),
        (["--processes", "1,two"], "--processes takes numbers"),
        (["--processes", "0"], "each count is at least 1"),
    ],
    ids=["unknown-peer", "not-a-number", "zero-processes"],
)
def test_bad_options_are_refused_saying_why(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        scaleout.parse_options(argv)
    assert exit_info.value.code == 2
    assert complaint in capsys.readouterr().err
