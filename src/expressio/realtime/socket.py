"""One client's presence in one namespace: emit, acks both ways, rooms, disconnect."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..engine.reasons import DisconnectReason
from .acks import ack_value
from .handshake import Handshake
from .recovering import keep_session
from .recovery import RECOVERABLE_REASONS
from .user_code import call_user_code

if TYPE_CHECKING:
    from ..engine import EngineSocket
    from .connection import Connection
    from .namespace import Namespace
    from .recovery import RestoredSession

logger = logging.getLogger("expressio.realtime")

#: Never emitted, never routed from a client: express.io's list (socket.io 0.9's client events)
#: plus socket.io 4's. A client would take them for its own lifecycle events.
RESERVED_EVENTS = frozenset(
    {
        "connect",
        "connecting",
        "disconnect",
        "connect_failed",
        "error",
        "message",
        "reconnect_failed",
        "reconnect",
        "reconnecting",
        "connect_error",
        "disconnecting",
        "newListener",
        "removeListener",
    }
)


def check_event_name(event: str) -> None:
    """Refuse what cannot be emitted: a non-``str`` name (``TypeError``) or a reserved one
    (``ValueError``), before anything is sent."""
    if not isinstance(event, str):
        raise TypeError(f"an event name is a str, not {type(event).__name__}")
    if event in RESERVED_EVENTS:
        raise ValueError(
            f"{event!r} is a reserved event name and cannot be emitted "
            f"(reserved: {', '.join(sorted(RESERVED_EVENTS))})"
        )


def new_socket_id() -> str:
    """20 URL-safe characters, like socket.io's, and unrelated to the engine sid."""
    return secrets.token_urlsafe(15)


class RoomLimitError(RuntimeError):
    """A socket asked to join a room beyond ``max_rooms_per_socket``. Raised by the join; the
    socket stays connected, in the rooms it had."""


#: Rooms a socket may be in besides its own (its id): a bound no sane app reaches, so that a
#: route joining rooms named by clients cannot grow the room index without end.
DEFAULT_MAX_ROOMS_PER_SOCKET = 1000

#: Emits with a callback still waiting for a client's ack, per socket; past this the oldest
#: wait is given up. Dicts keep insertion order, so the oldest is the first key.
MAX_PENDING_ACKS = 1000


class Socket:
    """A client connected to a namespace. Created by the namespace; not instantiated by users.

    Acks from the server side: ``emit(..., callback=f)`` calls ``f(*args)`` with the client's
    answer; ``await emit_with_ack(..., timeout=t)`` returns it (``None``, the single argument, or
    a tuple) or raises ``TimeoutError``. Callbacks still pending when the socket disconnects are
    dropped (an awaiting ``emit_with_ack`` then ends with its timeout).
    """

    __slots__ = (
        "_ack_message",
        "_acks",
        "_auth",
        "_connection",
        "_data",
        "_handshake",
        "_next_ack_id",
        "_restored",
        "connected",
        "engine_socket",
        "id",
        "namespace",
        "pid",
        "recovered",
    )

    def __init__(self, namespace: Namespace, connection: Connection, auth: dict[str, Any]) -> None:
        self.id = new_socket_id()
        self.namespace = namespace
        self.engine_socket: EngineSocket = connection.engine_socket
        self.connected = False
        self._connection = connection
        # The parser's ack fast path, read once here: Ack calls it for every answer.
        self._ack_message = connection.parser.ack_message
        self._auth = auth
        self._handshake: Handshake | None = None
        # Created on the first emit with a callback: most sockets never need it.
        self._acks: dict[int, Callable[..., Any]] | None = None
        self._next_ack_id = 0
        self._data: dict[str, Any] | None = None
        #: connection state recovery (see expressio.realtime.recovering): the private id the
        #: client recovers this socket with (None while recovery is off), whether this socket
        #: is one given back, and what was given back until the namespace accepts it
        self.pid: str | None = None
        self.recovered = False
        self._restored: RestoredSession | None = None

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<Socket {self.id} {self.namespace.name} {state}>"

    @property
    def handshake(self) -> Handshake:
        handshake = self._handshake
        if handshake is None:
            handshake = Handshake.from_request(self.engine_socket.request, self._auth)
            self._handshake = handshake
        return handshake

    @property
    def data(self) -> dict[str, Any]:
        """A dict the application keeps per socket, for as long as it is connected
        (socket.io's ``socket.data``); kept with the session when connection state recovery
        is on. Made at first use: most sockets never need one."""
        data = self._data
        if data is None:
            data = self._data = {}
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value

    @property
    def rooms(self) -> set[str]:
        """The rooms this socket is in, its own id included (a copy)."""
        return self.namespace.adapter.rooms_of(self.id)

    # --- sending ---------------------------------------------------------------------------

    def emit(
        self, event: str, *args: Any, callback: Callable[..., Any] | None = None
    ) -> int | None:
        """Send ``event`` with ``args`` to this client; ``callback(*answer)`` gets its ack.

        Returns the ack id when a callback waits (for :meth:`cancel_ack`), else None."""
        return self._emit(event, args, callback)

    def cancel_ack(self, ack_id: int) -> None:
        """Stop waiting for ack ``ack_id``: its callback is dropped, a late answer ignored."""
        if self._acks is not None:
            self._acks.pop(ack_id, None)

    @property
    def pending_acks(self) -> int:
        """How many of our emits still wait for the client's ack."""
        return len(self._acks) if self._acks is not None else 0

    def emit_volatile(self, event: str, *args: Any) -> bool:
        """Send ``event`` only if the connection can take it right now (see
        ``EngineSocket.writable``); else drop it. True when it was sent."""
        check_event_name(event)
        if not self.connected or not self.engine_socket.writable:
            return False
        connection = self._connection
        connection.send(connection.parser.encode_event(self.namespace.name, event, args))
        return True

    @property
    def next_ack_id(self) -> int:
        """The smallest ack id this socket has not used yet."""
        return self._next_ack_id

    async def emit_with_ack(self, event: str, *args: Any, timeout: float) -> Any:
        """Send ``event`` and wait for the client's ack; ``TimeoutError`` after ``timeout`` s."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def resolve(*answer: Any) -> None:
            if not future.done():
                future.set_result(ack_value(answer))

        ack_id = self._emit(event, args, resolve)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if ack_id is not None:
                self.cancel_ack(ack_id)

    def _emit(
        self, event: str, args: Sequence[Any], callback: Callable[..., Any] | None
    ) -> int | None:
        check_event_name(event)
        if not self.connected:
            logger.debug("emit %r to disconnected socket %s dropped", event, self.id)
            return None
        connection = self._connection
        observer = self.namespace.observer
        if callback is None:
            connection.send(connection.parser.encode_event(self.namespace.name, event, args))
            if observer is not None:
                observer.event_sent(self, event, args)
            return None
        ack_id = self._next_ack_id
        # Encoded before the callback is registered: arguments the parser cannot carry raise
        # here.
        packet = connection.parser.encode_event(self.namespace.name, event, args, ack_id)
        self._expect_ack(ack_id, callback)
        connection.send(packet)
        if observer is not None:
            observer.event_sent(self, event, args)
        return ack_id

    def _expect_ack(self, ack_id: int, callback: Callable[..., Any]) -> None:
        """Wait for the client's answer to ``ack_id`` (not used on this socket yet; a broadcast
        with acks picks one id free on all its recipients)."""
        self._next_ack_id = ack_id + 1
        acks = self._acks
        if acks is None:
            self._acks = acks = {}
        elif len(acks) >= MAX_PENDING_ACKS:
            # A client that never acks must not grow the server: the oldest wait is given up,
            # as a timed-out one would be (its late answer is then ignored).
            oldest = next(iter(acks))
            del acks[oldest]
            logger.warning(
                "socket %s has %d unanswered acks; gave up waiting for ack %d",
                self.id,
                MAX_PENDING_ACKS,
                oldest,
            )
        acks[ack_id] = callback

    def _send_prepared(self, messages: Sequence[Any]) -> None:
        engine_socket = self.engine_socket
        for message in messages:
            engine_socket.send_prepared(message)

    def _send_ack(self, ack_id: int, args: Sequence[Any]) -> None:
        if self.connected:
            ack_message = self._ack_message  # a slot read, then a plain call: no method lookup
            message = ack_message(self.namespace.name, ack_id, args)
            if message is not None:
                self.engine_socket.send(message)
            else:
                connection = self._connection
                connection.send(connection.parser.encode_ack(self.namespace.name, ack_id, args))

    def _on_ack(self, ack_id: int, args: list[Any]) -> bool:
        """Run the callback waiting for ``ack_id``; False when no such id was ever sent."""
        acks = self._acks
        callback = acks.pop(ack_id, None) if acks is not None else None
        if callback is None:
            if ack_id >= self._next_ack_id:
                return False
            # answered twice, or after emit_with_ack gave up: harmless
            logger.debug("late or repeated ack %d for socket %s ignored", ack_id, self.id)
            return True
        call_user_code(callback, tuple(args), description=f"ack callback of socket {self.id}")
        return True

    # --- rooms -----------------------------------------------------------------------------

    def join(self, room: str) -> None:
        """Join ``room``; :class:`RoomLimitError` if the socket is in ``max_rooms_per_socket``
        rooms (its own not counted) already and ``room`` is not one of them."""
        if not self.connected:
            return
        adapter = self.namespace.adapter
        if adapter.is_in(self.id, room):
            return  # already there: nothing to count or report
        limit = self.namespace.server.max_rooms_per_socket
        if adapter.room_count(self.id) > limit:
            raise RoomLimitError(
                f"socket {self.id} is in {limit} rooms already (max_rooms_per_socket); "
                f"it cannot join {room!r}"
            )
        adapter.add(self.id, room)
        observer = self.namespace.observer
        if observer is not None:
            observer.room_joined(self, room)

    def leave(self, room: str) -> None:
        adapter = self.namespace.adapter
        observer = self.namespace.observer
        if observer is None:
            adapter.remove(self.id, room)
        elif room in adapter.rooms_of(self.id):
            adapter.remove(self.id, room)
            observer.room_left(self, room)

    # --- ending ----------------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Leave the namespace, telling the client (DISCONNECT). ``close=True`` also closes the
        client's whole connection, every namespace on it included."""
        if close:
            self._connection.close(DisconnectReason.SERVER_NAMESPACE_DISCONNECT, notify=True)
        elif self.connected:
            self._connection.send(self._connection.parser.encode_disconnect(self.namespace.name))
            self._close(DisconnectReason.SERVER_NAMESPACE_DISCONNECT)

    def _close(self, reason: str) -> None:
        """Forget this socket everywhere and run the namespace's disconnect hook once."""
        if not self.connected:
            return
        self.connected = False
        self._acks = None
        if self.pid is not None and reason in RECOVERABLE_REASONS:
            keep_session(self)  # before the namespace forgets its rooms
        self._connection._forget(self)
        self.namespace._forget(self, reason)
