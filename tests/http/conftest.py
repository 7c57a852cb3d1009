"""Fixtures for the HTTP app: the same app driven through ASGI and through a real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.support import served

OpenClient = Callable[[Any], AbstractAsyncContextManager[httpx.AsyncClient]]




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
