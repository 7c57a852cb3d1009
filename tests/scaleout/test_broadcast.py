"""Broadcasts across three server processes sharing one Redis: to everyone, to a room, with the
sender excluded, per namespace; each client receives each broadcast exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Client, ServerProcess

Connect = Callable[..., Any]


async def spread(trio: list[ServerProcess], clients: Connect) -> list[Client]:
    """Clients a1, a2 on the first process, b on the second, c on the third."""
    urls = [server.url for server in trio]
    return [await clients(url, ("/", "/chat")) for url in (urls[0], urls[0], urls[1], urls[2])]


async def fence(sender: Client, everyone: list[Client], name: str = "fence") -> None:
    """A broadcast to all from the same process as the one under test: once every client has
    it, anything sent before it has arrived too."""
    assert await sender.call("broadcast", {"event": name, "args": []})
    for client in everyone:
        await client.wait_for(name)


async def test_broadcast_to_all_reaches_every_process_once(
    trio: list[ServerProcess], clients: Connect
) -> None:
    everyone = await spread(trio, clients)
    b = everyone[2]
    payload = {"text": "hello", "n": [1, 2, 3]}
    assert await b.call("broadcast", {"event": "news", "args": [payload, "second"]})
    await fence(b, everyone)
    for client in everyone:
        assert client.events("news") == [(payload, "second")]
    pids = {(await client.call("whoami"))["pid"] for client in everyone}
    assert len(pids) == 3


async def test_broadcast_to_a_room_and_with_the_sender_excluded(
    trio: list[ServerProcess], clients: Connect
) -> None:
    everyone = await spread(trio, clients)
    a1, a2, b, c = everyone
    assert await a2.call("join", "red")
    assert await c.call("join", "red")
    # b is not in the room: a broadcast to it does not need the sender inside
    assert await b.call("broadcast", {"event": "to-red", "args": [1], "to": "red"})
    # excluding the sender: everyone else, on every process, gets it
    assert await a1.call("broadcast", {"event": "not-me", "args": [2], "skip_self": True})
    # a room broadcast excluding the sender, the sender being in the room
    assert await c.call(
        "broadcast", {"event": "red-not-me", "args": [3], "to": "red", "skip_self": True}
    )
    for sender in (a1, b, c):
        await fence(sender, everyone, f"fence-{sender.sid()}")
    assert [len(client.events("to-red")) for client in everyone] == [0, 1, 0, 1]
    assert [len(client.events("not-me")) for client in everyone] == [0, 1, 1, 1]
    assert [len(client.events("red-not-me")) for client in everyone] == [0, 1, 0, 0]

    assert await c.call("leave", "red")
    assert await a1.call("broadcast", {"event": "red-again", "args": [], "to": "red"})
    await fence(a1, everyone, "fence-after-leave")
    assert [len(client.events("red-again")) for client in everyone] == [0, 1, 0, 0]


async def test_binary_broadcast_crosses_processes(
    trio: list[ServerProcess], clients: Connect
) -> None:
    everyone = await spread(trio, clients)
    a1 = everyone[0]
    blob = bytes(range(256))
    # the server broadcasts bytes it got from the client: BINARY_EVENT with one attachment
    assert await a1.call("broadcast", {"event": "binary", "args": [{"data": blob}, blob[:3]]})
    await fence(a1, everyone, "fence-binary")
    for client in everyone:
        assert client.events("binary") == [({"data": blob}, blob[:3])]


async def test_namespaces_are_separate_across_processes(
    trio: list[ServerProcess], clients: Connect
) -> None:
    everyone = await spread(trio, clients)
    a1, c = everyone[0], everyone[3]
    assert await c.call("join", "blue", namespace="/chat")
    assert await a1.call("broadcast", {"event": "chat-all", "args": ["x"]}, namespace="/chat")
    assert await a1.call(
        "broadcast", {"event": "chat-blue", "args": ["y"], "to": "blue"}, namespace="/chat"
    )
    assert await a1.call("broadcast", {"event": "chat-fence", "args": []}, namespace="/chat")
    await fence(a1, everyone)
    for client in everyone:
        await client.wait_for("chat-fence", namespace="/chat")
        assert client.events("chat-all", "/chat") == [("x",)]
        assert client.events("chat-all", "/") == []
    assert [len(client.events("chat-blue", "/chat")) for client in everyone] == [0, 0, 0, 1]
