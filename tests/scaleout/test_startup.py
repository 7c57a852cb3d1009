"""An app with a Redis adapter subscribes when it starts, before any client connects, so that a
broadcast from another process in the first moments of a new worker reaches its clients."""

from __future__ import annotations

import asyncio
from typing import Any

import expressio
from tests.redis_support import RedisServer

from .conftest import subscribers


async def run_lifespan(app: Any, message: str) -> dict[str, Any]:
    """Drive one ASGI lifespan message through ``app`` and return its answer."""
    sent: list[dict[str, Any]] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": f"lifespan.{message}"})

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    while not sent:
        await asyncio.sleep(0.01)
    task.cancel()
    return sent[0]


def test_the_adapter_subscribes_at_startup_and_closes_at_shutdown(
    redis_server: RedisServer,
) -> None:
    # Built with no event loop running, as an app module is at import time: nothing connects yet.
    adapter = expressio.RedisAdapter(redis_server.url, channel="startup")
    app = expressio.express()
    app.io(adapter=adapter)
    assert subscribers(redis_server.url, "startup#") == 0

    async def serve() -> None:
        answer = await run_lifespan(app, "startup")
        assert answer["type"] == "lifespan.startup.complete"
        assert adapter.link.up
        assert subscribers(redis_server.url, "startup#") == 1

        answer = await run_lifespan(app, "shutdown")
        assert answer["type"] == "lifespan.shutdown.complete"
        assert not adapter.link.up

    asyncio.run(serve())
