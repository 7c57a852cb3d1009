"""The admin namespace with the python-socketio client: its modes and options, the UI's
commands (and garbage in their place), and what the server logs about a failed login."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

import expressio
from tests.socket_clients import WAIT, Client, Connect, Refused, clients
from tests.support import served

from .test_admin_auth import BCRYPT_HASH

AUTH = {"username": "admin", "password": "pw-never-logged"}


def make_app(**instrument: Any) -> expressio.Application:
    app = expressio.express()
    app.http().io()
    app.io.instrument(**({"auth": AUTH} | instrument))

    @app.io.route("enter")
    def enter(req: Any) -> None:
        req.io.join(req.data)
        req.io.respond("entered")

    @app.io.route("rooms")
    def rooms(req: Any) -> None:
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    return app


@asynccontextmanager
async def serving(**instrument: Any) -> AsyncIterator[Connect]:
    with served(make_app(**instrument)) as url:
        async with clients(url) as connect:
            yield connect


async def admin_of(connect: Connect, auth: Any = AUTH) -> Client:
    return await connect("/admin", auth=auth)


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), WAIT)


async def test_garbage_commands_disturb_nothing(caplog: pytest.LogCaptureFixture) -> None:
    async with serving() as connect:
        admin = await admin_of(connect)
        user = await connect("/")
        await user.call("enter", "lobby")
        for event, args in [
            ("join", ()),
            ("join", (1, 2, 3)),
            ("join", ("/nowhere", "room", None)),
            ("join", ("/", {"room": 1}, None)),
            ("leave", ("/", None, ["x"])),
            ("_disconnect", ()),
            ("_disconnect", ("/", "yes", 42)),
            ("_disconnect", ("/nowhere", True, None)),
            ("emit", ("/", None, "connect", "x")),
            ("emit", ("/", None, 42)),
            ("emit", (None,)),
            ("emit", ("/", 7, "news")),
            ("no-such-command", ("/",)),
        ]:
            await admin.emit(event, *args)
        # Everyone is still there, in the same rooms; nothing was logged as an error.
        assert await user.call("rooms") == ["lobby"]
        await admin.emit("join", "/", "checked", user.sid)
        await until(lambda: "checked" in str(admin.inbox.of("room_joined")))
        assert await user.call("rooms") == ["checked", "lobby"]
        assert admin.sio.connected and user.sio.connected
        assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_emit_reaches_a_room_and_refuses_reserved_names() -> None:
    async with serving() as connect:
        admin = await admin_of(connect)
        inside = await connect("/")
        outside = await connect("/")
        await inside.call("enter", "news-room")
        await admin.emit("emit", "/", "news-room", "reserved-first", 1)
        await admin.emit("emit", "/", None, "disconnect", "should not go")
        await admin.emit("emit", "/", "news-room", "news", {"n": 1}, "two")
        assert await inside.inbox.wait_for("news") == [[{"n": 1}, "two"]]
        assert inside.inbox.of("reserved-first") == [1]
        assert outside.inbox.of("news") == []
        assert inside.sio.connected


async def test_readonly_offers_and_obeys_no_command() -> None:
    async with serving(readonly=True) as connect:
        admin = await admin_of(connect)
        (config,) = await admin.inbox.wait_for("config")
        assert config == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
        user = await connect("/")
        await admin.emit("join", "/", "sneaky", user.sid)
        await admin.emit("_disconnect", "/", True, user.sid)
        await admin.sio.sleep(0.3)
        assert await user.call("rooms") == []
        assert user.sio.connected


async def test_production_mode_sends_stats_but_no_socket_details() -> None:
    async with serving(mode="production") as connect:
        admin = await admin_of(connect)
        (config,) = await admin.inbox.wait_for("config")
        assert config == {
            "supportedFeatures": [
                "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "EMIT",
                "AGGREGATED_EVENTS",
            ]
        }  # fmt: skip
        user = await connect("/")
        await user.call("enter", "lobby")
        stats = await admin.inbox.wait_for("server_stats", 2)
        assert {"name": "/", "socketsCount": 1} in stats[-1]["namespaces"]
        events = set(admin.inbox.events())
        assert events == {"config", "session", "server_stats"}


async def test_auth_false_lets_anyone_in(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="expressio"):
        async with serving(auth=False) as connect:
            admin = await admin_of(connect, auth=None)
            await admin.inbox.wait_for("all_sockets")
            assert admin.inbox.of("session") == []
    assert "no authentication" in caplog.text


async def test_a_failed_login_logs_the_address_and_never_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with serving() as connect:
            with pytest.raises(Refused, match="invalid credentials"):
                await admin_of(connect, auth={"username": "admin", "password": "guess-123"})
            admin = await admin_of(connect)
            await admin.inbox.wait_for("all_sockets")
    assert "failed login from 127.0.0.1" in caplog.text
    assert "guess-123" not in caplog.text
    assert AUTH["password"] not in caplog.text


async def test_a_bcrypt_hash_is_checked_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    threads: list[str] = []

    def checkpw(password: bytes, hashed: bytes) -> bool:
        threads.append(threading.current_thread().name)
        return password == b"hashed-secret" and hashed == BCRYPT_HASH.encode()

    monkeypatch.setitem(sys.modules, "bcrypt", types.SimpleNamespace(checkpw=checkpw))
    async with serving(auth={"username": "admin", "password": BCRYPT_HASH}) as connect:
        with pytest.raises(Refused, match="invalid credentials"):
            await admin_of(connect, auth={"username": "admin", "password": "nope"})
        admin = await admin_of(connect, auth={"username": "admin", "password": "hashed-secret"})
        await admin.inbox.wait_for("config")
    assert len(threads) == 2
    assert not any(name.startswith("uvicorn") for name in threads)


async def test_stats_stop_when_the_last_ui_leaves() -> None:
    app = make_app()
    instrument = app.io._instrument
    assert instrument is not None
    with served(app) as url:
        async with clients(url) as connect:
            admin = await admin_of(connect)
            await admin.inbox.wait_for("server_stats", 2)  # the periodic ones run
            assert instrument._timer is not None
            await admin.sio.disconnect()
            await until(lambda: instrument._timer is None)
            user = await connect("/")
            await user.call("enter", "lobby")
            assert instrument._events == {}  # nobody watches: nothing is kept
