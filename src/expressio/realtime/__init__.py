"""Layer 3: the Socket.IO v5 realtime server (namespaces, sockets, rooms, acks, broadcast)."""

from ..engine.reasons import DisconnectReason
from ..protocol.socketio import EncodedPacket
from .acks import Ack
from .adapter import Adapter, InMemoryAdapter
from .handshake import Handshake
from .namespace import Namespace
from .server import RealtimeServer
from .socket import RESERVED_EVENTS, RoomLimitError, Socket, check_event_name

__all__ = [
    "RESERVED_EVENTS",
    "Ack",
    "Adapter",
    "DisconnectReason",
    "EncodedPacket",
    "Handshake",
    "InMemoryAdapter",
    "Namespace",
    "RealtimeServer",
    "RoomLimitError",
    "Socket",
    "check_event_name",
]
