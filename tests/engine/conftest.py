"""A real uvicorn serving an echo EngineServer at /engine.io/, in a thread of the test process.

Running in-process (on its own thread and event loop) lets the tests read what the engine
reported to its callbacks, e.g. the disconnect reason, besides what the clients saw.

The echo answers every message with itself (text as text, binary as binary), except a few
text commands that exercise the server side: ``cmd:close`` (the server closes the session),
``cmd:raise`` (the message callback raises), ``cmd:flood:N`` (N messages queued at once).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from expressio.engine import EngineServer, EngineSocket
from tests.support import free_port

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2


@dataclass
class EngineUnderTest:
    """The running server plus what its callbacks saw (appended on the server's thread)."""

    engine: EngineServer
    port: int
    connected: list[str] = field(default_factory=list)
    messages: list[tuple[str, str | bytes]] = field(default_factory=list)
    disconnected: dict[str, str] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/engine.io/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/engine.io/"

    def polling_url(self, sid: str | None = None, **extra: str) -> str:
        query = {"EIO": "4", "transport": "polling", **extra}
        if sid is not None:
            query["sid"] = sid
        return self.url + "?" + "&".join(f"{k}={v}" for k, v in query.items())

    def websocket_url(self, sid: str | None = None) -> str:
        url = self.ws_url + "?EIO=4&transport=websocket"
        return url if sid is None else f"{url}&sid={sid}"

    async def disconnect_reason(self, sid: str, timeout: float = 5.0) -> str:
        """The reason the engine reported for ``sid``, waiting for it if needed."""
        deadline = time.monotonic() + timeout
        while sid not in self.disconnected:
            if time.monotonic() > deadline:
                raise AssertionError(f"no disconnect reported for {sid}: {self.disconnected}")
            await asyncio.sleep(0.01)
        return self.disconnected[sid]

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the server's loop thread and return its result."""
        assert self.loop is not None
        done = threading.Event()
        outcome: list[Any] = []

        def run() -> None:
            outcome.append(function())
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(5), "server loop did not run the call"
        return outcome[0]

    async def handshake(self, client: httpx.AsyncClient) -> dict[str, Any]:
        response = await client.get(self.polling_url())
        assert response.status_code == 200, response.text
        assert response.text.startswith("0")
        handshake: dict[str, Any] = orjson.loads(response.text[1:])
        return handshake


@contextmanager
def serve_engine(**options: Any) -> Iterator[EngineUnderTest]:
    options.setdefault("ping_interval", PING_INTERVAL)
    options.setdefault("ping_timeout", PING_TIMEOUT)
    ws_impl = options.pop("ws_impl", "auto")
    holder: list[EngineUnderTest] = []

    def on_connect(socket: EngineSocket) -> None:
        holder[0].connected.append(socket.sid)

    def on_message(socket: EngineSocket, data: str | bytes) -> None:
        holder[0].messages.append((socket.sid, data))
        if isinstance(data, str) and data.startswith("cmd:"):
            command = data[4:]
            if command == "close":
                socket.send("closing")
                socket.close()
            elif command == "raise":
                raise RuntimeError("callback failure on purpose")
            elif command.startswith("flood:"):
                for index in range(int(command[6:])):
                    socket.send(f"flood {index}")
            return
        socket.send(data)

    def on_disconnect(socket: EngineSocket, reason: str) -> None:
        holder[0].disconnected[socket.sid] = reason

    engine = EngineServer(
        on_connect=on_connect, on_message=on_message, on_disconnect=on_disconnect, **options
    )

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        path: str = scope.get("path", "")
        if path.startswith("/engine.io/"):
            await engine(scope, receive, send)
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not found"})
        else:
            await send({"type": "websocket.close", "code": 1000})

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws=ws_impl,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    under_test = EngineUnderTest(engine=engine, port=port)
    holder.append(under_test)

    def run() -> None:
        loop = asyncio.new_event_loop()
        under_test.loop = loop
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield under_test
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[EngineUnderTest]:
    with serve_engine() as running:
        yield running


@pytest.fixture
def make_server() -> Callable[..., Any]:
    """``with make_server(origins=[...]) as server:`` for tests needing other options."""
    return serve_engine


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http
