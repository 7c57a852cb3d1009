"""``app.io.set/enable/disable``: socket.io 0.9 setting names (and modern ones) on our server.

| name(s) | meaning |
|---|---|
| ``log level`` | 0 error, 1 warn, 2 info, 3 debug: the level of the ``expressio`` logger |
| ``transports`` | ``websocket``, ``polling`` (0.9's ``xhr-polling``); other 0.9 ones are ignored |
| ``heartbeat interval``, ``ping interval`` | seconds between pings (Engine.IO ``pingInterval``) |
| ``heartbeat timeout``, ``close timeout``, ``ping timeout`` | seconds a silent client keeps its |
| | session (Engine.IO ``pingTimeout``; 0.9's close timeout was the same idea for polling) |
| ``origins`` | ``"*"`` (0.9's ``"*:*"``), or allowed origins; ``None``: same origin only |
| ``authorization`` | 0.9's ``fn(handshake, callback)``, ``callback(error, authorized)`` |
| ``browser client`` | serve ``/socket.io/socket.io.js`` (default on) |
| ``browser client minification`` / ``gzip`` / ``etag`` | minified file / gzip / ETag + 304 |
| ``browser client path`` | where the client bundle is (a ``dist`` directory or the file) |
| ``store``, ``adapter`` | the cross-process adapter: a factory ``(namespace) -> Adapter`` |
| ``max payload`` | the largest message a client may send, in bytes |
| ``connect timeout`` | seconds a new connection has to join a namespace |
| ``max send buffer``, ``allow upgrades`` | the engine's slow-client bound; polling → websocket |
| ``max in flight events`` | events of one client running at once; one more disconnects it |
| ``unknown event ack`` | answer the ack of an event no route takes with an error (default off: |
| | ignored, as socket.io does, so the client's own ack timeout applies) |
| ``parser`` | the Socket.IO packet format: ``"json"`` (default) or ``"msgpack"``; set by |
| | ``app.io(parser=...)`` only (clients must use the same one) |
| ``fetch sockets limit`` | clients ``fetch_sockets()`` may return; more raise an error |
| ``recovery`` | connection state recovery: ``True``, or a dict (``max_disconnection``, |
| | ``skip_middlewares``, ``max_packets``, ``max_bytes``); off by default |
| ``max clients`` | Engine.IO connections open at once; one more handshake gets HTTP 503 |
| ``first contact timeout`` | seconds a polling client has to poll after its handshake |
| ``allow request`` | ``fn(request)`` before a session opens; false or raising: HTTP 403 |
| ``max rooms per socket`` | rooms one socket may join (its own not counted); one more raises |

Every name may also be written with underscores (``ping_interval``), as ``app.io(...)`` takes
them. Engine values apply to connections opened after the change.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from ..engine.server import DEFAULT_FIRST_CONTACT_TIMEOUT, DEFAULT_MAX_CLIENTS
from ..protocol.parsers import get_parser
from ..realtime.recovery import RecoveryOptions
from ..realtime.socket import DEFAULT_MAX_ROOMS_PER_SOCKET

logger = logging.getLogger("expressio.io")

LOG_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}

#: 0.9 transports we do not have; accepted and dropped with a warning.
LEGACY_TRANSPORTS = frozenset({"jsonp-polling", "htmlfile", "flashsocket"})

# accepted name (spaces, lower case) -> canonical key
SETTING_NAMES: dict[str, str] = {
    "log level": "log_level",
    "transports": "transports",
    "heartbeat interval": "ping_interval",
    "ping interval": "ping_interval",
    "heartbeat timeout": "ping_timeout",
    "close timeout": "ping_timeout",
    "ping timeout": "ping_timeout",
    "origins": "origins",
    "authorization": "authorization",
    "browser client": "browser_client",
    "browser client minification": "browser_client_minification",
    "browser client gzip": "browser_client_gzip",
    "browser client etag": "browser_client_etag",
    "browser client path": "browser_client_path",
    "store": "adapter",
    "adapter": "adapter",
    "max payload": "max_payload",
    "connect timeout": "connect_timeout",
    "max send buffer": "max_send_buffer",
    "max send buffer bytes": "max_send_buffer_bytes",
    "allow upgrades": "allow_upgrades",
    "max in flight events": "max_in_flight_events",
    "max in-flight events": "max_in_flight_events",
    "blocking threshold": "blocking_threshold",
    "unknown event ack": "unknown_event_ack",
    "parser": "parser",
    "fetch sockets limit": "fetch_sockets_limit",
    "recovery": "recovery",
    "connection state recovery": "recovery",
    "max clients": "max_clients",
    "first contact timeout": "first_contact_timeout",
    "allow request": "allow_request",
    "max rooms per socket": "max_rooms_per_socket",
}

DEFAULTS: dict[str, Any] = {
    "log_level": None,  # None: leave the logging configuration alone
    "transports": ("polling", "websocket"),
    "ping_interval": 25.0,
    "ping_timeout": 20.0,
    "origins": None,
    "authorization": None,
    "browser_client": True,
    "browser_client_minification": False,
    "browser_client_gzip": False,
    "browser_client_etag": False,
    "browser_client_path": None,
    "adapter": None,
    "max_payload": 1_000_000,
    "connect_timeout": 45.0,
    "max_send_buffer": 10_000,
    # bytes queued for one slow client before it is disconnected
    "max_send_buffer_bytes": 16 * 1024 * 1024,
    "allow_upgrades": True,
    "max_in_flight_events": 1000,
    # seconds a def route may keep the event loop before it is moved to worker threads
    "blocking_threshold": 0.1,
    "unknown_event_ack": False,
    "parser": "json",
    # clients one fetch_sockets() may return (a list of views is built for each)
    "fetch_sockets_limit": 10_000,
    # connection state recovery (RecoveryOptions), off
    "recovery": None,
    # Engine.IO connections open at once (a handshake beyond gets HTTP 503)
    "max_clients": DEFAULT_MAX_CLIENTS,
    # seconds a polling client has, after its handshake, to poll or upgrade
    "first_contact_timeout": DEFAULT_FIRST_CONTACT_TIMEOUT,
    "allow_request": None,
    "max_rooms_per_socket": DEFAULT_MAX_ROOMS_PER_SOCKET,
}

#: Keys the engine reads when a connection opens (plain attributes of ``EngineServer``).
ENGINE_KEYS = frozenset(
    {
        "ping_interval",
        "ping_timeout",
        "max_payload",
        "max_send_buffer",
        "max_send_buffer_bytes",
        "max_clients",
        "first_contact_timeout",
        "allow_request",
    }
)


class UnknownSettingError(KeyError):
    """``app.io.set`` with a name we do not know; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def setting_key(name: str) -> str:
    """The canonical key of a setting name, or :class:`UnknownSettingError`."""
    if not isinstance(name, str):
        raise TypeError(f"a setting name is a str, not {type(name).__name__}")
    key = SETTING_NAMES.get(name.strip().lower().replace("_", " "))
    if key is None:
        known = ", ".join(repr(known) for known in SETTING_NAMES)
        raise UnknownSettingError(f"unknown io setting {name!r}; known settings: {known}")
    return key


def convert(key: str, value: Any) -> Any:
    """Check and normalise ``value`` for ``key`` (seconds as float, transports as a tuple...)."""
    converter = _CONVERTERS.get(key)
    return converter(key, value) if converter is not None else value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
        raise ValueError(f"{key} is a positive number of seconds, got {value!r}")
    return float(value)


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{key} is a positive whole number, got {value!r}")
    return int(value)


def _flag(key: str, value: Any) -> bool:
    return bool(value)


def _log_level(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if value not in LOG_LEVELS:
        raise ValueError("log level is 0 (error), 1 (warn), 2 (info) or 3 (debug)")
    return int(value)


def _names(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [str(item) for item in value]


def _transports(key: str, value: Any) -> tuple[str, ...]:
    chosen: list[str] = []
    for name in _names(value):
        if name in ("xhr-polling", "polling"):
            name = "polling"
        elif name != "websocket":
            if name in LEGACY_TRANSPORTS:
                logger.warning("transport %r does not exist in socket.io 4; ignored", name)
                continue
            raise ValueError(f"unknown transport {name!r}; use 'websocket' and/or 'polling'")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ValueError("transports must keep 'websocket' or 'polling'")
    return tuple(chosen)


def _origins(key: str, value: Any) -> str | tuple[str, ...] | None:
    if value is None or value in ("*", "*:*"):
        return value if value is None else "*"
    origins: list[str] = []
    for origin in _names(value):
        if "*" in origin:
            raise ValueError(
                f"origin {origin!r}: wildcards other than '*' (every origin) are not supported"
            )
        origins.append(origin if "://" in origin else "http://" + origin)
    return tuple(origins)


def _callable_or_none(key: str, value: Any) -> Any:
    if value in (None, False):
        return None
    if not callable(value):
        raise TypeError(f"{key} must be callable (or None), got {value!r}")
    return value


def _parser(key: str, value: Any) -> Any:
    get_parser(value)  # ValueError for an unknown name, ImportError without msgpack
    return value
def _recovery(key: str, value: Any) -> RecoveryOptions | None:
    return RecoveryOptions.from_setting(value)


def _path(key: str, value: Any) -> str | None:
    return None if value is None else str(value)


_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "log_level": _log_level,
    "transports": _transports,
    "ping_interval": _seconds,
    "ping_timeout": _seconds,
    "connect_timeout": _seconds,
    "origins": _origins,
    "authorization": _callable_or_none,
    "adapter": _callable_or_none,
    "browser_client": _flag,
    "browser_client_minification": _flag,
    "browser_client_gzip": _flag,
    "browser_client_etag": _flag,
    "browser_client_path": _path,
    "max_payload": _positive_int,
    "max_send_buffer": _positive_int,
    "max_send_buffer_bytes": _positive_int,
    "allow_upgrades": _flag,
    "max_in_flight_events": _positive_int,
    "blocking_threshold": _seconds,
    "unknown_event_ack": _flag,
    "parser": _parser,
    "fetch_sockets_limit": _positive_int,
    "recovery": _recovery,
    "max_clients": _positive_int,
    "first_contact_timeout": _seconds,
    "allow_request": _callable_or_none,
    "max_rooms_per_socket": _positive_int,
}


class IOSettings:
    """The current values, by canonical key; ``on_change(key, value)`` applies each change."""

    def __init__(self, on_change: Callable[[str, Any], None] | None = None) -> None:
        self.values: dict[str, Any] = dict(DEFAULTS)
        self.on_change = on_change

    def set(self, name: str, value: Any) -> None:
        key = setting_key(name)
        value = convert(key, value)
        if self.on_change is not None:
            self.on_change(key, value)  # may refuse (raise) before anything is recorded
        self.values[key] = value

    def get(self, name: str) -> Any:
        return self.values[setting_key(name)]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def apply_log_level(level: int | None) -> None:
    if level is not None:
        logging.getLogger("expressio").setLevel(LOG_LEVELS[level])


def engine_options(values: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``RealtimeServer`` (and through it ``EngineServer``)."""
    return {
        "ping_interval": values["ping_interval"],
        "ping_timeout": values["ping_timeout"],
        "max_payload": values["max_payload"],
        "max_send_buffer": values["max_send_buffer"],
        "max_send_buffer_bytes": values["max_send_buffer_bytes"],
        "transports": values["transports"],
        "allow_upgrades": values["allow_upgrades"],
        "origins": values["origins"],
        "connect_timeout": values["connect_timeout"],
        "parser": values["parser"],
        "recovery": values["recovery"],
        "max_clients": values["max_clients"],
        "first_contact_timeout": values["first_contact_timeout"],
        "allow_request": values["allow_request"],
        "max_rooms_per_socket": values["max_rooms_per_socket"],
    }
