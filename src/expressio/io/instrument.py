"""``app.io.instrument(...)``: the namespace the official Socket.IO Admin UI connects to.

```python
app.io.instrument(auth={"username": "admin", "password": "s3cret"}, mode="development")
```

The UI (the npm package ``@socket.io/admin-ui``; ``expressio admin-ui`` serves it locally)
connects to the ``/admin`` namespace with the credentials, and this module answers it as
socket.io's own ``instrument`` does:

- on connection: ``config`` (the features: joining, leaving, disconnecting sockets and emitting
  unless ``readonly``; aggregated events; every event in development mode), a ``session`` id
  the UI reconnects with instead of the password, and in development mode ``all_sockets``;
- every ``STATS_INTERVAL`` seconds, ``server_stats``: server id, hostname, pid, uptime, clients
  and polling clients, the namespaces with their socket counts, and the events aggregated per
  second (connections, disconnections with their reason, packets and bytes received);
- in development mode, as they happen: ``socket_connected``, ``socket_disconnected``,
  ``socket_updated`` (a transport upgrade, seen at the next stats tick), ``room_joined``,
  ``room_left``, ``event_received`` and ``event_sent`` (an emit to one client; broadcasts are
  not listed one client at a time);
- the UI's commands ``join``, ``leave``, ``_disconnect`` and ``emit`` (not in ``readonly``).

It sees the sockets of this process only (a cluster shows one server per UI connection).
Nothing is collected while no admin UI is connected, and an app that never calls
``instrument`` pays nothing for it: the realtime layer's observer hook stays ``None``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket as socket_module
import time
from collections.abc import Sequence, Set
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from ..engine import EngineSocket
from ..realtime import Namespace, RealtimeServer, Socket, check_event_name
from .admin_auth import Credentials, LoginLimiter, LoginSessions

logger = logging.getLogger("expressio.io")

DEFAULT_NAMESPACE = "/admin"
STATS_INTERVAL = 2.0  # seconds, as socket.io's instrument
#: The refusal message the UI recognises (it then shows its "invalid credentials" text).
INVALID_CREDENTIALS = "invalid credentials"
Mode = Literal["development", "production"]

#: Loaded with expressio: the uptime the UI shows is the time since.
_LOADED = time.monotonic()

_COMMANDS = ("JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "EMIT")


def _now() -> str:
    """A timestamp as JavaScript's ``Date`` serialises to JSON."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_safe(value: Any) -> Any:
    """``value`` when JSON can carry it, else its ``repr`` (the UI only shows it)."""
    try:
        orjson.dumps(value)
    except TypeError:
        return repr(value)[:1000]
    return value


class Instrument:
    """The admin namespace of one realtime server; built by :meth:`AppIO.instrument`."""

    def __init__(
        self,
        server: RealtimeServer,
        *,
        auth: Any,
        mode: Mode = "development",
        readonly: bool = False,
        namespace: str = DEFAULT_NAMESPACE,
        server_id: str | None = None,
    ) -> None:
        if auth is None:
            raise TypeError(
                'instrument() needs auth={"username": ..., "password": ...}, or auth=False '
                "to let anyone who can reach the server administer it"
            )
        if auth is False:
            self.credentials: Credentials | None = None
            logger.warning("the admin namespace %s has no authentication (auth=False)", namespace)
        else:
            self.credentials = Credentials(auth)
        if mode not in ("development", "production"):
            raise ValueError(f"instrument(mode=...) is 'development' or 'production', not {mode!r}")
        self.server = server
        self.development = mode == "development"
        self.readonly = readonly
        hostname = socket_module.gethostname()
        pid = os.getpid()
        # The pid too: the forked workers of one app share a hostname.
        self._base_stats = {
            "serverId": server_id or f"{hostname}#{pid}",
            "hostname": hostname,
            "pid": pid,
        }
        self.limiter = LoginLimiter()
        self.sessions = LoginSessions()
        self.namespace: Namespace = server.of(namespace)
        self.namespace.use(self._authenticate)
        self.namespace.on_connect = self._admin_connected
        self.namespace.on_disconnect = self._admin_disconnected
        if not readonly:
            self.namespace.on("join", self._join)
            self.namespace.on("leave", self._leave)
            self.namespace.on("_disconnect", self._disconnect)
            self.namespace.on("emit", self._emit)
        self._features = [*([] if readonly else _COMMANDS), "AGGREGATED_EVENTS"]
        if self.development:
            self._features.append("ALL_EVENTS")
            server.observe(self)
        # (second, type, subtype) -> count, while an admin UI is connected
        self._events: dict[tuple[int, str, str | None], int] = {}
        self._transports: dict[Socket, str] = {}  # development: to notice upgrades
        self._timer: asyncio.TimerHandle | None = None
        self._count_engine_events(server)

    # -- admission ---------------------------------------------------------------------------

    def _authenticate(self, socket: Socket, auth: dict[str, Any]) -> Any:
        """The admin namespace's middleware: a known session id, or the credentials."""
        credentials = self.credentials
        if credentials is None:
            return None
        address = socket.handshake.address
        wait = self.limiter.retry_after(address)
        if wait > 0:
            raise ConnectionRefusedError(
                f"too many failed logins from this address; retry in {int(wait) + 1} s"
            )
        if not isinstance(auth, dict):
            auth = {}
        if self.sessions.valid(auth.get("sessionId")):
            return None
        username, password = auth.get("username"), auth.get("password")
        if credentials.slow:
            return self._check_in_thread(credentials, address, username, password)
        self._judge(address, credentials.matches(username, password))
        return None

    async def _check_in_thread(
        self, credentials: Credentials, address: str, username: Any, password: Any
    ) -> None:
        self._judge(address, await asyncio.to_thread(credentials.matches, username, password))

    def _judge(self, address: str, matched: bool) -> None:
        if matched:
            self.limiter.succeeded(address)
            return
        self.limiter.failed(address)
        # The address only: neither the username tried nor, above all, the password.
        logger.warning("admin namespace %s: failed login from %s", self.namespace.name, address)
        raise ConnectionRefusedError(INVALID_CREDENTIALS)

    # -- the admin UI's sockets --------------------------------------------------------------

    def _admin_connected(self, admin: Socket, auth: Any) -> None:
        admin.emit("config", {"supportedFeatures": self._features})
        if self.credentials is not None and not (
            isinstance(auth, dict) and self.sessions.valid(auth.get("sessionId"))
        ):
            admin.emit("session", self.sessions.create())
        if self.development:
            admin.emit("all_sockets", self._all_sockets())
        # Without the aggregated events: they are the next tick's, for every UI connected.
        admin.emit("server_stats", self._stats(with_events=False))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STATS_INTERVAL, self._tick)

    def _admin_disconnected(self, admin: Socket, reason: str) -> None:
        if not self.namespace.sockets and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._events.clear()

    def _tick(self) -> None:
        if not self.namespace.sockets:
            self._timer = None
            self._events.clear()
            return
        self._timer = asyncio.get_running_loop().call_later(STATS_INTERVAL, self._tick)
        try:
            if self.development:
                self._report_upgrades()
            self.namespace.emit("server_stats", self._stats())
        except Exception:
            logger.exception("admin namespace %s: sending server stats failed", self.namespace.name)

    def _broadcast(self, event: str, *args: Any) -> None:
        if not self.namespace.sockets:
            return
        try:
            self.namespace.emit(event, *args)
        except Exception:
            logger.exception("admin namespace %s: sending %r failed", self.namespace.name, event)

    # -- what the UI shows -------------------------------------------------------------------

    def _stats(self, *, with_events: bool = True) -> dict[str, Any]:
        engine = self.server.engine
        clients = polling = 0
        for engine_socket in tuple(engine.sockets.values()):
            if not engine_socket.closed:
                clients += 1
                if engine_socket.transport == "polling":
                    polling += 1
        events = []
        if with_events:
            events = [
                {"timestamp": second * 1000, "type": kind, "count": count}
                | ({"subType": sub} if sub is not None else {})
                for (second, kind, sub), count in self._events.items()
            ]
            self._events.clear()
        return {
            **self._base_stats,
            "uptime": time.monotonic() - _LOADED,
            "clientsCount": clients,
            "pollingClientsCount": polling,
            "aggregatedEvents": events,
            "namespaces": [
                {"name": name, "socketsCount": len(namespace.sockets)}
                for name, namespace in self.server.namespaces.items()
            ],
        }

    def _all_sockets(self) -> list[dict[str, Any]]:
        return [
            describe_socket(socket)
            for namespace in tuple(self.server.namespaces.values())
            for socket in tuple(namespace.sockets.values())
        ]

    def _report_upgrades(self) -> None:
        for socket, reported in tuple(self._transports.items()):
            transport = socket.engine_socket.transport
            if transport != reported:
                self._transports[socket] = transport
                self._broadcast(
                    "socket_updated",
                    {"id": socket.id, "nsp": socket.namespace.name, "transport": transport},
                )

    # -- SocketObserver (development mode) ---------------------------------------------------

    def socket_connected(self, socket: Socket) -> None:
        self._transports[socket] = socket.engine_socket.transport
        if not self.namespace.sockets:
            return
        try:
            described = describe_socket(socket)
        except Exception:
            logger.exception("admin namespace %s: describing a socket failed", self.namespace.name)
            return
        # socket.io joins a socket to its own room before announcing it
        self._broadcast("room_joined", socket.namespace.name, socket.id, socket.id, _now())
        self._broadcast("socket_connected", described, _now())

    def socket_disconnected(self, socket: Socket, reason: str, rooms: Set[str]) -> None:
        self._transports.pop(socket, None)
        if not self.namespace.sockets:
            return
        name = socket.namespace.name
        self._broadcast("socket_disconnected", name, socket.id, reason, _now())
        for room in _rooms_in_order(socket.id, rooms):
            self._broadcast("room_left", name, room, socket.id, _now())

    def room_joined(self, socket: Socket, room: str) -> None:
        self._broadcast("room_joined", socket.namespace.name, room, socket.id, _now())

    def room_left(self, socket: Socket, room: str) -> None:
        self._broadcast("room_left", socket.namespace.name, room, socket.id, _now())

    def event_received(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        if socket.namespace is not self.namespace and self.namespace.sockets:
            self._broadcast(
                "event_received", socket.namespace.name, socket.id, [event, *args], _now()
            )

    def event_sent(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        if socket.namespace is not self.namespace and self.namespace.sockets:
            self._broadcast("event_sent", socket.namespace.name, socket.id, [event, *args], _now())

    # -- the UI's commands -------------------------------------------------------------------

    def _targets(self, namespace_name: Any, room: Any) -> list[Socket]:
        """The sockets of a namespace, or of one of its rooms; none for a bad request."""
        if not isinstance(namespace_name, str) or not (room is None or isinstance(room, str)):
            return []
        namespace = self.server.namespaces.get(namespace_name)
        if namespace is None:
            return []
        sockets = namespace.sockets
        if not room:
            return list(sockets.values())
        ids = namespace.adapter.sockets_in((room,))
        return [sockets[sid] for sid in ids if sid in sockets]

    # Each command's arguments as the UI sends them; anything else (missing, extra, wrong
    # types) is ignored without an error, the UI being the only sender.

    def _join(self, admin: Socket, *args: Any) -> None:
        namespace, room, filter_ = _padded(args, 3)
        if isinstance(room, str):
            for socket in self._targets(namespace, filter_):
                socket.join(room)

    def _leave(self, admin: Socket, *args: Any) -> None:
        namespace, room, filter_ = _padded(args, 3)
        if isinstance(room, str):
            for socket in self._targets(namespace, filter_):
                socket.leave(room)

    def _disconnect(self, admin: Socket, *args: Any) -> None:
        namespace, close, filter_ = _padded(args, 3)
        for socket in self._targets(namespace, filter_):
            socket.disconnect(close=close is True)

    def _emit(self, admin: Socket, *args: Any) -> None:
        namespace, filter_, event = _padded(args, 3)
        if not isinstance(namespace, str) or not (filter_ is None or isinstance(filter_, str)):
            return
        target = self.server.namespaces.get(namespace)
        if target is None:
            return
        try:
            check_event_name(event)
        except (TypeError, ValueError) as error:
            logger.info("admin namespace %s: emit refused: %s", self.namespace.name, error)
            return
        target.emit(event, *args[3:], to=filter_ or None)

    # -- engine events, aggregated per second ------------------------------------------------

    def _count_engine_events(self, server: RealtimeServer) -> None:
        """Count connections, disconnections and what arrives, by wrapping the engine's
        callbacks: nothing changes on the engine's paths for an app without ``instrument``."""
        engine = server.engine
        on_connect, on_message, on_disconnect = (
            engine.on_connect,
            engine.on_message,
            engine.on_disconnect,
        )
        count = self._count

        def counted_connect(engine_socket: EngineSocket) -> None:
            count("rawConnection", None, 1)
            if on_connect is not None:
                on_connect(engine_socket)

        def counted_message(engine_socket: EngineSocket, message: str | bytes) -> None:
            if self._timer is not None:
                size = len(message)
                if type(message) is str and not message.isascii():
                    size = len(message.encode())
                count("packetsIn", None, 1)
                count("bytesIn", None, size)
            if on_message is not None:
                on_message(engine_socket, message)

        def counted_disconnect(engine_socket: EngineSocket, reason: str) -> None:
            count("rawDisconnection", str(reason), 1)
            if on_disconnect is not None:
                on_disconnect(engine_socket, reason)

        engine.on_connect = counted_connect
        engine.on_message = counted_message
        engine.on_disconnect = counted_disconnect

    def _count(self, kind: str, sub: str | None, amount: int) -> None:
        if self._timer is None:
            return  # nobody is watching: nothing kept
        key = (int(time.time()), kind, sub)
        self._events[key] = self._events.get(key, 0) + amount


def describe_socket(socket: Socket) -> dict[str, Any]:
    """A socket as the admin UI lists it (socket.io's ``serialize``); never its auth."""
    handshake = socket.handshake
    headers = {str(name): str(value) for name, value in handshake.headers.items()}
    address = headers.get("cf-connecting-ip") or headers.get("x-forwarded-for") or handshake.address
    engine_socket = socket.engine_socket
    return {
        "id": socket.id,
        "clientId": engine_socket.sid[:12],
        "transport": engine_socket.transport,
        "nsp": socket.namespace.name,
        "data": _json_safe(getattr(socket, "data", None) or {}),
        "handshake": {
            "address": address,
            "headers": headers,
            "query": dict(handshake.query),
            "issued": handshake.issued,
            "secure": handshake.secure,
            "time": handshake.time.isoformat(),
            "url": handshake.url,
            "xdomain": "origin" in headers,
        },
        "rooms": _rooms_in_order(socket.id, socket.rooms),
    }


def _padded(args: Sequence[Any], count: int) -> list[Any]:
    return [*args[:count], *([None] * (count - len(args)))]


def _rooms_in_order(own: str, rooms: Set[str]) -> list[str]:
    """Its own room first, as socket.io lists them, then the others by name."""
    return ([own] if own in rooms else []) + sorted(room for room in rooms if room != own)


__all__ = ["DEFAULT_NAMESPACE", "Instrument", "describe_socket"]
