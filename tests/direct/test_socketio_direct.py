"""The python-socketio client on the realtime server of an app served as app.listen() serves
it: the websocket is carried by the direct transport, in both websocket modes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio  # type: ignore[import-untyped]

from tests.direct.conftest import DirectUnderTest

WAIT = 5.0
MODES = {"websocket-only": ["websocket"], "polling-then-upgrade": ["polling", "websocket"]}


async def connected_client(server: DirectUnderTest, mode: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await client.connect(server.http_url, transports=MODES[mode], wait_timeout=WAIT)
    # the upgrade finishes in the background: wait until the client is on the websocket
    for _ in range(200):
        if client.transport() == "websocket":
            break
        await asyncio.sleep(0.01)
    return client


@pytest.mark.parametrize("mode", list(MODES))
async def test_acks_both_ways_and_binary_on_the_direct_path(
    direct: DirectUnderTest, mode: str
) -> None:
    client = await connected_client(direct, mode)
    try:
        assert client.transport() == "websocket"
        assert direct.direct_connections() == 1
        payload = {"text": "héllo", "buf": b"\x00\x01\xff", "nested": [{"deep": b"\x02"}]}
        # a tuple carries several arguments
        answer = await client.call("echo", (payload, "second"), timeout=WAIT)
        assert answer == (payload, "second")

        answers: asyncio.Queue[Any] = asyncio.Queue()
        client.on("question", lambda *args: ["yes", *args])
        client.on("answer", answers.put_nowait)
        await client.emit("ask", b"\x07")
        assert await asyncio.wait_for(answers.get(), WAIT) == ["yes", b"\x07"]

        received: asyncio.Queue[Any] = asyncio.Queue()
        client.on("binary", received.put_nowait)
        await client.emit("binary")
        assert await asyncio.wait_for(received.get(), WAIT) == {
            "buf": bytes([0, 1, 2, 255]),
            "nested": [{"deep": b"\x10"}],
        }
    finally:
        await client.disconnect()


async def test_many_clients_broadcast(direct: DirectUnderTest) -> None:
    clients = [await connected_client(direct, "websocket-only") for _ in range(5)]
    queues: list[asyncio.Queue[Any]] = []
    for client in clients:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        client.on("news", queue.put_nowait)
        queues.append(queue)
    try:
        assert direct.direct_connections() == 5
        namespace = direct.realtime.of("/")
        for index in range(20):
            direct.call(lambda index=index: namespace.emit("news", index))
        for queue in queues:
            got = [await asyncio.wait_for(queue.get(), WAIT) for _ in range(20)]
            assert got == list(range(20))
    finally:
        for client in clients:
            await client.disconnect()


async def test_express_app_io_routes_on_the_direct_path() -> None:
    import expressio
    from expressio.http.serving import build_config
    from tests.direct.conftest import running
    from tests.support import free_port

    app = expressio.express()
    app.http().io()

    @app.io.route("ready")
    def ready(req: Any) -> None:
        req.io.respond({"got": req.data})

    port = free_port()
    config = build_config(app, port=port, log_level="warning", timeout_graceful_shutdown=3)
    with running(config) as (server, _):
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"])
        try:
            assert await client.call("ready", {"n": 1}, timeout=WAIT) == {"got": {"n": 1}}
            kinds = [type(c).__name__ for c in list(server.server_state.connections)]
            assert kinds == ["DirectWebSocketProtocol"]
        finally:
            await client.disconnect()


@pytest.mark.parametrize("mode", list(MODES))
async def test_server_disconnect_with_close_is_a_server_disconnect_for_the_client(
    direct: DirectUnderTest, mode: str
) -> None:
    client = await connected_client(direct, mode)
    reasons: asyncio.Queue[Any] = asyncio.Queue()
    client.on("disconnect", lambda *reason: reasons.put_nowait(reason))
    await client.emit("bye")
    # the DISCONNECT packet arrived before the close; a transport close would read
    # "transport close" (and a reconnecting client would come back)
    assert await asyncio.wait_for(reasons.get(), WAIT) == (client.reason.SERVER_DISCONNECT,)
