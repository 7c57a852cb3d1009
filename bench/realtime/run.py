"""Realtime benchmark runner: expressio's engine against its peers, side by side, in one run.

    .venv/bin/python bench/realtime/run.py
        [--servers expressio,expressio-asgi,expressio-app,expressio-app-async,psio,node,raw,
                   expressio-recovery,expressio-app-recovery]
        [--scenarios idle,acks,broadcast,connect] (and broadcast_ack, on request)
        [--duration 5] [--warmup 1]

Each server runs pinned to core 0 and the Node load generator (`loadgen.js`) to core 1, both on
127.0.0.1. Figures: ack round-trips/s (50 clients in a closed loop), broadcast deliveries/s (1000
clients in one room), the time of one broadcast with acks to those 1000 clients against one
plain broadcast to them (`broadcast_ack`, rounds one at a time), connections/s (handshake +
namespace CONNECT, then close), and server RSS per idle websocket connection. The server's CPU
time is sampled over each measuring window, so a figure where the server was not saturated (the
generator or the machine was the limit) shows up.
Results are printed as a table (see report.py) and written as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from tests.support import free_port, wait_for_port  # noqa: E402

sys.path.insert(0, str(BENCH / "realtime"))
from report import (  # noqa: E402
    Peer,
    PeerResults,
    anomalies,
    best_of,
    check_targets,
    render_table,
)

LOADGEN = BENCH / "realtime" / "loadgen.js"
PEERS = BENCH / "peers"
RESULTS = BENCH / "results"
SERVER_CORE = "0"
LOADGEN_CORE = "1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

EXPRESSIO_SERVER = str(PEERS / "expressio_server.py")
PEER_LIST = (
    # How app.listen() serves: engine websockets on the engine's own asyncio protocol.
    Peer("expressio", "expressio", (sys.executable, EXPRESSIO_SERVER, "--transport", "direct")),
    # The same server as a plain ASGI app through uvicorn's websocket protocol.
    Peer(
        "expressio-asgi",
        "expressio ASGI",
        (sys.executable, EXPRESSIO_SERVER, "--transport", "asgi"),
    ),
    # The same load through the express.io API (app.io routes, req.io, sessions on), as
    # app.listen() serves: routes written with def (the seed's idiom) and with async def.
    Peer(
        "expressio-app",
        "expressio app.io def",
        (sys.executable, str(PEERS / "expressio_app_server.py"), "--routes", "def"),
    ),
    Peer(
        "expressio-app-async",
        "expressio app.io async",
        (sys.executable, str(PEERS / "expressio_app_server.py"), "--routes", "async"),
    ),
    # Connection state recovery on: every broadcast stamped with an offset and kept.
    Peer(
        "expressio-recovery",
        "expressio recovery",
        (sys.executable, EXPRESSIO_SERVER, "--transport", "direct", "--recovery"),
    ),
    Peer(
        "expressio-app-recovery",
        "expressio app.io def recovery",
        (sys.executable, str(PEERS / "expressio_app_server.py"), "--routes", "def", "--recovery"),
    ),
    Peer("psio", "python-socketio", (sys.executable, str(PEERS / "psio_server.py"))),
    Peer("node", "Node socket.io", ("node", str(PEERS / "node_server.js"))),
    Peer("raw", "raw ASGI ws", (sys.executable, str(PEERS / "raw_asgi_server.py"))),
)
PEERS_BY_NAME = {peer.name: peer for peer in PEER_LIST}
# The idle scenario runs first so that its baseline is a freshly started server.
SCENARIOS = ("idle", "acks", "broadcast", "broadcast_ack", "connect")
# broadcast_ack needs the peer's `fanout_ack` event (expressio, expressio-app*, node): on request.
DEFAULT_SCENARIOS = tuple(name for name in SCENARIOS if name != "broadcast_ack")


@dataclass
class ServerRun:
    peer: Peer
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def log_tail(self, limit: int = 2000) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:]

    def alive(self) -> bool:
        return self.process.poll() is None


def read_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process (all threads) from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def read_core_busy(cores: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per core: (busy, total) jiffies since boot, from /proc/stat."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:] in cores:
            jiffies = [int(value) for value in values]
            idle = jiffies[3] + jiffies[4]  # idle + iowait
            found[name[3:]] = (sum(jiffies[:8]) - idle, sum(jiffies[:8]))
    return found


def busy_share(start: tuple[int, int], end: tuple[int, int]) -> float:
    total = end[1] - start[1]
    return (end[0] - start[0]) / total if total else 0.0


def read_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextmanager
def running_server(peer: Peer, port: int) -> Iterator[ServerRun]:
    argv = ["taskset", "-c", SERVER_CORE, *peer.argv, "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        run = ServerRun(peer, process, log)
        try:
            yield run
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run_loadgen(
    server: ServerRun, port: int, scenario: str, options: argparse.Namespace
) -> dict[str, Any]:
    argv = [
        "taskset", "-c", LOADGEN_CORE, "node", str(LOADGEN),
        "--port", str(port), "--scenario", scenario,
        "--duration", str(options.connect_duration if scenario == "connect" else options.duration),
        "--warmup", str(options.warmup),
    ]  # fmt: skip
    if scenario == "acks":
        argv += ["--clients", str(options.ack_clients)]
    elif scenario == "broadcast":
        argv += ["--clients", str(options.broadcast_clients), "--fanout-n", str(options.fanout_n)]
    elif scenario == "broadcast_ack":
        argv += ["--clients", str(options.broadcast_clients)]
    elif scenario == "idle":
        argv += ["--clients", str(options.idle_connections)]
    # A caller opening many clients on a slow server may allow each handshake more time.
    connect_timeout = getattr(options, "connect_timeout", None)
    if connect_timeout is not None:
        argv += ["--connect-timeout", str(connect_timeout)]
    pid = server.process.pid
    result: dict[str, Any] = {}
    with tempfile.TemporaryFile() as errors:
        generator = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
        assert generator.stdin is not None and generator.stdout is not None
        # Bounded: whatever the server does, the generator is gone after this long.
        limit = options.warmup + options.duration + 90
        killer = threading.Timer(limit, generator.kill)
        killer.start()
        cpu_start = wall_start = 0.0
        cores_start: dict[str, tuple[int, int]] = {}
        rss_before = 0
        try:
            for raw_line in generator.stdout:
                line = raw_line.decode().strip()
                if line == "MEASURE_START":
                    cpu_start, wall_start = read_cpu_seconds(pid), time.monotonic()
                    cores_start = read_core_busy((SERVER_CORE, LOADGEN_CORE))
                elif line == "MEASURE_END":
                    busy = read_cpu_seconds(pid) - cpu_start
                    cores_end = read_core_busy((SERVER_CORE, LOADGEN_CORE))
                    result["server_cpu_s"] = busy
                    result["server_cpu_share"] = busy / (time.monotonic() - wall_start)
                    # Everything that ran on each core (the server or generator, the kernel's
                    # network work, and anything else on the machine): a figure whose server
                    # share is well below its core's total was taken on a busy machine.
                    for role, core in (("server", SERVER_CORE), ("loadgen", LOADGEN_CORE)):
                        result[f"{role}_core_total_share"] = busy_share(
                            cores_start[core], cores_end[core]
                        )
                elif line in ("IDLE_BASELINE", "IDLE_READY"):
                    rss = read_rss_kb(pid)
                    if line == "IDLE_BASELINE":
                        rss_before = rss
                    else:
                        result["rss_before_kb"], result["rss_after_kb"] = rss_before, rss
                    generator.stdin.write(b"go\n")
                    generator.stdin.flush()
                elif line.startswith("RESULT "):
                    result.update(json.loads(line[len("RESULT ") :]))
            generator.wait()
        finally:
            killer.cancel()
            if generator.poll() is None:
                generator.kill()
                generator.wait()
        if generator.returncode != 0 or "scenario" not in result:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-1500:]
            raise RuntimeError(f"load generator exited with {generator.returncode}: {message}")
    if scenario == "idle":
        grown_kb = result["rss_after_kb"] - result["rss_before_kb"]
        result["kb_per_connection"] = grown_kb / result["clients"]
    elif result.get("count"):
        result["server_us_per_op"] = result["server_cpu_s"] / result["count"] * 1e6
    return result


def bench_server(peer: Peer, scenarios: Sequence[str], options: argparse.Namespace) -> PeerResults:
    port = free_port()
    measured = PeerResults(peer)
    results = measured.results
    with running_server(peer, port) as server:
        try:
            wait_for_port(port, timeout=20, process=server.process)
        except (RuntimeError, TimeoutError) as error:
            failure = {"error": f"server did not start: {error}", "log": server.log_tail()}
            results.update((scenario, failure) for scenario in scenarios)
            return measured
        for scenario in scenarios:
            print(f"  {peer.label}: {scenario} ...", file=sys.stderr, flush=True)
            if not server.alive():
                results[scenario] = {
                    "error": f"server exited with {server.process.returncode}",
                    "log": server.log_tail(),
                }
                continue
            try:
                results[scenario] = run_loadgen(server, port, scenario, options)
            except (RuntimeError, OSError, ValueError, KeyError) as error:
                results[scenario] = {"error": str(error), "log": server.log_tail()}
    return measured


def machine_description() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "node": node,
        "load_average_at_start": os.getloadavg(),
    }


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(peer.name for peer in PEER_LIST))
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--duration", type=float, default=5.0, help="measuring window, seconds")
    parser.add_argument(
        "--connect-duration",
        type=float,
        default=3.0,
        help="measuring window of the connect scenario (kept short: ephemeral ports)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over all servers; the best round counts"
    )
    parser.add_argument("--ack-clients", type=int, default=50)
    parser.add_argument("--broadcast-clients", type=int, default=1000)
    parser.add_argument("--idle-connections", type=int, default=1000)
    parser.add_argument(
        "--fanout-n", type=int, default=10, help="broadcasts the server makes per trigger message"
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: dated)")
    options = parser.parse_args(argv)
    options.server_list = [name for name in options.servers.split(",") if name]
    options.scenario_list = [name for name in SCENARIOS if name in options.scenarios.split(",")]
    unknown = set(options.server_list) - set(PEERS_BY_NAME)
    if unknown or not options.scenario_list:
        parser.error(f"unknown servers {sorted(unknown)} or no known scenario")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 cores; server and generator share one", file=sys.stderr)
    machine = machine_description()
    runs: list[PeerResults] = []
    rounds: dict[str, list[dict[str, dict[str, Any]]]] = {}
    # Rounds go through every server in turn, so a burst of load elsewhere on the machine
    # hurts one round of each rather than all rounds of one server.
    for round_number in range(options.repeat):
        if options.repeat > 1:
            print(f"round {round_number + 1}/{options.repeat}", file=sys.stderr)
        for index, name in enumerate(options.server_list):
            run = bench_server(PEERS_BY_NAME[name], options.scenario_list, options)
            rounds.setdefault(name, []).append(run.results)
            if round_number == 0:
                # A copy: the best figures are merged into it, the rounds stay as measured.
                runs.append(PeerResults(run.peer, dict(run.results)))
                continue
            kept = runs[index].results
            for scenario, result in run.results.items():
                kept[scenario] = best_of(scenario, kept[scenario], result)
    print()
    print(render_table(runs, options.scenario_list))
    verdicts = check_targets(runs)
    if verdicts:
        print("\ntargets:")
        for verdict in verdicts:
            print(f"  {verdict}")
    notes = anomalies(runs)
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    for run in runs:
        failures: dict[str, list[str]] = {}
        for scenario, result in run.results.items():
            if "error" in result:
                failures.setdefault(result["error"] + "\n" + result["log"], []).append(scenario)
        for failure, scenarios in failures.items():
            error, log = failure.split("\n", 1)
            print(f"\n{run.peer.label} failed ({', '.join(scenarios)}): {error}")
            print("  server output (tail):\n    " + log.replace("\n", "\n    "))
    RESULTS.mkdir(exist_ok=True)
    output = options.output or RESULTS / f"realtime-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "machine": machine,
        "options": {key: value for key, value in vars(options).items() if key != "output"},
        "servers": {run.peer.name: {"label": run.peer.label, **run.results} for run in runs},
        "rounds": rounds if options.repeat > 1 else None,
        "targets": verdicts,
        "notes": notes,
    }
    output.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nresults: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
