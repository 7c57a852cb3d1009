"""The Emitter: a plain script with no event loop broadcasts to clients on every process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from expressio import Emitter
from expressio.io.request_io import RESERVED_EVENTS
from tests.redis_support import RedisServer
from tests.support import ROOT

from .conftest import WAIT, Client, ServerProcess

Connect = Callable[..., Any]

SCRIPT = textwrap.dedent(
    """
    import sys
    from expressio import Emitter

    with Emitter(sys.argv[1]) as emitter:
        print(emitter.broadcast("from-script", {"x": 1}, [2, 3]))
        print(emitter.room("yellow").broadcast("to-yellow", b"\\x00\\x01\\xff"))
        print(emitter.room("yellow").room("purple").broadcast("to-yellow-or-purple"))
        print(emitter.of("/chat").broadcast("chat-news", "hi"))
        print(emitter.of("/nobody-serves-this").broadcast("lost"))
    """
)


async def fence(sender: Client, receivers: list[Client], name: str) -> None:
    assert await sender.call("broadcast", {"event": name, "args": []})
    for client in receivers:
        await client.wait_for(name)


async def test_emitter_from_a_plain_script_reaches_every_process(
    trio: list[ServerProcess], shared_redis: RedisServer, clients: Connect
) -> None:
    everyone = [await clients(server.url, ("/", "/chat")) for server in trio]
    extra = await clients(trio[0].url, ("/", "/chat"))
    assert await everyone[1].call("join", "yellow")
    assert await extra.call("join", "purple")
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, shared_redis.url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=WAIT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # how many server processes heard each call: 3 everywhere, none for an unserved namespace
    assert completed.stdout.split() == ["3", "3", "3", "3", "0"]
    receivers = [*everyone, extra]
    await fence(everyone[2], receivers, "fence")
    for client in receivers:
        assert client.events("from-script") == [({"x": 1}, [2, 3])]
        await client.wait_for("chat-news", namespace="/chat")
        assert client.events("chat-news", "/chat") == [("hi",)]
    assert [client.events("to-yellow") for client in receivers] == [
        [], [(b"\x00\x01\xff",)], [], [],
    ]  # fmt: skip
    assert [len(client.events("to-yellow-or-purple")) for client in receivers] == [0, 1, 0, 1]


def test_emitter_refuses_reserved_events_and_bad_channels(shared_redis: RedisServer) -> None:
    with Emitter(shared_redis.url) as emitter, pytest.raises(ValueError, match="reserved"):
        emitter.broadcast("disconnect")
    with pytest.raises(ValueError, match="#"):
        Emitter(shared_redis.url, channel="a#b")


def test_emitter_refuses_every_name_the_app_refuses(shared_redis: RedisServer) -> None:
    # the express.io list: the seed's reserved names and socket.io 4's, as app.io.broadcast
    with Emitter(shared_redis.url) as emitter:
        for event in sorted(RESERVED_EVENTS):
            with pytest.raises(ValueError, match="reserved"):
                emitter.room("lobby").broadcast(event, "x")
        with pytest.raises(TypeError):
            emitter.broadcast(42)  # type: ignore[arg-type]
    assert {"message", "error", "reconnect", "connecting"} <= RESERVED_EVENTS


def test_emitter_reports_an_unreachable_redis() -> None:
    import redis

    from tests.support import free_port

    with (
        Emitter(f"redis://127.0.0.1:{free_port()}/0") as emitter,
        pytest.raises(redis.exceptions.ConnectionError),
    ):
        emitter.broadcast("news", 1)
