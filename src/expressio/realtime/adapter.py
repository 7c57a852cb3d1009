"""Rooms and broadcast delivery for one namespace.

The adapter owns the room index (room → socket ids and socket id → rooms) and decides who
receives a broadcast. :class:`InMemoryAdapter` serves one process; a cross-process adapter
subclasses it, publishes the already-encoded packet once, and delivers what it receives through
the same :meth:`InMemoryAdapter.deliver` path local broadcasts use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from ..protocol.socketio import EncodedPacket

if TYPE_CHECKING:
    from .namespace import Namespace
    from .socket import Socket


class Adapter(ABC):
    """The interface a namespace uses for rooms and broadcasts. One instance per namespace."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace

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

    @abstractmethod
    def broadcast(
        self, packet: EncodedPacket, rooms: AbstractSet[str] | None, skip: AbstractSet[str] | None
    ) -> None:
        """Send ``packet`` to the sockets in any of ``rooms`` (every socket when ``None``),
        except those whose id is in ``skip``."""


class InMemoryAdapter(Adapter):
    """Rooms as two dictionaries of sets; broadcasts reach the sockets of this process."""

    def __init__(self, namespace: Namespace) -> None:
        super().__init__(namespace)
        self._members: dict[str, set[str]] = {}  # room -> socket ids
        self._rooms: dict[str, set[str]] = {}  # socket id -> rooms

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

    def broadcast(
        self, packet: EncodedPacket, rooms: AbstractSet[str] | None, skip: AbstractSet[str] | None
    ) -> None:
        self.deliver(packet, rooms, skip)

    def deliver(
        self, packet: EncodedPacket, rooms: AbstractSet[str] | None, skip: AbstractSet[str] | None
    ) -> int:
        """Send to the matching sockets of this process; returns how many received it.

        The Engine.IO messages are prepared once, on the first recipient, and the same prepared
        objects go to everyone: no copy and no task per recipient.
        """
        sockets = self.namespace.sockets
        # Snapshots: a send may close a slow client, which leaves the namespace at once.
        recipients: Iterable[Socket]
        if rooms is None:
            recipients = tuple(sockets.values())
        else:
            if len(rooms) == 1:
                (room,) = rooms
                sids: Iterable[str] = self._members.get(room, ())
            else:
                sids = self.sockets_in(rooms)
            find = sockets.get
            recipients = [socket for sid in sids if (socket := find(sid)) is not None]
        prepared: tuple[Any, ...] | None = None
        delivered = 0
        for socket in recipients:
            if not socket.connected or (skip and socket.id in skip):
                continue
            if prepared is None:
                prepare = self.namespace.server.engine.prepare
                prepared = tuple(prepare(message) for message in packet.messages)
            socket._send_prepared(prepared)
            delivered += 1
        return delivered
