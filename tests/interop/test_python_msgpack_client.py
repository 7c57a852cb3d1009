"""The python-socketio client with ``serializer="msgpack"`` against the interop server in
msgpack mode, in each transport mode: acks both ways, binary both ways, namespaces, refusals,
rooms. python-socketio's msgpack packets are the maps of socket.io-msgpack-parser (it sends its
DISCONNECT with ``"data": nil`` where the Node parser wants no data key; expressio accepts it)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import socketio  # type: ignore[import-untyped]
from socketio.exceptions import (  # type: ignore[import-untyped]
    ConnectionError as SocketIOConnectionError,
)

from tests.interop.conftest import INTEROP_DIR, TARGET
from tests.interop.test_python_client import (
    MODES,
    WAIT,
    collect,
    connected,
    mode_parameter,
    next_item,
)
from tests.support import free_port, python_server, server_process

PARSER_ARGS = ("--parser", "msgpack")


@pytest.fixture(scope="module")
def interop_url() -> Iterator[str]:
    port = free_port()
    server: AbstractContextManager[subprocess.Popen[bytes]]
    if TARGET == "node":
        script = str(INTEROP_DIR / "node" / "reference_server.js")
        server = server_process(["node", script, "--port", str(port), *PARSER_ARGS], port)
    else:
        server = python_server(INTEROP_DIR / "interop_server.py", port, *PARSER_ARGS)
    with server:
        yield f"http://127.0.0.1:{port}"


def new_client() -> socketio.AsyncClient:
    return socketio.AsyncClient(
        serializer="msgpack",
        reconnection_delay=0.1,
        reconnection_delay_max=0.2,
        randomization_factor=0,
        handle_sigint=False,
    )


@mode_parameter
async def test_connects_on_the_expected_transport(interop_url: str, mode: str) -> None:
    async with connected(new_client(), interop_url, mode) as client:
        assert client.transport() == MODES[mode][1]
        assert client.get_sid("/")


@mode_parameter
async def test_call_gets_the_server_ack_with_nested_binary(interop_url: str, mode: str) -> None:
    payload = {"nested": {"buf": b"\x01\x02\x03"}, "list": [True, None, b"\x04\x05"]}
    async with connected(new_client(), interop_url, mode) as client:
        answer = await client.call("echo", ("text", 42, payload), timeout=WAIT)
    assert answer == ("text", 42, payload)


@mode_parameter
async def test_server_emit_gets_the_client_ack(interop_url: str, mode: str) -> None:
    client = new_client()

    async def answer_the_server(question: Any) -> dict[str, Any]:
        return {"got": question, "reply": b"\x07\x08\x09"}

    client.on("server-asks", answer_the_server)
    reports = collect(client, "server-got-ack")
    async with connected(client, interop_url, mode):
        await client.emit("ask-await", {"question": "await", "buf": b"\x05"})
        assert await next_item(reports) == {
            "got": {"question": "await", "buf": b"\x05"},
            "reply": b"\x07\x08\x09",
        }


@mode_parameter
async def test_binary_both_ways(interop_url: str, mode: str) -> None:
    client = new_client()
    echoes = collect(client, "echo-event-back")
    received = collect(client, "binary")
    payload = {"buf": b"\x09\x08\x07", "nested": [{"deeper": b"\x00\xff"}], "text": "mixed"}
    async with connected(client, interop_url, mode):
        await client.emit("echo-event", payload)
        assert await next_item(echoes) == payload
        await client.emit("send-binary")
        assert await next_item(received) == {
            "text": "server bytes",
            "buf": b"\x00\x01\x02\xff",
            "nested": [{"deep": b"\x10\x20"}],
        }


@mode_parameter
async def test_namespaces_and_a_middleware_refusal(interop_url: str, mode: str) -> None:
    async with connected(new_client(), interop_url, mode, namespaces=["/", "/admin"]) as client:
        assert await client.call("whoami", namespace="/admin", timeout=WAIT) == {
            "namespace": "/admin"
        }
        assert await client.call("echo", "main", timeout=WAIT) == "main"

    refused = new_client()
    errors = collect(refused, "connect_error", namespace="/private")
    with pytest.raises(SocketIOConnectionError):
        await refused.connect(
            interop_url,
            transports=MODES[mode][0],
            namespaces=["/private"],
            auth={"token": "wrong"},
            wait_timeout=WAIT,
        )
    assert (await next_item(errors))["message"] == "not authorized"


@mode_parameter
async def test_room_broadcast_skips_the_sender_and_outsiders(interop_url: str, mode: str) -> None:
    room = f"room-{mode}-{id(interop_url)}"
    clients = {name: new_client() for name in ("sender", "peer", "outsider")}
    messages = {name: collect(client, "room-message") for name, client in clients.items()}
    done = {name: collect(client, "room-done") for name, client in clients.items()}
    async with (
        connected(clients["sender"], interop_url, mode) as sender,
        connected(clients["peer"], interop_url, mode) as peer,
        connected(clients["outsider"], interop_url, mode),
    ):
        assert await sender.call("join", room, timeout=WAIT) == room
        assert await peer.call("join", room, timeout=WAIT) == room
        await sender.emit("to-room", (room, {"text": "to the room", "buf": b"\x03"}))
        for name in clients:
            assert await next_item(done[name]) == room
    seen = {
        name: [queue.get_nowait() for _ in range(queue.qsize())] for name, queue in messages.items()
    }
    assert seen == {
        "sender": [],
        "peer": [{"text": "to the room", "buf": b"\x03"}],
        "outsider": [],
    }
