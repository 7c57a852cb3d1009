"""The websocket upgrade request as the direct transport reads it, and its HTTP answers.

uvicorn's HTTP protocol parses a request, sees ``Upgrade: websocket`` and hands the direct
transport the request re-serialised (header names lower-cased). This module turns it back
into what the engine needs (path, query, headers), finds which engine of the served app (if
any) owns the path, and writes the answers the transport sends before any frame: ``101``,
or an error status with a body.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import unquote

from expressio.engine.server import EngineServer
from expressio.protocol.websocket_frames import accept_key

__all__ = [
    "UpgradeRequest",
    "direct_engine_of",
    "handshake_problem",
    "http_response",
    "parse_upgrade_request",
    "remote_address",
    "served_app",
    "switching_protocols",
    "valid_key",
]

Header = tuple[bytes, bytes]


def direct_engine_of(app: Any, path: str) -> EngineServer | None:
    """The engine that serves websockets at ``path`` in ``app``, if ``app`` can tell.

    ``app`` tells by being an :class:`EngineServer` (it serves every path it is given), by a
    ``direct_websocket_route(path)`` method (``Application`` and other routers), or by an
    ``engine`` attribute holding one (``RealtimeServer``). A bound method mounted as an ASGI
    app (``obj.handle``) asks its object. Anything else: ``None``, and ASGI serves the path.
    """
    if isinstance(app, EngineServer):
        return app
    route = getattr(app, "direct_websocket_route", None)
    if route is not None:
        engine: EngineServer | None = route(path)
        return engine
    owner = getattr(app, "__self__", None)
    if owner is not None:
        return direct_engine_of(owner, path)
    engine = getattr(app, "engine", None)
    return engine if isinstance(engine, EngineServer) else None


def served_app(config: Any) -> Any:
    """The app a uvicorn ``Config`` serves, without the wrappers that only log; ``None`` when
    wrapped in one that changes requests (proxy headers, ASGI 2, WSGI): then every websocket
    goes through ASGI, where that wrapper applies."""
    from uvicorn.middleware.message_logger import MessageLoggerMiddleware

    app = config.loaded_app
    while isinstance(app, MessageLoggerMiddleware):
        app = app.app
    if type(app).__module__.startswith("uvicorn."):
        return None
    return app


class UpgradeRequest(NamedTuple):
    path: str  # percent-decoded, with the server's root_path in front (as ASGI has it)
    raw_path: bytes
    query_string: bytes
    headers: list[Header]  # names lower-cased, as in an ASGI scope

    def header(self, name: bytes) -> bytes | None:
        for header_name, value in self.headers:
            if header_name == name:
                return value
        return None


def parse_upgrade_request(head: bytes, root_path: str) -> UpgradeRequest | None:
    """The request head (up to the blank line, excluded), or None if it is malformed."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or not parts[2].startswith(b"HTTP/"):
        return None
    headers: list[Header] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name:
            return None
        headers.append((name.strip().lower(), value.strip()))
    raw_path, _, query_string = parts[1].partition(b"?")
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)
    return UpgradeRequest(root_path + path, raw_path, query_string, headers)


def handshake_problem(request: UpgradeRequest) -> bytes | None:
    """The HTTP answer for a request that is not a valid RFC 6455 opening handshake."""
    if request.header(b"sec-websocket-version") != b"13":
        return http_response(HTTPStatus.UPGRADE_REQUIRED, [(b"sec-websocket-version", b"13")])
    key = request.header(b"sec-websocket-key")
    if key is None or not valid_key(key):
        return http_response(HTTPStatus.BAD_REQUEST)
    return None


def valid_key(key: bytes) -> bool:
    """``Sec-WebSocket-Key`` is the base64 of 16 bytes (RFC 6455 section 4.1): 24 ASCII
    characters. Anything else (non-ASCII bytes included) would break the accept key."""
    if len(key) != 24:
        return False
    try:
        return len(binascii.a2b_base64(key, strict_mode=True)) == 16
    except binascii.Error:
        return False


def switching_protocols(key: bytes, extra_headers: Iterable[Header]) -> list[bytes]:
    """The ``101`` answer, as parts to join (the caller may append the first frame)."""
    response = [
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        b"sec-websocket-accept: ",
        accept_key(key.decode("ascii")).encode("ascii"),
        b"\r\n",
    ]
    for name, value in extra_headers:
        response += [name, b": ", value, b"\r\n"]
    response.append(b"\r\n")
    return response


def http_response(
    status: HTTPStatus, headers: list[Header] | None = None, body: bytes | None = None
) -> bytes:
    """A complete HTTP answer that ends the connection; the body defaults to the phrase."""
    if body is None:
        body = status.phrase.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])]
    lines = [b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode())]
    for name, value in [
        *(headers or []),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]:
        lines += [name, b": ", value, b"\r\n"]
    lines += [b"\r\n", body]
    return b"".join(lines)


def remote_address(transport: Any) -> tuple[str, int] | None:
    """The client's (host, port), as ASGI's ``client``."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return (str(peer[0]), int(peer[1]))
    return None
