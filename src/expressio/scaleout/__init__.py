"""Beyond one process, in the formats of socket.io's own Redis packages: the Redis adapter
(``@socket.io/redis-adapter``'s classic pub/sub), the Redis Streams adapter
(``@socket.io/redis-streams-adapter``'s) and the Emitter (``@socket.io/redis-emitter``'s)."""

from .emitter import Emitter
from .redis_adapter import RedisAdapter, RedisNamespaceAdapter
from .remote import RemoteSocket
from .streams_adapter import RedisStreamsAdapter, RedisStreamsNamespaceAdapter

__all__ = [
    "Emitter",
    "RedisAdapter",
    "RedisNamespaceAdapter",
    "RedisStreamsAdapter",
    "RedisStreamsNamespaceAdapter",
    "RemoteSocket",
]
