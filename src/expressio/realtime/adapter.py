"""Rooms and who receives what, for one namespace.

The adapter owns the room index (room → socket ids and socket id → rooms) and every operation
that targets a set of clients: a broadcast, a broadcast waiting for each client's ack, fetching
the matching sockets, making them join or leave rooms, disconnecting them, and messages to the
other processes of the app. Its shape is socket.io's ``Adapter`` (``socket.io-adapter``), so that
a cross-process adapter speaking ``@socket.io/redis-adapter``'s protocol fits the same methods:

=================================================  ===========================================
``broadcast(packet, opts)``                        send an encoded packet (``broadcast``)
``broadcast_with_ack(event, args, opts, ...)``     the same, asking each client for an ack
                                                   (``broadcastWithAck``)
``await fetch_sockets(opts)``                      the matching sockets (``fetchSockets``)
``add_sockets(opts, rooms)``                       make them join ``rooms`` (``addSockets``)
``del_sockets(opts, rooms)``                       make them leave ``rooms`` (``delSockets``)
``disconnect_sockets(opts, close)``                disconnect them (``disconnectSockets``)
``server_side_emit(args, ack)``                    to the other processes (``serverSideEmit``)
``await server_count()``                           processes of the app (``serverCount``)
=================================================  ===========================================

Whom an operation targets is a :class:`BroadcastOptions`: the rooms (none: every socket of the
namespace), the rooms left out (a socket id is a room too, so this also leaves out single
sockets, such as a broadcast's sender), and flags (``volatile``: drop for a client that cannot
take a message right now; ``local``: this process only; ``timeout``: how long a broadcast with
acks waits for answers).

``fetch_sockets`` returns this process's :class:`~expressio.realtime.Socket` objects and, with a
cross-process adapter, views of the sockets of other processes (:class:`SocketView`: their id,
rooms, data and handshake as they were when fetched).

:class:`InMemoryAdapter` serves one process. A cross-process adapter subclasses it, publishes
what the others must do, and runs what it receives through the same local methods.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..protocol.socketio import EncodedPacket
from .recovery import RecoveryStore
from .socket import RoomLimitError

if TYPE_CHECKING:
    from .handshake import Handshake
    from .namespace import Namespace
    from .recovery import RestoredSession, SocketSession
    from .socket import Socket

logger = logging.getLogger("expressio.realtime")

NO_ROOMS: frozenset[str] = frozenset()


class BroadcastFlags(NamedTuple):
    """How a targeted operation behaves (socket.io's ``BroadcastFlags``)."""

    #: drop the packet for a client whose connection cannot take it right now
    volatile: bool = False
    #: this process's clients only, even with a cross-process adapter
    local: bool = False
    #: a broadcast with acks: seconds its sender waits for the answers (None: not one)
    timeout: float | None = None


NO_FLAGS = BroadcastFlags()


class BroadcastOptions(NamedTuple):
    """Whom a targeted operation reaches: the sockets in any of ``rooms`` (every socket of the
    namespace when empty), minus those in any of ``except_rooms``. A named tuple: one is built
    per broadcast, and tuples are the cheapest to build."""

    rooms: frozenset[str] = NO_ROOMS
    except_rooms: frozenset[str] = NO_ROOMS
    flags: BroadcastFlags = NO_FLAGS


EVERYONE = BroadcastOptions()

#: ``on_ack(answer_args)`` for each client that answers a broadcast with acks
AckCallback = Callable[..., None]


class SocketView(Protocol):
    """What ``fetch_sockets`` gives for each matching socket: a :class:`Socket` of this
    process, or a snapshot of a socket that lives on another process."""

    @property
    def id(self) -> str: ...

    @property
    def rooms(self) -> AbstractSet[str]: ...

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def handshake(self) -> Handshake: ...


class Adapter(ABC):
    """The interface a namespace uses for rooms and targeted operations. One per namespace."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace

    # --- the room index -----------------------------------------------------------------------

    @abstractmethod
    def add(self, sid: str, room: str) -> None: ...

    @abstractmethod
    def remove(self, sid: str, room: str) -> None: ...

    @abstractmethod
    def remove_all(self, sid: str) -> None: ...

    @abstractmethod
    def rooms_of(self, sid: str) -> set[str]: ...

    @abstractmethod
    def sockets_in(self, rooms: Iterable[str]) -> set[str]: ...

    def room_count(self, sid: str) -> int:
        """How many rooms the socket ``sid`` is in, its own included."""
        return len(self.rooms_of(sid))

    def is_in(self, sid: str, room: str) -> bool:
        return room in self.rooms_of(sid)

    # --- targeted operations --------------------------------------------------------------------

    @abstractmethod
    def broadcast(self, packet: EncodedPacket, opts: BroadcastOptions) -> None:
        """Send the encoded ``packet`` to every socket ``opts`` targets."""

    @abstractmethod
    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        """Send ``event`` to every targeted socket asking for an ack. ``on_client_count(n)``
        is called with the number of sockets it was sent to (once per process that has some),
        ``on_ack(*answer)`` once per client that answers. Returns a function that stops
        waiting (the answers still to come are then ignored and forgotten)."""

    @abstractmethod
    async def fetch_sockets(self, opts: BroadcastOptions) -> Sequence[SocketView]:
        """The sockets ``opts`` targets (``volatile`` does not apply): this process's
        :class:`Socket` objects, and views of other processes' sockets."""

    @abstractmethod
    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make every targeted socket join each of ``rooms``."""

    @abstractmethod
    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make every targeted socket leave each of ``rooms``."""

    @abstractmethod
    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect every targeted socket from the namespace (``close``: also close its
        whole connection)."""

    @abstractmethod
    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        """Send ``args`` (``[event, *arguments]``) to the namespace of every OTHER process of
        the app; with ``ack``, call it once with the list of their answers."""

    @abstractmethod
    async def server_count(self) -> int:
        """How many processes form the app (this one included)."""

    # Connection state recovery (see expressio.realtime.recovery): by default nothing is kept.

    def persist_session(self, session: SocketSession) -> None:  # noqa: B027 (optional hook)
        """Keep the state of a socket that went away for a recoverable reason."""

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """The session kept for ``pid`` with the broadcasts it missed after ``offset``; None
        when there is none, or when those broadcasts are not all kept any more."""
        return None


class InMemoryAdapter(Adapter):
    """Rooms as two dictionaries of sets; every operation reaches the sockets of this process,
    and there is no other process: :meth:`server_side_emit` reaches no one."""

    def __init__(self, namespace: Namespace) -> None:
        super().__init__(namespace)
        self._members: dict[str, set[str]] = {}  # room -> socket ids
        self._rooms: dict[str, set[str]] = {}  # socket id -> rooms
        recovery = getattr(namespace.server, "recovery", None)
        #: the kept sessions and broadcasts, when connection state recovery is on
        self.recovery = (
            RecoveryStore(recovery, with_offset=namespace.server.parser.with_offset)
            if recovery is not None
            else None
        )

    def add(self, sid: str, room: str) -> None:
        members = self._members.get(room)
        if members is None:
            self._members[room] = members = set()
        members.add(sid)
        rooms = self._rooms.get(sid)
        if rooms is None:
            self._rooms[sid] = rooms = set()
        rooms.add(room)

    def remove(self, sid: str, room: str) -> None:
        rooms = self._rooms.get(sid)
        if rooms is None or room not in rooms:
            return
        rooms.discard(room)
        if not rooms:
            del self._rooms[sid]
        self._leave_room(sid, room)

    def remove_all(self, sid: str) -> None:
        for room in self._rooms.pop(sid, ()):
            self._leave_room(sid, room)

    def _leave_room(self, sid: str, room: str) -> None:
        members = self._members.get(room)
        if members is not None:
            members.discard(sid)
            if not members:  # an empty room does not linger in the index
                del self._members[room]

    def rooms_of(self, sid: str) -> set[str]:
        return set(self._rooms.get(sid, ()))

    def room_count(self, sid: str) -> int:
        rooms = self._rooms.get(sid)
        return len(rooms) if rooms is not None else 0

    def is_in(self, sid: str, room: str) -> bool:
        rooms = self._rooms.get(sid)
        return rooms is not None and room in rooms

    def sockets_in(self, rooms: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for room in rooms:
            members = self._members.get(room)
            if members:
                found |= members
        return found

    @property
    def room_names(self) -> set[str]:
        """Every room that has at least one member (socket ids included)."""
        return set(self._members)

    # --- targeted operations --------------------------------------------------------------------

    def broadcast(self, packet: EncodedPacket, opts: BroadcastOptions) -> None:
        recovery = self.recovery
        if recovery is not None and not opts.flags.volatile:
            # kept with an offset, the same for every recipient (socket.io keeps no volatile
            # packet: it was never promised to arrive)
            packet = recovery.record(packet, opts.rooms or None, opts.except_rooms or None)
        self.deliver(packet, opts)

    def persist_session(self, session: SocketSession) -> None:
        if self.recovery is not None:
            self.recovery.persist(session)

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        return self.recovery.restore(pid, offset) if self.recovery is not None else None

    def deliver(self, packet: EncodedPacket, opts: BroadcastOptions) -> int:
        """Send to the matching sockets of this process; returns how many received it.

        The Engine.IO messages are prepared once, on the first recipient, and the same prepared
        objects go to everyone: no copy and no task per recipient. (The selection of
        :meth:`targets`, in one pass: this is every broadcast's path.)
        """
        except_rooms = opts.except_rooms
        excluded = self._members_of(except_rooms) if except_rooms else None
        volatile = opts.flags.volatile
        prepared: tuple[Any, ...] | None = None
        delivered = 0
        for socket in self._candidates(opts.rooms):
            if (
                not socket.connected
                or (excluded and socket.id in excluded)
                or (volatile and not socket.engine_socket.writable)
            ):
                continue
            if prepared is None:
                prepared = self._prepare(packet)
            socket._send_prepared(prepared)
            delivered += 1
        return delivered

    def _prepare(self, packet: EncodedPacket) -> tuple[Any, ...]:
        """The packet's Engine.IO messages prepared once, for every recipient."""
        prepare = self.namespace.server.engine.prepare
        return tuple(prepare(message) for message in packet.messages)

    def targets(self, opts: BroadcastOptions) -> list[Socket]:
        """The connected sockets of this process that ``opts`` targets, each once (a socket in
        two of the rooms too); ``volatile`` aside."""
        except_rooms = opts.except_rooms
        candidates = self._candidates(opts.rooms)
        if not except_rooms:
            return [socket for socket in candidates if socket.connected]
        excluded = self._members_of(except_rooms)
        return [
            socket for socket in candidates if socket.connected and socket.id not in excluded
        ]

    def _candidates(self, rooms: frozenset[str]) -> Sequence[Socket]:
        """The sockets in any of ``rooms`` (all when empty). A snapshot, not a view: a send
        may close a slow client, which then leaves the namespace at once."""
        sockets = self.namespace.sockets
        if not rooms:
            return tuple(sockets.values())
        find = sockets.get
        sids = self._members_of(rooms)
        return [socket for sid in sids if (socket := find(sid)) is not None]

    def _members_of(self, rooms: frozenset[str]) -> AbstractSet[str]:
        """The socket ids in any of ``rooms``: the index's own set for one room (no copy)."""
        if len(rooms) == 1:
            (room,) = rooms
            return self._members.get(room, NO_ROOMS)
        return self.sockets_in(rooms)

    def broadcast_with_ack(
        self,
        event: str,
        args: Sequence[Any],
        opts: BroadcastOptions,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
    ) -> Callable[[], None]:
        recipients = self.targets(opts)
        if opts.flags.volatile:
            recipients = [socket for socket in recipients if socket.engine_socket.writable]
        # One ack id valid for every recipient, so that the packet is encoded once: ids are
        # per socket, so the next id free on all of them.
        ack_id = max((socket.next_ack_id for socket in recipients), default=0)
        packet = self.namespace.server.parser.encode_event(self.namespace.name, event, args, ack_id)
        prepared = self._prepare(packet) if recipients else ()
        for socket in recipients:
            socket._expect_ack(ack_id, on_ack)
            socket._send_prepared(prepared)
        on_client_count(len(recipients))

        def stop_waiting() -> None:
            for socket in recipients:
                socket.cancel_ack(ack_id)

        return stop_waiting

    async def fetch_sockets(self, opts: BroadcastOptions) -> Sequence[SocketView]:
        return self.targets(opts)

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        for socket in self.targets(opts):
            try:
                for room in rooms:
                    socket.join(room)
            except RoomLimitError as error:
                # one socket at its limit must not keep the others out of the rooms
                logger.warning("%s", error)

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = tuple(rooms)
        for socket in self.targets(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        for socket in self.targets(opts):
            socket.disconnect(close)

    def server_side_emit(
        self, args: Sequence[Any], ack: Callable[[list[Any]], None] | None = None
    ) -> None:
        # One process: there is nobody else to tell, and nobody's answer to wait for.
        if ack is not None:
            ack([])

    async def server_count(self) -> int:
        return 1
