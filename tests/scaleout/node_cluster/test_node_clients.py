"""The mixed Node + expressio cluster seen by the official Node ``socket.io-client``: its clients
on the Node process and on both expressio processes at once (one Node process holds a test's
clients), every feature in both directions.

The cluster starts once for the module (``conftest.py``); each test uses rooms and events of its
own. "Nothing else arrived" is proved with a fence: a broadcast to everyone sent after the ones
under test by the same client, which its process, Redis and each receiving process keep in order.
"""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Mixed
from .node_clients import NodeClient, NodeClientError, NodeClients

SENDERS = pytest.mark.parametrize("sender", [0, 1], ids=["from-node", "from-python"])
LANGUAGES = ["node", "python", "python"]  # of mixed.servers


async def one_on_each(
    mixed: Mixed, node_clients: NodeClients, transports: tuple[str, ...] = ("websocket",),
    upgrade: bool = False,
) -> list[NodeClient]:  # fmt: skip
    """One client on each process: [node's, python 1's, python 2's]."""
    return list(
        await asyncio.gather(
            *(node_clients.connect(server.url, transports, upgrade) for server in mixed.servers)
        )
    )


async def fence(sender: NodeClient, receivers: list[NodeClient], name: str) -> None:
    assert await sender.call("broadcast", {"event": name}) is True
    for client in receivers:
        await client.wait_for(name)


async def join(room: str, *members: NodeClient) -> None:
    for client in members:
        assert await client.call("join", room) is True


# -- broadcasts ----------------------------------------------------------------------------------


@SENDERS
async def test_a_room_broadcast_from_a_route_reaches_every_process_in_order_once(
    mixed: Mixed, node_clients: NodeClients, sender: int
) -> None:
    """``socket.to(r).emit`` on Node, ``req.io.room(r).broadcast`` on expressio: every member
    on every process gets each message once and in the order sent; the sender none."""
    room = f"order-{sender}"
    members = await one_on_each(mixed, node_clients)
    outsiders = await one_on_each(mixed, node_clients)
    origin = await node_clients.connect(mixed.servers[sender].url)
    await join(room, *members, origin)

    # sent back to back, not one ack at a time: the order is the socket's, not the test's
    count = 8
    acks = await asyncio.gather(
        *(
            origin.call("room-broadcast", {"room": room, "event": "seq", "args": [{"n": n}]})
            for n in range(count)
        )
    )
    assert acks == [True] * count
    everybody = [*members, *outsiders, origin]
    await fence(origin, everybody, f"fence-order-{sender}")

    for client in members:
        assert client.events("seq") == [({"n": n},) for n in range(count)], client.url
    for client in [*outsiders, origin]:
        assert client.events("seq") == [], client.url
    assert all(client.disconnect_reason is None for client in everybody)


@SENDERS
async def test_binary_crosses_both_ways(
    mixed: Mixed, node_clients: NodeClients, sender: int
) -> None:
    """Buffers a Node client sends (nested, empty, several) reach the Node clients of every
    process as Buffers, and come back in an ack."""
    payload = {
        "bin": b"\x00\xff\x10",
        "nested": [b"\x01", {"deep": b"\xfe" * 1000}, "text"],
        "empty": b"",
        "n": 1,
    }
    receivers = await one_on_each(mixed, node_clients)
    origin = receivers[sender]
    event = f"binary-{sender}"
    assert await origin.call("broadcast", {"event": event, "args": [payload]}) is True
    await fence(origin, receivers, f"fence-binary-{sender}")
    for client in receivers:
        assert client.events(event) == [(payload,)], client.url

    # and a room broadcast made by the route, reaching the other language's process
    room = f"binary-room-{sender}"
    await join(room, *receivers)
    other = receivers[1 - sender]
    assert await origin.call(
        "room-broadcast", {"room": room, "event": f"{event}-room", "args": [b"\x80\x81"]}
    ) is True  # fmt: skip
    await other.wait_for(f"{event}-room")
    assert other.events(f"{event}-room") == [(b"\x80\x81",)]

    for client in receivers:  # the server's ack carries binary to the client
        assert await client.call("echo", payload) == payload, client.url


async def test_a_fresh_def_route_keeps_a_client_s_events_in_order(
    mixed: Mixed, node_clients: NodeClients
) -> None:
    room = "fresh-route-order"
    member = await node_clients.connect(mixed.node.url)
    origin = await node_clients.connect(mixed.python[0].url)
    await join(room, member, origin)
    # "room-broadcast-late" is called by this test only: "first" is its first call on the
    # process, and broadcasts once "second" has begun, if that begins while "first" runs
    spec = {"room": room, "event": "step"}
    acks = await asyncio.gather(
        origin.call("room-broadcast-late", {**spec, "args": ["first"], "late": True}),
        origin.call("room-broadcast-late", {**spec, "args": ["second"]}),
    )
    assert acks == [True, True]
    await fence(origin, [member], "fence-fresh-route")
    assert member.events("step") == [("first",), ("second",)]


# -- acknowledgements ------------------------------------------------------------------------------


@pytest.mark.parametrize("process", [0, 1], ids=["node", "python"])
async def test_emit_with_ack_is_answered_by_a_route(
    mixed: Mixed, node_clients: NodeClients, process: int
) -> None:
    client = await node_clients.connect(mixed.servers[process].url)
    who = await client.call("whoami")
    assert who["lang"] == LANGUAGES[process] and who["sid"] == client.sid
    value = {"list": [1, "two", None, 3.5, True], "bin": b"\x07", "text": "é✓"}
    assert await client.call("echo", value) == value
    assert await client.call("echo", None) is None

    # an event no route takes is not acked (as socket.io does): the client's timeout applies,
    # and the connection carries on
    with pytest.raises(NodeClientError, match="operation has timed out"):
        await client.call("no-such-route", {"x": 1}, timeout=0.3)
    assert await client.call("echo", "still here") == "still here"
    assert client.disconnect_reason is None


@SENDERS
async def test_a_broadcast_with_acks_collects_node_clients_answers_from_every_process(
    mixed: Mixed, node_clients: NodeClients, sender: int
) -> None:
    room = f"quiz-{sender}"
    answering = await one_on_each(mixed, node_clients)
    for index, client in enumerate(answering):
        await client.answer("question", index)
    # silent: gets the question, never answers; on the other language's process
    silent = await node_clients.connect(mixed.servers[1 - sender].url)
    await join(room, *answering, silent)
    asker = await node_clients.connect(mixed.servers[sender].url)

    result = await asker.call(
        "ask", {"event": "question", "args": ["?", b"\x01"], "to": room, "timeout": 1500}
    )
    # Node's io.timeout(t).emitWithAck rejects with the answers it got; expressio's
    # broadcast_with_ack resolves with them (the missing one is logged)
    assert result.get("error") == ("operation has timed out" if sender == 0 else None), result
    answers = sorted(result["answers"], key=lambda answer: answer["label"])
    # expressio's test route broadcasts the first argument only
    expected_got = ["?", b"\x01"] if sender == 0 else ["?"]
    assert answers == [{"label": index, "got": expected_got} for index in range(3)]
    await silent.wait_for("question")
    assert len(silent.events("question")) == 1
    assert asker.events("question") == []


# -- room-level disconnect -----------------------------------------------------------------------


@SENDERS
async def test_a_room_disconnect_from_one_side_ends_node_clients_on_the_other(
    mixed: Mixed, node_clients: NodeClients, sender: int
) -> None:
    room = f"leaving-{sender}"
    members = await one_on_each(mixed, node_clients)
    bystanders = await one_on_each(mixed, node_clients)
    await join(room, *members)
    origin = bystanders[sender]

    assert await origin.call("sockets-disconnect", {"to": room}) is True
    for client in members:  # the other language's processes and its own
        assert await client.wait_disconnected() == "io server disconnect", client.url
    for client in bystanders:
        assert await client.call("echo", 1) == 1
        assert client.disconnect_reason is None


# -- transports ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "transports",
    [("websocket",), ("polling",), ("polling", "websocket")],
    ids=["websocket", "polling", "upgrade"],
)
async def test_node_clients_over_each_transport(
    mixed: Mixed, node_clients: NodeClients, transports: tuple[str, ...]
) -> None:
    clients = await one_on_each(mixed, node_clients, transports, upgrade=True)
    expected = "polling" if transports == ("polling",) else "websocket"
    assert [client.transport for client in clients] == [expected] * 3
    for index, client in enumerate(clients):
        assert (await client.call("whoami"))["lang"] == LANGUAGES[index]

    name = "-".join(transports)
    for index, client in enumerate(clients):
        hello = {"from": index, "bin": bytes([index, 0xFF])}
        assert await client.call("broadcast", {"event": f"{name}-hello", "args": [hello]}) is True
        await fence(client, clients, f"{name}-fence-{index}")
    expected_hellos = [({"from": index, "bin": bytes([index, 0xFF])},) for index in range(3)]
    for client in clients:  # from every process, once each, binary over this transport
        assert client.events(f"{name}-hello") == expected_hellos, client.url
