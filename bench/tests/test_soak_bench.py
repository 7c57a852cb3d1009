"""The soak benchmark measures something real: a `--quick` run against the expressio peer.

Run explicitly with the other benchmark tests:
    .venv/bin/pytest bench/tests
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent
RUNNER = BENCH / "soak" / "run.py"

sys.path.insert(0, str(BENCH / "soak"))
import tables  # noqa: E402

NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")


def rows(output: str, title: str) -> list[str]:
    """The cells after `title` on every table row of that title (the flood table has two)."""
    found = [line[len(title) :].split() for line in output.splitlines() if line.startswith(title)]
    assert found, f"no row {title!r} in:\n{output}"
    return [" ".join(cells) for cells in found]


def numbers(output: str, title: str) -> list[float]:
    values = []
    for cells in rows(output, title):
        match = NUMBER.fullmatch(cells)
        assert match, f"row {title!r} is not a number: {cells!r}"
        values.append(float(cells.replace(",", "")))
    return values


def test_a_quick_run_reports_every_scenario_for_expressio(tmp_path: Path) -> None:
    output = tmp_path / "soak.json"
    completed = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--servers", "expressio", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert completed.returncode == 0, completed.stderr
    stdout = completed.stdout
    assert "FAILED" not in stdout, stdout
    positive = (
        "KB RSS per idle connection",
        "time to connect them all, s",
        "websocket CONNECT flood: handshakes/s",
        "polling handshake flood: handshakes/s",
        "  probe ack p50 ms, flood",
        "  probe ack p99 ms, flood",
        "  requests/s",
        "  store entries after",
    )
    for title in positive:
        for value in numbers(stdout, title):
            assert math.isfinite(value) and value > 0, (title, value, stdout)
    for value in numbers(stdout, "peak RSS above idle, MB") + numbers(
        stdout, "  peak RSS above idle, MB"
    ):
        assert math.isfinite(value) and value >= 0, stdout
    assert rows(stdout, "reader received") == ["20 / 20"], stdout
    # Two flood kinds, each with its own verdict, and the slow-consumer one.
    assert len(re.findall(r"^  .*: .* (met|NOT met)$", stdout, re.MULTILINE)) == 3, stdout

    document: dict[str, Any] = json.loads(output.read_text())
    http = document["results"]["http"]["expressio"]
    requests = document["sizes"]["requests"]
    # A route that never touches the session stores nothing and sets no cookie; one that sets
    # a value stores a session per cookieless request.
    assert http["anon"]["with_set_cookie"] == 0
    assert http["anon"]["store_sessions"] == http["login"]["store_sessions"] - requests
    assert http["login"]["with_set_cookie"] == requests
    polling = document["results"]["flood"]["expressio"]["polling"]
    assert polling["flood"]["completed"] > 0
    assert polling["sessions_at_end"] >= 1


def test_the_targets_are_judged_on_expressio_figures() -> None:
    def flood(p99: float) -> dict[str, Any]:
        return {"probe": {"flood": {"p99_ms": p99}}}

    verdicts = tables.check_targets(
        {
            "slow": {"peak_above_idle_mb": 120.0},
            "flood": {"ws": flood(12.5), "polling": {"error": "server did not start"}},
        }
    )
    assert verdicts == [
        "slow consumers: peak RSS above idle < 100 MB: 120.0 MB NOT met",
        "ws flood: probe ack p99 < 50 ms: 12.50 ms met",
        "polling flood: ack p99 not measured",
    ]


def test_a_failed_server_shows_in_its_column() -> None:
    table = tables.render_table(
        "idle",
        ["ours", "theirs"],
        [{"clients": 10, "kb_per_connection": 4.3}, {"error": "server did not start"}],
    ).splitlines()
    assert table[0].split() == ["Idle", "clients", "ours", "theirs"]
    assert table[2].split() == ["idle", "websocket", "clients", "10", "FAILED"]
    assert table[4].split() == ["KB", "RSS", "per", "idle", "connection", "4.3", "FAILED"]
