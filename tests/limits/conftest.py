"""The limits tests run ``tests/limits/limits_server.py`` (``app.listen()``) as a child
process, with the options each test needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port, python_server

SERVER = Path(__file__).resolve().parent / "limits_server.py"
NODE_DIR = Path(__file__).resolve().parent / "node"


@contextmanager
def limits_server(*args: str) -> Iterator[str]:
    """Serve the limits app with ``args`` (its command-line options); yields its base URL."""
    port = free_port()
    with python_server(SERVER, port, *args):
        yield f"http://127.0.0.1:{port}"
