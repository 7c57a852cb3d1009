"""Fixtures for the session tests: a private redis-server, an app served by real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_support import REDIS_SERVER, RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the RedisStore tests need it")
    with RedisServer() as server:
        yield server


