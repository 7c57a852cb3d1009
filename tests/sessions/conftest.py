"""Fixtures for the session tests: a private redis-server, an app served by real uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from expressio.serving import build_config
from tests.redis_support import REDIS_SERVER, RedisServer
from tests.support import free_port


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the RedisStore tests need it")
    with RedisServer() as server:
        yield server


@contextmanager
def served(app: Any, tls: dict[str, Any] | None = None) -> Iterator[str]:
    """Run `app` under a real uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    config = build_config(
        app, host="127.0.0.1", port=port, tls=tls, log_config=None, log_level="warning"
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
