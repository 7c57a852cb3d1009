"""The pytest plugin: ``client`` and ``async_client`` fixtures for the suite's ``app``.

Turned on with ``pytest -p expressio.testing`` or ``pytest_plugins = ["expressio.testing"]``
in the suite's top ``conftest.py``. The suite provides an ``app`` fixture returning its app
(a fresh one per test keeps tests independent)::

    @pytest.fixture
    def app():
        return create_app()

    def test_home(client):
        assert client.get("/").status_code == 200

``async_client`` needs pytest-asyncio (its tests are ``async def``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .client import AsyncTestClient
from .sync import TestClient

MISSING_APP = (
    "the client and async_client fixtures of expressio.testing test the app that an 'app' "
    "fixture returns, and this test suite has none: define one in conftest.py, e.g.\n\n"
    "    @pytest.fixture\n"
    "    def app():\n"
    "        return create_app()   # your expressio.express() app\n"
)


@pytest.fixture
def app() -> Any:
    """Stands in for the suite's own ``app`` fixture, which overrides it: here only to say
    that one is needed."""
    pytest.fail(MISSING_APP, pytrace=False)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A :class:`TestClient` of the suite's ``app``, open for the test."""
    with TestClient(app) as test_client:
        yield test_client


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture
    def async_client() -> None:
        """Needs pytest-asyncio, which runs ``async def`` tests and fixtures."""
        pytest.fail(
            "the async_client fixture of expressio.testing needs pytest-asyncio "
            "(pip install pytest-asyncio); the client fixture works without it",
            pytrace=False,
        )

else:

    @pytest_asyncio.fixture
    async def async_client(app: Any) -> AsyncIterator[AsyncTestClient]:  # type: ignore[misc]
        """An :class:`AsyncTestClient` of the suite's ``app``, open for the test."""
        async with AsyncTestClient(app) as test_client:
            yield test_client
