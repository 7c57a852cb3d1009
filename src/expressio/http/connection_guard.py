"""Connection limits for ``app.listen()``: a deadline for request heads and a connection cap.

uvicorn reads a request head for as long as the client takes: a connection that sends one
byte a second and never ends its head stays open forever (its keep-alive timeout only runs
between requests, and any byte cancels it), and nothing bounds the number of connections. So
``build_config`` serves HTTP with uvicorn's protocol extended here:

* ``header_timeout`` (seconds): a request head (request line and headers) must be complete
  within it, counted from the connection's start for the first request and from its first byte
  for the next ones. A late one is answered ``408 Request Timeout`` (just closed if a response
  is being written) and its connection closed. Bodies are the app's business, as in uvicorn.
* ``max_connections``: connections of this process open at once, websockets included. One
  more is answered ``503 Service Unavailable`` (``Retry-After: 1``) as soon as it is accepted,
  without reading its request, and closed once the client has read that (at most
  ``REFUSED_LINGER`` seconds later: closing on unread bytes would reset the connection and
  lose the answer).

Both hook into uvicorn's HTTP protocol classes (httptools or h11, whichever serving uses),
whose internals ``pyproject.toml`` bounds; ``tests/direct/test_uvicorn_contract.py`` checks
what is relied on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

logger = logging.getLogger("expressio.http")

__all__ = ["DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "ConnectionLimits", "guarded"]

#: Seconds a client has to send a whole request head.
DEFAULT_HEADER_TIMEOUT: Final = 10.0
#: Connections open at once per process (websockets included) before new ones get a 503.
DEFAULT_MAX_CONNECTIONS: Final = 10_000
#: Seconds a refused connection is kept to let the client read its 503.
REFUSED_LINGER: Final = 1.0
#: Seconds between two warnings about refused connections.
REFUSAL_WARNING_INTERVAL: Final = 10.0
_last_refusal_warning = float("-inf")


def _answer(status: bytes, body: bytes, *extra: bytes) -> bytes:
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            *extra,
            b"\r\n",
            body,
        ]
    )


REQUEST_TIMEOUT: Final = _answer(b"408 Request Timeout", b"Request header timeout")
SERVICE_UNAVAILABLE: Final = _answer(
    b"503 Service Unavailable", b"Too many connections", b"retry-after: 1\r\n"
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """``None`` turns a limit off."""

    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT
    max_connections: int | None = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        timeout = self.header_timeout
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"header_timeout is a positive number of seconds, got {timeout!r}")
        cap = self.max_connections
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"max_connections is a positive whole number, got {cap!r}")


class _Guard(asyncio.Protocol):
    """What both guarded protocols add to uvicorn's; mixed in before uvicorn's class."""

    # uvicorn's attributes this relies on (set by its __init__ and connection_made)
    server_state: Any
    transport: asyncio.Transport
    cycle: Any
    loop: asyncio.AbstractEventLoop

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        # Over the cap: this connection is only answered 503 and closed, never served.
        self._refused: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cap = self._limits.max_connections
        if cap is not None and len(self.server_state.connections) >= cap:
            self._refuse(transport)  # type: ignore[arg-type]
            return
        super().connection_made(transport)
        self._head_started()

    def data_received(self, data: bytes) -> None:
        if self._refused is None:
            super().data_received(data)
        # else: the request of a refused connection is read only to be dropped

    def eof_received(self) -> None:
        refused = self._refused
        if refused is not None:
            refused.close()  # the client has read the 503 and closed its side
            return
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        if self._refused is None:
            super().connection_lost(exc)

    # -- the request head's deadline -------------------------------------------------------

    def _head_started(self) -> None:
        """A request head is expected (a new connection) or has begun (its first byte)."""
        timeout = self._limits.header_timeout
        if timeout is not None and self._head_timer is None:
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _head_done(self) -> None:
        timer = self._head_timer
        if timer is not None:
            self._head_timer = None
            timer.cancel()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            transport.write(REQUEST_TIMEOUT)
        # else a pipelined head is late while a response is written: only closing is safe
        logger.debug(
            "closed a connection whose request head took over %s s", self._limits.header_timeout
        )
        transport.close()

    # -- over the cap ----------------------------------------------------------------------

    def _refuse(self, transport: asyncio.Transport) -> None:
        global _last_refusal_warning
        self._refused = transport
        now = self.loop.time()
        if now - _last_refusal_warning >= REFUSAL_WARNING_INTERVAL:
            # Once per interval: a flood of refusals must not become a flood of log lines.
            _last_refusal_warning = now
            logger.warning(
                "refusing connections with 503: %d are open (max_connections)",
                self._limits.max_connections,
            )
        transport.write(SERVICE_UNAVAILABLE)
        self.loop.call_later(REFUSED_LINGER, transport.abort)


def _guarded_httptools() -> Callable[..., asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the limits of :class:`ConnectionLimits`."""

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_started()

        def on_headers_complete(self) -> None:
            self._head_done()
            super().on_headers_complete()

    return GuardedHttpToolsProtocol


def _guarded_h11() -> Callable[..., asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(_Guard, H11Protocol):
        """uvicorn's h11 protocol with the limits of :class:`ConnectionLimits`."""

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._refused is not None:
                return
            # h11 has no callback at the end of a head: its state tells. IDLE means no
            # request head has been parsed whole since the last response.
            if self.conn.their_state is h11.IDLE:
                self._head_started()
            else:
                self._head_done()

    return GuardedH11Protocol


@functools.cache
def _protocol_class(http: str) -> Callable[..., asyncio.Protocol]:
    return _guarded_httptools() if http == "httptools" else _guarded_h11()


def guarded(http: str, limits: ConnectionLimits) -> Any:
    """The ``http`` protocol factory for ``uvicorn.Config``: uvicorn's ``"httptools"`` or
    ``"h11"`` protocol, with ``limits``."""
    return functools.partial(_protocol_class(http), limits=limits)
