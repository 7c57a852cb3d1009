"""Engine.IO sessions on the direct websocket transport, end to end with the `websockets`
client and raw sockets, under the configuration `app.listen()` uses."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from expressio.engine.direct import DirectWebSocketProtocol
from tests.direct.conftest import DirectUnderTest

WAIT = 5.0


async def open_session(server: DirectUnderTest, **connect_options: Any) -> tuple[Any, str]:
    ws = await connect(server.engine_url(), **connect_options)
    first = await asyncio.wait_for(ws.recv(), WAIT)
    assert isinstance(first, str) and first.startswith("0"), first
    handshake = orjson.loads(first[1:])
    return ws, handshake["sid"]


async def recv_message(ws: ClientConnection) -> str | bytes:
    """The next Engine.IO message, answering pings on the way."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), WAIT)
        if frame == "2":
            await ws.send("3")
            continue
        return frame


async def closed_code(ws: ClientConnection) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    received = closed.value.rcvd
    return None if received is None else received.code


# -- the path itself -------------------------------------------------------------------------


async def test_engine_websockets_take_the_direct_path(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    assert direct.direct_connections() == 1
    assert direct.connected == [sid]
    await ws.close()


async def test_handshake_packet_values(direct: DirectUnderTest) -> None:
    async with connect(direct.engine_url()) as ws:
        first = await asyncio.wait_for(ws.recv(), WAIT)
        assert isinstance(first, str)
        handshake = orjson.loads(first[1:])
        assert handshake["upgrades"] == []
        assert handshake["pingInterval"] == 300
        assert handshake["pingTimeout"] == 200
        assert handshake["maxPayload"] == 1_000_000


async def test_plain_asgi_websocket_route_still_works(direct: DirectUnderTest) -> None:
    async with connect(f"ws://127.0.0.1:{direct.port}/plain/echo") as plain:
        ws, _ = await open_session(direct)
        await plain.send("hello")
        assert await asyncio.wait_for(plain.recv(), WAIT) == "plain:hello"
        await plain.send(b"\x00\x01")
        assert await asyncio.wait_for(plain.recv(), WAIT) == b"plain:\x00\x01"
        kinds = direct.protocol_kinds()
        assert kinds.count("DirectWebSocketProtocol") == 1
        assert len(kinds) == 2, kinds  # the plain route's connection is uvicorn's own
        await ws.send("4still here")
        assert await recv_message(ws) == "4still here"
        await ws.close()


async def test_unrouted_websocket_is_refused_by_the_app(direct: DirectUnderTest) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{direct.port}/nowhere")
    assert refused.value.response.status_code == 403


# -- messages --------------------------------------------------------------------------------


async def test_text_and_binary_echo(direct: DirectUnderTest) -> None:
    ws, _ = await open_session(direct)
    await ws.send("4héllo ✓")
    assert await recv_message(ws) == "4héllo ✓"
    await ws.send(b"\x00\xffbinary")
    assert await recv_message(ws) == b"\x00\xffbinary"
    await ws.close()


async def test_many_messages_keep_their_order(direct: DirectUnderTest) -> None:
    ws, _ = await open_session(direct)
    for index in range(300):
        await ws.send(f"4m{index}")
    received = [await recv_message(ws) for _ in range(300)]
    assert received == [f"4m{index}" for index in range(300)]
    await ws.close()


@pytest.mark.parametrize("size", [125, 126, 65536, 300_000])
async def test_large_messages_both_ways(direct: DirectUnderTest, size: int) -> None:
    ws, _ = await open_session(direct, max_size=None)
    payload = os.urandom(size)
    await ws.send(payload)
    assert await recv_message(ws) == payload
    await ws.close()


async def test_fragmented_client_message_is_reassembled(direct: DirectUnderTest) -> None:
    ws, _ = await open_session(direct)
    await ws.send(["4frag", "mented ", "text"])  # an iterable: sent as fragments
    assert await recv_message(ws) == "4fragmented text"
    await ws.send([b"\x01\x02", b"\x03"])
    assert await recv_message(ws) == b"\x01\x02\x03"
    await ws.close()


async def test_websocket_ping_is_answered(direct: DirectUnderTest) -> None:
    ws, _ = await open_session(direct)
    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, WAIT)
    await ws.close()


# -- heartbeat -------------------------------------------------------------------------------


async def test_engine_pings_and_pongs_keep_the_session(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    pings = 0
    while pings < 4:  # four intervals: the session lives past several timeouts
        frame = await asyncio.wait_for(ws.recv(), WAIT)
        assert frame == "2"
        pings += 1
        await ws.send("3")
    assert sid not in direct.disconnected
    await ws.send("4alive")
    assert await recv_message(ws) == "4alive"
    await ws.close()


async def test_missing_pong_is_a_ping_timeout(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    assert await asyncio.wait_for(ws.recv(), WAIT) == "2"
    # no pong: the server closes the websocket
    assert await closed_code(ws) == 1000
    assert await direct.disconnect_reason(sid) == "ping timeout"


# -- closing ---------------------------------------------------------------------------------


async def test_client_close_handshake(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    await ws.close(code=1000, reason="bye")
    # the server answered the close frame with the same code
    assert ws.close_code == 1000
    assert ws.protocol.close_rcvd is not None
    assert ws.protocol.close_rcvd.code == 1000
    assert await direct.disconnect_reason(sid) == "transport close"


async def test_engine_close_packet(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    await ws.send("1")
    assert await closed_code(ws) == 1000
    assert await direct.disconnect_reason(sid) == "transport close"


async def test_client_vanishing_is_a_transport_close(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    ws.transport.abort()
    assert await direct.disconnect_reason(sid) == "transport close"


async def test_server_close_delivers_what_was_queued_first(direct: DirectUnderTest) -> None:
    ws, sid = await open_session(direct)
    await ws.send("4cmd:close")
    assert await recv_message(ws) == "4closing"
    assert await closed_code(ws) == 1000
    assert await direct.disconnect_reason(sid) == "forced close"


async def test_callback_exception_closes_only_that_session(direct: DirectUnderTest) -> None:
    victim, victim_sid = await open_session(direct)
    bystander, _ = await open_session(direct)
    await victim.send("4cmd:raise")
    await closed_code(victim)
    assert await direct.disconnect_reason(victim_sid) == "forced close"
    await bystander.send("4fine")
    assert await recv_message(bystander) == "4fine"
    await bystander.close()


async def test_undecodable_packet_closes_only_that_session(direct: DirectUnderTest) -> None:
    victim, victim_sid = await open_session(direct)
    bystander, _ = await open_session(direct)
    await victim.send("9 unknown packet type")
    await closed_code(victim)
    assert await direct.disconnect_reason(victim_sid) == "parse error"
    await bystander.send("4fine")
    assert await recv_message(bystander) == "4fine"
    await bystander.close()


async def test_message_over_max_payload_is_closed_1009(make_direct: Any) -> None:
    with make_direct(max_payload=1000) as server:
        victim, victim_sid = await open_session(server)
        bystander, _ = await open_session(server)
        await victim.send(b"x" * 1001)
        assert await closed_code(victim) == 1009
        assert await server.disconnect_reason(victim_sid) == "transport error"
        await bystander.send(b"y" * 1000)  # exactly the limit is fine
        assert await recv_message(bystander) == b"y" * 1000
        await bystander.close()


async def test_server_shutdown_closes_websockets_going_away(make_direct: Any) -> None:
    with make_direct() as server:
        ws, sid = await open_session(server)
        server.server.should_exit = True
        assert await closed_code(ws) == 1001
        assert await server.disconnect_reason(sid) == "server shutting down"


# -- raw sockets: what a well-behaved client library never sends -----------------------------

UPGRADE_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n"
    "{extra}\r\n"
)


def raw_upgrade(
    server: DirectUnderTest,
    path: str = "/engine.io/?EIO=4&transport=websocket",
    version: str = "13",
    extra: str = "",
    receive_buffer: int | None = None,
) -> tuple[socket.socket, bytes]:
    """Open a TCP connection, send an upgrade request, return the socket and the response
    head (everything up to the blank line; what follows stays unread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = UPGRADE_REQUEST.format(
        path=path, port=server.port, key=key, version=version, extra=extra
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One server frame: (opcode, payload)."""

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            assert chunk, "connection closed mid-frame"
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(8))[0]
    return first & 0x0F, exactly(length)


async def test_unmasked_client_frame_is_closed_1002(direct: DirectUnderTest) -> None:
    def scenario() -> bytes:
        sock, head = raw_upgrade(direct)
        with sock:
            assert head.startswith(b"HTTP/1.1 101 "), head
            assert read_frame(sock)[0] == 0x1  # the open packet
            sock.sendall(bytes([0x81, 0x02]) + b"4x")  # text frame without a mask
            while True:
                opcode, payload = read_frame(sock)
                if opcode == 0x8:
                    return payload

    payload = await asyncio.to_thread(scenario)
    assert int.from_bytes(payload[:2], "big") == 1002
    assert "transport error" in direct.disconnected.values()


async def test_wrong_websocket_version_gets_426(direct: DirectUnderTest) -> None:
    sock, head = await asyncio.to_thread(raw_upgrade, direct, version="8")
    sock.close()
    assert head.startswith(b"HTTP/1.1 426 "), head
    assert b"sec-websocket-version: 13" in head.lower()


async def test_bad_origin_is_refused_with_403_before_upgrading(direct: DirectUnderTest) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(direct.engine_url(), origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert (refused.value.response.body or b"").startswith(b"Forbidden: this origin may not")
    assert direct.connected == []


async def test_same_origin_is_accepted(direct: DirectUnderTest) -> None:
    origin = f"http://127.0.0.1:{direct.port}"
    async with connect(direct.engine_url(), origin=origin) as ws:  # type: ignore[arg-type]
        assert str(await asyncio.wait_for(ws.recv(), WAIT)).startswith("0")


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ({"sid": "no-such-session"}, {"code": 1, "message": "Session ID unknown"}),
        ({"EIO": "3"}, {"code": 5, "message": "Unsupported protocol version"}),
        ({"transport": "polling"}, {"code": 0, "message": "Transport unknown"}),
    ],
)
async def test_bad_query_is_refused_with_400(
    direct: DirectUnderTest, query: dict[str, str], body: dict[str, Any]
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(direct.engine_url(**query))
    assert refused.value.response.status_code == 400
    assert orjson.loads(refused.value.response.body or b"") == body


# -- the upgrade from polling ----------------------------------------------------------------


async def test_upgrade_from_polling(direct: DirectUnderTest) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(direct.polling_url())
        handshake = orjson.loads(opened.text[1:])
        sid = handshake["sid"]
        assert handshake["upgrades"] == ["websocket"]
        pending_get = asyncio.ensure_future(http.get(direct.polling_url(sid)))
        await asyncio.sleep(0.05)
        ws = await connect(direct.engine_url(sid))
        await ws.send("2probe")
        assert await asyncio.wait_for(ws.recv(), WAIT) == "3probe"
        # the pending GET ends with a noop so that the client can pause polling
        assert (await asyncio.wait_for(pending_get, WAIT)).text == "6"
        await ws.send("5")
        await ws.send("4over the websocket")
        assert await recv_message(ws) == "4over the websocket"
        assert direct.direct_connections() == 1
        # polling is over for this session
        assert (await http.get(direct.polling_url(sid))).status_code == 400
        # a second websocket for the upgraded session is accepted and closed at once
        async with connect(direct.engine_url(sid)) as second:
            assert await closed_code(second) == 1008
        await ws.send("4still upgraded")
        assert await recv_message(ws) == "4still upgraded"
        await ws.close()
        assert await direct.disconnect_reason(sid) == "transport close"


async def test_failed_probe_leaves_the_session_on_polling(direct: DirectUnderTest) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(direct.polling_url())
        sid = orjson.loads(opened.text[1:])["sid"]
        ws = await connect(direct.engine_url(sid))
        await ws.send("4not a probe")
        assert await closed_code(ws) == 1008
        posted = await http.post(direct.polling_url(sid), content="4via polling")
        assert posted.status_code == 200
        assert (await http.get(direct.polling_url(sid))).text == "4via polling"
        assert sid not in direct.disconnected


async def test_probe_websocket_going_away_leaves_the_session(direct: DirectUnderTest) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(direct.polling_url())
        sid = orjson.loads(opened.text[1:])["sid"]
        ws = await connect(direct.engine_url(sid))
        await ws.send("2probe")
        assert await asyncio.wait_for(ws.recv(), WAIT) == "3probe"
        await ws.close()
        await asyncio.sleep(0.05)
        # a new probe is possible: the first one was abandoned
        async with connect(direct.engine_url(sid)) as again:
            await again.send("2probe")
            assert await asyncio.wait_for(again.recv(), WAIT) == "3probe"
            await again.send("5")
            await again.send("4upgraded at last")
            assert await recv_message(again) == "4upgraded at last"


async def test_server_close_during_the_upgrade_is_delivered_on_the_websocket(
    make_direct: Any,
) -> None:
    # Long heartbeats: no ping may slip between the frames this test expects.
    with make_direct(ping_interval=5, ping_timeout=5) as direct:
        await close_during_the_upgrade(direct)


async def close_during_the_upgrade(direct: DirectUnderTest) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(direct.polling_url())
        sid = orjson.loads(opened.text[1:])["sid"]
        pending_get = asyncio.ensure_future(http.get(direct.polling_url(sid)))
        await asyncio.sleep(0.05)
        ws = await connect(direct.engine_url(sid))
        await ws.send("2probe")
        assert await asyncio.wait_for(ws.recv(), WAIT) == "3probe"
        # The client pauses polling: its pending GET ends with a noop.
        assert (await asyncio.wait_for(pending_get, WAIT)).text == "6"
        posted = await http.post(direct.polling_url(sid), content="4cmd:close")
        assert posted.status_code == 200
        await ws.send("5")
        assert await asyncio.wait_for(ws.recv(), WAIT) == "4closing"
        assert await closed_code(ws) == 1000
        assert await direct.disconnect_reason(sid) == "forced close"


# -- slow clients ----------------------------------------------------------------------------


async def test_client_that_stops_reading_is_cut_off_alone(make_direct: Any) -> None:
    with make_direct(max_send_buffer=32, ping_interval=30, ping_timeout=30) as server:
        sock, head = await asyncio.to_thread(raw_upgrade, server, receive_buffer=4096)
        assert head.startswith(b"HTTP/1.1 101 "), head
        bystander, _ = await open_session(server)
        await asyncio.sleep(0.05)
        slow_sid = server.connected[0]  # the raw socket opened first
        # the open packet is left unread; so is everything the stream sends
        command = b"4cmd:stream:65536"
        # a zero mask leaves the payload as it is
        sock.sendall(bytes([0x81, 0x80 | len(command)]) + bytes(4) + command)
        reason = await server.disconnect_reason(slow_sid, timeout=30)
        assert reason == "transport error"
        # the connection is dropped, not left to drain
        await asyncio.sleep(0.1)
        assert server.direct_connections() == 1
        sock.close()
        await bystander.send("4unaffected")
        assert await recv_message(bystander) == "4unaffected"
        await bystander.close()


def masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (FIN set) with a zero mask, which leaves the payload as it is."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + bytes(4) + payload


def ping_payload(index: int) -> bytes:
    return f"{index:08d}".encode().ljust(125, b"p")  # the largest control frame


def direct_protocol(server: DirectUnderTest) -> Any:
    protocols = server.call(
        lambda: [
            connection
            for connection in server.server.server_state.connections
            if isinstance(connection, DirectWebSocketProtocol)
        ]
    )
    assert len(protocols) == 1, protocols
    return protocols[0]


async def stall_with_pings(server: DirectUnderTest, sock: socket.socket) -> int:
    """Send websocket pings, never reading their pongs, until the server pauses writing to
    this client; returns how many were sent."""
    protocol = direct_protocol(server)
    sent = 0
    for _ in range(100):  # at most 100 * 5000 pings (63 MB of pongs): bounded
        burst = b"".join(masked(0x9, ping_payload(sent + i)) for i in range(5000))
        await asyncio.to_thread(sock.sendall, burst)
        sent += 5000
        # Processed in order: once the server echoes a message sent after the pings, it has
        # answered them all (the echo itself then waits in the outbox or the buffers).
        marker = f"sent {sent}"
        await asyncio.to_thread(sock.sendall, masked(0x1, b"4" + marker.encode()))
        await wait_for_message(server, marker)
        if server.call(lambda: protocol._paused):
            return sent
    raise AssertionError("the server never paused writing")


async def wait_for_message(server: DirectUnderTest, data: str) -> None:
    for _ in range(500):
        if any(received == data for _, received in server.messages):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server never received {data!r}")


async def test_pongs_to_a_client_that_stops_reading_stay_bounded(make_direct: Any) -> None:
    with make_direct(ping_interval=30, ping_timeout=30) as server:
        sock, head = await asyncio.to_thread(raw_upgrade, server, receive_buffer=4096)
        sock.settimeout(30)
        with sock:
            assert head.startswith(b"HTTP/1.1 101 "), head
            sid = server.connected[0]
            sent = await stall_with_pings(server, sock)
            # 5000 more pings while paused: 635 kB of pongs if each were written
            await asyncio.to_thread(
                sock.sendall, b"".join(masked(0x9, ping_payload(sent + i)) for i in range(5000))
            )
            await asyncio.to_thread(sock.sendall, masked(0x1, b"4last"))
            await wait_for_message(server, "last")
            protocol = direct_protocol(server)
            buffered = server.call(lambda: protocol._transport.get_write_buffer_size())
            assert buffered < 256 * 1024
            assert sid not in server.disconnected

            # Reading again: the pong of the latest ping comes before what was queued after it.
            def read_until_last() -> tuple[int, bytes]:
                pongs = 0
                previous = b""
                while True:
                    opcode, payload = read_frame(sock)
                    if opcode == 0xA:
                        pongs += 1
                        previous = payload
                    elif payload == b"4last":
                        return pongs, previous

            pongs, before_last = await asyncio.to_thread(read_until_last)
            assert before_last == ping_payload(sent + 4999)
            assert pongs < sent + 5000


async def test_engine_pings_from_a_client_that_stops_reading_meet_the_send_bound(
    make_direct: Any,
) -> None:
    with make_direct(max_send_buffer=32, ping_interval=30, ping_timeout=30) as server:
        sock, head = await asyncio.to_thread(raw_upgrade, server, receive_buffer=4096)
        sock.settimeout(30)
        with sock:
            assert head.startswith(b"HTTP/1.1 101 "), head
            sid = server.connected[0]
            await stall_with_pings(server, sock)
            await asyncio.to_thread(sock.sendall, masked(0x1, b"2") * 100)
            assert await server.disconnect_reason(sid) == "transport error"


# -- TLS -------------------------------------------------------------------------------------


async def test_secure_websocket_on_the_direct_path(make_direct: Any, tmp_path: Any) -> None:
    import ssl

    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    certificate.private_key_pem.write_to_path(key_file)
    certificate.cert_chain_pems[0].write_to_path(cert_file)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with make_direct(tls={"key": key_file, "cert": cert_file}) as server:
        url = server.engine_url().replace("ws://", "wss://")
        async with connect(url, ssl=client_context) as ws:
            assert str(await asyncio.wait_for(ws.recv(), WAIT)).startswith("0")
            assert server.direct_connections() == 1
            requests = server.call(lambda: [s.request for s in server.engine.sockets.values()])
            assert [request.secure for request in requests] == [True]
            payload = os.urandom(200_000)
            await ws.send(payload)
            assert await recv_message(ws) == payload
            await ws.send("4over tls")
            assert await recv_message(ws) == "4over tls"
        sid = server.connected[0]
        assert await server.disconnect_reason(sid) == "transport close"
        assert server.engine.sockets == {}
