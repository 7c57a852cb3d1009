"""The client's side of one Engine.IO v4 session, over a websocket or long-polling, in process.

The codecs are the sans-IO ones of :mod:`expressio.protocol.engineio`; what travels is what a
real client sends: the open packet, pings answered with pongs, messages (text, and binary as
websocket binary frames or ``b``-prefixed base64 in polling payloads), the close packet. The
server is reached only through the app's ASGI interface: websockets through
:class:`~expressio.testing.asgi.ASGIWebSocket`, polling requests through the test's httpx
client, whose cookie jar they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from ..protocol.engineio import (
    DecodeError,
    Packet,
    PacketType,
    decode_frame,
    decode_payload,
    encode_frame,
    encode_payload,
)
from .asgi import ASGIApp, ASGIWebSocket, WebSocketClosed, WebSocketRefused

#: The transports a test socket can use (``transport=``).
TRANSPORTS = ("websocket", "polling")
#: Seconds the client waits for its own transport to wind down on close.
CLOSE_TIMEOUT = 5.0

OnMessage = Callable[[str | bytes], None]
OnClose = Callable[[str], None]


class EngineRefused(Exception):
    """The server refused the Engine.IO handshake over HTTP (``status``, ``body``): an origin it
    does not allow, ``allow_request`` saying no, too many clients..."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the server refused the connection: HTTP {status} {body}".rstrip())
        self.status = status
        self.body = body


class TransportClosed(Exception):
    """The Engine.IO session is closed: nothing can be sent on it any more."""


class EngineClient:
    """One Engine.IO session; ``on_message`` gets each message, ``on_close`` the reason once
    (``"transport close"``, or ``"io client disconnect"`` when this side closed it)."""

    transport = ""

    def __init__(self, on_message: OnMessage, on_close: OnClose) -> None:
        self._on_message = on_message
        self._on_close = on_close
        self.sid = ""
        self.ping_interval = 25.0
        self.ping_timeout = 20.0
        self.closed = False
        self._reader: asyncio.Task[None] | None = None

    def _opened(self, data: str | bytes) -> None:
        handshake = orjson.loads(data)
        self.sid = handshake["sid"]
        self.ping_interval = handshake.get("pingInterval", 25000) / 1000
        self.ping_timeout = handshake.get("pingTimeout", 20000) / 1000

    def _handle(self, packet: Packet) -> bool:
        """Deliver one packet from the server; False when it closes the session."""
        if packet.type is PacketType.MESSAGE:
            self._on_message(packet.data)
        elif packet.type is PacketType.CLOSE:
            return False
        return True

    def _ended(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(reason)

    async def open(
        self,
        app: ASGIApp,
        http: httpx.AsyncClient,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> None:
        """Handshake with the server (:class:`EngineRefused` if it says no)."""
        raise NotImplementedError

    async def send(self, messages: Sequence[str | bytes]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Close the session as a client does: the close packet, then the transport."""
        raise NotImplementedError

    async def drop(self) -> None:
        """The connection is lost without a word (a network drop): for the server a
        ``"transport close"``, which connection state recovery may undo."""
        raise NotImplementedError

    async def _stop_reader(self) -> None:
        reader = self._reader
        if reader is None or reader.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(reader), CLOSE_TIMEOUT)
        except TimeoutError:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def engine_url(path: str, transport: str, query: Mapping[str, str], sid: str = "") -> str:
    params = {**query, "EIO": "4", "transport": transport}
    if sid:
        params["sid"] = sid
    return f"{path}?{urlencode(params)}"


class WebSocketEngine(EngineClient):
    """Engine.IO over the app's own ASGI websocket."""

    transport = "websocket"

    def __init__(self, on_message: OnMessage, on_close: OnClose) -> None:
        super().__init__(on_message, on_close)
        self._websocket: ASGIWebSocket | None = None

    async def open(
        self,
        app: ASGIApp,
        http: httpx.AsyncClient,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> None:
        base = http.base_url
        target = engine_url(path, "websocket", query)
        raw_path, _, query_string = target.partition("?")
        request_headers = _handshake_headers(http, target, headers)
        request_headers.update(
            {
                "connection": "upgrade",
                "upgrade": "websocket",
                "sec-websocket-version": "13",
                "sec-websocket-key": secrets.token_urlsafe(16),
            }
        )
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if base.scheme == "https" else "ws",
            "server": (base.host, base.port or (443 if base.scheme == "https" else 80)),
            "client": CLIENT_ADDRESS,
            "root_path": "",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query_string.encode(),
            "headers": [(name.encode(), value.encode()) for name, value in request_headers.items()],
            "subprotocols": [],
            "extensions": {"websocket.http.response": {}},
            "state": {},
        }
        websocket = ASGIWebSocket(app, scope)
        try:
            await websocket.connect()
        except WebSocketRefused as refused:
            raise EngineRefused(refused.status, refused.body.decode(errors="replace")) from None
        self._websocket = websocket
        try:
            packet = decode_frame(await websocket.receive())
        except WebSocketClosed as closed:
            raise EngineRefused(403, str(closed)) from None
        if packet.type is not PacketType.OPEN:
            raise DecodeError(f"the server's first packet is not an open packet: {packet!r}")
        self._opened(packet.data)
        self._reader = asyncio.ensure_future(self._read(websocket))

    async def _read(self, websocket: ASGIWebSocket) -> None:
        try:
            while True:
                packet = decode_frame(await websocket.receive())
                if packet.type is PacketType.PING:
                    await websocket.send(encode_frame(Packet(PacketType.PONG, packet.data)))
                elif not self._handle(packet):
                    break
        except WebSocketClosed:
            pass
        finally:
            self._ended("transport close")

    async def send(self, messages: Sequence[str | bytes]) -> None:
        websocket = self._websocket
        if websocket is None or self.closed:
            raise TransportClosed("the connection is closed")
        try:
            for message in messages:
                await websocket.send(encode_frame(Packet(PacketType.MESSAGE, message)))
        except WebSocketClosed:
            raise TransportClosed("the connection is closed") from None

    async def close(self) -> None:
        websocket = self._websocket
        if websocket is None:
            return
        if not self.closed:
            self._ended("io client disconnect")
            with contextlib.suppress(WebSocketClosed):
                await websocket.send(encode_frame(Packet(PacketType.CLOSE)))
        await websocket.close(1000)
        await self._stop_reader()

    async def drop(self) -> None:
        websocket = self._websocket
        if websocket is None:
            return
        self._ended("transport close")
        await websocket.close(1006)
        await self._stop_reader()


class PollingEngine(EngineClient):
    """Engine.IO over HTTP long-polling: a GET always waiting for the server's packets, and
    one POST at a time for the client's (the protocol allows no more)."""

    transport = "polling"

    def __init__(self, on_message: OnMessage, on_close: OnClose) -> None:
        super().__init__(on_message, on_close)
        self._http: httpx.AsyncClient | None = None
        self._path = ""
        self._query: dict[str, str] = {}
        self._headers: dict[str, str] = {}
        self._posting = asyncio.Lock()

    async def open(
        self,
        app: ASGIApp,
        http: httpx.AsyncClient,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> None:
        self._http, self._path, self._query = http, path, dict(query)
        self._headers = dict(headers)
        response = await http.get(engine_url(path, "polling", query), headers=self._headers)
        if response.status_code != 200:
            raise EngineRefused(response.status_code, response.text)
        packets = decode_payload(response.content)
        if not packets or packets[0].type is not PacketType.OPEN:
            raise DecodeError(f"the server's first packet is not an open packet: {packets!r}")
        self._opened(packets[0].data)
        # Packets that came with the open one are the session's first.
        for packet in packets[1:]:
            self._handle(packet)
        self._reader = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        http = self._http
        assert http is not None
        url = engine_url(self._path, "polling", self._query, self.sid)
        try:
            while not self.closed:
                response = await http.get(url, headers=self._headers)
                if response.status_code != 200:
                    break
                for packet in decode_payload(response.content):
                    if packet.type is PacketType.PING:
                        await self._post([Packet(PacketType.PONG, packet.data)])
                    elif not self._handle(packet):
                        return
        except TransportClosed:
            pass
        finally:
            self._ended("transport close")

    async def _post(self, packets: list[Packet]) -> None:
        http = self._http
        assert http is not None
        url = engine_url(self._path, "polling", self._query, self.sid)
        async with self._posting:
            response = await http.post(
                url,
                content=encode_payload(packets).encode(),
                headers={**self._headers, "content-type": "text/plain;charset=UTF-8"},
            )
        if response.status_code != 200:
            raise TransportClosed(f"the server answered a POST with HTTP {response.status_code}")

    async def send(self, messages: Sequence[str | bytes]) -> None:
        if self.closed:
            raise TransportClosed("the connection is closed")
        await self._post([Packet(PacketType.MESSAGE, message) for message in messages])

    async def close(self) -> None:
        await self._leave("io client disconnect")

    async def drop(self) -> None:
        # Polling has no connection to lose: a client whose network fails stops polling, and
        # the server notices at the next ping timeout. The close packet tells it now, with the
        # same reason ("transport close"), so that a test need not wait for the heartbeat.
        await self._leave("transport close")

    async def _leave(self, reason: str) -> None:
        if self._http is None:
            return
        if not self.closed:
            self._ended(reason)
            with contextlib.suppress(TransportClosed, httpx.HTTPError):
                await self._post([Packet(PacketType.CLOSE)])
        await self._stop_reader()


#: The peer address the app sees for test requests, HTTP and realtime alike.
CLIENT_ADDRESS = ("127.0.0.1", 50000)


def _handshake_headers(
    http: httpx.AsyncClient, target: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """The headers a browser would send on this origin: the client's own (its cookie jar
    included, as httpx builds them for a request to ``target``) and ``headers``."""
    request = http.build_request("GET", target, headers=dict(headers))
    merged: dict[str, Any] = {}
    for name, value in request.headers.multi_items():
        name = name.lower()
        merged[name] = f"{merged[name]}; {value}" if name == "cookie" and name in merged else value
    return merged


def open_engine(transport: str, on_message: OnMessage, on_close: OnClose) -> EngineClient:
    if transport == "websocket":
        return WebSocketEngine(on_message, on_close)
    if transport == "polling":
        return PollingEngine(on_message, on_close)
    raise ValueError(f"transport is one of {', '.join(TRANSPORTS)}, not {transport!r}")
