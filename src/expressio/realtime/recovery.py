"""Connection state recovery, kept in this process: the sessions of sockets that went away and
the log of recent broadcasts (socket.io 4.6's ``connectionStateRecovery``).

When a socket goes away for a reason a client recovers from (its transport closed or failed,
a ping timeout, the server shutting down), its adapter keeps a :class:`SocketSession`: its id,
the private id the client proves it is the same client with (``pid``), its rooms and its
``data``. Every broadcast EVENT gets an *offset* as its last argument and is kept in a
:class:`PacketLog`; the client remembers the offset of the last one it received. When it
reconnects within ``max_disconnection`` seconds with that ``pid`` and ``offset`` in its
CONNECT auth, it gets its id and rooms back, and every kept broadcast after ``offset`` that
was meant for it, in order.

A restore is all or nothing: when the packets after ``offset`` are not all still kept (the
log dropped them for its size or age, or the offset is not one this log gave out), the
client gets a fresh session, never a partial replay presented as complete.

:class:`RecoveryStore` is what :class:`~expressio.realtime.InMemoryAdapter` keeps; an adapter
that shares this state across processes implements the same two adapter methods,
``persist_session`` and ``restore_session``, its own way.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from itertools import islice
from typing import Any, NamedTuple

from ..engine.reasons import DisconnectReason
from ..protocol.socketio import EncodedPacket, with_offset

__all__ = [
    "RECOVERABLE_REASONS",
    "PacketLog",
    "RecoveryOptions",
    "RecoveryStore",
    "RestoredSession",
    "SocketSession",
    "check_recoverable",
]

#: Why a socket may go away and still be recovered (socket.io's list, minus the reasons this
#: server never uses). A client that left on purpose, or that the server disconnected, is not
#: kept: it is not coming back for its state.
RECOVERABLE_REASONS = frozenset(
    {
        DisconnectReason.TRANSPORT_CLOSE,
        DisconnectReason.TRANSPORT_ERROR,
        DisconnectReason.FORCED_CLOSE,
        DisconnectReason.PING_TIMEOUT,
        DisconnectReason.SERVER_SHUTTING_DOWN,
    }
)


@dataclass(frozen=True, slots=True)
class RecoveryOptions:
    """``app.io(recovery={...})``: how long, and how much, is kept.

    - ``max_disconnection``: seconds a session and a broadcast are kept (socket.io's
      ``maxDisconnectionDuration``, 2 minutes by default);
    - ``skip_middlewares``: a recovered connection is admitted without running the
      middleware again (socket.io's default); with ``False`` the middleware runs, and may
      refuse it, as for any connection;
    - ``max_packets``, ``max_bytes``: the log of broadcasts keeps at most this many packets
      and this much (characters of text plus bytes of attachments) per namespace; past
      either, the oldest packet is dropped first.
    """

    max_disconnection: float = 120.0
    skip_middlewares: bool = True
    max_packets: int = 10_000
    max_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_setting(cls, value: Any) -> RecoveryOptions | None:
        """The ``recovery`` setting: ``None``/``False`` (off), ``True`` (the defaults), a dict
        of the fields above, or a :class:`RecoveryOptions`. Anything else raises."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, RecoveryOptions):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(
                "recovery is True, False, None or a dict such as "
                f'{{"max_disconnection": 120, "skip_middlewares": True}}, not {value!r}'
            )
        known = {item.name for item in fields(cls)}
        unknown = sorted(str(key) for key in value if key not in known)
        if unknown:
            raise ValueError(
                f"unknown recovery option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        options = cls(**value)
        options._check()
        return options

    def _check(self) -> None:
        for name in ("max_disconnection", "max_packets", "max_bytes"):
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
                raise ValueError(f"recovery {name} is a positive number, got {number!r}")
        for name in ("max_packets", "max_bytes"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"recovery {name} is a whole number")
        if not isinstance(self.skip_middlewares, bool):
            raise ValueError(
                f"recovery skip_middlewares is True or False, got {self.skip_middlewares!r}"
            )


def check_recoverable(adapter_factory: Any) -> None:
    """Refuse an adapter that shares broadcasts across processes but not this state: a
    client would be given back its rooms without the broadcasts other processes made."""
    if getattr(adapter_factory, "cross_process", False) and not getattr(
        adapter_factory, "recovers_sessions", False
    ):
        raise ValueError(
            f"connection state recovery needs an adapter that keeps it across processes; "
            f"{adapter_factory!r} does not (use the in-memory adapter in one process)"
        )


@dataclass(slots=True)
class SocketSession:
    """What is kept of a socket that went away (socket.io's ``Session``)."""

    sid: str  # its socket id, public: other clients may know it
    pid: str  # its private id: only that client knows it
    rooms: frozenset[str]  # its own id included
    data: Any  # the socket's ``data``


@dataclass(slots=True)
class RestoredSession(SocketSession):
    """A session given back, with the broadcasts meant for it since the client's offset."""

    missed_packets: list[EncodedPacket] = field(default_factory=list)


class _Kept(NamedTuple):
    """One broadcast in the log: the packet as sent (offset included) and whom it was for."""

    packet: EncodedPacket
    rooms: frozenset[str] | None  # None: the whole namespace
    skip: frozenset[str] | None  # rooms (socket ids included) left out
    size: int
    at: float  # clock time it was broadcast


class PacketLog:
    """The broadcasts of one namespace, oldest first, bounded by count, size and age.

    An offset is this log's random prefix and the packet's sequence number (``"3fa9c1-57"``):
    sequence numbers are consecutive, so finding an offset's place costs nothing, and the
    prefix tells this log's offsets from another log's (another namespace, a restarted
    process).
    """

    __slots__ = (
        "_clock",
        "_entries",
        "_first",
        "_last_rooms",
        "_max_age",
        "_max_bytes",
        "_max_packets",
        "_next",
        "_prefix",
        "_with_offset",
        "bytes",
    )

    def __init__(
        self,
        options: RecoveryOptions,
        clock: Callable[[], float],
        with_offset: Callable[[EncodedPacket, str], EncodedPacket] = with_offset,
    ) -> None:
        self._clock = clock
        #: the parser's way of appending an offset to an encoded EVENT
        self._with_offset = with_offset
        self._max_age = options.max_disconnection
        self._max_packets = options.max_packets
        self._max_bytes = options.max_bytes
        self._prefix = secrets.token_hex(3) + "-"
        self._entries: deque[_Kept] = deque()
        self._first = 0  # sequence number of _entries[0] (== _next when empty)
        self._next = 0
        self._last_rooms: frozenset[str] | None = None
        #: what the kept packets add up to (see RecoveryOptions.max_bytes)
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def end(self) -> int:
        """The sequence number the next broadcast will get."""
        return self._next

    def append(
        self, packet: EncodedPacket, rooms: AbstractSet[str] | None, skip: AbstractSet[str] | None
    ) -> EncodedPacket:
        """Keep ``packet`` (an EVENT without ack id) with its offset; returns it as sent.

        Every broadcast comes through here when recovery is on: no helper calls on the way."""
        sequence = self._next
        self._next = sequence + 1
        sent = self._with_offset(packet, self._prefix + str(sequence))
        size = len(sent.text)
        if sent.attachments:
            size += sum(map(len, sent.attachments))
        if rooms is not None:
            last = self._last_rooms
            if rooms is not last:
                if type(rooms) is not frozenset:
                    rooms = frozenset(rooms)  # the caller's set may change later
                if rooms == last:
                    rooms = last  # one object for a run of broadcasts to the same rooms
                else:
                    self._last_rooms = rooms
        if skip is not None and type(skip) is not frozenset:
            skip = frozenset(skip)
        now = self._clock()
        entries = self._entries
        # tuple.__new__: a named tuple's own constructor is a Python function, five times slower
        entries.append(tuple.__new__(_Kept, (sent, rooms, skip, size, now)))
        self.bytes += size
        if (
            len(entries) > self._max_packets
            or self.bytes > self._max_bytes
            or entries[0].at < now - self._max_age
        ):
            self._trim(now)
        return sent

    def _trim(self, now: float) -> None:
        entries = self._entries
        oldest_kept = now - self._max_age
        while entries and (
            len(entries) > self._max_packets
            or self.bytes > self._max_bytes
            or entries[0].at < oldest_kept
        ):
            self.bytes -= entries.popleft().size
            self._first += 1

    def sequence_of(self, offset: str) -> int | None:
        """The sequence number ``offset`` stands for, if this log gave it out."""
        prefix = self._prefix
        if not offset.startswith(prefix):
            return None
        digits = offset[len(prefix) :]
        if not (0 < len(digits) <= 18 and digits.isdigit() and digits.isascii()):
            return None
        sequence = int(digits)
        return sequence if sequence < self._next else None

    def after(self, sequence: int, rooms: frozenset[str]) -> list[EncodedPacket] | None:
        """Every kept packet after ``sequence`` meant for a socket in ``rooms``, in order;
        None when some packet after it is no longer kept (the replay would be partial)."""
        start = sequence + 1 - self._first
        if start < 0:
            return None
        return [
            kept.packet
            for kept in islice(self._entries, start, None)
            if (kept.rooms is None or not kept.rooms.isdisjoint(rooms))
            and (not kept.skip or kept.skip.isdisjoint(rooms))
        ]


class _KeptSession(NamedTuple):
    session: SocketSession
    expires: float
    log_end: int  # the log's end when it went away: no offset it holds can be past it


class RecoveryStore:
    """The in-memory recovery state of one namespace: kept sessions and the packet log.

    Sessions expire ``max_disconnection`` seconds after their socket went away; they are
    dropped in that order, as later ones arrive and as restores are asked for. A restore
    takes the session out whether it succeeds or not: the client asking for it gets either
    its state back or a fresh session with a new ``pid``, so the old one is of no use to
    anyone after that.
    """

    __slots__ = ("_clock", "_sessions", "log", "options", "record")

    def __init__(
        self,
        options: RecoveryOptions,
        clock: Callable[[], float] = time.monotonic,
        with_offset: Callable[[EncodedPacket, str], EncodedPacket] = with_offset,
    ) -> None:
        self.options = options
        self._clock = clock
        self.log = PacketLog(options, clock, with_offset)
        self._sessions: dict[str, _KeptSession] = {}  # pid -> kept, oldest first
        #: a broadcast EVENT: keep it; returns the packet to send (its offset appended)
        self.record: Callable[
            [EncodedPacket, AbstractSet[str] | None, AbstractSet[str] | None], EncodedPacket
        ] = self.log.append

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def persist(self, session: SocketSession) -> None:
        now = self._clock()
        self._expire(now)
        self._sessions.pop(session.pid, None)  # re-inserted last: the dict stays in age order
        self._sessions[session.pid] = _KeptSession(
            session, now + self.options.max_disconnection, self.log.end
        )

    def restore(self, pid: str, offset: str) -> RestoredSession | None:
        now = self._clock()
        self._expire(now)
        kept = self._sessions.pop(pid, None)
        if kept is None:
            return None
        sequence = self.log.sequence_of(offset)
        if sequence is None or sequence >= kept.log_end:
            return None  # not an offset of this log, or one the client cannot have received
        session = kept.session
        missed = self.log.after(sequence, session.rooms)
        if missed is None:
            return None
        return RestoredSession(session.sid, session.pid, session.rooms, session.data, missed)

    def _expire(self, now: float) -> None:
        sessions = self._sessions
        while sessions:
            pid = next(iter(sessions))
            if sessions[pid].expires > now:
                return
            del sessions[pid]
