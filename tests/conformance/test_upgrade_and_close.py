"""Engine.IO v4 on both mount points: client-initiated close, and the upgrade from long-polling
to WebSocket (probe, noop, what a poll gets during the upgrade, and what the old transport gets
after)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from tests.conformance.target import beyond_node_reference
from tests.conformance.wire import (
    RECORD_SEPARATOR,
    Endpoint,
    assert_engine_echo,
    expect_closed,
    http_client,
    open_polling_session,
    open_websocket,
    poll,
    push,
    raw_http,
    receive,
    receive_text,
    websocket_session,
)
from tests.socket_clients import run_node

NODE_UPGRADE_THEN_POLL = Path(__file__).parent / "node" / "upgrade_then_poll.mjs"

# --- close -------------------------------------------------------------------------------------


async def test_polling_close_packet_ends_the_session(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        pending = asyncio.create_task(poll(client, any_endpoint, sid))
        await asyncio.sleep(0.1)  # the poll must be waiting on the server before the close
        assert (await push(client, any_endpoint, sid, "1")).status_code == 200
        response = await pending
        assert response.status_code == 200
        assert response.text == "6"  # the waiting poll ends with a noop
        assert (await poll(client, any_endpoint, sid)).status_code == 400


async def test_websocket_close_packet_ends_the_session(any_endpoint: Endpoint) -> None:
    async with websocket_session(any_endpoint) as ws:
        await ws.send("1")
        await expect_closed(ws)


# --- upgrade -----------------------------------------------------------------------------------


async def upgrade(ws: ClientConnection) -> None:
    await ws.send("2probe")
    assert await receive(ws) == "3probe"
    await ws.send("5")


async def test_upgrade_from_polling_to_websocket(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await ws.send("2probe")
            assert await receive(ws) == "3probe"
            # The old transport is released with a noop (after a heartbeat, on a slow day).
            while True:
                released = await poll(client, any_endpoint, sid)
                assert released.status_code == 200
                if released.text != "2":
                    break
                await push(client, any_endpoint, sid, "3")
            assert released.text == "6"
            await ws.send("5")
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")
            else:
                # The session lives on over the WebSocket: the server pings there now.
                assert await receive(ws, answer_pings=False) == "2"


async def test_upgrade_loses_and_duplicates_nothing(engine_endpoint: Endpoint) -> None:
    """Echoes queued on the polling side before the upgrade arrive once, in order, on one of
    the two transports; what follows arrives on the WebSocket."""
    received: list[str] = []
    async with http_client() as client:
        sid = await open_polling_session(client, engine_endpoint)
        before = [f"4before{index}" for index in range(5)]
        pushed = await push(client, engine_endpoint, sid, RECORD_SEPARATOR.join(before))
        assert pushed.status_code == 200
        async with open_websocket(engine_endpoint.websocket_url(sid)) as ws:
            await ws.send("2probe")
            assert await receive(ws) == "3probe"
            while True:
                response = await poll(client, engine_endpoint, sid)
                assert response.status_code == 200, response.text
                packets = response.text.split(RECORD_SEPARATOR)
                received += [packet for packet in packets if packet.startswith("4")]
                if "6" in packets:
                    break
                if "2" in packets:
                    await push(client, engine_endpoint, sid, "3")
            await ws.send("5")
            after = [f"4after{index}" for index in range(5)]
            for message in after:
                await ws.send(message)
            while len(received) < len(before) + len(after):
                message = await receive_text(ws)
                assert message.startswith("4"), message
                received.append(message)
    assert received == before + after


async def test_poll_after_upgrade_is_refused(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await upgrade(ws)
            assert (await poll(client, any_endpoint, sid)).status_code == 400
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")


async def test_second_websocket_after_upgrade_is_closed(any_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
        async with open_websocket(any_endpoint.websocket_url(sid)) as ws:
            await upgrade(ws)
            try:
                async with open_websocket(any_endpoint.websocket_url(sid)) as intruder:
                    seen = await expect_closed(intruder)
            except InvalidStatus as refusal:
                pytest.fail(f"the second WebSocket must be accepted then closed: {refusal}")
            assert not [message for message in seen if message != "2"], seen
            if any_endpoint.path == "/engine.io/":
                await assert_engine_echo(ws, "hello")
            else:
                assert await receive(ws, answer_pings=False) == "2"


@beyond_node_reference("answers a poll that was waiting when the upgrade completed with 200 '1'")
async def test_poll_just_ahead_of_the_upgrade_packet_is_refused(any_endpoint: Endpoint) -> None:
    """The official suite's "ignores HTTP requests with same sid after upgrade" sends ``5`` and
    polls at once. Over a websocket that compresses its frames (Node's ``ws`` deflates each one
    off its main thread) the poll reaches the server first and the ``5`` right behind it: the
    poll must be refused all the same, not answered with a noop."""
    async with http_client() as client:
        sid = await open_polling_session(client, any_endpoint)
    async with (
        open_websocket(any_endpoint.websocket_url(sid)) as ws,
        raw_http(any_endpoint) as http,
    ):
        await ws.send("2probe")
        assert await receive(ws) == "3probe"
        polled = asyncio.ensure_future(http.request("GET", any_endpoint.polling_url(sid)))
        await asyncio.sleep(0)  # the request is written in the task's first step
        await ws.send("5")
        status, body = await polled
        assert status == 400, body
        if any_endpoint.path == "/engine.io/":
            await assert_engine_echo(ws, "hello")


def test_poll_after_upgrade_is_refused_on_the_official_suites_client(server_port: int) -> None:
    """The same official test on the client stack it runs on (``ws`` and fetch in Node), a few
    times over: the poll sent after ``5`` gets 400, and the websocket carries the session."""
    runs = run_node(NODE_UPGRADE_THEN_POLL, f"http://127.0.0.1:{server_port}", "--runs", "10")
    del runs["done"]
    assert runs == {f"run {run}": {"status": 400, "echo": "4hello"} for run in range(10)}


async def test_connect_during_the_upgrade_costs_no_extra_noop(socketio_endpoint: Endpoint) -> None:
    """Connecting over polling then upgrading, the client's CONNECT answered while the probe is
    under way: the poll the client left pending takes that answer, as engine.io gives it, rather
    than a noop followed by the answer on the websocket. The client receives the same packets
    as from the Node server."""
    endpoint = socketio_endpoint
    received: list[str] = []

    def take(payload: str) -> bool:
        """Record a payload's packets; True if it held a ping (the client owes a pong)."""
        packets = payload.split(RECORD_SEPARATOR)
        received.extend(packet for packet in packets if packet != "2")
        return "2" in packets

    async with http_client() as client:
        sid = await open_polling_session(client, endpoint)
        pending = asyncio.create_task(poll(client, endpoint, sid))
        await asyncio.sleep(0.05)  # the poll waits on the server when the probe comes
        async with open_websocket(endpoint.websocket_url(sid)) as ws:
            await ws.send("2probe")
            assert await receive(ws) == "3probe"
            assert (await push(client, endpoint, sid, "40")).status_code == 200
            released = await pending
            assert released.status_code == 200, released.text
            if take(released.text):
                await push(client, endpoint, sid, "3")
            await ws.send("5")
            while len(received) < 2:
                received.append(await receive_text(ws))
    assert [packet[:2] for packet in received] == ["40", "42"], received
    assert received[1] == '42["auth",{}]'
