"""Fixtures for the express.io API tests: apps served by a real uvicorn, real clients.

The server runs in a thread of the test process (its own event loop, uvloop and httptools as
``app.listen()`` would use), so tests can read what handlers recorded. Clients are the
python-socketio ``AsyncClient`` and the official ``socket.io-client`` driven by Node.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.support import ROOT
from tests.support import served as serve_in_thread

from .app_under_test import make_app

NODE_DIR = Path(__file__).resolve().parent / "node"
WAIT = 5.0  # seconds a test waits for something that should arrive at once
SLOW = object()  # as an answer: the client acks only after a second
SERVED_APPS: dict[str, Any] = {}  # base URL -> the app served there (tests may add routes)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``tests.support.served``, remembering which app is served where (tests add routes)."""
    with serve_in_thread(app) as base_url:
        SERVED_APPS[base_url] = app
        try:
            yield base_url
        finally:
            SERVED_APPS.pop(base_url, None)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The shared app under test (no sessions), served for the whole module."""
    with served(make_app()) as base_url:
        yield base_url


class Inbox:
    """Everything a client received, by event, with waits that fail loudly after WAIT s."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()

    def record(self, event: str, *args: Any) -> None:
        self.received.append((event, args))
        self._changed.set()

    def of(self, event: str) -> list[Any]:
        """The data of each ``event`` received (one argument → it, none → None)."""
        return [
            args[0] if len(args) == 1 else (None if not args else list(args))
            for name, args in self.received
            if name == event
        ]

    def events(self) -> list[str]:
        return [name for name, _ in self.received]

    async def wait_for(self, event: str, count: int = 1) -> list[Any]:
        async def arrived() -> None:
            while len(self.of(event)) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(arrived(), WAIT)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} {event!r}, received only {self.received}"
            ) from None
        return self.of(event)


class Refused(Exception):
    """The server refused the connection; ``args[0]`` is its connect_error message."""


class Client:
    """A python-socketio AsyncClient plus its inbox."""

    def __init__(self, sio: socketio.AsyncClient, inbox: Inbox, namespace: str) -> None:
        self.sio = sio
        self.inbox = inbox
        self.namespace = namespace

    async def call(self, event: str, *args: Any) -> Any:
        """Emit with an ack callback; the answer (one argument → it, several → a list)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()

        def callback(*values: Any) -> None:
            if not answer.done():
                answer.set_result(values)

        await self.sio.emit(event, args, namespace=self.namespace, callback=callback)
        try:
            values = await asyncio.wait_for(answer, WAIT)
        except TimeoutError:
            raise AssertionError(f"no ack for {event!r} within {WAIT} s") from None
        return values[0] if len(values) == 1 else list(values)

    async def emit(self, event: str, *args: Any) -> None:
        await self.sio.emit(event, args, namespace=self.namespace)

    @property
    def sid(self) -> str:
        sid = self.sio.get_sid(self.namespace)
        assert sid is not None
        return sid


Connect = Callable[..., Any]


@pytest.fixture
async def connect(url: str) -> AsyncIterator[Connect]:
    """``await connect(...)`` opens a python-socketio client on the module's server."""
    async with clients(url) as open_client:
        yield open_client


@asynccontextmanager
async def clients(base_url: str) -> AsyncIterator[Connect]:
    opened: list[socketio.AsyncClient] = []

    async def open_client(
        namespace: str = "/",
        *,
        auth: dict[str, Any] | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        transports: tuple[str, ...] = ("websocket",),
        answers: dict[str, Any] | None = None,
    ) -> Client:
        sio = socketio.AsyncClient(reconnection=False)
        inbox = Inbox()

        async def catch_all(event: str, *args: Any) -> Any:
            inbox.record(event, *args)
            if answers and event in answers:
                if answers[event] is SLOW:
                    await asyncio.sleep(1.0)
                    return "too late"
                return answers[event]
            return None

        refusals: list[Any] = []
        sio.on("*", catch_all, namespace=namespace)
        sio.on("connect_error", refusals.append, namespace=namespace)
        opened.append(sio)
        target = base_url + (f"?{query}" if query else "")
        try:
            await sio.connect(
                target,
                namespaces=[namespace],
                auth=auth,
                headers=headers or {},
                transports=list(transports),
                wait_timeout=WAIT,
            )
        except socketio.exceptions.ConnectionError as error:
            if refusals:
                message = refusals[0].get("message") if isinstance(refusals[0], dict) else None
                raise Refused(str(message), refusals[0]) from error
            raise
        return Client(sio, inbox, namespace)

    try:
        yield open_client
    finally:
        for sio in opened:
            if sio.connected:
                await sio.disconnect()


def run_node(script: str, base_url: str, *args: str) -> dict[str, Any]:
    """Run a Node script from ``node/`` against ``base_url``; its JSON lines by ``step``."""
    completed = subprocess.run(
        ["node", str(NODE_DIR / script), "--url", base_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    results: dict[str, Any] = {}
    for line in completed.stdout.splitlines():
        record = json.loads(line)
        results[record.pop("step")] = record
    assert "done" in results, (
        f"the Node script did not finish (exit {completed.returncode}):\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
    return results
