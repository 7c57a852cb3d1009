"""Scale-out benchmark: broadcast fan-out over 1, 2 and 4 processes sharing one Redis, and the
latency a cross-process broadcast adds, for expressio's RedisAdapter beside python-socketio's
AsyncRedisManager.

    .venv/bin/python bench/scaleout/run.py [--peers expressio,psio] [--processes 1,2,4]
                                           [--clients 1000] [--duration 5]

A private redis-server is started on a free port. For each peer and process count, the server
processes start, 1000 clients (``fanout.mjs``) spread round-robin over them join room "bench", and
a trigger on the first process keeps broadcasting "tick" to the room (credit loop): deliveries
received per second over the window. Then, with one client per process, single ticks one at a
time: the median time from trigger to arrival on the trigger's own process (local) and on the
others (through Redis). Prints a table; writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_support import RedisServer  # noqa: E402
from tests.support import free_port, server_process  # noqa: E402

PEERS = {
    "expressio": ("expressio RedisAdapter", HERE / "expressio_redis_server.py"),
    "psio": ("python-socketio AsyncRedisManager", HERE / "psio_redis_server.py"),
}
DRIVER = HERE / "fanout.mjs"
RESULTS = ROOT / "bench" / "results"


def run_driver(ports: list[int], scenario: str, options: argparse.Namespace) -> dict[str, Any]:
    argv = [
        "node", str(DRIVER), "--ports", ",".join(map(str, ports)), "--scenario", scenario,
        "--clients", str(options.clients), "--duration", str(options.duration),
    ]  # fmt: skip
    completed = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"driver failed ({completed.returncode}):\n{completed.stderr[-2000:]}")


def measure(
    peer: str, count: int, redis: RedisServer, options: argparse.Namespace
) -> dict[str, Any]:
    script = PEERS[peer][1]
    ports = [free_port() for _ in range(count)]
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(
                server_process(
                    [sys.executable, str(script), "--port", str(port), "--redis", redis.url], port
                )
            )
        time.sleep(0.5)  # subscriptions settle (the peers subscribe at startup)
        fanout = run_driver(ports, "fanout", options)
        latency = run_driver(ports, "latency", options) if count > 1 else None
    return {"peer": peer, "processes": count, "fanout": fanout, "latency": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="expressio,psio")
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=5)
    options = parser.parse_args()
    peers = options.peers.split(",")
    counts = [int(count) for count in options.processes.split(",")]
    rows = []
    with RedisServer() as redis:
        for peer in peers:
            for count in counts:
                print(f"{PEERS[peer][0]}: {count} process(es)...", file=sys.stderr, flush=True)
                rows.append(measure(peer, count, redis, options))
    print(f"\n{options.clients} clients in one room; one Redis; {platform.node()}, "
          f"{platform.python_version()}\n")  # fmt: skip
    print(f"{'peer':38} {'procs':>5} {'deliveries/s':>13} {'missing':>8} "
          f"{'local µs':>9} {'remote µs':>10} {'added µs':>9}")  # fmt: skip
    for row in rows:
        fanout, latency = row["fanout"], row["latency"] or {}
        local, remote, added = (
            f"{latency[key]:.0f}" if latency.get(key) is not None else "-"
            for key in ("local_median_us", "remote_median_us", "remote_added_us")
        )
        print(f"{PEERS[row['peer']][0]:38} {row['processes']:>5} "
              f"{fanout['deliveries_per_s']:>13,.0f} {fanout['deliveries_missing']:>8} "
              f"{local:>9} {remote:>10} {added:>9}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scaleout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"options": vars(options), "rows": rows}, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
