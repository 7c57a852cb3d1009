"""Scale-out benchmark: broadcast fan-out over 1, 2 and 4 processes sharing one Redis, and the
latency a cross-process broadcast adds, for expressio's Redis adapters beside Node socket.io's
and python-socketio's, and for a cluster that mixes Node and expressio processes.

    .venv/bin/python bench/scaleout/run.py [--peers expressio,expressio-streams,node,...]
                                           [--processes 1,2,4] [--clients 1000] [--duration 5]
                                           [--samples 200] [--cores 0,1]

A private redis-server is started on a free port (and emptied between rows). For each peer and
process count, the server processes start, pinned round-robin to the cores (process i on
``cores[i % len(cores)]``), every one on the channel/key "socket.io"; the clients
(``fanout.mjs``) spread round-robin over them join room "bench", and a trigger on the first
process keeps broadcasting "tick" to the room (credit loop): deliveries received per second over
the window, the deliveries that never arrived, and the CPU time the server processes and Redis
spent per delivery over the window (from /proc). Then, with one client per process, single ticks
one at a time: the median time from trigger to arrival on the trigger's own process (local) and
on the others (through Redis). A peer that cannot run shows as "not available" or "failed" in
its row and the run goes on. Prints a table; writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_support import RedisServer  # noqa: E402
from tests.support import free_port, stop_process, wait_for_port  # noqa: E402

DRIVER = HERE / "fanout.mjs"
RESULTS = ROOT / "bench" / "results"
# Node's Redis adapters' default key: with it on every peer, Node and expressio processes that
# speak the same wire format form one cluster.
CHANNEL = "socket.io"
# A peer script exits with this status (after printing "NOT AVAILABLE: <why>") when the
# expressio it runs on lacks what it needs.
NOT_AVAILABLE = 3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The line that names the error in a Python traceback or a Node stack trace.
ERROR_LINE = re.compile(r"^\s*[\w.]*(?:Error|Exception)\b.*:.*$", re.MULTILINE)


@dataclass(frozen=True)
class Server:
    """How to start one server process of a peer (``--port`` and ``--redis`` are added)."""

    argv: tuple[str, ...]
    channel_option: str = "--channel"

    def command(self, port: int, redis_url: str) -> list[str]:
        return [*self.argv, "--port", str(port), "--redis", redis_url, self.channel_option, CHANNEL]


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    # Cycled over the processes: process i runs servers[i % len(servers)]; the trigger and the
    # latency's "local" client are on process 0.
    servers: tuple[Server, ...]

    @property
    def min_processes(self) -> int:
        return len(self.servers)


EXPRESSIO = Server((sys.executable, str(HERE / "expressio_redis_server.py"), "--adapter", "pubsub"))
EXPRESSIO_STREAMS = Server(
    (sys.executable, str(HERE / "expressio_redis_server.py"), "--adapter", "streams")
)
NODE = Server(("node", str(HERE / "node_redis_server.mjs"), "--adapter", "pubsub"), "--key")
NODE_STREAMS = Server(
    ("node", str(HERE / "node_redis_server.mjs"), "--adapter", "streams"), "--key"
)
PSIO = Server((sys.executable, str(HERE / "psio_redis_server.py")))

PEER_LIST = (
    Peer("expressio", "expressio RedisAdapter", (EXPRESSIO,)),
    Peer("expressio-streams", "expressio RedisStreamsAdapter", (EXPRESSIO_STREAMS,)),
    Peer("node", "Node socket.io redis-adapter", (NODE,)),
    Peer("node-streams", "Node socket.io redis-streams-adapter", (NODE_STREAMS,)),
    Peer("psio", "python-socketio AsyncRedisManager", (PSIO,)),
    # One cluster of both kinds, alternating; the trigger on an expressio process, then on a
    # Node one: each direction of the shared wire format is measured.
    Peer("mixed", "mixed: expressio + Node, trigger expressio", (EXPRESSIO, NODE)),
    Peer("mixed-node", "mixed: Node + expressio, trigger Node", (NODE, EXPRESSIO)),
)
PEERS_BY_NAME = {peer.name: peer for peer in PEER_LIST}


class PeerNotAvailable(Exception):
    """The peer cannot run on this checkout (e.g. an adapter expressio does not export yet)."""


class PeerFailed(Exception):
    """A server process of the peer did not start or the driver failed."""


@dataclass
class RunningServer:
    argv: list[str]
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self, limit: int = 1500) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:].strip()


def read_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process (all threads) from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the command name: utime and stime are fields 14 and 15 of the line (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def redis_command(port: int, *words: str) -> bytes:
    """One command over a raw RESP exchange (no client library): a one-line reply (``+OK``,
    ``:1``) as it is, a bulk reply's content."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(word)}\r\n{word}\r\n" for word in words)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request.encode())
        reply = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError(f"Redis closed the connection: {reply[:200]!r}")
            reply += chunk
            header, separator, body = reply.partition(b"\r\n")
            if not separator:
                continue
            if header.startswith(b"-"):
                raise RuntimeError(f"Redis {words[0]}: {header.decode(errors='replace')}")
            if not header.startswith(b"$"):
                return header
            size = int(header[1:])
            if len(body) >= size + 2:
                return body[:size]


def redis_pid(redis: RedisServer) -> int:
    for line in redis_command(redis.port, "INFO", "server").decode().splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("no process_id in Redis INFO")


@contextmanager
def running_server(argv: list[str], port: int, core: str | None) -> Iterator[RunningServer]:
    pinned = ["taskset", "-c", core, *argv] if core is not None else argv
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            pinned,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        server = RunningServer(argv, process, log)
        try:
            try:
                wait_for_port(port, timeout=60, process=process)
            except (RuntimeError, TimeoutError) as error:
                stop_process(process)
                output = server.output()
                marker = "NOT AVAILABLE:"
                if process.returncode == NOT_AVAILABLE and marker in output:
                    reason = output.split(marker, 1)[1].strip().splitlines()[0]
                    raise PeerNotAvailable(reason) from None
                raise PeerFailed(f"{Path(argv[1]).name}: {error}\n{output}") from None
            yield server
        finally:
            stop_process(process)


def run_driver(
    ports: list[int], scenario: str, options: argparse.Namespace, watched: list[int]
) -> dict[str, Any]:
    """Run fanout.mjs to its end; for the fan-out, the CPU time each of the ``watched``
    processes spent over the measuring window."""
    argv = [
        "node", str(DRIVER), "--ports", ",".join(map(str, ports)), "--scenario", scenario,
        "--clients", str(options.clients), "--duration", str(options.duration),
        "--samples", str(options.samples),
    ]  # fmt: skip
    result: dict[str, Any] = {}
    cpu_start: dict[int, float] = {}
    with tempfile.TemporaryFile() as errors:
        driver = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        assert driver.stdout is not None
        # Bounded: whatever the servers do, the driver is gone after this long.
        killer = threading.Timer(options.duration + 120, driver.kill)
        killer.start()
        try:
            for raw_line in driver.stdout:
                line = raw_line.decode().strip()
                if line == "MEASURE_START":
                    cpu_start = {pid: read_cpu_seconds(pid) for pid in watched}
                elif line == "MEASURE_END":
                    result["cpu_s"] = {
                        str(pid): read_cpu_seconds(pid) - cpu_start[pid] for pid in watched
                    }
                elif line.startswith("RESULT "):
                    result.update(json.loads(line[len("RESULT ") :]))
            driver.wait()
        finally:
            killer.cancel()
            stop_process(driver)
        if driver.returncode != 0 or "scenario" not in result:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-1500:]
            raise PeerFailed(f"driver ({scenario}) exited with {driver.returncode}: {message}")
    return result


def check_alive(running: Sequence[RunningServer]) -> None:
    """PeerFailed, saying which server died and what it printed, if one of them did: that is
    the cause when the driver fails because a port went away."""
    for server in running:
        if server.process.poll() is not None:
            output = server.output()
            why = (ERROR_LINE.findall(output) or output.splitlines() or ["no output"])[-1]
            raise PeerFailed(
                f"{Path(server.argv[1]).name} exited with {server.process.returncode} during the "
                f"run: {why.strip()}\n{output}"
            )


def measure(
    peer: Peer, count: int, redis: RedisServer, options: argparse.Namespace
) -> dict[str, Any]:
    row: dict[str, Any] = {"peer": peer.name, "label": peer.label, "processes": count}
    if count < peer.min_processes:
        row["status"] = f"n/a (needs {peer.min_processes}+ processes)"
        return row
    # Nothing of the previous row (streams, pending messages) reaches this one.
    redis_command(redis.port, "FLUSHALL")
    ports = [free_port() for _ in range(count)]
    servers = [peer.servers[index % len(peer.servers)] for index in range(count)]
    cores = [options.core_list[index % len(options.core_list)] for index in range(count)]
    row["servers"] = [
        {"script": Path(server.argv[1]).name, "argv": list(server.argv[2:]), "core": core}
        for server, core in zip(servers, cores, strict=True)
    ]
    try:
        with ExitStack() as stack:
            running = [
                stack.enter_context(running_server(server.command(port, redis.url), port, core))
                for server, port, core in zip(servers, ports, cores, strict=True)
            ]
            # Subscriptions settle: the Node and expressio peers open their port once they
            # listen to Redis, python-socketio subscribes in the background.
            time.sleep(0.5)
            server_pids = [server.process.pid for server in running]
            redis_process = redis_pid(redis)
            try:
                fanout = run_driver(ports, "fanout", options, [*server_pids, redis_process])
                cpu = fanout.pop("cpu_s")
                row["fanout"] = fanout
                deliveries = fanout["deliveries"]
                if deliveries:
                    servers_cpu = sum(cpu[str(pid)] for pid in server_pids)
                    row["server_cpu_us_per_delivery"] = servers_cpu / deliveries * 1e6
                    row["redis_cpu_us_per_delivery"] = cpu[str(redis_process)] / deliveries * 1e6
            finally:
                check_alive(running)
            try:
                if count > 1:
                    row["latency"] = run_driver(ports, "latency", options, [])
            finally:
                check_alive(running)
        row["status"] = "ok"
    except PeerNotAvailable as reason:
        row["status"] = f"not available ({reason})"
    except PeerFailed as error:
        row["status"] = f"failed ({str(error).splitlines()[0]})"
        row["error"] = str(error)
    return row


def format_row(row: dict[str, Any]) -> str:
    head = f"{row['label']:44} {row['processes']:>5}"
    if "fanout" not in row:
        return f"{head}  {row['status']}"
    # What was measured before a failure still shows, followed by the failure.
    note = "" if row["status"] == "ok" else f"  {row['status']}"
    fanout, latency = row["fanout"], row.get("latency") or {}

    def figure(value: float | None) -> str:
        return f"{value:,.0f}" if value is not None else "-"

    def cpu(key: str) -> str:
        return f"{row[key]:.1f}" if key in row else "-"

    local, remote, added = (
        figure(latency.get(key))
        for key in ("local_median_us", "remote_median_us", "remote_added_us")
    )
    lost = str(latency["lost"]) if latency else "-"
    return (
        f"{head} {fanout['deliveries_per_s']:>13,.0f} {fanout['deliveries_missing']:>9,} "
        f"{local:>9} {remote:>10} {added:>9} {lost:>5} "
        f"{cpu('server_cpu_us_per_delivery'):>11} {cpu('redis_cpu_us_per_delivery'):>10}{note}"
    )


TABLE_HEADER = (
    f"{'peer':44} {'procs':>5} {'deliveries/s':>13} {'missing':>9} "
    f"{'local µs':>9} {'remote µs':>10} {'added µs':>9} {'lost':>5} "
    f"{'server µs/d':>11} {'redis µs/d':>10}"
)


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default=",".join(peer.name for peer in PEER_LIST))
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--samples", type=int, default=200, help="latency samples per row")
    parser.add_argument(
        "--cores",
        default=",".join(str(core) for core in sorted(os.sched_getaffinity(0))),
        help="cores the server processes are pinned to, round-robin ('' pins nothing)",
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: dated)")
    options = parser.parse_args(argv)
    options.peer_list = [name for name in options.peers.split(",") if name]
    unknown = sorted(set(options.peer_list) - set(PEERS_BY_NAME))
    if unknown or not options.peer_list:
        parser.error(f"unknown peers {unknown}; known: {', '.join(PEERS_BY_NAME)}")
    try:
        options.count_list = [int(count) for count in options.processes.split(",")]
    except ValueError:
        parser.error(f"--processes takes numbers separated by commas: {options.processes!r}")
    if any(count < 1 for count in options.count_list):
        parser.error("--processes: each count is at least 1")
    options.core_list = [core for core in options.cores.split(",") if core] or [None]
    return options


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    rows = []
    with RedisServer() as redis:
        for name in options.peer_list:
            peer = PEERS_BY_NAME[name]
            for count in options.count_list:
                print(f"{peer.label}: {count} process(es)...", file=sys.stderr, flush=True)
                row = measure(peer, count, redis, options)
                if row["status"] != "ok":
                    print(f"  {row.get('error', row['status'])}", file=sys.stderr, flush=True)
                rows.append(row)
    pinning = ",".join(str(core) for core in options.core_list if core is not None) or "none"
    print(
        f"\n{options.clients} clients in one room; one Redis; servers pinned round-robin to "
        f"cores {pinning}; {platform.node()}, Python {platform.python_version()}\n"
    )
    print(TABLE_HEADER)
    for row in rows:
        print(format_row(row))
    path = options.output
    if path is None:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"scaleout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    options_record = {key: value for key, value in vars(options).items() if key != "output"}
    path.write_text(json.dumps({"options": options_record, "rows": rows}, indent=2))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
