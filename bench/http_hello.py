"""GET /hello requests/s: expressio against a bare Starlette app under the same uvicorn.

Each server (uvicorn, uvloop, httptools) runs pinned to core 0; the load comes from core 1:
``wrk`` when installed (``apt-get install wrk``), else a bounded Python load generator with
keep-alive connections. Rounds alternate between the two servers and the best round of
each counts. Prints requests/s for both and the ratio (target: ≥ 0.85).

    .venv/bin/python bench/http_hello.py [--duration 10] [--rounds 3] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = {
    "expressio": HERE / "peers" / "http_hello_expressio.py",
    "starlette": HERE / "peers" / "http_hello_starlette.py",
}
SERVER_CORE, LOAD_CORE = "0", "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port}")


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else argv


def run_wrk(port: int, duration: float, connections: int) -> float:
    output = subprocess.run(
        pinned(
            LOAD_CORE,
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                f"http://127.0.0.1:{port}/hello",
            ],
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    if "Non-2xx" in output or "Socket errors" in output:
        print(f"  warning: wrk reported errors:\n{output}", file=sys.stderr)
    return float(found.group(1))


async def _python_load(port: int, duration: float, connections: int) -> float:
    request = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    done = 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop_at:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return done / (time.monotonic() - started)


def run_python_load(port: int, duration: float, connections: int) -> float:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(LOAD_CORE)})
    return asyncio.run(_python_load(port, duration, connections))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, duration: float, connections: int, load: str) -> tuple[float, float]:
    """Requests/s under load, and the server's CPU seconds per request during that window.

    The second figure barely moves when something else shares the server's core (the rate
    does): it is the cost of a request, uvicorn included, whatever the machine is doing.
    """
    port = free_port()
    argv = pinned(SERVER_CORE, [sys.executable, str(PEERS[name]), "--port", str(port)])
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        runner = run_wrk if load == "wrk" else run_python_load
        runner(port, min(2.0, duration), connections)  # warm-up
        cpu_before, started = cpu_seconds(process.pid), time.monotonic()
        rate = runner(port, duration, connections)
        elapsed, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu_before
        return rate, cpu / (rate * elapsed)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_peer_app(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"peer_{name}", PEERS[name])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


async def _asgi_cost(app: Any, requests: int) -> float:
    """CPU seconds per request of the app alone (no server, no sockets)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hello",
        "raw_path": b"/hello",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(1000):  # warm-up
        await app(dict(scope), receive, send)
    started = time.process_time()
    for index in range(requests):
        await app(dict(scope), receive, send)
        if index % 64 == 0:
            await asyncio.sleep(0)  # let the loop run its callbacks, as between real requests
    elapsed = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {set(statuses)}")
    return elapsed / requests


def measure_asgi(requests: int) -> dict[str, float]:
    import uvloop

    costs: dict[str, float] = {}
    for name in PEERS:
        app = load_peer_app(name)
        costs[name] = min(uvloop.run(_asgi_cost(app, requests)) for _ in range(3))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--asgi-requests", type=int, default=50_000)
    options = parser.parse_args()

    # The app's own cost per request: CPU time, so other load on the machine barely matters.
    costs = measure_asgi(options.asgi_requests)
    print(f"ASGI app alone, CPU per request ({options.asgi_requests:,} requests, best of 3):")
    for name, cost in costs.items():
        print(f"  {name:<10} {cost * 1e6:6.1f} µs")
    print(
        f"  ratio (requests/s expressio/starlette): {costs['starlette'] / costs['expressio']:.2f}"
    )

    load = options.load
    if load == "auto":
        load = "wrk" if shutil.which("wrk") else "python"
    print(
        f"GET /hello, {options.rounds} rounds of {options.duration:g} s, "
        f"{options.connections} connections, load: {load}, server on core {SERVER_CORE}, "
        f"load on core {LOAD_CORE}"
    )
    results: dict[str, list[float]] = {name: [] for name in PEERS}
    costs_under_load: dict[str, list[float]] = {name: [] for name in PEERS}
    for round_number in range(1, options.rounds + 1):
        for name in PEERS:
            rate, cost = measure(name, options.duration, options.connections, load)
            results[name].append(rate)
            costs_under_load[name].append(cost)
            print(
                f"  round {round_number} {name:<10} {rate:>10,.0f} req/s"
                f"  {cost * 1e6:6.1f} µs server CPU per request"
            )
    best = {name: max(rates) for name, rates in results.items()}
    cheapest = {name: min(costs) for name, costs in costs_under_load.items()}
    for name in PEERS:
        print(
            f"{name}: {best[name]:,.0f} req/s (best round), "
            f"{cheapest[name] * 1e6:.1f} µs server CPU per request (least)"
        )
    print(f"ratio expressio/starlette: {best['expressio'] / best['starlette']:.2f} (target ≥ 0.85)")
    print(
        "ratio by server CPU per request (starlette/expressio): "
        f"{cheapest['starlette'] / cheapest['expressio']:.2f}"
    )


if __name__ == "__main__":
    main()
