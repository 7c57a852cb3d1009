"""RedisStore against a private redis-server: TTLs, prefixes, outage and recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from expressio.sessions import RedisStore, SessionManager, SessionStoreUnavailable
from tests.redis_support import RedisServer


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


async def test_save_load_touch_destroy_with_ttl(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    store = RedisStore(redis_server.url)
    try:
        await store.save("abc", b'{"user":"ann"}', ttl=120)
        assert await raw.get("expressio:sess:abc") == b'{"user":"ann"}'
        assert 110_000 < await raw.pttl("expressio:sess:abc") <= 120_000
        assert await store.load("abc") == b'{"user":"ann"}'

        await store.touch("abc", ttl=3600)
        assert 3_500_000 < await raw.pttl("expressio:sess:abc") <= 3_600_000

        await store.destroy("abc")
        assert await store.load("abc") is None
        assert await raw.exists("expressio:sess:abc") == 0
        await store.destroy("abc")  # unknown ids are ignored
        await store.touch("abc", ttl=10)
        assert await raw.exists("expressio:sess:abc") == 0
    finally:
        await store.close()


async def test_prefixes_keep_two_apps_apart(redis_server: RedisServer) -> None:
    shop = SessionManager("s", RedisStore(redis_server.url, prefix="shop:"))
    blog = SessionManager("s", RedisStore(redis_server.url, prefix="blog:"))
    try:
        session = shop.new_session()
        session["cart"] = [1, 2]
        await shop.save_if_changed(session)
        cookie = shop.cookie_value(session)
        assert (await shop.load(cookie))["cart"] == [1, 2]
        # Same secret, same id: still not the other app's session.
        other = await blog.load(cookie)
        assert other.id != session.id and dict(other) == {}
    finally:
        await shop.store.close()
        await blog.store.close()


async def test_max_age_is_the_redis_ttl(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    manager = SessionManager("s", RedisStore(redis_server.url), max_age=45)
    try:
        session = manager.new_session()
        session["a"] = 1
        await manager.save_if_changed(session)
        assert 40_000 < await raw.pttl(f"expressio:sess:{session.id}") <= 45_000
    finally:
        await manager.store.close()


async def test_outage_raises_unavailable_then_recovers(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    try:
        await store.save("abc", b"{}", ttl=60)
        redis_server.stop()
        for call in (store.load("abc"), store.save("abc", b"{}", 60), store.touch("abc", 60),
                     store.destroy("abc")):  # fmt: skip
            with pytest.raises(SessionStoreUnavailable, match=f"Redis at {redis_server.url}"):
                await call
        redis_server.start()  # back, empty: nothing was persisted
        assert await store.load("abc") is None
        await store.save("abc", b'{"back":true}', ttl=60)
        assert await store.load("abc") == b'{"back":true}'
    finally:
        await store.close()
