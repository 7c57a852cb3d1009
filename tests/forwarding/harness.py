"""What the forwarding and session-flow tests share: an app served by a real uvicorn in a
thread of the test process (so tests can read what handlers recorded), python-socketio clients
with an inbox, and a runner for the official socket.io-client driven by Node."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import socketio

from tests.support import ROOT

WAIT = 5.0  # seconds a test waits for something that should arrive at once




class Inbox:
    """Everything a client received, by event, with waits that fail loudly after WAIT s."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()

    def record(self, event: str, *args: Any) -> None:
        self.received.append((event, args))
        self._changed.set()

    def of(self, event: str) -> list[Any]:
        return [args[0] if len(args) == 1 else list(args) for name, args in self.received
                if name == event]  # fmt: skip

    async def wait_for(self, event: str, count: int = 1) -> list[Any]:
        async def arrived() -> None:
            while len(self.of(event)) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(arrived(), WAIT)
        except TimeoutError:
            raise AssertionError(f"expected {count} {event!r}, got {self.received}") from None
        return self.of(event)


class Client:
    """A connected python-socketio AsyncClient and its inbox."""

    def __init__(self, sio: socketio.AsyncClient, inbox: Inbox, namespace: str) -> None:
        self.sio = sio
        self.inbox = inbox
        self.namespace = namespace

    async def call(self, event: str, *args: Any) -> Any:
        """Emit with an ack callback and return the answer (one argument → it)."""
        answer: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

        def callback(*values: Any) -> None:
            if not answer.done():
                answer.set_result(values)

        await self.sio.emit(event, args, namespace=self.namespace, callback=callback)
        try:
            values = await asyncio.wait_for(answer, WAIT)
        except TimeoutError:
            raise AssertionError(f"no ack for {event!r} within {WAIT} s") from None
        return values[0] if len(values) == 1 else list(values)


@asynccontextmanager
async def socket_clients(base_url: str) -> AsyncIterator[Any]:
    """``await connect(...)`` opens python-socketio clients; all are closed at the end."""
    opened: list[socketio.AsyncClient] = []

    async def connect(
        namespace: str = "/",
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
        transports: tuple[str, ...] = ("websocket",),
    ) -> Client:
        sio = socketio.AsyncClient(reconnection=False)
        inbox = Inbox()

        async def catch_all(event: str, *args: Any) -> None:
            inbox.record(event, *args)

        sio.on("*", catch_all, namespace=namespace)
        opened.append(sio)
        await sio.connect(
            base_url + (f"?{query}" if query else ""),
            namespaces=[namespace],
            headers=dict(headers or {}),  # the client may change the dict it is given
            transports=list(transports),
            wait_timeout=WAIT,
        )
        return Client(sio, inbox, namespace)

    try:
        yield connect
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
