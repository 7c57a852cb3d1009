"""Fixtures for the interop suite: one interop server process per test module.

The target is expressio (`tests/interop/interop_server.py`, on the realtime layer) unless
EXPRESSIO_INTEROP_TARGET=node selects `tests/interop/node/reference_server.js`, the same
server on Node's socket.io, which validates the client scripts and assertions themselves.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from tests.support import ROOT, free_port, python_server, server_process

TARGET_VARIABLE = "EXPRESSIO_INTEROP_TARGET"
TARGET = os.environ.get(TARGET_VARIABLE, "expressio")
if TARGET not in ("expressio", "node"):
    raise RuntimeError(f"{TARGET_VARIABLE} must be 'expressio' or 'node', not {TARGET!r}")

INTEROP_DIR = ROOT / "tests" / "interop"


@pytest.fixture(scope="module")
def interop_url() -> Iterator[str]:
    port = free_port()
    server: AbstractContextManager[subprocess.Popen[bytes]]
    if TARGET == "node":
        server = server_process(
            ["node", str(INTEROP_DIR / "node" / "reference_server.js"), "--port", str(port)], port
        )
    else:
        server = python_server(INTEROP_DIR / "interop_server.py", port)
    with server:
        yield f"http://127.0.0.1:{port}"


def pytest_report_header() -> str:
    return f"interop target: {TARGET}"
