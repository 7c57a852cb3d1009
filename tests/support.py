"""Helpers shared by the test suites: free ports and real server processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, and SIGKILL after 5 s if it is still there."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts connections on 127.0.0.1:port. The bound is generous:
    a server process importing its app on a busy 2-core machine can take well over 15 s, and a
    server that fails to start is seen at once (it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


@contextmanager
def server_process(
    argv: Sequence[str], port: int, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server as a child process until the block ends; its output shows on failure."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            list(argv), cwd=cwd or ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(port, process=process)
            yield process
        finally:
            stop_process(process)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-4000:]
            if tail.strip():
                # pytest shows captured stderr for failing tests only.
                sys.stderr.write(f"--- output of {' '.join(argv)} ---\n{tail}\n")


def python_server(
    script: str | Path, port: int, *args: str, env: dict[str, str] | None = None
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`server_process` for a Python script run with this interpreter."""
    return server_process([sys.executable, str(script), "--port", str(port), *args], port, env=env)


@contextmanager
def served(app: Any, tls: dict[str, Any] | None = None, **options: Any) -> Iterator[str]:
    """Run ``app`` as ``app.listen()`` would (``expressio.http.serving.build_config``: uvloop,
    httptools, the direct websocket path) on a free port, in a thread; yields its base URL."""
    import uvicorn

    from expressio.http.serving import build_config

    port = free_port()
    config = build_config(
        app, host="127.0.0.1", port=port, tls=tls, log_config=None, log_level="warning", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started serving")
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ServerOutput:
    """What a server process has printed so far (stdout and stderr together)."""

    def __init__(self, path: Path, process: subprocess.Popen[bytes]) -> None:
        self.path = path
        self.process = process

    def text(self) -> str:
        return self.path.read_bytes().decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """The first match of ``pattern`` (a multiline regex), once the server has printed it."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text(), re.MULTILINE)
            if match:
                return match
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{pattern!r} never printed; the output:\n{self.text()}")
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL); everything it printed."""
        stop_process(self.process)
        return self.text()


@contextmanager
def printing_server(
    argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[ServerOutput]:
    """Run a server whose output the test reads as it goes (into ``log``); not waiting for its
    port, so that the test can see what it prints first. Stopped when the block ends."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(argv), cwd=ROOT, env=full_env, stdout=sink, stderr=subprocess.STDOUT
        )
    output = ServerOutput(log, process)
    try:
        yield output
    finally:
        output.stop()
