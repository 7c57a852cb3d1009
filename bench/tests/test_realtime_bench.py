"""The realtime benchmark harness measures something real: a short run against real servers.

Run explicitly (the benchmark is not part of the product's test suite):
    .venv/bin/pytest bench/tests
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent
RUNNER = BENCH / "realtime" / "run.py"

sys.path.insert(0, str(BENCH / "realtime"))
import report  # noqa: E402
import run  # noqa: E402


def run_benchmark(tmp_path: Path, servers: str) -> dict[str, Any]:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable, str(RUNNER), "--servers", servers,
            "--duration", "0.5", "--connect-duration", "0.5", "--warmup", "0.2",
            "--ack-clients", "10", "--broadcast-clients", "50", "--idle-connections", "100",
            "--output", str(output),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "ack round-trips/s" in completed.stdout
    document: dict[str, Any] = json.loads(output.read_text())
    return document


def test_a_short_run_measures_every_scenario_against_real_servers(tmp_path: Path) -> None:
    document = run_benchmark(tmp_path, "raw,expressio")
    for name in ("raw", "expressio"):
        server = document["servers"][name]
        for scenario in ("acks", "broadcast", "connect"):
            assert "error" not in server[scenario], server[scenario]
            assert server[scenario]["count"] > 0
            assert server[scenario]["server_cpu_s"] > 0
        assert server["broadcast"]["deliveries_missing"] == 0
        assert server["broadcast"]["clients"] == 50
        assert server["connect"]["failures"] == 0
        # 100 websocket connections cost a Python server memory: the RSS reading is live.
        assert server["idle"]["rss_after_kb"] > server["idle"]["rss_before_kb"]


def test_a_server_that_cannot_start_is_reported_not_fatal(tmp_path: Path) -> None:
    argv = (sys.executable, "-c", "raise SystemExit('no server')")
    broken = report.Peer("broken", "broken", argv)
    options = run.parse_options(["--duration", "0.5"])
    server = run.bench_server(broken, ["acks"], options)
    assert "server did not start" in server.results["acks"]["error"]
    assert "no server" in server.results["acks"]["log"]


def test_the_best_round_is_the_faster_or_the_leaner() -> None:
    slow, fast = {"rate_per_s": 10.0}, {"rate_per_s": 20.0}
    assert report.best_of("acks", slow, fast) is fast
    assert report.best_of("acks", fast, slow) is fast
    assert report.best_of("acks", {"error": "x"}, slow) is slow
    lean, fat = {"kb_per_connection": 5.0}, {"kb_per_connection": 9.0}
    assert report.best_of("idle", fat, lean) is lean


@pytest.mark.parametrize(
    ("ratio", "verdict"), [(3.0, "met"), (2.0, "NOT met")], ids=["above", "below"]
)
def test_targets_compare_expressio_with_its_peers(ratio: float, verdict: str) -> None:
    def server(name: str, acks: float) -> report.PeerResults:
        return report.PeerResults(run.PEERS_BY_NAME[name], {"acks": {"rate_per_s": acks}})

    verdicts = report.check_targets([server("expressio", 1000.0 * ratio), server("psio", 1000.0)])
    assert verdicts == [f"acks expressio/python-socketio >= 2.5x: {ratio:.2f}x {verdict}"]


def test_the_table_puts_servers_side_by_side_with_the_ratios() -> None:
    peers = run.PEERS_BY_NAME
    expressio = report.PeerResults(peers["expressio"], {"acks": {"rate_per_s": 30000.0}})
    node = report.PeerResults(peers["node"], {"acks": {"rate_per_s": 60000.0}})
    table = report.render_table([expressio, node], ["acks"]).splitlines()
    assert table[0].split() == ["expressio", "Node", "socket.io", "expressio/node"]
    assert table[2].split() == ["ack", "round-trips/s", "30,000", "60,000", "0.50x"]
