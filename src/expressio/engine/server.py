"""EngineServer: the Engine.IO v4 server, an ASGI application for any mount path.

It owns the options, the table of sessions and the callbacks; the transports live in
``polling.py`` (HTTP long-polling) and ``websocket.py``, which it dispatches ASGI scopes to,
and ``direct.py``. Transports use the public methods of the section "for the transports" below
and :class:`EngineSocket`'s transport interface, nothing private.

Callbacks (``on_connect``, ``on_message``, ``on_disconnect``) are plain synchronous functions
called on the event loop thread and never awaited. One that raises is logged with its
traceback and closes that one session with ``"forced close"``; nothing else is disturbed.

Disconnect reasons given to ``on_disconnect``: ``"transport close"`` (the client went away or
sent a close packet), ``"ping timeout"``, ``"transport error"`` (payload over ``max_payload``,
duplicate poll, send buffer overflow), ``"parse error"`` (undecodable packet),
``"forced close"`` (the server called ``close``) and ``"server shutting down"``.

Slow clients: at most ``max_send_buffer`` packets, and ``max_send_buffer_bytes`` of them
(16 MiB by default), wait per session. A send beyond either closes the session with
``"transport error"`` and logs a warning, so a client that stops reading costs bounded memory.
Broadcast messages are shared, not copied, per recipient, but count in full against each
recipient's byte bound (a slow reader pins them all the same).

Admission of new sessions (``admission.py``): at most ``max_clients`` sessions are open at
once; one more handshake is answered HTTP 503 ``{"code":3,"message":"Too many clients"}``
(polling and websocket alike). ``allow_request(request)``, when set, sees each handshake's
:class:`HandshakeRequest` before a session is opened (socket.io's ``allowRequest``): a false
answer, or an exception (logged), refuses it with HTTP 403 ``{"code":4,"message":"Forbidden"}``.
A polling session whose client neither polls nor probes within ``first_contact_timeout``
seconds of its handshake is closed (see ``connection.py``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import orjson

from expressio.engine.connection import DEFAULT_MAX_SEND_BUFFER_BYTES, Connection
from expressio.engine.handshake import (
    TRANSPORT_UNKNOWN,
    UNSUPPORTED_PROTOCOL_VERSION,
    EngineError,
    HandshakeRequest,
    OriginPolicy,
    Receive,
    Scope,
    Send,
)
from expressio.engine.reasons import DisconnectReason
from expressio.engine.socket import EngineSocket
from expressio.protocol.engineio import PreparedMessage

__all__ = ["DEFAULT_FIRST_CONTACT_TIMEOUT", "DEFAULT_MAX_CLIENTS", "AllowRequest", "EngineServer"]

#: ``allow_request``: ``def`` or ``async def``, a true answer lets the handshake open a session.
AllowRequest: TypeAlias = Callable[[HandshakeRequest], "bool | Awaitable[bool]"]

#: Engine.IO sessions open at once before handshakes are refused.
DEFAULT_MAX_CLIENTS = 20_000
#: Seconds a polling session's client has, after the handshake, to poll or probe.
DEFAULT_FIRST_CONTACT_TIMEOUT = 10.0

logger = logging.getLogger("expressio.engine")


KNOWN_TRANSPORTS = ("polling", "websocket")


class EngineServer:
    """An Engine.IO v4 server. Mount it at a path (``/engine.io/``, ``/socket.io/``...).

    Example::

        def echo(socket: EngineSocket, data: str | bytes) -> None:
            socket.send(data)

        engine = EngineServer(on_message=echo)
        # uvicorn, Starlette's Mount, or any ASGI router can now serve ``engine``.
    """

    #: Seconds a probing websocket has to send its upgrade packet before it is dropped.
    upgrade_timeout: float = 10.0

    def __init__(
        self,
        *,
        on_connect: Callable[[EngineSocket], None] | None = None,
        on_message: Callable[[EngineSocket, str | bytes], None] | None = None,
        on_disconnect: Callable[[EngineSocket, str], None] | None = None,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_payload: int = 1_000_000,
        transports: Sequence[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        origins: Sequence[str] | Literal["*"] | None = None,
        max_send_buffer: int = 10_000,
        max_send_buffer_bytes: int = DEFAULT_MAX_SEND_BUFFER_BYTES,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        first_contact_timeout: float = DEFAULT_FIRST_CONTACT_TIMEOUT,
        allow_request: AllowRequest | None = None,
    ) -> None:
        unknown = [name for name in transports if name not in KNOWN_TRANSPORTS]
        if unknown or not transports:
            raise ValueError(f"transports must be among {KNOWN_TRANSPORTS}, got {transports!r}")
        if ping_interval <= 0 or ping_timeout <= 0:
            raise ValueError("ping_interval and ping_timeout must be positive")
        if max_payload <= 0 or max_send_buffer <= 0 or max_send_buffer_bytes <= 0:
            raise ValueError(
                "max_payload, max_send_buffer and max_send_buffer_bytes must be positive"
            )
        if max_clients <= 0 or first_contact_timeout <= 0:
            raise ValueError("max_clients and first_contact_timeout must be positive")
        self.on_connect = on_connect
        self.on_message = on_message
        self.on_disconnect = on_disconnect
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.transports = tuple(transports)
        self.allow_upgrades = allow_upgrades
        self.max_send_buffer = max_send_buffer
        self.max_send_buffer_bytes = max_send_buffer_bytes
        self.max_clients = max_clients
        self.first_contact_timeout = first_contact_timeout
        self.allow_request = allow_request
        self.origin_policy = OriginPolicy(origins)
        self._sockets: dict[str, EngineSocket] = {}
        # Closed polling sessions that still owe the client a last payload.
        self._awaiting_last_poll: dict[str, EngineSocket] = {}
        self._transport_tasks: set[asyncio.Future[Any]] = set()
        #: The event loop serving the sessions (known once the first request arrives).
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]

    @property
    def upgrades(self) -> list[str]:
        """What a polling handshake offers to upgrade to; follows ``transports`` and
        ``allow_upgrades``, which may change while serving (for connections opened later)."""
        return ["websocket"] if self.allow_upgrades and "websocket" in self.transports else []

    @property
    def sockets(self) -> Mapping[str, EngineSocket]:
        """Open sessions by sid."""
        return self._sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            # A closed loop: the app is served again on another one (a test suite's clients,
            # one after another); its sessions went with the old loop.
            self.loop = asyncio.get_running_loop()
        kind = scope["type"]
        if kind == "websocket":
            from expressio.engine.websocket import handle_websocket

            await handle_websocket(self, scope, receive, send)
        elif kind == "http":
            from expressio.engine.polling import handle_http

            await handle_http(self, scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def direct_websocket_route(self, path: str) -> EngineServer:
        """The engine serving websockets at ``path``: itself, for any path it is given
        (see ``expressio.engine.direct``)."""
        return self

    def prepare(self, data: str | bytes) -> PreparedMessage:
        """Encode a message once, to hand to ``send_prepared`` of many sockets."""
        return PreparedMessage(data)

    async def shutdown(self, reason: str = DisconnectReason.SERVER_SHUTTING_DOWN) -> None:
        """Close every session (``on_disconnect`` gets ``reason``) and let transports finish."""
        for socket in list(self._sockets.values()):
            socket.close(reason)
        for socket in list(self._awaiting_last_poll.values()):
            socket.finish_close()  # gives up on the last poll
        tasks = [task for task in self._transport_tasks if not task.done()]
        if tasks:
            # Bounded: a client that never reads must not hold the shutdown forever.
            await asyncio.wait(tasks, timeout=2.0)

    # -- for the transports ----------------------------------------------------------------

    def bind_loop(self) -> None:
        """Remember the running loop (a transport calls this before opening sessions); a
        closed one is replaced, as in ``__call__``."""
        loop = self.loop
        if loop is None or loop.is_closed():
            self.loop = asyncio.get_running_loop()

    def check_query(self, query: Mapping[str, str], transport: str) -> EngineError | None:
        if query.get("EIO") != "4":
            return UNSUPPORTED_PROTOCOL_VERSION
        if query.get("transport") != transport or transport not in self.transports:
            return TRANSPORT_UNKNOWN
        return None

    def find(self, sid: str) -> EngineSocket | None:
        """The session ``sid``, including a closed polling one that owes a last payload."""
        socket = self._sockets.get(sid)
        if socket is None:
            socket = self._awaiting_last_poll.get(sid)
        return socket

    def open_session(self, transport: str, request: HandshakeRequest) -> EngineSocket:
        """Create and register a session; the caller sends :meth:`open_packet` first.
        Transports ask ``admission.admit_new_session`` before."""
        connection = Connection(
            transport,
            now=self.loop.time(),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            max_payload=self.max_payload,
            max_send_buffer=self.max_send_buffer,
            max_send_buffer_bytes=self.max_send_buffer_bytes,
            first_contact_timeout=self.first_contact_timeout,
        )
        sid = secrets.token_urlsafe(15)
        while sid in self._sockets:
            sid = secrets.token_urlsafe(15)
        socket = EngineSocket(self, sid, request, connection)
        self._sockets[sid] = socket
        return socket

    def open_packet(self, socket: EngineSocket) -> str:
        handshake = {
            "sid": socket.sid,
            "upgrades": self.upgrades if socket.transport == "polling" else [],
            "pingInterval": round(self.ping_interval * 1000),
            "pingTimeout": round(self.ping_timeout * 1000),
            "maxPayload": self.max_payload,
        }
        return "0" + orjson.dumps(handshake).decode()

    def connected(self, socket: EngineSocket) -> None:
        """The open packet is out: tell the application."""
        callback = self.on_connect
        if callback is None:
            return
        try:
            callback(socket)
        except Exception:
            logger.exception("on_connect callback failed; closing session %s", socket.sid)
            socket.close(DisconnectReason.FORCED_CLOSE)

    def track(self, task: asyncio.Future[Any]) -> None:
        """A transport task that :meth:`shutdown` should wait for."""
        self._transport_tasks.add(task)
        task.add_done_callback(self._transport_tasks.discard)

    # -- for EngineSocket ------------------------------------------------------------------

    def release(self, socket: EngineSocket, *, until_last_poll: bool = False) -> None:
        """The session closed: it leaves ``sockets``. ``until_last_poll`` keeps it reachable by
        sid (:meth:`find`) until :meth:`forget`: it still owes the client a polling payload."""
        self._sockets.pop(socket.sid, None)
        if until_last_poll:
            self._awaiting_last_poll[socket.sid] = socket

    def forget(self, socket: EngineSocket) -> None:
        """A session kept by ``release(until_last_poll=True)`` is done with."""
        if self._awaiting_last_poll.get(socket.sid) is socket:
            del self._awaiting_last_poll[socket.sid]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # Serving the engine on its own (``uvicorn module:engine``) needs lifespan answers.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
