"""Session stores: where session data lives between requests.

A store keeps opaque bytes (the JSON-encoded session, see `serialization`) under a session id,
each with a time to live in seconds. Writing a store of your own means subclassing `SessionStore`
and implementing its four coroutines; raise `SessionStoreUnavailable` when the backing service
cannot be reached, so HTTP answers 503 instead of 500.
"""

from __future__ import annotations

import abc
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import SessionStoreUnavailable
from .redaction import redacted, scrub

logger = logging.getLogger("expressio.sessions")

T = TypeVar("T")

#: How many sessions a `MemoryStore` holds by default before it drops the least recently used.
DEFAULT_MAX_SESSIONS = 100_000


class SessionStore(abc.ABC):
    """The interface every session store implements. All methods run on the event loop."""

    #: True when the coroutines never wait (an in-memory store): a route that reads a session
    #: nobody loaded for it may then have it loaded on the spot.
    answers_at_once = False

    @abc.abstractmethod
    async def load(self, session_id: str) -> bytes | None:
        """The stored payload, or None if the id is unknown or expired."""

    @abc.abstractmethod
    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        """Store `payload` under `session_id`, replacing any previous one, expiring in `ttl` s."""

    @abc.abstractmethod
    async def destroy(self, session_id: str) -> None:
        """Forget `session_id`; unknown ids are ignored."""

    @abc.abstractmethod
    async def touch(self, session_id: str, ttl: float) -> None:
        """Push the expiry of an unchanged session `ttl` seconds into the future."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections; the store may be used again afterwards (it reconnects)."""


class MemoryStore(SessionStore):
    """Sessions in this process's memory, with expiry. The default store.

    Sessions are lost when the process exits and are not shared between processes: use
    `RedisStore` for several workers or machines. Expired sessions are dropped when read and
    swept in bulk at most once per `sweep_interval` seconds, so memory does not grow with
    abandoned sessions. At most `max_sessions` sessions are held (default
    `DEFAULT_MAX_SESSIONS`, 100,000): when a new one comes in beyond that, the least recently
    used session is dropped (its user finds a fresh session), so a flood of new sessions
    cannot exhaust memory. Each session costs a few hundred bytes plus its JSON.
    """

    answers_at_once = True

    def __init__(
        self,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        sweep_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions!r}")
        # Least recently used first: reads, writes and touches move a session to the end.
        self._sessions: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._clock = clock
        self.max_sessions = max_sessions
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval
        self._full_logged = False

    def __len__(self) -> int:
        """How many sessions are held (expired ones included until they are swept)."""
        return len(self._sessions)

    async def load(self, session_id: str) -> bytes | None:
        sessions = self._sessions
        entry = sessions.get(session_id)
        if entry is None:
            return None
        expires_at, payload = entry
        if expires_at <= self._clock():
            del sessions[session_id]
            return None
        sessions.move_to_end(session_id)
        return payload

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        now = self._clock()
        sessions = self._sessions
        # A compact copy: orjson's bytes keep a ~4 KB buffer however short the JSON is.
        sessions[session_id] = (now + ttl, bytes(memoryview(payload)))
        sessions.move_to_end(session_id)
        if now >= self._next_sweep:
            self._sweep(now)
        if len(sessions) > self.max_sessions:
            self._evict()

    async def destroy(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def touch(self, session_id: str, ttl: float) -> None:
        sessions = self._sessions
        entry = sessions.get(session_id)
        if entry is not None:
            sessions[session_id] = (self._clock() + ttl, entry[1])
            sessions.move_to_end(session_id)

    def _sweep(self, now: float) -> None:
        expired = [sid for sid, (expires_at, _) in self._sessions.items() if expires_at <= now]
        for sid in expired:
            del self._sessions[sid]
        self._next_sweep = now + self._sweep_interval

    def _evict(self) -> None:
        sessions = self._sessions
        if not self._full_logged:
            self._full_logged = True
            logger.warning(
                "MemoryStore full (%d sessions): the least recently used sessions are dropped "
                "to make room (raise max_sessions, or use RedisStore)",
                self.max_sessions,
            )
        while len(sessions) > self.max_sessions:
            sessions.popitem(last=False)


class RedisStore(SessionStore):
    """Sessions in Redis, shared by every process and machine that uses the same Redis.

    Each session is one Redis string `prefix + session_id` with a TTL (Redis expires it by
    itself); two apps sharing one Redis keep apart by using different prefixes. While Redis is
    unreachable every call raises `SessionStoreUnavailable`; the client reconnects on the next
    call, so service resumes by itself when Redis is back. Messages, logs and error pages show
    the URL with its password masked (`redis://:***@host:6379/0`).

    `client_options` go to `redis.asyncio.Redis.from_url` (e.g. `socket_timeout`).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "expressio:sess:",
        **client_options: Any,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._client_options: dict[str, Any] = {
            # Fail fast while Redis is down: a request waits seconds at most, then gets a 503.
            "socket_connect_timeout": 2.0,
            "socket_timeout": 5.0,
            **client_options,
        }
        self._client: redis.asyncio.Redis | None = None

    def _redis(self) -> redis.asyncio.Redis:
        # Created on first use, i.e. inside the serving event loop: the asyncio client's
        # connections belong to the loop that opened them.
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(self.url, **self._client_options)
        return self._client

    def _key(self, session_id: str) -> str:
        return self.prefix + session_id

    async def load(self, session_id: str) -> bytes | None:
        payload: bytes | str | None = await self._call(self._redis().get(self._key(session_id)))
        return payload.encode() if isinstance(payload, str) else payload

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        await self._call(self._redis().set(self._key(session_id), payload, px=_milliseconds(ttl)))

    async def destroy(self, session_id: str) -> None:
        await self._call(self._redis().delete(self._key(session_id)))

    async def touch(self, session_id: str, ttl: float) -> None:
        await self._call(self._redis().pexpire(self._key(session_id), _milliseconds(ttl)))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def __repr__(self) -> str:
        return f"<RedisStore {redacted(self.url)!r} prefix={self.prefix!r}>"

    async def _call(self, command: Awaitable[T]) -> T:
        """Await a Redis command; ``SessionStoreUnavailable`` when Redis cannot be reached."""
        try:
            return await command
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            reason = scrub(str(error), self.url) or type(error).__name__
        # Raised after the except block: no __cause__ nor __context__ carries Redis's own error
        # (and whatever it holds) into tracebacks, logs or a development error page, and the
        # URL shows without its password.
        raise SessionStoreUnavailable(
            f"session store unavailable: Redis at {redacted(self.url)}: {reason}"
        )


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
