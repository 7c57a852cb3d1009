"""Official Node ``socket.io-client`` clients, driven from a test through ``node_clients.mjs``:
one Node process holds every client of a test, on any server process of the cluster.

A ``NodeClient`` reads like the python-socketio ``Client`` of ``tests/scaleout/conftest.py``:
``call`` (``socket.timeout(t).emitWithAck``), ``events``, ``wait_for``; what the client receives
and why it disconnected are pushed by the driver as they happen, so waiting is on a condition.
Binary is ``bytes`` on this side, a ``Buffer`` on the client's.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import IO, Any

from tests.support import ROOT

from ..conftest import WAIT

DRIVER = Path(__file__).resolve().parent / "node_clients.mjs"


class NodeClientError(Exception):
    """A command the driver could not carry out, with its reason (e.g. an ack that timed out)."""


def to_wire(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"$binary": bytes(value).hex()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


def from_wire(value: Any) -> Any:
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if isinstance(value, dict):
        if list(value) == ["$binary"]:
            return bytes.fromhex(value["$binary"])
        return {key: from_wire(item) for key, item in value.items()}
    return value


class NodeClient:
    """One socket.io-client socket of the driver."""

    def __init__(self, driver: NodeClients, index: int, url: str, sid: str, transport: str):
        self.driver = driver
        self.index = index
        self.url = url
        self.sid = sid
        self.transport = transport  # when connected (after the upgrade, if waited for)
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self.disconnect_reason: str | None = None
        self._changed = asyncio.Event()

    def _record(self, record: dict[str, Any]) -> None:
        if "received" in record:
            event, *args = from_wire(record["received"])
            self.received.append((event, tuple(args)))
        else:
            self.disconnect_reason = record["disconnect"]
        self._changed.set()

    async def _until(self, done: Any, what: str) -> None:
        async def reached() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(reached(), WAIT)
        except TimeoutError:
            raise AssertionError(
                f"Node client on {self.url}: {what} never came; got {self.received}, "
                f"disconnect {self.disconnect_reason!r}"
            ) from None

    async def call(self, event: str, *args: Any, timeout: float = WAIT) -> Any:
        """``socket.timeout(timeout).emitWithAck(event, *args)``: the ack's first argument."""
        return await self.driver.command(
            "call", client=self.index, event=event, args=list(args), timeout=int(timeout * 1000)
        )

    async def answer(self, event: str, label: Any) -> None:
        """From now on, ack ``event`` with ``{"label": label, "got": [its arguments]}``."""
        await self.driver.command("answer", client=self.index, event=event, label=label)

    def events(self, event: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.received if name == event]

    def names(self) -> list[str]:
        return [name for name, _ in self.received]

    async def wait_for(self, event: str, count: int = 1) -> None:
        await self._until(lambda: len(self.events(event)) >= count, f"{event!r} x{count}")

    async def wait_disconnected(self) -> str:
        await self._until(lambda: self.disconnect_reason is not None, "a disconnect")
        assert self.disconnect_reason is not None
        return self.disconnect_reason


class NodeClients:
    """The driver process; ``connect`` makes a client on any server URL. Its stderr goes to
    ``errors`` (a file, not a pipe: nothing reads it before the end)."""

    def __init__(self, errors: IO[bytes]) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._clients: dict[int, NodeClient] = {}
        self._errors = errors

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            "node", str(DRIVER), cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._errors, limit=2**24,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            record = json.loads(line)
            if "id" in record:
                future = self._pending.pop(record["id"])
                if "error" in record:
                    future.set_exception(NodeClientError(record["error"]))
                else:
                    future.set_result(from_wire(record["result"]))
            else:
                self._clients[record["client"]]._record(record)
        ended = NodeClientError(f"the Node client driver ended ({self._process.returncode})")
        for future in self._pending.values():
            future.set_exception(ended)
        self._pending.clear()

    async def command(self, op: str, **fields: Any) -> Any:
        assert self._process is not None and self._process.stdin is not None
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        line = json.dumps({"id": self._next_id, "op": op, **to_wire(fields)}) + "\n"
        self._process.stdin.write(line.encode())
        await self._process.stdin.drain()
        # the driver bounds each of its own waits; this only guards against a stuck driver
        return await asyncio.wait_for(future, WAIT * 2)

    async def connect(
        self, url: str, transports: tuple[str, ...] = ("websocket",), upgrade: bool = False,
        auth: dict[str, Any] | None = None,
    ) -> NodeClient:  # fmt: skip
        """A connected client; with ``upgrade`` (and websocket among its transports), once it
        moved from polling to websocket."""
        fields: dict[str, Any] = {"url": url, "transports": list(transports), "upgrade": upgrade}
        if auth is not None:
            fields["auth"] = auth
        # Known before the command goes: its first events may come before the answer. The
        # driver numbers its clients in the order the commands arrive, as this does.
        client = NodeClient(self, len(self._clients), url, "", "")
        self._clients[client.index] = client
        made = await self.command("connect", **fields)
        assert made["client"] == client.index, made
        client.sid, client.transport = made["sid"], made["transport"]
        return client

    async def close(self) -> str:
        """Stop the driver (its clients disconnect); what it wrote on stderr."""
        process = self._process
        if process is None:
            return ""
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), WAIT)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            await self._reader
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")
