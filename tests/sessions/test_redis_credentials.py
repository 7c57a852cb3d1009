"""A Redis password never shows: not in the 503 body (development error pages included), not in
the logs, not in the exception a session-store outage raises, nor in its chain."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import httpx
import pytest

import expressio
from expressio.sessions import RedisStore, SessionStoreUnavailable
from expressio.sessions.redaction import redacted, scrub, secrets_of
from tests.support import free_port

PASSWORD = "Hunter2-Very-Secret"


def down_url(password: str = PASSWORD) -> str:
    """A Redis URL with a password, on a port nothing listens on: Redis is down."""
    return f"redis://:{password}@127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw123@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://user:pw123@cache:6379/0", "redis://user:***@cache:6379/0"),
        ("rediss://user:pw123@cache/0", "rediss://user:***@cache/0"),
        ("redis://:p%40ss@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("redis://:p@ss/w0rd@cache:6379/0", "redis://:***@cache:6379/0"),
        ("unix://:pw123@/tmp/redis.sock?db=0", "unix://:***@/tmp/redis.sock?db=0"),
        ("redis://cache:6379/0?password=pw123&db=1", "redis://cache:6379/0?password=***&db=1"),
        ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("not a url", "not a url"),
    ],
)
def test_redacted_masks_the_password_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_scrub_masks_the_url_and_the_bare_password_as_written_and_decoded() -> None:
    url = "redis://:p%40ss-word@cache:6379/0"
    assert secrets_of(url) == ["p%40ss-word", "p@ss-word"]
    text = f"failed on {url}; AUTH p@ss-word; raw p%40ss-word"
    assert scrub(text, url) == "failed on redis://:***@cache:6379/0; AUTH ***; raw ***"
    assert scrub("nothing secret", "redis://cache/0") == "nothing secret"


async def test_store_outage_error_carries_no_password_nor_a_chain() -> None:
    """The SessionStoreUnavailable message used to repeat the URL with its password."""
    url = down_url()
    store = RedisStore(url, socket_connect_timeout=1.0)
    try:
        for call in (
            store.load("abc"),
            store.save("abc", b"{}", 60),
            store.touch("abc", 60),
            store.destroy("abc"),
        ):
            with pytest.raises(SessionStoreUnavailable) as caught:
                await call
            error = caught.value
            assert PASSWORD not in str(error)
            assert "redis://:***@127.0.0.1:" in str(error)
            # nothing in the chain either: a traceback shows only this error
            assert error.__cause__ is None and error.__context__ is None
            assert PASSWORD not in "".join(traceback.format_exception(error))
    finally:
        await store.close()
    assert PASSWORD not in repr(store)


def outage_app(url: str, env: str) -> tuple[expressio.Application, str]:
    app = expressio.express()
    app.set("env", env)
    middleware = expressio.session(secret="monkey", store=RedisStore(url))
    app.use(middleware)

    @app.get("/read")
    def read(req: Any, res: Any) -> Any:
        return {"user": req.session.get("user")}

    @app.get("/write")
    def write(req: Any, res: Any) -> Any:
        req.session["user"] = "ann"
        return {"ok": True}

    # a cookie naming a session makes the request load it from (the down) Redis
    cookie = f"expressio.sid={middleware.manager.signer.sign('some-session-id')}"
    return app, cookie


@pytest.mark.parametrize("env", ["development", "production"])
async def test_http_503_body_and_logs_never_show_the_password(
    env: str, caplog: pytest.LogCaptureFixture
) -> None:
    """In development the 503 body's traceback carried ``redis://:PASSWORD@...``; in production
    the log line did."""
    url = down_url()
    app, cookie = outage_app(url, env)
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.DEBUG):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            loading = await client.get("/read", headers={"Cookie": cookie})
            saving = await client.get("/write")  # no cookie: fails when it saves
    for response in (loading, saving):
        assert response.status_code == 503
        assert PASSWORD not in response.text
        if env == "development":
            assert "redis://:***@127.0.0.1:" in response.text  # still says which Redis
    logged = "\n".join(
        caplog.text.splitlines()
        + [record.getMessage() for record in caplog.records]
        + [
            "".join(traceback.format_exception(record.exc_info[1]))
            for record in caplog.records
            if record.exc_info and record.exc_info[1] is not None
        ]
    )
    assert "SessionStoreUnavailable" in logged  # the outage was logged...
    assert PASSWORD not in logged  # ...without the password
