"""One app, two ways to drive it: real clients on a real server (uvicorn on a port, httpx and
python-socketio), or the TestClient in process. A scenario written against :class:`Driver`
runs with both, and asserts the same outcomes with both: whatever passes with the
TestClient is then known to pass with real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx

from expressio.testing import AsyncTestClient, AsyncTestSocket, ConnectionRefused
from tests.socket_clients import Client, Refused, clients
from tests.support import served


class Refusal(Exception):
    """A connection the server refused, as either driver saw it: message and data."""

    def __init__(self, message: str, data: Any) -> None:
        super().__init__(message, data)
        self.message = message
        self.data = data


class Socket(Protocol):
    sid: str

    async def call(self, event: str, *args: Any) -> Any: ...  # several values: a list
    async def emit(self, event: str, *args: Any) -> None: ...
    async def wait_for(self, event: str) -> Any: ...  # the next one not yet waited for
    async def disconnect(self) -> None: ...


class Driver(Protocol):
    name: str

    async def get(self, url: str, **options: Any) -> httpx.Response: ...
    async def post(self, url: str, **options: Any) -> httpx.Response: ...

    async def socket(
        self,
        namespace: str = "/",
        *,
        auth: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        transport: str = "websocket",
        answers: dict[str, Any] | None = None,  # event -> what the client acks
    ) -> Socket: ...


# -- real clients on a real server ------------------------------------------------------------


class RealSocket:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._taken: dict[str, int] = {}
        self.sid = client.sid

    async def call(self, event: str, *args: Any) -> Any:
        answer = await self._client.call(event, *args)
        return None if answer == [] else answer  # an ack with no arguments

    async def emit(self, event: str, *args: Any) -> None:
        await self._client.emit(event, *args)

    async def wait_for(self, event: str) -> Any:
        count = self._taken.get(event, 0) + 1
        self._taken[event] = count
        return (await self._client.inbox.wait_for(event, count))[count - 1]

    async def disconnect(self) -> None:
        await self._client.sio.disconnect()


class RealDriver:
    name = "real"

    def __init__(self, base_url: str, http: httpx.AsyncClient, connect: Any) -> None:
        self._base_url = base_url
        self._http = http
        self._connect = connect

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self._http.get(url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        return await self._http.post(url, **options)

    async def socket(
        self,
        namespace: str = "/",
        *,
        auth: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        transport: str = "websocket",
        answers: dict[str, Any] | None = None,  # event -> what the client acks
    ) -> Socket:
        jar = "; ".join(f"{name}={value}" for name, value in self._http.cookies.items())
        all_headers = {**(headers or {}), **({"Cookie": jar} if jar else {})}
        try:
            client = await self._connect(
                namespace,
                auth=auth,
                headers=all_headers,
                query="&".join(f"{k}={v}" for k, v in (query or {}).items()),
                transports=(transport,),
                answers=answers,
            )
        except Refused as refused:
            details = refused.args[1] if len(refused.args) > 1 else {}
            raise Refusal(refused.args[0], details.get("data")) from None
        return RealSocket(client)


# -- the TestClient ------------------------------------------------------------------------------


class InProcessSocket:
    def __init__(self, socket: AsyncTestSocket) -> None:
        self._socket = socket
        assert socket.id is not None
        self.sid = socket.id

    async def call(self, event: str, *args: Any) -> Any:
        answer = await self._socket.call(event, *args)
        return list(answer) if isinstance(answer, tuple) else answer

    async def emit(self, event: str, *args: Any) -> None:
        await self._socket.emit(event, *args)

    async def wait_for(self, event: str) -> Any:
        return await self._socket.wait_for(event)

    async def disconnect(self) -> None:
        await self._socket.disconnect()


class InProcessDriver:
    name = "testclient"

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self.client.get(url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        return await self.client.post(url, **options)

    async def socket(
        self,
        namespace: str = "/",
        *,
        auth: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        transport: str = "websocket",
        answers: dict[str, Any] | None = None,  # event -> what the client acks
    ) -> Socket:
        socket = self.client.socket(
            namespace, auth=auth, headers=headers, query=query, transport=transport
        )
        for event, answer in (answers or {}).items():
            socket.socket.on(event, lambda *args, answer=answer: answer)
        try:
            return InProcessSocket(await socket)
        except ConnectionRefused as refused:
            raise Refusal(refused.message, refused.data) from None


@asynccontextmanager
async def driving(kind: str, app: Any, **client_options: Any) -> AsyncIterator[Driver]:
    """A driver of ``kind`` (``"real"`` or ``"testclient"``) for ``app``, for the block."""
    if kind == "real":
        with served(app) as base_url:
            async with (
                httpx.AsyncClient(base_url=base_url) as http,
                clients(base_url) as connect,
            ):
                yield RealDriver(base_url, http, connect)
        return
    async with AsyncTestClient(app, **client_options) as client:
        yield InProcessDriver(client)
