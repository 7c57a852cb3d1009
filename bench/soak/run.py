"""Soak benchmark: server memory and latency under hostile and heavy load, side by side.

    .venv/bin/python bench/soak/run.py
        [--scenarios idle,slow,flood,http] [--servers expressio,psio,node,starlette] [--quick]

Scenarios (each on a freshly started server, pinned to core 0; the Node generators
`soakgen.js` and `../realtime/loadgen.js` on core 1):

- idle: 10,000 idle websocket clients (Socket.IO CONNECT done): server RSS above its idle
  baseline per connection, and the time to connect them all;
- slow: 50 clients join a room and never read their socket while a well-behaved client in the
  same room asks for 200 broadcasts of 300 KB, one every 50 ms: peak server RSS above idle,
  which non-readers the server closed and when, and what the reader received;
- flood: for 10 s, new connections as fast as the server takes them (websocket handshake +
  CONNECT, then reset; separately, polling handshakes never followed by a poll), while one
  client emits with ack in a loop: that client's ack latency, the flood's rate, peak RSS, and
  the Engine.IO sessions the server holds afterwards;
- http: 120,000 cookieless GETs of a route that never touches the session, then of one that
  sets a value: RSS growth and the session store's entry count.

Columns: expressio's express.io app as app.listen() serves it (``app.io`` routes, sessions,
an ``app.io.use`` handshake middleware), python-socketio on uvicorn, Node socket.io 4; for the
HTTP scenario, bare Starlette with its (cookie-stored) ``SessionMiddleware``. Results are printed
as one table per scenario and written as JSON under bench/results/. A server whose RSS passes
4 GB is killed and reported so.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOAK = Path(__file__).resolve().parent
BENCH = SOAK.parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from tests.support import free_port, wait_for_port  # noqa: E402


def _load_realtime_runner() -> Any:
    # The realtime benchmark's runner is also called run.py: load it under a name of its own.
    spec = importlib.util.spec_from_file_location("realtime_run", BENCH / "realtime" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["realtime_run"] = module
    spec.loader.exec_module(module)
    return module


realtime = _load_realtime_runner()
sys.path.insert(0, str(SOAK))
from tables import check_targets, render_table  # noqa: E402

Peer = realtime.Peer
SOAKGEN = SOAK / "soakgen.js"
PEERS_DIR = BENCH / "peers"
RESULTS = BENCH / "results"
LOADGEN_CORE = realtime.LOADGEN_CORE
SCENARIOS = ("idle", "slow", "flood", "http")
# A server above this RSS is killed (and the figure reported as over it): no scenario may take
# the shared machine down.
RSS_CEILING_KB = 4 << 20


@dataclass(frozen=True)
class SoakPeer:
    peer: Any  # realtime.Peer: name, label, argv
    scenarios: tuple[str, ...]


PYTHON = sys.executable
# Every realtime peer takes both transports (the polling flood needs them) and runs handshake
# middleware or its nearest equivalent, as apps do.
EXPRESSIO_ARGV = (PYTHON, str(PEERS_DIR / "expressio_app_server.py"), "--routes", "def")
EXPRESSIO_ARGV += ("--transports", "websocket,polling", "--middleware", "def")
PSIO_ARGV = (PYTHON, str(PEERS_DIR / "psio_server.py"), "--connect-handler")
PSIO_ARGV += ("--transports", "websocket,polling")
NODE_ARGV = ("node", str(PEERS_DIR / "node_server.js"), "--middleware")
NODE_ARGV += ("--transports", "websocket,polling")
STARLETTE_ARGV = (PYTHON, str(PEERS_DIR / "http_hello_starlette.py"), "--sessions")
PEER_LIST = (
    SoakPeer(Peer("expressio", "expressio app.io", EXPRESSIO_ARGV), SCENARIOS),
    SoakPeer(Peer("psio", "python-socketio", PSIO_ARGV), ("idle", "slow", "flood")),
    SoakPeer(Peer("node", "Node socket.io", NODE_ARGV), ("idle", "slow", "flood")),
    SoakPeer(Peer("starlette", "Starlette SessionMiddleware", STARLETTE_ARGV), ("http",)),
)
PEERS_BY_NAME = {soak.peer.name: soak for soak in PEER_LIST}

FULL_SIZES = {
    "idle_clients": 10_000,
    "slow_clients": 50,
    "broadcasts": 200,
    "broadcast_size": 300_000,
    "broadcast_interval": 0.05,
    "drain": 10.0,
    "flood_duration": 10.0,
    "quiet": 2.0,
    "linger": 60.0,
    "requests": 120_000,  # past the MemoryStore's default cap of 100,000 sessions
    "warmup_requests": 2000,
}
QUICK_SIZES = {
    "idle_clients": 200,
    "slow_clients": 5,
    "broadcasts": 20,
    "broadcast_size": 300_000,
    "broadcast_interval": 0.02,
    "drain": 3.0,
    "flood_duration": 0.8,
    "quiet": 0.3,
    "linger": 0.3,
    "requests": 500,
    "warmup_requests": 100,
}


class RssSampler:
    """Samples a process's VmRSS in a thread and keeps the peak; kills it over the ceiling."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.timeline: list[tuple[float, int]] = []  # (seconds, KB), about 4 a second
        self.killed_over_ceiling = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self.peak_kb = realtime.read_rss_kb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.monotonic()
        next_point = start
        while not self._stop.wait(self.interval):
            try:
                rss = realtime.read_rss_kb(self.pid)
            except (OSError, RuntimeError):
                return  # the process is gone
            self.peak_kb = max(self.peak_kb, rss)
            now = time.monotonic()
            if now >= next_point:
                self.timeline.append((round(now - start, 2), rss))
                next_point = now + 0.25
            if rss > RSS_CEILING_KB:
                self.killed_over_ceiling = True
                os.kill(self.pid, 9)
                return


class Generator:
    """A `soakgen.js` process on the generator's core: control lines in, answers out."""

    def __init__(self, port: int, mode: str, limit: float, **options: Any) -> None:
        argv = ["taskset", "-c", LOADGEN_CORE, "node", str(SOAKGEN), "--port", str(port)]
        argv += ["--mode", mode]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        self.mode = mode
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        # Bounded: whatever the server does, the generator is gone after this long.
        self._killer = threading.Timer(limit, self.process.kill)
        self._killer.start()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, prefix: str) -> str:
        """The next control line starting with `prefix` (earlier other lines are skipped)."""
        while True:
            line = self.lines.get()
            if line is None:
                self._fail(f"ended before {prefix}")
            assert line is not None
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def result(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.expect("RESULT "))
        self.process.wait()
        self.close()
        return answer

    def _fail(self, what: str) -> None:
        self.process.wait()
        self.close()
        self.errors.seek(0)
        message = self.errors.read().decode(errors="replace").strip()[-1500:]
        raise RuntimeError(
            f"soakgen {self.mode} {what} (exit {self.process.returncode}): {message}"
        )

    def close(self) -> None:
        self._killer.cancel()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()


def count_socket_fds(pid: int) -> int:
    count = 0
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(entry).startswith("socket:"):
                count += 1
        except OSError:
            continue  # closed meanwhile
    return count


def fetch_json(port: int, path: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            document: dict[str, Any] = json.load(answer)
            return document
    except (OSError, ValueError):
        return None


def mb(kb: float) -> float:
    return kb / 1024


# -- scenarios ------------------------------------------------------------------------------


def scenario_idle(server: Any, port: int, sizes: dict[str, Any]) -> dict[str, Any]:
    # The realtime benchmark's idle scenario, with more clients: the baseline is read after a
    # warm-up of 20 connections, the figure after all clients connected and 1 s of rest.
    options = argparse.Namespace(
        duration=60.0,  # unused by the idle scenario but for the generator's time bound
        connect_duration=1.0,
        warmup=0.0,
        idle_connections=sizes["idle_clients"],
        # python-socketio, holding thousands of clients, may take longer than the default 10 s
        # to answer one handshake when the machine is busy.
        connect_timeout=60,
    )
    result: dict[str, Any] = realtime.run_loadgen(server, port, "idle", options)
    return result


def scenario_slow(server: Any, port: int, sizes: dict[str, Any]) -> dict[str, Any]:
    pid = server.process.pid
    duration = sizes["broadcasts"] * sizes["broadcast_interval"] + sizes["drain"]
    generator = Generator(
        port,
        "slow",
        limit=duration + 120,
        slow_clients=sizes["slow_clients"],
        broadcasts=sizes["broadcasts"],
        size=sizes["broadcast_size"],
        interval=sizes["broadcast_interval"],
        drain=sizes["drain"],
    )
    try:
        generator.expect("SLOW_BASELINE")
        idle_kb = realtime.read_rss_kb(pid)
        with RssSampler(pid) as sampler:
            generator.send("go")
            generator.expect("SLOW_END")
        generator.send("go")
        result = generator.result()
    finally:
        generator.close()
    result["rss_idle_kb"] = idle_kb
    result["rss_peak_kb"] = sampler.peak_kb
    result["peak_above_idle_mb"] = mb(sampler.peak_kb - idle_kb)
    result["killed_over_ceiling"] = sampler.killed_over_ceiling
    result["rss_timeline_kb"] = sampler.timeline
    return result


def flood_once(
    server: Any, port: int, kind: str, sizes: dict[str, Any], concurrency: int
) -> dict[str, Any]:
    pid = server.process.pid
    flood_seconds = sizes["flood_duration"]
    probe = Generator(port, "probe", limit=flood_seconds + 120, interval=0.002)
    try:
        probe.expect("PROBE_READY")
        probe.send("phase quiet")
        time.sleep(sizes["quiet"])
        idle_kb = realtime.read_rss_kb(pid)
        cpu_start, wall_start = realtime.read_cpu_seconds(pid), time.monotonic()
        cores_start = realtime.read_core_busy((realtime.SERVER_CORE, LOADGEN_CORE))
        with RssSampler(pid) as sampler:
            probe.send("phase flood")
            flood = Generator(
                port,
                f"flood-{kind}",
                limit=flood_seconds + 60,
                duration=flood_seconds,
                concurrency=concurrency,
            ).result()
            probe.send("phase after")
            busy = realtime.read_cpu_seconds(pid) - cpu_start
            wall = time.monotonic() - wall_start
            cores_end = realtime.read_core_busy((realtime.SERVER_CORE, LOADGEN_CORE))
            at_end = server_stats(probe)
        socket_fds_at_end = count_socket_fds(pid)
        # How long the server keeps what the flood left (polling sessions that never poll):
        # read every second until only the probe's session is left, at most `linger` s.
        released_after = None
        after_linger = at_end
        linger_start = time.monotonic()
        while after_linger is not None and after_linger["engine_sessions"] > 1:
            if time.monotonic() - linger_start >= sizes["linger"]:
                break
            time.sleep(min(1.0, sizes["linger"]))
            after_linger = server_stats(probe)
        else:
            released_after = time.monotonic() - linger_start
        socket_fds = count_socket_fds(pid)
        probe.send("stop")
        latency = probe.result()
    finally:
        probe.close()
    return {
        "flood": flood,
        "probe": latency["phases"],
        "probe_closed_early": latency["closed_early"],
        "rss_idle_kb": idle_kb,
        "rss_peak_kb": sampler.peak_kb,
        "peak_above_idle_mb": mb(sampler.peak_kb - idle_kb),
        "killed_over_ceiling": sampler.killed_over_ceiling,
        "server_cpu_share": busy / wall,
        "server_cpu_s": busy,
        "server_us_per_handshake": busy / flood["completed"] * 1e6 if flood["completed"] else None,
        "core_busy": {
            core: realtime.busy_share(cores_start[core], cores_end[core]) for core in cores_end
        },
        "sessions_at_end": at_end["engine_sessions"] if at_end else None,
        "socket_fds_at_end": socket_fds_at_end,
        "sessions_released_after_s": released_after,
        "sessions_after_linger": after_linger["engine_sessions"] if after_linger else None,
        "linger_s": sizes["linger"],
        "socket_fds_after_linger": socket_fds,
    }


def server_stats(probe: Generator) -> dict[str, Any] | None:
    """The server's own counts (``stats`` event), asked through the probe's connection."""
    probe.send("stats")
    answer: dict[str, Any] | None = json.loads(probe.expect("STATS "))
    return answer


def scenario_http(server: Any, port: int, sizes: dict[str, Any]) -> dict[str, Any]:
    pid = server.process.pid

    def requests(path: str, count: int) -> dict[str, Any]:
        generator = Generator(port, "http", limit=count / 100 + 60, path=path, requests=count)
        return generator.result()

    # Warm the routes, the store and the allocator before the baseline.
    requests("/anon", sizes["warmup_requests"])
    requests("/login", sizes["warmup_requests"] // 10)
    result: dict[str, Any] = {"rss_baseline_kb": realtime.read_rss_kb(pid)}
    previous_kb = result["rss_baseline_kb"]
    for name in ("anon", "login"):
        phase = requests(f"/{name}", sizes["requests"])
        rss = realtime.read_rss_kb(pid)
        phase["rss_after_kb"] = rss
        phase["rss_growth_mb"] = mb(rss - previous_kb)
        previous_kb = rss
        stats = fetch_json(port, "/debug/stats")
        phase["store_sessions"] = stats.get("store_sessions") if stats else None
        result[name] = phase
    return result


def run_on_fresh_server(
    soak: SoakPeer, action: Callable[[Any, int], dict[str, Any]]
) -> dict[str, Any]:
    port = free_port()
    with realtime.running_server(soak.peer, port) as server:
        try:
            wait_for_port(port, timeout=20, process=server.process)
        except (RuntimeError, TimeoutError) as error:
            return {"error": f"server did not start: {error}", "log": server.log_tail()}
        try:
            result = action(server, port)
        except (RuntimeError, OSError, ValueError, KeyError, TypeError) as error:
            return {"error": str(error), "log": server.log_tail()}
        if not server.alive():
            result["server_exit"] = server.process.returncode
        # What the server logged (slow clients closed, errors): kept with the figures.
        result["log"] = server.log_tail()
        return result


def run_scenario(soak: SoakPeer, scenario: str, sizes: dict[str, Any]) -> dict[str, Any]:
    if scenario == "flood":
        # Each kind of flood on a server of its own: what one leaves behind must not count
        # against the other.
        return {
            kind: run_on_fresh_server(
                soak,
                lambda server, port, kind=kind: flood_once(
                    server, port, kind, sizes, concurrency=64
                ),
            )
            for kind in ("ws", "polling")
        }
    action = {"idle": scenario_idle, "slow": scenario_slow, "http": scenario_http}[scenario]
    return run_on_fresh_server(soak, lambda server, port: action(server, port, sizes))


# -- command line ----------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(PEERS_BY_NAME))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: dated)")
    options = parser.parse_args(argv)
    options.server_list = [name for name in options.servers.split(",") if name]
    options.scenario_list = [name for name in SCENARIOS if name in options.scenarios.split(",")]
    unknown = set(options.server_list) - set(PEERS_BY_NAME)
    if unknown or not options.scenario_list:
        parser.error(f"unknown servers {sorted(unknown)} or no known scenario")
    return options


def contention_notes(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Floods during which the server's core ran much else: their latencies are the machine's."""
    notes = []
    for name, flood in results.get("flood", {}).items():
        for kind, part in flood.items():
            server, cores = part.get("server_cpu_share"), part.get("core_busy")
            if server is None or not cores or cores["0"] - server <= 0.2:
                continue
            notes.append(
                f"{PEERS_BY_NAME[name].peer.label} {kind} flood: core 0 was {cores['0']:.0%} busy "
                f"but the server used {server:.0%}: other load on the machine"
            )
    return notes


def raise_open_files_limit() -> None:
    # Servers and generators inherit it: 10,000 clients need 10,000 descriptors on each side.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < 12_000:
        print(f"warning: open files limit {wanted}; the idle scenario may fail", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    raise_open_files_limit()
    sizes = QUICK_SIZES if options.quick else FULL_SIZES
    machine = realtime.machine_description()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario in options.scenario_list:
        for name in options.server_list:
            soak = PEERS_BY_NAME[name]
            if scenario not in soak.scenarios:
                continue
            print(f"  {soak.peer.label}: {scenario} ...", end="", file=sys.stderr, flush=True)
            started = time.monotonic()
            results.setdefault(scenario, {})[name] = run_scenario(soak, scenario, sizes)
            print(f" {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    for scenario, by_server in results.items():
        labels = [PEERS_BY_NAME[name].peer.label for name in by_server]
        print()
        print(render_table(scenario, labels, list(by_server.values())))
    ours = {name: found["expressio"] for name, found in results.items() if "expressio" in found}
    verdicts = check_targets(ours)
    if verdicts:
        print("\ntargets (expressio):")
        for verdict in verdicts:
            print(f"  {verdict}")
    for scenario, by_server in results.items():
        for name, result in by_server.items():
            for part in (result, *(v for v in result.values() if isinstance(v, dict))):
                if "error" in part:
                    label = PEERS_BY_NAME[name].peer.label
                    print(f"\n{label} {scenario} failed: {part['error']}")
                    print("  server output (tail):\n    " + part["log"].replace("\n", "\n    "))
                if part.get("killed_over_ceiling"):
                    label = PEERS_BY_NAME[name].peer.label
                    print(f"\n{label} {scenario}: killed over {mb(RSS_CEILING_KB):,.0f} MB RSS")
    notes = contention_notes(results)
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    start_load = ", ".join(f"{value:.1f}" for value in machine["load_average_at_start"])
    end_load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nload average (1, 5, 15 min): {start_load} at the start, {end_load} at the end")
    RESULTS.mkdir(exist_ok=True)
    output = options.output or RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "machine": machine,
        "load_average_at_end": os.getloadavg(),
        "sizes": sizes,
        "servers": {name: soak.peer.label for name, soak in PEERS_BY_NAME.items()},
        "results": results,
        "targets": verdicts,
    }
    output.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nresults: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
