"""``AsyncTestClient``: the app under test, in process, for async tests.

HTTP goes through httpx's ``ASGITransport`` (cookies kept in the client's jar, as a browser
keeps them); realtime sockets go through the app's own ASGI websocket, or long-polling over
that same httpx client, carrying the same cookies: the session an HTTP route set is the one
the realtime routes see. The app's lifespan runs for the client's ``async with`` block.

Errors of the app's code reach the test (``raise_server_exceptions=True``, as in Starlette's
``TestClient``): the app's ``on_error`` hook hands them over, and the client raises the first
one at the call that was running when it happened, or at the next call, or at the end of the
``async with`` block.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import httpx

from ..protocol.parsers import Parser
from .asgi import ASGIApp, Lifespan
from .engine_client import CLIENT_ADDRESS
from .socket import AsyncTestSocket

T = TypeVar("T")

#: Seconds a test waits for something that should come at once (a call's answer, an event).
DEFAULT_TIMEOUT = 5.0


class AsyncTestClient:
    """``async with AsyncTestClient(app) as client:`` — HTTP with ``await client.get(...)``,
    realtime with ``async with client.socket() as socket:``."""

    def __init__(
        self,
        app: Any,
        *,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        cookies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.app: ASGIApp = app
        self.base_url = base_url
        self.raise_server_exceptions = raise_server_exceptions
        #: seconds ``call``, ``wait_for`` and connecting wait by default
        self.timeout = timeout
        self._cookies = dict(cookies or {})
        self._headers = dict(headers or {})
        self._http: httpx.AsyncClient | None = None
        self._lifespan: Lifespan | None = None
        self._sockets: list[AsyncTestSocket] = []
        self._errors: list[BaseException] = []
        self._errors_lock = threading.Lock()
        self._hooked = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error_seen: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<AsyncTestClient {self.app!r}>"

    # -- the block ---------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncTestClient:
        if self._http is not None:
            raise RuntimeError("this test client is open already")
        self._loop = asyncio.get_running_loop()
        self._error_seen = asyncio.Event()
        hooks = getattr(self.app, "error_hooks", None)
        if self.raise_server_exceptions and isinstance(hooks, list):
            hooks.append(self._server_error)
            self._hooked = True
        transport = httpx.ASGITransport(app=self.app, client=CLIENT_ADDRESS)
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=self.base_url,
            cookies=self._cookies,
            headers=self._headers,
            follow_redirects=True,
        )
        self._lifespan = Lifespan(self.app)
        try:
            await self._lifespan.startup()
        except BaseException:
            await self._close_http()
            raise
        return self

    async def __aexit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            for socket in tuple(self._sockets):
                await socket.disconnect()
            self._sockets.clear()
            if self._lifespan is not None:
                await self._lifespan.shutdown()
                self._lifespan = None
        finally:
            await self._close_http()
        if error is None:
            self.check_server_errors()

    async def _close_http(self) -> None:
        if self._hooked:
            hooks = getattr(self.app, "error_hooks", [])
            if self._server_error in hooks:
                hooks.remove(self._server_error)
            self._hooked = False
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    # -- HTTP ----------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client that carries HTTP to the app (its ``cookies`` are the jar)."""
        if self._http is None:
            raise RuntimeError(
                "the test client is not open: use it in an 'async with' block (it runs the "
                "app's startup and shutdown)"
            )
        return self._http

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookie jar shared by HTTP requests and realtime handshakes."""
        return self.http.cookies

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """An HTTP request to the app (httpx's options: ``json``, ``data``, ``params``,
        ``headers``, ``cookies``, ``files``...); an error of the app's code is raised."""
        response = await self.http.request(method, url, **options)
        self.check_server_errors()
        return response

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("POST", url, **options)

    async def put(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("PUT", url, **options)

    async def patch(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("PATCH", url, **options)

    async def delete(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("DELETE", url, **options)

    async def head(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("HEAD", url, **options)

    async def options(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("OPTIONS", url, **options)

    # -- realtime ----------------------------------------------------------------------------

    def socket(
        self,
        namespace: str = "/",
        *,
        auth: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        transport: str = "websocket",
        parser: str | Parser = "json",
        path: str = "/socket.io/",
    ) -> SocketOpening:
        """A realtime client connected to ``namespace``: ``socket = await client.socket()``, or
        ``async with client.socket() as socket:`` to disconnect it at the end of the block
        (sockets left open are disconnected at the end of the client's block anyway).

        ``auth`` is the payload the ``connect`` hook and handshake middleware see; ``headers``
        and ``query`` go with the handshake request, with the client's cookies; ``transport``
        is ``"websocket"`` or ``"polling"``; ``parser`` ``"json"`` or ``"msgpack"`` (what the
        app's ``parser`` setting says). :class:`ConnectionRefused` when the server says no."""
        socket = AsyncTestSocket(
            self,
            namespace,
            auth=auth,
            headers=headers,
            query=query,
            transport=transport,
            parser=parser,
            path=path,
        )
        return SocketOpening(self, socket)

    def _track(self, socket: AsyncTestSocket) -> None:
        self.http  # noqa: B018 -- raises the "not open" error
        self._sockets.append(socket)

    # -- errors of the app ---------------------------------------------------------------------

    def _server_error(self, error: BaseException) -> None:
        # The app's on_error hook: called on the app's loop, which is this client's.
        self.report_protocol_error(error)

    def report_protocol_error(self, error: BaseException) -> None:
        """Something the test cannot let pass (the server broke the protocol, a handler given
        to ``socket.on`` raised): raised like an error of the app."""
        with self._errors_lock:
            self._errors.append(error)
        loop, seen = self._loop, self._error_seen
        if loop is not None and seen is not None and not loop.is_closed():
            loop.call_soon_threadsafe(seen.set)

    async def wait(self, awaitable: Awaitable[T], timeout: float) -> T:
        """``awaitable``'s outcome, raising ``TimeoutError`` after ``timeout`` seconds, or the
        app's error as soon as one is reported meanwhile (a test waiting for an answer that a
        crashed route will never give learns why at once)."""
        seen = self._error_seen
        self.check_server_errors()
        waiting = asyncio.ensure_future(awaitable)
        watching = asyncio.ensure_future(seen.wait()) if seen is not None else None
        finished = False
        try:
            others = {watching} if watching is not None else set()
            await asyncio.wait(
                {waiting, *others}, timeout=max(timeout, 0), return_when="FIRST_COMPLETED"
            )
            finished = waiting.done()
        finally:
            if watching is not None:
                watching.cancel()
            if not waiting.done():
                waiting.cancel()
        self.check_server_errors()
        if not finished:
            raise TimeoutError
        return waiting.result()

    def check_server_errors(self) -> None:
        """Raise the first error of the app's code reported since the last check, if any (the
        others are noted on it)."""
        with self._errors_lock:
            errors, self._errors = self._errors, []
            if self._error_seen is not None:
                self._error_seen.clear()
        if not errors:
            return
        first = errors[0]
        for other in errors[1:]:
            first.add_note(f"the app also raised: {other!r}")
        raise first


class SocketOpening:
    """What ``client.socket()`` returns: awaited, the connected socket; used in ``async with``,
    the socket for the block, disconnected at its end."""

    def __init__(self, client: AsyncTestClient, socket: AsyncTestSocket) -> None:
        self._client = client
        #: the socket, not connected yet: ``on(...)`` handlers given here are in place for
        #: what the server sends right at connection
        self.socket = socket

    def __await__(self) -> Any:
        return self._open().__await__()

    async def _open(self) -> AsyncTestSocket:
        self._client._track(self.socket)
        await self.socket.connect()
        return self.socket

    async def __aenter__(self) -> AsyncTestSocket:
        return await self._open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.socket.disconnect()
