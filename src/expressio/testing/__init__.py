"""Testing an expressio app in process: HTTP and realtime routes, over the real protocol.

```python
from expressio.testing import TestClient

with TestClient(app) as client:
    client.post("/login", json={"user": "ada"})        # the cookie is kept...
    with client.socket() as socket:                     # ...and sent with the handshake
        assert socket.call("whoami") == "ada"
```

:class:`TestClient` (plain tests) and :class:`AsyncTestClient` (``async def`` tests) run the
app's lifespan, send HTTP requests through its ASGI interface, and open realtime clients that
speak Engine.IO v4 / Socket.IO v5 to it over its own ASGI websocket (or long-polling): acks,
binary, rooms, broadcasts, the shared session, connection state recovery, all without a port.
Errors of the app's code are raised in the test (``raise_server_exceptions``).

It needs ``httpx`` (the ``testing`` extra), as Starlette's ``TestClient`` does. As a pytest plugin
(``pytest -p expressio.testing``, or ``pytest_plugins = ["expressio.testing"]`` in a
``conftest.py``) it gives the fixtures ``client`` and ``async_client`` for the app that an
``app`` fixture of the test suite returns.
"""

from __future__ import annotations

try:
    import httpx  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without httpx
    raise ImportError(
        "expressio.testing needs httpx, which carries the test's HTTP requests: "
        "pip install 'expressio[testing]'"
    ) from error

from .asgi import LifespanError
from .client import AsyncTestClient
from .engine_client import TRANSPORTS
from .socket import AsyncTestSocket, ConnectionRefused, Received, SocketClosedError
from .sync import TestClient, TestSocket

#: Read by pytest when this module is loaded as a plugin: the fixtures live there, so that
#: importing the test client does not import pytest.
pytest_plugins = ["expressio.testing.plugin"]

__all__ = [
    "TRANSPORTS",
    "AsyncTestClient",
    "AsyncTestSocket",
    "ConnectionRefused",
    "LifespanError",
    "Received",
    "SocketClosedError",
    "TestClient",
    "TestSocket",
]
