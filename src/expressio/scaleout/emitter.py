"""Broadcasting to an app's clients from a process that is not a server (a worker, a cron job).

No event loop is needed: the Emitter uses Redis's plain (synchronous) client, and each call has
published its message when it returns::

    with expressio.Emitter("redis://127.0.0.1:6379/0") as emitter:
        emitter.broadcast("news", {"x": 1})                 # every client of namespace "/"
        emitter.room("lobby").broadcast("news", {"x": 2})   # clients in room "lobby"
        emitter.of("/admin").room("ops").broadcast("alert", "disk full")

The packet is encoded here, once, with the servers' own Socket.IO codec, in the same message
format as the Redis adapter's: server processes hand it to their clients as it is. Give the
parser of the servers (``parser="msgpack"`` for ``app.io(parser="msgpack")``); a server with
another parser re-encodes what it receives, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import redis

from ..protocol.parsers import Parser, get_parser
from ..protocol.socketio import DEFAULT_NAMESPACE
from ..realtime import check_event_name
from . import wire
from .redis_adapter import DEFAULT_CHANNEL


class Emitter:
    """Publishes broadcasts for the app that uses ``channel`` on the Redis at ``url``.

    ``of(namespace)`` and ``room(r)`` return new emitters sharing this one's connection;
    ``room`` accumulates (``room("a").room("b")`` reaches clients in ``a`` or ``b``). Redis
    errors (``redis.exceptions.ConnectionError``...) reach the caller: the message was not sent.
    """

    def __init__(
        self, url: str, channel: str = DEFAULT_CHANNEL, *, parser: str | Parser = "json"
    ) -> None:
        if "#" in channel:
            raise ValueError(f"a channel name cannot contain '#': {channel!r}")
        self.url = url
        self.channel = channel
        self.parser = get_parser(parser)
        self.namespace = DEFAULT_NAMESPACE
        self.rooms: frozenset[str] = frozenset()
        self._client: redis.Redis = redis.Redis.from_url(url)
        # Never a server's node id: no process takes these messages for its own echo.
        self._node = "emitter-" + secrets.token_hex(6)

    def _derive(self, namespace: str, rooms: frozenset[str]) -> Emitter:
        derived = object.__new__(Emitter)
        derived.url = self.url
        derived.channel = self.channel
        derived.parser = self.parser
        derived.namespace = namespace
        derived.rooms = rooms
        derived._client = self._client
        derived._node = self._node
        return derived

    def of(self, namespace: str) -> Emitter:
        """The same emitter for another namespace (rooms are not carried over)."""
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        return self._derive(namespace, frozenset())

    def room(self, room: str | Iterable[str]) -> Emitter:
        """An emitter that reaches the clients in ``room`` (and in the rooms already chosen)."""
        added = {room} if isinstance(room, str) else set(room)
        return self._derive(self.namespace, self.rooms | added)

    def broadcast(self, event: str, *data: Any) -> int:
        """Send ``event`` with ``data`` to the chosen clients of every server process; returns how
        many server processes subscribed to this namespace received it."""
        check_event_name(event)  # the same reserved names app.io.broadcast refuses
        packet = self.parser.encode_event(self.namespace, event, data)
        message = wire.encode_broadcast(self._node, packet, self.rooms or None, None)
        receivers: int = self._client.publish(
            wire.channel_name(self.channel, self.namespace), message
        )
        return receivers

    emit = broadcast  # the name socket.io's emitters use

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
        rooms = f" rooms={sorted(self.rooms)}" if self.rooms else ""
        return f"<Emitter {self.channel!r} {self.namespace}{rooms}>"
