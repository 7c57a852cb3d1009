"""What an observer of the realtime server (the admin UI's instrument) is told.

A :class:`RealtimeServer` has no observer unless one is set with
:meth:`RealtimeServer.observe`; every hook is then one ``is None`` check on a path the server
walks anyway (connect, disconnect, join, leave, a client event, an emit), so an unobserved
server pays nothing measurable for it. The calls are plain, on the loop's thread, and must not
block; an observer that raises is the observer's problem: it is expected to log and carry on,
never to break the path that told it.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .socket import Socket


class SocketObserver(Protocol):
    def socket_connected(self, socket: Socket) -> None:
        """``socket`` was accepted into its namespace (before the namespace's connect hook)."""

    def socket_disconnected(self, socket: Socket, reason: str, rooms: Set[str]) -> None:
        """``socket`` left its namespace for ``reason``; ``rooms`` are those it was in."""

    def room_joined(self, socket: Socket, room: str) -> None:
        """``socket`` joined ``room``, which it was not in."""

    def room_left(self, socket: Socket, room: str) -> None:
        """``socket`` left ``room``, which it was in (not called when it disconnects)."""

    def event_received(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        """The client of ``socket`` emitted ``event`` with ``args``."""

    def event_sent(self, socket: Socket, event: str, args: Sequence[Any]) -> None:
        """The server emitted ``event`` with ``args`` to ``socket`` alone (not a broadcast)."""
