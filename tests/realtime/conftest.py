"""Fixtures for the realtime layer: RealtimeServer on a recording fake engine, and live uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn

from expressio.realtime import RealtimeServer
from expressio.realtime import server as server_module
from tests.support import free_port

from .fake_engine import FakeEngineServer


@pytest.fixture
def make_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(server_module, "EngineServer", FakeEngineServer)

    def make(**options: Any) -> tuple[RealtimeServer, FakeEngineServer]:
        server = RealtimeServer(**options)
        assert isinstance(server.engine, FakeEngineServer)
        return server, server.engine

    yield make


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    """Serve an ASGI app with a real uvicorn on a free 127.0.0.1 port; returns its base URL."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(app: Any) -> str:
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        for _ in range(500):
            if server.started:
                return f"http://127.0.0.1:{port}"
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        raise TimeoutError("uvicorn did not start")

    yield start
    for server, task in running:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
