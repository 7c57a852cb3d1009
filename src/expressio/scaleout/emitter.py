"""Reaching an app's clients from a process that is not a server (a worker, a cron job).

No event loop is needed: the Emitter uses Redis's plain (synchronous) client, and each call has
published its message when it returns::

    with expressio.Emitter("redis://127.0.0.1:6379/0") as emitter:
        emitter.broadcast("news", {"x": 1})                 # every client of namespace "/"
        emitter.room("lobby").broadcast("news", {"x": 2})   # clients in room "lobby"
        emitter.room("a", "b").excluding("c").volatile.broadcast("tick", 3)
        emitter.of("/admin").room("ops").broadcast("alert", "disk full")

        emitter.room("lobby").join("announcements")         # make those clients join a room
        emitter.room("lobby").leave("announcements")
        emitter.room("banned").disconnect()                  # close=True: their connections too
        emitter.server_side_emit("reload", {"config": 2})    # the server processes' routes

It speaks ``@socket.io/redis-emitter``'s format (the :mod:`Redis adapter's <.wire>`): it
reaches the clients of expressio processes and of Node socket.io processes alike, as long as
``channel`` is their adapter's key (``"socket.io"`` for a Node app's default).

==============================================  ===============================================
expressio                                       ``@socket.io/redis-emitter``
==============================================  ===============================================
``broadcast(event, *args)`` (also ``emit``)     ``emit(event, ...args)``
``room(*rooms)`` (also ``to``, ``in_``)         ``to(room)``, ``in(room)``
``excluding(*rooms)``                           ``except(room)``
``volatile``                                    ``volatile``
``of(namespace)``                               ``of(namespace)``
``join(room)`` / ``leave(room)``                ``socketsJoin(room)`` / ``socketsLeave(room)``
``disconnect(close=False)``                     ``disconnectSockets(close)``
``server_side_emit(event, *args)``              ``serverSideEmit(event, ...args)`` (no ack)
==============================================  ===============================================

Each selector returns a new emitter sharing this one's connection. ``parser`` names the Socket.IO
parser of the servers (``"msgpack"`` for ``app.io(parser="msgpack")``): data that parser cannot
carry raises here, in the caller, as ``app.io.broadcast`` does. Redis errors
(``redis.exceptions.ConnectionError``...) reach the caller too: the message was not sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

import redis

from ..protocol.parsers import Parser, get_parser
from ..protocol.socketio import DEFAULT_NAMESPACE
from ..realtime import check_event_name
from . import wire
from .redis_adapter import DEFAULT_CHANNEL

_NO_ROOMS: frozenset[str] = frozenset()


class Emitter:
    """Publishes to the app that uses ``channel`` on the Redis at ``url``."""

    __slots__ = (
        "_client",
        "channel",
        "except_rooms",
        "namespace",
        "parser",
        "rooms",
        "url",
        "volatile_flag",
    )

    def __init__(
        self, url: str, channel: str = DEFAULT_CHANNEL, *, parser: str | Parser = "json"
    ) -> None:
        wire.check_key(channel)
        wire.require_msgpack()
        self.url = url
        self.channel = channel
        self.parser = get_parser(parser)
        self.namespace = DEFAULT_NAMESPACE
        self.rooms: frozenset[str] = _NO_ROOMS
        self.except_rooms: frozenset[str] = _NO_ROOMS
        self.volatile_flag = False
        self._client: redis.Redis = redis.Redis.from_url(url)

    def _derive(self, **changes: Any) -> Emitter:
        derived = object.__new__(Emitter)
        for name in Emitter.__slots__:
            object.__setattr__(derived, name, changes.get(name, getattr(self, name)))
        return derived

    # --- selectors -------------------------------------------------------------------------------

    def of(self, namespace: str) -> Emitter:
        """The same emitter for another namespace (rooms and flags are not carried over)."""
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        return self._derive(
            namespace=namespace, rooms=_NO_ROOMS, except_rooms=_NO_ROOMS, volatile_flag=False
        )

    def room(self, *rooms: str | Iterable[str]) -> Emitter:
        """Reach the clients in any of ``rooms`` (added to the rooms already chosen)."""
        return self._derive(rooms=self.rooms | _names(rooms, "room"))

    to = room
    in_ = room

    def excluding(self, *rooms: str | Iterable[str]) -> Emitter:
        """Leave out the clients in any of ``rooms`` (a socket id leaves out that client)."""
        return self._derive(except_rooms=self.except_rooms | _names(rooms, "excluding"))

    @property
    def volatile(self) -> Emitter:
        """Drop the broadcast for a client whose connection cannot take it right now."""
        return self._derive(volatile_flag=True)

    # --- actions ---------------------------------------------------------------------------------

    def broadcast(self, event: str, *data: Any) -> int:
        """Send ``event`` with ``data`` to the chosen clients of every server process; returns
        how many server processes serving this namespace received it."""
        check_event_name(event)  # the same reserved names app.io.broadcast refuses
        args = list(data)
        self.parser.encode_event(self.namespace, event, args)  # raises for what it cannot carry
        message = wire.encode_broadcast(
            wire.EMITTER_UID,
            self.namespace,
            [event, *args],
            self.rooms,
            self.except_rooms,
            {"volatile": True} if self.volatile_flag else {},
        )
        channels = wire.Channels(self.channel, self.namespace)
        return self._publish(channels.broadcast_to(self.rooms), message)

    emit = broadcast  # the name socket.io's emitters use

    def join(self, room: str | Iterable[str]) -> int:
        """Make the chosen clients (every process) join ``room`` (or each of several)."""
        return self._sockets_operation(wire.RequestType.REMOTE_JOIN, _names((room,), "join"))

    def leave(self, room: str | Iterable[str]) -> int:
        """Make the chosen clients (every process) leave ``room`` (or each of several)."""
        return self._sockets_operation(wire.RequestType.REMOTE_LEAVE, _names((room,), "leave"))

    def disconnect(self, close: bool = False) -> int:
        """Disconnect the chosen clients from the namespace; ``close=True`` closes their whole
        connections."""
        return self._sockets_operation(wire.RequestType.REMOTE_DISCONNECT, (), bool(close))

    def server_side_emit(self, event: str, *args: Any) -> int:
        """Send ``event`` with ``args`` to the ``server_side_route`` handlers of every server
        process (no answer: an emitter is not a server that could wait for one)."""
        if not isinstance(event, str) or not event:
            raise TypeError(f"a server-side event name is a non-empty str, got {event!r}")
        check_event_name(event)
        message = wire.encode_server_side_emit(wire.EMITTER_UID, [event, *args])
        return self._publish(wire.Channels(self.channel, self.namespace).request, message)

    def _sockets_operation(
        self, kind: wire.RequestType, rooms: Iterable[str], close: bool = False
    ) -> int:
        message = wire.encode_sockets_operation(
            kind, None, self.rooms, self.except_rooms, rooms, close
        )
        return self._publish(wire.Channels(self.channel, self.namespace).request, message)

    def _publish(self, channel: bytes, message: bytes) -> int:
        receivers: int = self._client.publish(channel, message)
        return receivers

    # --- life ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the Redis connection (shared by the emitters derived from this one)."""
        self._client.close()

    def __enter__(self) -> Emitter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        parts = [f"{self.channel!r}", self.namespace]
        if self.rooms:
            parts.append(f"rooms={sorted(self.rooms)}")
        if self.except_rooms:
            parts.append(f"excluding={sorted(self.except_rooms)}")
        if self.volatile_flag:
            parts.append("volatile")
        return f"<Emitter {' '.join(parts)}>"


def _names(rooms: tuple[str | Iterable[str], ...], method: str) -> frozenset[str]:
    """Room names given one by one or as iterables: ``room("a", "b")``, ``room(["a", "b"])``."""
    names: list[str] = []
    for item in rooms:
        names.extend((item,) if isinstance(item, str) else item)
    if not names:
        raise TypeError(f"{method}() needs at least one room name")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"a room name is a str, not {type(name).__name__}")
    return frozenset(names)
