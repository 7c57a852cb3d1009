"""How long a suite of realtime round trips takes with the TestClient, against a real server
on a port driven by python-socketio: the price of a test, both ways.

    .venv/bin/python bench/testclient.py [--calls 100] [--rounds 5]

Each round times, from nothing to done: start the app (the TestClient's block, or uvicorn in a
thread as ``app.listen()`` would serve it), connect one socket, make ``--calls`` calls with an
ack (``call("echo", n)``), disconnect, stop. It prints every round and the best of each, and
the calls alone (connected, server up) in µs per round trip. Figures only: no assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio

import expressio
from expressio.testing import TestClient
from tests.support import served


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()

    @app.io.route("echo")
    def echo(req: Any) -> None:
        req.io.respond(req.data)

    return app


def with_test_client(calls: int) -> tuple[float, float]:
    started = time.perf_counter()
    with TestClient(make_app()) as client, client.socket() as socket:
        calls_started = time.perf_counter()
        for number in range(calls):
            assert socket.call("echo", number) == number
        calls_took = time.perf_counter() - calls_started
    return time.perf_counter() - started, calls_took


def with_real_server(calls: int) -> tuple[float, float]:
    started = time.perf_counter()
    with served(make_app()) as base_url:
        calls_took = asyncio.run(_drive(base_url, calls))
    return time.perf_counter() - started, calls_took


async def _drive(base_url: str, calls: int) -> float:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base_url, transports=["websocket"], wait_timeout=10)
    calls_started = time.perf_counter()
    for number in range(calls):
        assert await sio.call("echo", number, timeout=10) == number
    calls_took = time.perf_counter() - calls_started
    await sio.disconnect()
    return calls_took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"TestClient": [], "real server": []}
    for round_number in range(1, options.rounds + 1):
        # Interleaved, so that a busy moment of the machine weighs on both.
        for name, run in (("TestClient", with_test_client), ("real server", with_real_server)):
            total, calls = run(options.calls)
            results[name].append((total, calls))
            print(
                f"round {round_number} {name:<12} {total * 1000:8.1f} ms in all, "
                f"{calls * 1e6 / options.calls:7.1f} µs per call"
            )
    print(f"\nbest of {options.rounds}, {options.calls} calls with an ack each:")
    for name, rounds in results.items():
        best_total = min(total for total, _ in rounds)
        best_calls = min(calls for _, calls in rounds)
        print(
            f"  {name:<12} {best_total * 1000:8.1f} ms from start to stop, "
            f"{best_calls * 1e6 / options.calls:7.1f} µs per call"
        )


if __name__ == "__main__":
    main()
