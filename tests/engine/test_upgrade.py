"""The polling -> websocket upgrade end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from expressio.engine import connection
from tests.engine.conftest import EngineUnderTest
from tests.engine.helpers import receive, receive_skipping_pings, wait_closed


async def probe(server: EngineUnderTest, sid: str) -> ClientConnection:
    websocket = await connect(server.websocket_url(sid))
    await websocket.send("2probe")
    assert await receive(websocket) == "3probe"
    return websocket


async def test_upgrade_releases_the_pending_poll_and_moves_the_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    pending = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await asyncio.sleep(0.05)
    websocket = await probe(server, sid)
    async with websocket:
        released = await pending
        assert released.status_code == 200
        assert released.text == "6"
        await websocket.send("5")
        await websocket.send("4hello")
        assert await receive_skipping_pings(websocket) == "4hello"
        assert server.engine.sockets[sid].transport == "websocket"
        await websocket.send(b"\x01\x02")
        assert await receive_skipping_pings(websocket) == b"\x01\x02"
    assert await server.disconnect_reason(sid) == "transport close"


async def test_poll_during_the_probe_is_answered_with_noop(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    async with websocket:
        poll = await client.get(server.polling_url(sid))
        assert poll.status_code == 200
        assert poll.text == "6"
        await websocket.send("5")
        await websocket.send("4after")
        assert await receive_skipping_pings(websocket) == "4after"


async def test_message_queued_during_the_probe_goes_out_on_the_pending_poll(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However slow this machine: the pending poll gets no noop before the echo is queued.
    monkeypatch.setattr(connection, "UPGRADE_NOOP_DELAY", 5.0)
    # Long heartbeats: no ping may take the pending poll first.
    with make_server(ping_interval=5, ping_timeout=5) as server:
        async with httpx.AsyncClient() as client:
            sid = (await server.handshake(client))["sid"]
            pending = asyncio.ensure_future(client.get(server.polling_url(sid)))
            await asyncio.sleep(0.05)
            websocket = await probe(server, sid)
            async with websocket:
                await client.post(server.polling_url(sid), content="4during")
                # The echo, not a noop: the client pausing polling gets it on the way.
                assert (await pending).text == "4during"
                await websocket.send("5")
                await websocket.send("4after")
                assert await receive(websocket) == "4after"


async def test_poll_sent_with_the_upgrade_packet_is_refused(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    async with websocket:
        # Sent together, the poll often first: held, it must still lose to the upgrade.
        polled = asyncio.ensure_future(client.get(server.polling_url(sid)))
        await websocket.send("5")
        refused = await polled
        assert refused.status_code == 400
        assert refused.json() == {"code": 3, "message": "Bad request"}
        await websocket.send("4hello")
        assert await receive_skipping_pings(websocket) == "4hello"


async def test_messages_queued_during_the_upgrade_arrive_once_on_the_websocket(
    make_server: Any,
) -> None:
    with make_server(ping_interval=5, ping_timeout=5) as server:
        async with httpx.AsyncClient() as client:
            sid = (await server.handshake(client))["sid"]
            await client.post(server.polling_url(sid), content="4cmd:flood:3")
            assert (await client.get(server.polling_url(sid))).text == (
                "4flood 0\x1e4flood 1\x1e4flood 2"
            )
            websocket = await probe(server, sid)
            async with websocket:
                await client.post(server.polling_url(sid), content="4cmd:flood:5")
                await websocket.send("5")
                received = [await receive(websocket) for _ in range(5)]
                assert received == [f"4flood {index}" for index in range(5)]
                await websocket.send("4end")
                assert await receive(websocket) == "4end"


async def test_poll_after_the_upgrade_is_refused(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    async with websocket:
        await websocket.send("5")
        # The websocket reader processes "5" before this echo, so the upgrade is done.
        await websocket.send("4sync")
        assert await receive_skipping_pings(websocket) == "4sync"
        poll = await client.get(server.polling_url(sid))
        assert poll.status_code == 400
        assert poll.json() == {"code": 3, "message": "Bad request"}
        push = await client.post(server.polling_url(sid), content="4x")
        assert push.status_code == 400
        await websocket.send("4hello")
        assert await receive_skipping_pings(websocket) == "4hello"


async def test_second_websocket_after_the_upgrade_is_accepted_and_closed(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    async with websocket:
        await websocket.send("5")
        await websocket.send("4sync")
        assert await receive_skipping_pings(websocket) == "4sync"
        async with connect(server.websocket_url(sid)) as second:
            assert await wait_closed(second) == []
        await websocket.send("4hello")
        assert await receive_skipping_pings(websocket) == "4hello"
    assert await server.disconnect_reason(sid) == "transport close"


async def test_second_probe_while_probing_is_closed(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    async with websocket:
        async with connect(server.websocket_url(sid)) as second:
            assert await wait_closed(second) == []
        await websocket.send("5")
        await websocket.send("4ok")
        assert await receive_skipping_pings(websocket) == "4ok"


async def test_failed_probe_leaves_the_session_on_polling(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    async with connect(server.websocket_url(sid)) as websocket:
        await websocket.send("4not a probe")
        await wait_closed(websocket)
    assert sid in server.engine.sockets
    await client.post(server.polling_url(sid), content="4still polling")
    assert (await client.get(server.polling_url(sid))).text == "4still polling"


async def test_probe_socket_going_away_leaves_the_session_on_polling(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    websocket = await probe(server, sid)
    await websocket.close()
    await client.post(server.polling_url(sid), content="4back")
    # Whatever was pending of the heartbeat may come first; the echo must come.
    payload = ""
    while "4back" not in payload:
        poll = await client.get(server.polling_url(sid))
        assert poll.status_code == 200
        payload = poll.text
        if payload == "2":
            await client.post(server.polling_url(sid), content="3")


async def test_probe_times_out_without_upgrade_packet(make_server: Any) -> None:
    with make_server(ping_interval=5, ping_timeout=5) as server:
        server.engine.upgrade_timeout = 0.2
        async with httpx.AsyncClient() as client:
            sid = (await server.handshake(client))["sid"]
            websocket = await probe(server, sid)
            async with websocket:
                await wait_closed(websocket)
            await client.post(server.polling_url(sid), content="4polling again")
            assert (await client.get(server.polling_url(sid))).text == "4polling again"
            assert server.engine.sockets[sid].transport == "polling"


async def test_websocket_with_unknown_sid_is_refused(server: EngineUnderTest) -> None:
    from websockets.exceptions import InvalidStatus

    try:
        async with connect(server.websocket_url("nope")):
            raise AssertionError("the websocket was accepted")
    except InvalidStatus as refusal:
        assert refusal.response.status_code == 400
        assert b'"code":1' in refusal.response.body


async def test_server_close_during_the_upgrade_is_delivered_on_the_websocket(
    make_server: Any,
) -> None:
    # Long heartbeats: no ping may slip between the frames this test expects.
    with make_server(ping_interval=5, ping_timeout=5) as server:
        async with httpx.AsyncClient(timeout=10) as client:
            sid = (await server.handshake(client))["sid"]
            pending = asyncio.ensure_future(client.get(server.polling_url(sid)))
            await asyncio.sleep(0.05)
            websocket = await probe(server, sid)
            async with websocket:
                # The client pauses polling: its pending GET ends with a noop.
                assert (await pending).text == "6"
                posted = await client.post(server.polling_url(sid), content="4cmd:close")
                assert posted.status_code == 200
                await websocket.send("5")
                assert await wait_closed(websocket) == ["4closing"]
                assert websocket.close_code == 1000
            assert await server.disconnect_reason(sid) == "forced close"
