"""Runs one documentation code block as a program: ``python runner.py BLOCK.py``.

``app.listen()`` is the one thing changed: instead of blocking, it starts the server (uvicorn,
as configured by ``app.http()``/``app.https()``) in a background thread on the port the
harness chose, waits until it accepts connections, and returns, so that the lines after it
can be a client talking to it. The server stops when the program ends. ``listen(workers=N)``
with ``N > 1`` forks: the server runs in a child process, stopped at the end.
"""

from __future__ import annotations

import atexit
import os
import runpy
import signal
import sys
import threading
import time
from typing import Any

import uvicorn

import expressio
from expressio.http.serving import build_config
from expressio.http.workers import check_shareable

DOCS_PORT = 7076  # the port every example uses; the harness rewrites it to a free one
START_TIMEOUT = 15.0


def _wait_for_port(port: int, alive: Any) -> None:
    import socket

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the server stopped before it accepted connections")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"the server did not listen on {port} within {START_TIMEOUT} s")


def listen_in_background(
    self: expressio.Application, port: int = DOCS_PORT, host: str = "127.0.0.1", **options: Any
) -> None:
    workers = options.pop("workers", 1)
    options.setdefault("log_level", "warning")
    if workers != 1:
        _listen_forked(self, port, host, workers, options)
        return
    server = uvicorn.Server(build_config(self, host=host, port=port, tls=self.tls, **options))
    thread = threading.Thread(target=server.run, name=f"docs-server-{port}", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server stopped before it started serving")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    atexit.register(stop)


def _listen_forked(
    app: expressio.Application, port: int, host: str, workers: int, options: dict[str, Any]
) -> None:
    # The refusal to start several workers without shared state happens in the caller, as it
    # does for a real app.listen(), so a block can catch it.
    check_shareable(app, workers)
    child = os.fork()
    if child == 0:  # the server, as app.listen() would run it
        try:
            original_listen(app, port, host, workers=workers, **options)
        finally:
            os._exit(0)

    def alive() -> bool:
        return os.waitpid(child, os.WNOHANG) == (0, 0)

    def stop() -> None:
        os.kill(child, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive():
            time.sleep(0.05)

    atexit.register(stop)
    _wait_for_port(port, alive)


original_listen = expressio.Application.listen
expressio.Application.listen = listen_in_background  # type: ignore[method-assign]

if __name__ == "__main__":
    block = sys.argv[1]
    sys.argv = [block]
    runpy.run_path(block, run_name="__main__")
