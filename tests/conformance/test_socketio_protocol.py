"""Socket.IO v5 over Engine.IO v4 at /socket.io/: namespaces and the auth payload, disconnect,
events, acks, binary attachments, and the malformed packets that close one connection only."""

from __future__ import annotations

import json

import pytest

from tests.conformance.wire import (
    RECORD_SEPARATOR,
    Endpoint,
    assert_socketio_echo,
    expect_closed,
    http_client,
    open_polling_session,
    open_websocket,
    parse_open_packet,
    poll_until,
    push,
    receive,
    receive_text,
    socketio_session,
    websocket_session,
)


def connect_answer(text: str, prefix: str) -> dict[str, object]:
    """The payload of a server CONNECT packet `40<prefix>{...}`."""
    assert text.startswith(f"40{prefix}"), text
    payload: dict[str, object] = json.loads(text[len(prefix) + 2 :])
    return payload


# --- connect -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace_prefix", "auth", "expected_auth"),
    [
        ("", "", "{}"),
        ("", '{"token":"123"}', '{"token":"123"}'),
        ("/custom,", "", "{}"),
        ("/custom,", '{"token":"abc"}', '{"token":"abc"}'),
    ],
    ids=["main", "main-with-auth", "custom", "custom-with-auth"],
)
async def test_connect_to_a_namespace(
    socketio_endpoint: Endpoint, namespace_prefix: str, auth: str, expected_auth: str
) -> None:
    async with websocket_session(socketio_endpoint) as ws:
        await ws.send(f"40{namespace_prefix}{auth}")
        answer = connect_answer(await receive_text(ws), namespace_prefix)
        assert set(answer) == {"sid"}
        assert isinstance(answer["sid"], str) and answer["sid"]
        assert await receive_text(ws) == f'42{namespace_prefix}["auth",{expected_auth}]'


async def test_namespace_without_trailing_comma_is_accepted(socketio_endpoint: Endpoint) -> None:
    async with websocket_session(socketio_endpoint) as ws:
        await ws.send("40/custom")
        connect_answer(await receive_text(ws), "/custom,")
        assert await receive_text(ws) == '42/custom,["auth",{}]'


async def test_connect_over_polling(socketio_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, socketio_endpoint)
        assert (await push(client, socketio_endpoint, sid, '40{"token":"p"}')).status_code == 200
        connected, auth = await poll_until(client, socketio_endpoint, sid, 2)
        assert set(connect_answer(connected, "")) == {"sid"}
        assert auth == '42["auth",{"token":"p"}]'
        assert (
            await push(client, socketio_endpoint, sid, '42["message","polled"]')
        ).status_code == 200
        assert await poll_until(client, socketio_endpoint, sid, 1) == [
            '42["message-back","polled"]'
        ]


async def test_unknown_namespace_is_refused_and_the_connection_lives_on(
    socketio_endpoint: Endpoint,
) -> None:
    async with websocket_session(socketio_endpoint) as ws:
        await ws.send("40/random")
        assert await receive_text(ws) == '44/random,{"message":"Invalid namespace"}'
        await ws.send("40")
        connect_answer(await receive_text(ws), "")
        assert await receive_text(ws) == '42["auth",{}]'
        await assert_socketio_echo(ws)


async def test_each_connection_gets_its_own_socket_id(socketio_endpoint: Endpoint) -> None:
    ids = set()
    for _ in range(2):
        async with websocket_session(socketio_endpoint) as ws:
            await ws.send("40")
            ids.add(connect_answer(await receive_text(ws), "")["sid"])
    assert len(ids) == 2


async def test_invalid_handshake_closes_the_connection(socketio_endpoint: Endpoint) -> None:
    async with websocket_session(socketio_endpoint) as ws:
        await ws.send("4abc")
        await expect_closed(ws)


async def test_connection_without_handshake_is_closed(socketio_endpoint: Endpoint) -> None:
    """A client that opens Engine.IO, never connects a namespace and never answers pings."""
    async with open_websocket(socketio_endpoint.websocket_url()) as ws:
        parse_open_packet(await receive_text(ws, answer_pings=False))
        await expect_closed(ws)


# --- disconnect --------------------------------------------------------------------------------


async def test_disconnect_from_the_main_namespace(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send("41")
        # The server has nothing to say back; the next packet is the next heartbeat.
        assert await receive(ws, answer_pings=False) == "2"


async def test_disconnect_from_a_custom_namespace_keeps_the_main_one(
    socketio_endpoint: Endpoint,
) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send("40/custom,")
        connect_answer(await receive_text(ws), "/custom,")
        assert await receive_text(ws) == '42/custom,["auth",{}]'
        await ws.send("41/custom,")
        await ws.send('42["message","message to main namespace"]')
        assert await receive_text(ws) == '42["message-back","message to main namespace"]'


# --- events and acks ---------------------------------------------------------------------------


async def test_plain_text_event(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send('42["message",1,"2",{"3":[true]}]')
        assert await receive_text(ws) == '42["message-back",1,"2",{"3":[true]}]'


async def test_event_without_arguments(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send('42["message"]')
        assert await receive_text(ws) == '42["message-back"]'


async def test_event_with_binary_attachments(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        await ws.send(bytes([1, 2, 3]))
        await ws.send(bytes([4, 5, 6]))
        assert await receive(ws) == (
            '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        assert await receive(ws) == bytes([1, 2, 3])
        assert await receive(ws) == bytes([4, 5, 6])


async def test_binary_nested_in_objects_keeps_its_place(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send('451-["message",{"deep":[1,{"_placeholder":true,"num":0}]},"text"]')
        await ws.send(b"\x00\xff")
        assert await receive(ws) == (
            '451-["message-back",{"deep":[1,{"_placeholder":true,"num":0}]},"text"]'
        )
        assert await receive(ws) == b"\x00\xff"


async def test_plain_text_event_with_ack(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert await receive_text(ws) == '43456[1,"2",{"3":[false]}]'


async def test_binary_event_with_ack(socketio_endpoint: Endpoint) -> None:
    async with socketio_session(socketio_endpoint) as ws:
        await ws.send(
            '452-789["message-with-ack",{"_placeholder":true,"num":0},'
            '{"_placeholder":true,"num":1}]'
        )
        await ws.send(bytes([1, 2, 3]))
        await ws.send(bytes([4, 5, 6]))
        assert await receive(ws) == (
            '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        assert await receive(ws) == bytes([1, 2, 3])
        assert await receive(ws) == bytes([4, 5, 6])


async def test_binary_event_over_polling(socketio_endpoint: Endpoint) -> None:
    async with http_client() as client:
        sid = await open_polling_session(client, socketio_endpoint)
        await push(client, socketio_endpoint, sid, "40")
        await poll_until(client, socketio_endpoint, sid, 2)
        payload = RECORD_SEPARATOR.join(['451-["message",{"_placeholder":true,"num":0}]', "bAQID"])
        assert (await push(client, socketio_endpoint, sid, payload)).status_code == 200
        assert await poll_until(client, socketio_endpoint, sid, 2) == [
            '451-["message-back",{"_placeholder":true,"num":0}]',
            "bAQID",
        ]


# --- malformed packets: the sender is closed, every other connection carries on ----------------


@pytest.mark.parametrize(
    "packets",
    [
        ["4abc"],
        ["42{}"],
        ['42"not an array"'],
        ["42[]"],
        ['42abc["message-with-ack",1,"2",{"3":[false]}]'],
        ['42["message",1'],
        ['40"not an object"'],
        ["4/custom"],
        ['451-["message",{"_placeholder":true,"num":5}]', b"\x01"],
        ['45x-["message",{"_placeholder":true,"num":0}]', b"\x01"],
        [b"\x01\x02"],
    ],
    ids=[
        "unknown-packet-type",
        "payload-not-an-array",
        "payload-a-string",
        "event-without-name",
        "bad-ack-id",
        "truncated-json",
        "connect-payload-not-an-object",
        "namespace-without-type",
        "placeholder-out-of-range",
        "bad-attachment-count",
        "attachment-without-packet",
    ],
)
async def test_malformed_packet_closes_only_its_connection(
    socketio_endpoint: Endpoint, packets: list[str | bytes]
) -> None:
    async with socketio_session(socketio_endpoint) as bystander:
        async with socketio_session(socketio_endpoint) as ws:
            for packet in packets:
                await ws.send(packet)
            await expect_closed(ws)
        await assert_socketio_echo(bystander)
