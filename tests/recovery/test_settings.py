"""``app.io(recovery=...)``: the setting's checks, and what clients without recovery see."""

from __future__ import annotations

import pytest
import socketio

import expressio
from expressio.realtime import RecoveryOptions
from expressio.scaleout import RedisAdapter
from tests.socket_clients import WAIT, clients
from tests.support import served

from .app import make_app, store_of


def test_bad_options_are_refused_at_app_io() -> None:
    with pytest.raises(ValueError, match="unknown recovery option"):
        expressio.express().http().io(recovery={"maxDisconnectionDuration": 1000})
    with pytest.raises(ValueError, match="positive"):
        expressio.express().http().io(recovery={"max_disconnection": -1})


def test_an_adapter_that_does_not_share_recovery_across_processes_is_refused() -> None:
    adapter = RedisAdapter("redis://127.0.0.1:1")  # never connected: refused before
    with pytest.raises(ValueError, match="across processes"):
        expressio.express().http().io(recovery=True, adapter=adapter)
    app = expressio.express().http()
    app.io(adapter=adapter)
    with pytest.raises(ValueError, match="across processes"):
        app.io.set("recovery", True)
    assert app.io.get("recovery") is None


def test_recovery_can_be_turned_on_before_clients_connect() -> None:
    app = expressio.express().http()
    app.io()
    assert store_of_default(app) is None
    app.io.set("recovery", {"max_packets": 3})
    assert app.io.get("recovery") == RecoveryOptions(max_packets=3)
    assert store_of(app).options.max_packets == 3


def store_of_default(app: expressio.Application) -> object:
    return app.io.server.namespaces["/"].adapter.recovery  # type: ignore[union-attr]


async def test_python_socketio_client_gets_offsets_but_never_recovers() -> None:
    """python-socketio's client (5.x) does not send ``pid``/``offset``: every connection is a
    fresh one, and its handlers see the offset as an extra argument, as socket.io's do."""
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as connect:
            client = await connect(auth={"name": "py"})
            first_id = client.sid
            await client.call("join", "r")
            await client.call("shout", {"room": "r", "items": ["hello"]})
            await client.inbox.wait_for("news")
            (news,) = client.inbox.of("news")
            item, offset = news
            assert item == "hello" and isinstance(offset, str)
            # A dropped transport, then its own reconnection: a fresh socket.
            await client.sio.eio.disconnect(abort=True)
            await wait_disconnected(client.sio)
            await client.sio.connect(base_url, auth={"name": "py"}, transports=["websocket"])
            assert client.sid != first_id
            assert await client.call("rooms") == [client.sid]
            welcome = await client.inbox.wait_for("welcome", 2)
            assert welcome[1] == {"recovered": False, "middleware_runs": 2, "handshake_runs": 2}


async def wait_disconnected(sio: socketio.AsyncClient) -> None:
    import asyncio

    deadline = asyncio.get_running_loop().time() + WAIT
    while sio.connected:
        assert asyncio.get_running_loop().time() < deadline, "the client never saw the close"
        await asyncio.sleep(0.02)


async def test_a_replay_larger_than_the_send_buffer_starts_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """python-socketio does not recover by itself, but it can present a ``pid`` and an offset
    in its auth like socket.io-client does: here the pid read on the server side, and an
    offset with more missed broadcasts after it than the client's send buffer takes."""
    app = make_app()
    app.io.set("max send buffer", 8)
    with served(app) as base_url:
        async with clients(base_url) as connect:
            away = await connect(auth={"name": "away"})
            sender = await connect(auth={"name": "sender"})
            first_id = away.sid
            pid = app.io.server.namespaces["/"].sockets[first_id].pid
            await away.call("join", "r")
            await sender.call("shout", {"room": "r", "items": ["seen"]})
            (news,) = await away.inbox.wait_for("news")
            offset = news[1]
            await away.sio.eio.disconnect(abort=True)
            await wait_disconnected(away.sio)
            await wait_gone(sender, first_id)
            await sender.call("shout", {"room": "r", "items": list(range(20))})
            back = await connect(auth={"name": "away", "pid": pid, "offset": offset})
            assert back.sid != first_id
            assert await back.call("rooms") == [back.sid]
            assert "more than its send buffer takes" in caplog.text
            assert await sender.call("rooms") == [sender.sid]  # nothing else disturbed


async def test_a_recovered_python_client_gets_its_id_and_rooms() -> None:
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as connect:
            away = await connect(auth={"name": "away"})
            sender = await connect(auth={"name": "sender"})
            first_id = away.sid
            pid = app.io.server.namespaces["/"].sockets[first_id].pid
            await away.call("join", "r")
            await sender.call("shout", {"room": "r", "items": ["seen"]})
            (news,) = await away.inbox.wait_for("news")
            await away.sio.eio.disconnect(abort=True)
            await wait_disconnected(away.sio)
            await wait_gone(sender, first_id)
            back = await connect(auth={"name": "away", "pid": pid, "offset": news[1]})
            assert back.sid == first_id
            assert await back.call("rooms") == sorted([first_id, "r"])
            welcome = await back.inbox.wait_for("welcome")
            assert welcome[0]["recovered"] is True


async def wait_gone(watcher: object, sid: str) -> None:
    import asyncio

    for _ in range(int(WAIT / 0.02)):
        if not await watcher.call("is_connected", sid):  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the server never saw {sid} go")
