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
