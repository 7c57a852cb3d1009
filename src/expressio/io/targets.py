"""Who a broadcast reaches: every client of a namespace, or those in some rooms, minus some.

``app.io.broadcast``, ``app.io.room(r).broadcast``, ``req.io.broadcast`` and
``req.io.room(r).broadcast`` are all a :class:`Target`: the namespace, the rooms (none: all)
and the socket ids left out (the sender, for ``req.io``). The packet is encoded once, in the
calling thread (so that data JSON cannot carry raises in the caller, also in a ``def`` route
running in a worker thread), and handed to the namespace's adapter on the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..realtime import check_event_name

if TYPE_CHECKING:
    from ..protocol.parsers import Parser
    from ..protocol.socketio import EncodedPacket
    from ..realtime import Namespace
    from .loop_bridge import LoopBridge

#: "no data argument": ``emit(event)`` sends no argument, ``emit(event, None)`` sends null.
MISSING: Final[Any] = object()


def payload(data: Any) -> tuple[Any, ...]:
    """The event's arguments: none for ``MISSING``, else the one ``data`` (``None`` included)."""
    return () if data is MISSING else (data,)


def check_encodable(
    bridge: LoopBridge, parser: Parser, event: str, args: tuple[Any, ...]
) -> None:
    """Off the loop's thread, encode the event once here, so that data ``parser`` cannot
    carry raises in the caller (a ``def`` route), as it does on the loop: once handed over,
    an error could only be logged. On the loop the call itself raises."""
    if not bridge.on_loop_thread():
        parser.encode_event("/", event, args)


class Target:
    """Clients of one namespace: all of them or those in ``rooms``, minus the ids in ``skip``."""

    __slots__ = ("_bridge", "_namespace", "rooms", "skip")

    def __init__(
        self,
        namespace: Namespace,
        bridge: LoopBridge,
        rooms: frozenset[str] | None = None,
        skip: frozenset[str] | None = None,
    ) -> None:
        self._namespace = namespace
        self._bridge = bridge
        self.rooms = rooms
        self.skip = skip

    def broadcast(self, event: str, data: Any = MISSING) -> None:
        """Send ``event`` with ``data`` to every client targeted, at once and in call order."""
        check_event_name(event)
        namespace = self._namespace
        # Encoded here, in the calling thread: data JSON cannot carry raises in the caller.
        packet = namespace.server.parser.encode_event(namespace.name, event, payload(data))
        self._bridge.call(_deliver, namespace, packet, self.rooms, self.skip)

    def __repr__(self) -> str:
        rooms = "all" if self.rooms is None else sorted(self.rooms)
        return f"<Target {self._namespace.name} rooms={rooms} skip={sorted(self.skip or ())}>"


def _deliver(
    namespace: Namespace,
    packet: EncodedPacket,
    rooms: frozenset[str] | None,
    skip: frozenset[str] | None,
) -> None:
    namespace.adapter.broadcast(packet, rooms, skip)
