"""The walk of one client event through expressio, function by function.

    .venv/bin/python bench/tools/walk.py [--routes def|async]

Serves the benchmark's express.io app (``bench/peers/expressio_app_server.py``: sessions on,
``ack`` answering with ``req.io.respond``) as ``app.listen()`` does, sends one ``ack`` event
with python-socketio's client once warmed up, and records every call of expressio's code on the
server's loop thread from the websocket bytes arriving to the answer's bytes leaving. Prints the
walk (module.function, in order), the number of functions, of modules, and of crossings from
one module to another. docs/architecture.md quotes its output.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import socketio
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "peers"))
from expressio_app_server import build_app  # noqa: E402

from expressio.http.serving import build_config  # noqa: E402
from tests.support import free_port  # noqa: E402

SOURCE = str(ROOT / "src" / "expressio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", choices=("def", "async"), default="def")
    options = parser.parse_args()
    app = build_app(options.routes, sessions=True)
    port = free_port()
    config = build_config(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    walk: list[tuple[str, str]] = []
    recording = threading.Event()

    def record(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or not recording.is_set():
            return
        filename = frame.f_code.co_filename
        if filename.startswith(SOURCE):
            module = filename[len(SOURCE) + 1 : -3].replace("/", ".")
            walk.append((module, frame.f_code.co_qualname))
        elif filename.endswith("expressio_app_server.py"):
            walk.append(("the app", frame.f_code.co_qualname))

    loop: asyncio.AbstractEventLoop = next(
        task.get_loop() for task in asyncio.all_tasks(server_loop(server))
    )

    client = socketio.SimpleClient()
    client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
    for _ in range(50):
        client.call("ack", 1, timeout=5)  # warm up (and let a def route settle)
    done = threading.Event()
    loop.call_soon_threadsafe(lambda: (sys.setprofile(record), done.set()))
    done.wait()
    recording.set()
    assert client.call("ack", 42, timeout=5) == 42
    recording.clear()
    loop.call_soon_threadsafe(sys.setprofile, None)
    client.disconnect()
    server.should_exit = True
    thread.join(5)

    steps = [walk[0]] + [step for before, step in itertools.pairwise(walk) if step != before]
    crossings = sum(1 for a, b in itertools.pairwise(steps) if a[0] != b[0])
    for module, function in steps:
        print(f"  {module}.{function}")
    functions = {step for step in walk if step[0] != "the app"}
    modules = {module for module, _ in walk if module != "the app"}
    print(
        f"{len(functions)} functions of expressio in {len(modules)} modules, "
        f"{crossings} crossings from one module to another (the route's included)"
    )


def server_loop(server: uvicorn.Server) -> asyncio.AbstractEventLoop:
    for thread_loop in _loops():
        return thread_loop
    raise RuntimeError("no running loop found")


def _loops() -> list[asyncio.AbstractEventLoop]:
    import gc

    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.AbstractEventLoop) and obj.is_running()
    ]


if __name__ == "__main__":
    main()
