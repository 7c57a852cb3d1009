"""HTTP long-polling end to end: handshake, messages, heartbeat and closing."""

from __future__ import annotations

import asyncio

import httpx

from tests.engine.conftest import PING_INTERVAL, PING_TIMEOUT, EngineUnderTest


async def test_handshake_announces_the_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    response = await client.get(server.polling_url())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    handshake = await server.handshake(client)
    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert isinstance(handshake["sid"], str) and handshake["sid"]
    assert handshake["upgrades"] == ["websocket"]
    assert handshake["pingInterval"] == 300
    assert handshake["pingTimeout"] == 200
    assert handshake["maxPayload"] == 1_000_000
    assert handshake["sid"] in server.connected
    assert handshake["sid"] in server.engine.sockets


async def test_sessions_get_distinct_ids(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sids = {(await server.handshake(client))["sid"] for _ in range(5)}
    assert len(sids) == 5


async def test_upgrades_are_empty_without_websocket(make_server: object) -> None:
    with make_server(transports=["polling"]) as server:  # type: ignore[operator]
        async with httpx.AsyncClient() as client:
            assert (await server.handshake(client))["upgrades"] == []


async def test_post_is_answered_ok_and_the_echo_comes_back_on_the_next_poll(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    push = await client.post(server.polling_url(sid), content="4hello")
    assert push.status_code == 200
    assert push.text == "ok"
    assert push.headers["content-type"] == "text/plain; charset=UTF-8"
    poll = await client.get(server.polling_url(sid))
    assert poll.status_code == 200
    assert poll.text == "4hello"
    assert server.messages == [(sid, "hello")]


async def test_several_text_and_binary_packets_in_one_payload(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    body = "4test1\x1e4test2\x1ebAQIDBA==\x1e4€"
    assert (await client.post(server.polling_url(sid), content=body.encode())).text == "ok"
    poll = await client.get(server.polling_url(sid))
    assert poll.text == body
    assert [data for _, data in server.messages] == ["test1", "test2", b"\x01\x02\x03\x04", "€"]


async def test_a_waiting_poll_is_answered_when_a_message_arrives(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    poll = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await client.post(server.polling_url(sid), content="4wake up")
    assert (await poll).text == "4wake up"


async def test_ping_pong_keeps_the_session_alive(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    for _ in range(3):
        poll = await client.get(server.polling_url(sid))
        assert poll.status_code == 200
        assert poll.text == "2"
        assert (await client.post(server.polling_url(sid), content="3")).status_code == 200
    assert sid in server.engine.sockets


async def test_ping_timeout_closes_the_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    await asyncio.sleep(PING_INTERVAL + PING_TIMEOUT)
    assert await server.disconnect_reason(sid) == "ping timeout"
    poll = await client.get(server.polling_url(sid))
    assert poll.status_code == 400
    assert poll.json() == {"code": 1, "message": "Session ID unknown"}


async def test_client_close_packet_ends_the_pending_poll_with_noop(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    poll = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await asyncio.sleep(0.05)
    push = await client.post(server.polling_url(sid), content="1")
    assert push.status_code == 200
    pending = await poll
    assert pending.status_code == 200
    assert pending.text == "6"
    assert await server.disconnect_reason(sid) == "transport close"
    assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_server_close_delivers_the_queue_then_the_close_packet(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    await client.post(server.polling_url(sid), content="4cmd:close")
    assert await server.disconnect_reason(sid) == "forced close"
    assert sid not in server.engine.sockets
    poll = await client.get(server.polling_url(sid))
    assert poll.status_code == 200
    assert poll.text == "4closing\x1e1"
    assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_a_closed_session_stays_reachable_only_until_its_last_poll(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    await client.post(server.polling_url(sid), content="4cmd:close")
    assert await server.disconnect_reason(sid) == "forced close"
    assert server.call(lambda: server.engine.find(sid)) is not None
    assert (await client.get(server.polling_url(sid))).text == "4closing\x1e1"
    assert server.call(lambda: server.engine.find(sid)) is None


async def test_a_closed_session_nobody_polls_is_dropped_after_a_heartbeat(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    await client.post(server.polling_url(sid), content="4cmd:close")
    assert await server.disconnect_reason(sid) == "forced close"
    await asyncio.sleep(PING_INTERVAL + PING_TIMEOUT + 0.2)
    assert server.call(lambda: server.engine.find(sid)) is None
    assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_messages_after_one_that_closed_the_session_are_not_delivered(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    response = await client.post(server.polling_url(sid), content="4before\x1e4cmd:close\x1e4after")
    assert response.status_code == 200
    assert await server.disconnect_reason(sid) == "forced close"
    assert [data for owner, data in server.messages if owner == sid] == ["before", "cmd:close"]
    poll = await client.get(server.polling_url(sid))
    assert poll.text == "4before\x1e4closing\x1e1"


async def test_server_close_answers_a_pending_poll(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    sid = (await server.handshake(client))["sid"]
    poll = asyncio.ensure_future(client.get(server.polling_url(sid)))
    await asyncio.sleep(0.05)
    server.call(lambda: server.engine.sockets[sid].close())
    response = await poll
    assert response.text == "1"
    assert await server.disconnect_reason(sid) == "forced close"


async def test_cancelled_poll_closes_the_session(server: EngineUnderTest) -> None:
    async with httpx.AsyncClient() as client:
        sid = (await server.handshake(client))["sid"]
    async with httpx.AsyncClient() as aborting:
        poll = asyncio.ensure_future(aborting.get(server.polling_url(sid)))
        # Cancelled once the server holds it (a fixed pause is not enough on a loaded machine).
        deadline = asyncio.get_running_loop().time() + 5
        while server.engine.sockets[sid].waiter is None:
            assert asyncio.get_running_loop().time() < deadline, "the poll never arrived"
            await asyncio.sleep(0.005)
        poll.cancel()
    assert await server.disconnect_reason(sid) == "transport close"
    async with httpx.AsyncClient() as client:
        assert (await client.get(server.polling_url(sid))).status_code == 400


async def test_callback_exception_closes_only_that_session(
    server: EngineUnderTest, client: httpx.AsyncClient
) -> None:
    failing = (await server.handshake(client))["sid"]
    healthy = (await server.handshake(client))["sid"]
    await client.post(server.polling_url(failing), content="4cmd:raise")
    assert await server.disconnect_reason(failing) == "forced close"
    await client.post(server.polling_url(healthy), content="4still fine")
    assert (await client.get(server.polling_url(healthy))).text == "4still fine"


async def test_shutdown_closes_every_session(server: EngineUnderTest) -> None:
    async with httpx.AsyncClient() as client:
        sids = [(await server.handshake(client))["sid"] for _ in range(3)]
        poll = asyncio.ensure_future(client.get(server.polling_url(sids[0])))
        await asyncio.sleep(0.05)
        assert server.loop is not None
        asyncio.run_coroutine_threadsafe(server.engine.shutdown(), server.loop).result(5)
        assert (await poll).text == "1"
        for sid in sids:
            assert await server.disconnect_reason(sid) == "server shutting down"
        assert server.engine.sockets == {}
