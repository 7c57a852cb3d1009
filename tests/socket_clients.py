"""python-socketio clients for tests: each with an inbox of what it received and a ``call``
that waits for the ack, plus a runner for Node scripts that drive the official client.

Waits fail loudly after ``WAIT`` seconds instead of hanging a test.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import socketio

from tests.support import ROOT

WAIT = 5.0  # seconds a test waits for something that should arrive at once
SLOW = object()  # as an answer: the client acks only after a second

Connect = Callable[..., Any]  # ``await connect(namespace, *, auth, query, headers, ...)``


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


class Refused(socketio.exceptions.ConnectionError):
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


@asynccontextmanager
async def clients(base_url: str, *, serializer: str = "default") -> AsyncIterator[Connect]:
    """Opens python-socketio clients (``serializer="msgpack"`` for ``app.io(parser="msgpack")``)
    and disconnects them at the end."""
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
        sio = socketio.AsyncClient(reconnection=False, serializer=serializer)
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
                headers=dict(headers or {}),  # the client may change the dict it is given
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




def run_node(script: Path, base_url: str, *args: str) -> dict[str, Any]:
    """Run a Node script against ``base_url``; its JSON output lines by ``step``."""
    completed = subprocess.run(
        ["node", str(script), "--url", base_url, *args],
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
