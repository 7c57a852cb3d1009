"""Beyond one process: the Redis adapters (pub/sub and streams) for rooms and broadcasts, and
the Emitter."""

from .emitter import Emitter
from .redis_adapter import RedisAdapter, RedisNamespaceAdapter
from .streams_adapter import RedisStreamsAdapter, RedisStreamsNamespaceAdapter

__all__ = [
    "Emitter",
    "RedisAdapter",
    "RedisNamespaceAdapter",
    "RedisStreamsAdapter",
    "RedisStreamsNamespaceAdapter",
]
