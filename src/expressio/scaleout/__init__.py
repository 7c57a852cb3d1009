"""Beyond one process: the Redis adapter (rooms, broadcasts and every targeted operation across
processes, Node's ``@socket.io/redis-adapter`` format) and the Emitter
(``@socket.io/redis-emitter``'s)."""

from .emitter import Emitter
from .redis_adapter import RedisAdapter, RedisNamespaceAdapter
from .remote import RemoteSocket

__all__ = ["Emitter", "RedisAdapter", "RedisNamespaceAdapter", "RemoteSocket"]
