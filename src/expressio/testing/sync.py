"""``TestClient``: the same client for plain (``def``) tests.

It is :class:`~expressio.testing.client.AsyncTestClient` driven on an event loop of its own,
in a thread (anyio's blocking portal, as Starlette's ``TestClient`` does): every method hands
its call to that loop and waits for the outcome. No protocol logic lives here.

The app runs on that loop's thread, so the test body is another thread to it: ``app.io``
calls from the test (``app.io.broadcast(...)``, ``app.io.fetch_sockets().result(5)``) go
through the app's own bridge to its loop, as from any worker thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ..protocol.parsers import Parser
from .client import DEFAULT_TIMEOUT, AsyncTestClient
from .socket import AsyncTestSocket, Received

T = TypeVar("T")


class TestClient:
    """``with TestClient(app) as client:`` — HTTP with ``client.get(...)``, realtime with
    ``with client.socket() as socket:``. Options as :class:`AsyncTestClient`."""

    __test__ = False  # a class named Test* that pytest must not collect

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
        self.app = app
        self.async_client = AsyncTestClient(
            app,
            base_url=base_url,
            raise_server_exceptions=raise_server_exceptions,
            cookies=cookies,
            headers=headers,
            timeout=timeout,
        )
        self._portal_context: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None

    def __repr__(self) -> str:
        return f"<TestClient {self.app!r}>"

    def __enter__(self) -> TestClient:
        if self._portal is not None:
            raise RuntimeError("this test client is open already")
        context = start_blocking_portal(backend="asyncio")
        portal = context.__enter__()
        try:
            portal.call(self.async_client.__aenter__)
        except BaseException:
            context.__exit__(None, None, None)
            raise
        self._portal_context, self._portal = context, portal
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        portal, context = self._portal, self._portal_context
        if portal is None or context is None:
            return
        try:
            portal.call(self.async_client.__aexit__, kind, error, traceback)
        finally:
            self._portal = self._portal_context = None
            context.__exit__(None, None, None)

    def _call(self, function: Callable[..., Any], *args: Any, **options: Any) -> Any:
        portal = self._portal
        if portal is None:
            raise RuntimeError(
                "the test client is not open: use it in a 'with' block (it runs the app's "
                "startup and shutdown)"
            )
        return portal.call(functools.partial(function, *args, **options))

    # -- HTTP ------------------------------------------------------------------------------

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookie jar shared by HTTP requests and realtime handshakes."""
        return self.async_client.cookies

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """An HTTP request to the app (httpx's options); an error of the app's code is raised."""
        response: httpx.Response = self._call(self.async_client.request, method, url, **options)
        return response

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> httpx.Response:
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> httpx.Response:
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", url, **options)

    def head(self, url: str, **options: Any) -> httpx.Response:
        return self.request("HEAD", url, **options)

    def options(self, url: str, **options: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **options)

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
    ) -> TestSocket:
        """A connected realtime client (see :meth:`AsyncTestClient.socket`); ``with
        client.socket() as socket:`` disconnects it at the end of the block."""
        opening = self.async_client.socket(
            namespace,
            auth=auth,
            headers=headers,
            query=query,
            transport=transport,
            parser=parser,
            path=path,
        )
        socket: AsyncTestSocket = self._call(opening._open)
        return TestSocket(self, socket)

    def check_server_errors(self) -> None:
        """Raise the first error of the app's code not raised yet, if any."""
        self._call(self.async_client.check_server_errors)


class TestSocket:
    """A realtime client of the app; the methods of :class:`AsyncTestSocket`, blocking."""

    __test__ = False

    def __init__(self, client: TestClient, socket: AsyncTestSocket) -> None:
        self._client = client
        #: the async socket this one drives (on the client's loop)
        self.async_socket = socket

    def __repr__(self) -> str:
        return repr(self.async_socket).replace("AsyncTestSocket", "TestSocket", 1)

    def __enter__(self) -> TestSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()

    @property
    def id(self) -> str | None:
        return self.async_socket.id

    @property
    def namespace(self) -> str:
        return self.async_socket.namespace

    @property
    def connected(self) -> bool:
        return self.async_socket.connected

    @property
    def recovered(self) -> bool:
        return self.async_socket.recovered

    @property
    def disconnect_reason(self) -> str | None:
        return self.async_socket.disconnect_reason

    def emit(self, event: str, *args: Any) -> None:
        self._client._call(self.async_socket.emit, event, *args)

    def call(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        return self._client._call(self.async_socket.call, event, *args, timeout=timeout)

    def on(self, event: str, handler: Callable[..., T]) -> Callable[..., T]:
        """As :meth:`AsyncTestSocket.on`; ``handler`` runs on the client's loop thread."""
        self.async_socket.on(event, handler)
        return handler

    def received(self, event: str | None = None) -> list[Received]:
        result: list[Received] = self._client._call(self.async_socket.received, event)
        return result

    def wait_for(self, event: str, timeout: float | None = None) -> Any:
        return self._client._call(self.async_socket.wait_for, event, timeout)

    def wait_disconnected(self, timeout: float | None = None) -> str:
        reason: str = self._client._call(self.async_socket.wait_disconnected, timeout)
        return reason

    def disconnect(self) -> None:
        if self._client._portal is None:
            return  # the client's block ended: it disconnected every socket
        self._client._call(self.async_socket.disconnect)

    def drop(self) -> None:
        self._client._call(self.async_socket.drop)

    def reconnect(self, timeout: float | None = None) -> TestSocket:
        self._client._call(self.async_socket.reconnect, timeout)
        return self
