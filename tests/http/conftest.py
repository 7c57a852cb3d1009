"""Fixtures for the HTTP app: the same app driven through ASGI and through a real uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from expressio.serving import build_config
from tests.support import free_port

OpenClient = Callable[[Any], AbstractAsyncContextManager[httpx.AsyncClient]]


@contextmanager
def served(app: Any, tls: dict[str, Any] | None = None, **options: Any) -> Iterator[str]:
    """Run ``app`` under a real uvicorn (uvloop, httptools) in a thread; yields its base URL."""
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
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def asgi_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def http_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    with served(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            yield client


@pytest.fixture(params=["asgi", "uvicorn"])
def connect(request: pytest.FixtureRequest) -> OpenClient:
    """``async with connect(app) as client``: through ASGI, then again through real HTTP."""
    return asgi_client if request.param == "asgi" else http_client
