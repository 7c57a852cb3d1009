"""Fixtures for the express.io API tests: apps served by a real uvicorn, real clients.

The server runs in a thread of the test process (its own event loop, uvloop and httptools as
``app.listen()`` would use), so tests can read what handlers recorded. Clients are the
python-socketio ``AsyncClient`` and the official ``socket.io-client`` driven by Node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.socket_clients import SLOW, WAIT, Connect, Refused, clients
from tests.socket_clients import run_node as run_node_script
from tests.support import served as serve_in_thread

from .app_under_test import make_app

__all__ = ["SLOW", "WAIT", "Connect", "Refused", "clients", "connect", "run_node", "served", "url"]

NODE_DIR = Path(__file__).resolve().parent / "node"
SERVED_APPS: dict[str, Any] = {}  # base URL -> the app served there (tests may add routes)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``tests.support.served``, remembering which app is served where (tests add routes)."""
    with serve_in_thread(app) as base_url:
        SERVED_APPS[base_url] = app
        try:
            yield base_url
        finally:
            SERVED_APPS.pop(base_url, None)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The shared app under test (no sessions), served for the whole module."""
    with served(make_app()) as base_url:
        yield base_url


@pytest.fixture
async def connect(url: str) -> AsyncIterator[Connect]:
    """``await connect(...)`` opens a python-socketio client on the module's server."""
    async with clients(url) as open_client:
        yield open_client


def run_node(script: str, base_url: str, *args: str) -> dict[str, Any]:
    """Run a Node script from ``node/`` against ``base_url``; its JSON lines by ``step``."""
    return run_node_script(NODE_DIR / script, base_url, *args)
