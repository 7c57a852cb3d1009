"""Fixtures for the conformance suite: one protocol server process per test module.

The target is expressio's `examples/protocol_server.py` unless
EXPRESSIO_CONFORMANCE_TARGET=node selects the reference server built on the official Node
packages (`tests/reference/protocol_server.js`), which validates the tests themselves.
expressio's server runs twice per module, once per serving mode (`target.SERVING_MODES`):
`direct` as `app.listen()` serves it, `asgi` through plain ASGI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.target import SERVING_MODES, TARGET, protocol_server
from tests.conformance.wire import Endpoint
from tests.support import free_port


@pytest.fixture(scope="module", params=SERVING_MODES)
def server_port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    with protocol_server(port, request.param):
        yield port


@pytest.fixture
def engine_endpoint(server_port: int) -> Endpoint:
    """The raw Engine.IO echo server."""
    return Endpoint(server_port, "/engine.io/")


@pytest.fixture
def socketio_endpoint(server_port: int) -> Endpoint:
    """The Socket.IO server."""
    return Endpoint(server_port, "/socket.io/")


@pytest.fixture(params=["/engine.io/", "/socket.io/"])
def any_endpoint(request: pytest.FixtureRequest, server_port: int) -> Endpoint:
    """Both mount points: the Engine.IO rules hold under Socket.IO too."""
    path: str = request.param
    return Endpoint(server_port, path)


def pytest_report_header() -> str:
    return f"conformance target: {TARGET}"
