"""Beyond one process: the Redis adapter for rooms and broadcasts, and the Emitter."""

from .emitter import Emitter
from .redis_adapter import RedisAdapter, RedisNamespaceAdapter

__all__ = ["Emitter", "RedisAdapter", "RedisNamespaceAdapter"]
