"""Fixtures for the session flows: the app under test on a real uvicorn with a store the tests
can inspect, a browser-like HTTP client (a cookie jar), python-socketio clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.forwarding.harness import socket_clients
from tests.support import served

from .app_under_test import COOKIE, CountingStore, make_app


class Served:
    def __init__(self, url: str, store: CountingStore) -> None:
        self.url = url
        self.store = store


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    store = CountingStore()
    with served(make_app(store)) as base_url:
        yield Served(base_url, store)


@pytest.fixture
def url(server: Served) -> str:
    return server.url


@pytest.fixture
async def browser(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that keeps cookies, as a browser does."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
async def connect(url: str) -> AsyncIterator[Any]:
    async with socket_clients(url) as open_client:
        yield open_client


def cookie_of(client: httpx.AsyncClient) -> str:
    """The session cookie's value in ``client``'s jar."""
    value = client.cookies.get(COOKIE)
    assert value, f"no {COOKIE} cookie in the jar: {client.cookies}"
    return value


def cookie_header(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}
