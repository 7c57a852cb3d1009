"""Fixtures for the forwarding tests: the app under test on a real uvicorn, an HTTP client with
a cookie jar, python-socketio clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support import served

from .app_under_test import RELEASE, make_app
from .harness import socket_clients


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url
    RELEASE.set()  # never leave a held route behind


@pytest.fixture
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
async def connect(url: str) -> AsyncIterator[Any]:
    async with socket_clients(url) as open_client:
        yield open_client
