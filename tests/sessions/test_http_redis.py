"""HTTP sessions in a private redis-server: shared by two app instances, TTLs, prefixes, outage."""

from __future__ import annotations

import logging

import httpx
import pytest
import redis

from expressio.sessions import DEFAULT_IDLE_TTL, RedisStore
from tests.redis_support import RedisServer
from tests.sessions.app import make_app
from tests.support import served

COOKIE = "expressio.sid"


def test_two_app_instances_share_sessions_through_redis(
    redis_server: RedisServer,
) -> None:
    first = make_app(store=RedisStore(redis_server.url))
    second = make_app(store=RedisStore(redis_server.url))
    with served(first) as first_url, served(second) as second_url:
        with httpx.Client(base_url=first_url) as client:
            session_id = client.post("/set", json={"user": "ann"}).json()["id"]
            cookie = client.cookies[COOKIE]
        with httpx.Client(base_url=second_url, cookies={COOKIE: cookie}) as client:
            assert client.get("/whoami").json() == {"id": session_id, "data": {"user": "ann"}}
    raw = redis.Redis.from_url(redis_server.url)
    ttl = raw.ttl(f"expressio:sess:{session_id}")
    raw.close()
    assert DEFAULT_IDLE_TTL - 30 < ttl <= DEFAULT_IDLE_TTL


def test_max_age_sets_the_redis_ttl_and_prefixes_separate_apps(redis_server: RedisServer) -> None:
    shop = make_app(store=RedisStore(redis_server.url, prefix="shop:"), max_age=600)
    blog = make_app(store=RedisStore(redis_server.url, prefix="blog:"))
    with served(shop) as shop_url, served(blog) as blog_url:
        with httpx.Client(base_url=shop_url) as client:
            session_id = client.post("/set", json={"cart": [1]}).json()["id"]
            cookie = client.cookies[COOKIE]
        # Same secret, same cookie name, same Redis: still not the shop's session.
        with httpx.Client(base_url=blog_url, cookies={COOKIE: cookie}) as client:
            reply = client.get("/whoami").json()
        assert reply["id"] != session_id and reply["data"] == {}
    raw = redis.Redis.from_url(redis_server.url)
    assert 590 < raw.ttl(f"shop:{session_id}") <= 600
    assert raw.exists(f"blog:{session_id}") == 0
    assert raw.get(f"shop:{session_id}") == b'{"cart":[1]}'
    raw.close()


def test_redis_outage_answers_503_then_service_resumes(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(store=RedisStore(redis_server.url))

    @app.post("/set-during-outage")
    def set_during_outage(req, res):  # type: ignore[no-untyped-def]
        redis_server.stop()  # Redis goes down after the session was loaded
        req.session["user"] = "eve"
        return "should not arrive"

    with (
        served(app) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        client.post("/set", json={"user": "ann"})
        redis_server.stop()
        with caplog.at_level(logging.ERROR, logger="expressio"):
            down = client.get("/whoami")  # the session cannot be loaded
        assert down.status_code == 503
        assert "session store unavailable: Redis at" in caplog.text
        redis_server.start()  # back, and empty: nothing was persisted
        back = client.get("/whoami")
        assert back.status_code == 200 and back.json()["data"] == {}
        client.post("/set", json={"user": "bob"})
        assert client.get("/whoami").json()["data"] == {"user": "bob"}

        # Down between loading and saving: the save as the response goes out fails.
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="expressio"):
            failed = client.post("/set-during-outage")
        assert failed.status_code == 503 and "should not arrive" not in failed.text
        assert "session store unavailable: Redis at" in caplog.text
        redis_server.start()
        assert client.get("/whoami").status_code == 200
