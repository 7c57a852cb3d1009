"""Layer 3: the Socket.IO v5 realtime server (namespaces, sockets, rooms, acks, broadcast)."""

from ..engine.reasons import DisconnectReason
from ..protocol.socketio import EncodedPacket
from .acks import Ack
from .adapter import Adapter, BroadcastFlags, BroadcastOptions, InMemoryAdapter
from .handshake import Handshake
from .namespace import Namespace
from .recovery import RecoveryOptions
from .server import RealtimeServer
from .socket import RESERVED_EVENTS, RoomLimitError, Socket, check_event_name

__all__ = [
    "RESERVED_EVENTS",
    "Ack",
    "Adapter",
    "BroadcastFlags",
    "BroadcastOptions",
    "DisconnectReason",
    "EncodedPacket",
    "Handshake",
    "InMemoryAdapter",
    "Namespace",
    "RealtimeServer",
    "RecoveryOptions",
    "RoomLimitError",
    "Socket",
    "check_event_name",
]
