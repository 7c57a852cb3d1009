"""Talking to an ASGI app in process: its lifespan, and websockets, as a server would.

HTTP needs nothing here: httpx's ``ASGITransport`` carries it. What httpx lacks is the
``lifespan`` scope (startup and shutdown hooks) and the ``websocket`` scope, which is how the
app's realtime endpoint is reached without a port. Both are a task running the app with two
queues between it and the test, on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]

#: Seconds the app has to finish after its websocket or lifespan was closed.
FINISH_TIMEOUT = 5.0


class LifespanError(RuntimeError):
    """The app's startup or shutdown failed (its message is the app's)."""


class Lifespan:
    """The app's ``lifespan`` scope: :meth:`startup` runs its startup hooks, :meth:`shutdown`
    its shutdown hooks. An app that does not speak lifespan is served all the same."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def startup(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message["type"] == "lifespan.startup.failed":
            raise LifespanError(f"the app's startup failed: {message.get('message', '')}")
        if message["type"] == "_ended":
            self._supported = False

    async def shutdown(self) -> None:
        task = self._task
        if task is None or not self._supported:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        message = await self._from_app.get()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, FINISH_TIMEOUT)
        if message["type"] == "lifespan.shutdown.failed":
            raise LifespanError(f"the app's shutdown failed: {message.get('message', '')}")

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        try:
            await self._app(scope, self._to_app.get, self._from_app.put)
        except Exception:
            # ASGI's way of saying "no lifespan here" is to raise on the scope.
            pass
        finally:
            self._from_app.put_nowait({"type": "_ended"})


class WebSocketRefused(Exception):
    """The app refused the websocket before accepting it: ``status`` is the HTTP answer a
    server gives the upgrade request (403 when the app closed without one), ``body`` its body."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"websocket refused with HTTP {status}: {body.decode(errors='replace')}")
        self.status = status
        self.body = body


class WebSocketClosed(Exception):
    """The app closed the websocket (``code``, ``reason``), or its handler ended."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed by the app with code {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


class ASGIWebSocket:
    """One websocket to the app: the client's side of the ``websocket`` scope.

    ``connect`` runs the app's handler in a task; ``send``/``receive`` exchange messages;
    ``close`` ends it as a client closing (or dropping) the connection would.
    """

    def __init__(self, app: ASGIApp, scope: MutableMapping[str, Any]) -> None:
        self._app = app
        self._scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed: WebSocketClosed | None = None

    async def connect(self) -> None:
        """Open the websocket; :class:`WebSocketRefused` if the app does not accept it."""
        self._task = asyncio.ensure_future(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._from_app.get()
        kind = message["type"]
        if kind == "websocket.accept":
            return
        if kind == "websocket.http.response.start":
            status = int(message["status"])
            body = b""
            while True:
                part = await self._from_app.get()
                if part["type"] != "websocket.http.response.body":
                    break
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            await self._finish()
            raise WebSocketRefused(status, body)
        await self._finish()
        raise WebSocketRefused(403, b"")

    async def send(self, data: str | bytes) -> None:
        if self._closed is not None:
            raise self._closed
        if isinstance(data, str):
            await self._to_app.put({"type": "websocket.receive", "text": data})
        else:
            await self._to_app.put({"type": "websocket.receive", "bytes": bytes(data)})

    async def receive(self) -> str | bytes:
        """The next message from the app; :class:`WebSocketClosed` once it closed."""
        if self._closed is not None:
            raise self._closed
        message = await self._from_app.get()
        kind = message["type"]
        if kind == "websocket.send":
            text = message.get("text")
            if text is not None:
                return str(text)
            return bytes(message.get("bytes") or b"")
        if kind == "websocket.close":
            self._closed = WebSocketClosed(
                int(message.get("code", 1000)), message.get("reason") or ""
            )
        else:  # the handler ended without closing
            self._closed = WebSocketClosed(1006)
        raise self._closed

    async def close(self, code: int = 1000) -> None:
        """The client goes away: the app receives ``websocket.disconnect`` with ``code``
        (1000 a clean close, 1006 a connection that dropped); then its handler finishes."""
        if self._task is None:
            return
        await self._to_app.put({"type": "websocket.disconnect", "code": code})
        self._closed = self._closed or WebSocketClosed(code)
        await self._finish()

    async def _finish(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), FINISH_TIMEOUT)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._from_app.put)
        finally:
            self._from_app.put_nowait({"type": "_ended"})

    async def _receive(self) -> Message:
        return await self._to_app.get()
