"""What the engine learns from a request before any session exists.

Query validation (``EIO``, ``transport``), the origin check (CSRF / cross-site websocket
protection), the CORS headers of polling responses, the error bodies the reference server
uses, and :class:`HandshakeRequest`, the snapshot of the initial request each session keeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from starlette.datastructures import Headers

__all__ = [
    "ALLOWED_METHODS",
    "BAD_HANDSHAKE_METHOD",
    "BAD_REQUEST",
    "FORBIDDEN",
    "REQUEST_REFUSED",
    "TOO_MANY_CLIENTS",
    "TRANSPORT_UNKNOWN",
    "UNKNOWN_SID",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "EngineError",
    "HandshakeRequest",
    "OriginPolicy",
    "parse_query",
]

ALLOWED_METHODS: Final = "GET, POST, OPTIONS"

# The ASGI callable's arguments, as the transports over ASGI take them.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[MutableMapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class EngineError:
    """An error answer: HTTP status plus the reference server's ``{code, message}`` body, or,
    for ``plain`` errors, the message as a short text (what a person reading it needs)."""

    status: int
    code: int
    message: str
    plain: bool = False

    @property
    def content_type(self) -> bytes:
        return b"text/plain; charset=utf-8" if self.plain else b"application/json"

    def body(self) -> bytes:
        if self.plain:
            return self.message.encode()
        # Fixed strings only: formatting by hand avoids a JSON encoder call per refusal.
        return b'{"code":%d,"message":"%s"}' % (self.code, self.message.encode())


TRANSPORT_UNKNOWN: Final = EngineError(400, 0, "Transport unknown")
UNKNOWN_SID: Final = EngineError(400, 1, "Session ID unknown")
BAD_HANDSHAKE_METHOD: Final = EngineError(400, 2, "Bad handshake method")
BAD_REQUEST: Final = EngineError(400, 3, "Bad request")
# A cross-site page must not ride on the user's cookies (cross-site WebSocket hijacking).
FORBIDDEN: Final = EngineError(
    403, 4, "Forbidden: this origin may not connect (see the 'origins' setting)", plain=True
)
UNSUPPORTED_PROTOCOL_VERSION: Final = EngineError(400, 5, "Unsupported protocol version")
# ``allow_request`` said no (or raised): Node's engine.io answers this to a refused allowRequest.
REQUEST_REFUSED: Final = EngineError(403, 4, "Forbidden")
# The server holds ``max_clients`` sessions already; the client may retry later.
TOO_MANY_CLIENTS: Final = EngineError(503, 3, "Too many clients")


def parse_query(scope: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters, name -> first value."""
    query: dict[str, str] = {}
    raw: bytes = scope.get("query_string", b"")
    if raw:
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            query.setdefault(name, value)
    return query


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """The request that opened a session, as the layers above want to see it (and as
    ``allow_request`` sees it before the session exists). Read-only."""

    headers: Headers  # case-insensitive
    query: dict[str, str]  # name -> first value
    address: str  # the client's IP address ("" when the server does not know it)
    secure: bool  # https / wss
    url: str  # path and query string of the request
    time: float  # when the session opened, seconds since the epoch
    method: str = "GET"  # the HTTP method (a handshake is a GET)

    @classmethod
    def from_scope(cls, scope: MutableMapping[str, Any], query: dict[str, str]) -> HandshakeRequest:
        client = scope.get("client")
        # ASGI paths include root_path (a mount adds to root_path and keeps path whole).
        path = scope.get("path", "")
        raw_query: bytes = scope.get("query_string", b"")
        url = f"{path}?{raw_query.decode('latin-1')}" if raw_query else path
        return cls(
            headers=Headers(scope=scope),
            query=query,
            address=client[0] if client else "",
            secure=scope.get("scheme") in ("https", "wss"),
            url=url,
            time=time.time(),
            method=scope.get("method", "GET"),
        )


_DEFAULT_PORTS: Final = {"http": "80", "https": "443"}


def _normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` lower-cased, without a default port or trailing slash."""
    origin = origin.strip().rstrip("/").lower()
    scheme, sep, host = origin.partition("://")
    if not sep:
        return origin
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port and host.endswith(":" + default_port):
        host = host[: -len(default_port) - 1]
    return f"{scheme}://{host}"


class OriginPolicy:
    """Which ``Origin`` headers may talk to the engine.

    ``None``: same origin only (the Origin must equal ``scheme://host`` of the request's own
    Host header); ``"*"``: any origin; a list: exactly those origins. A request without an
    ``Origin`` header (not a browser, or a same-origin GET) is always accepted.
    """

    __slots__ = ("_allow_all", "_allowed")

    def __init__(self, origins: Sequence[str] | Literal["*"] | None) -> None:
        self._allow_all = origins == "*"
        self._allowed: frozenset[str] | None = None
        if origins is not None and origins != "*":
            if isinstance(origins, str):
                origins = [origins]
            self._allowed = frozenset(_normalize_origin(origin) for origin in origins)

    def allows(self, origin: str | None, scope: Mapping[str, Any], headers: Headers) -> bool:
        if origin is None or self._allow_all:
            return True
        normalized = _normalize_origin(origin)
        if self._allowed is not None:
            return normalized in self._allowed
        host = headers.get("host")
        if not host:
            return False
        scheme = scope.get("scheme", "http")
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return normalized == _normalize_origin(f"{scheme}://{host}")


def cors_headers(origin: str | None) -> list[tuple[bytes, bytes]]:
    """Headers that let a browser on an allowed ``origin`` read a polling response."""
    if origin is None:
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]
