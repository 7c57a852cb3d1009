"""``fetch_sockets`` and broadcasts with acks across a streams cluster of two expressio processes
and a Node socket.io process (``@socket.io/redis-streams-adapter``): the sockets of every
process, views of the others' sockets that act through the adapter, and a broadcast with acks
that completes as soon as every process's clients answered.

The processes start once for the module; each test uses rooms of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.redis_support import RedisServer
from tests.scaleout.conftest import WAIT, Client, Cluster, ServerProcess
from tests.scaleout.streams.conftest import start_expressio, start_node, warm_up

pytestmark = pytest.mark.timeout(120)

Connect = Callable[..., Any]
PROCESSES = 3  # [expressio, expressio, node]
NAMES = ("python-a", "python-b", "node")


@pytest.fixture(scope="module")
def trio(
    shared_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    group = Cluster(tmp_path_factory.mktemp("streams-trio"))
    url = shared_redis.url
    try:
        yield [start_expressio(group, url), start_expressio(group, url), start_node(group, url)]
    finally:
        group.close()
        group.dump_logs()


async def one_on_each(trio: list[ServerProcess], clients: Connect, **options: Any) -> list[Client]:
    """A client on each process, once every process reads the stream and hears requests."""
    group = [await clients(server.url, **options) for server in trio]
    await warm_up(group)
    for client in group:
        deadline = asyncio.get_running_loop().time() + WAIT
        while await client.call("server-count") < PROCESSES:
            assert asyncio.get_running_loop().time() < deadline, "a process never subscribed"
            await asyncio.sleep(0.05)
    return group


async def fetched_ids(client: Client, spec: dict[str, Any], expected: set[str]) -> set[str]:
    """The ids ``client``'s process fetches for ``spec``, once they are ``expected``: a room
    operation reaches each process when its reader reads it from the stream, so wait for it
    (and give what was found after WAIT)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = {item["id"] for item in await client.call("fetch", spec)}
        if found == expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("asker", [0, 2], ids=["from-expressio", "from-node"])
async def test_fetch_sockets_returns_every_process_s_clients(
    trio: list[ServerProcess], clients: Connect, asker: int
) -> None:
    room = f"fetch-{asker}"
    group = []
    for index, server in enumerate(trio):
        client = await clients(server.url, auth={"token": f"t{index}"})
        assert await client.call("set-data", {"index": index, "blob": [1, "two"]}) is True
        assert await client.call("join", room) is True
        group.append(client)
    await one_on_each(trio, clients)  # every process is reading and subscribed

    found = await group[asker].call("fetch", {"to": room})
    by_id = {item["id"]: item for item in found}
    assert set(by_id) == {client.sid() for client in group}
    for index, client in enumerate(group):
        item = by_id[client.sid()]
        assert item["remote"] == (index != asker), (NAMES[index], item)
        assert item["data"] == {"index": index, "blob": [1, "two"]}
        assert item["auth"] == {"token": f"t{index}"}
        assert item["rooms"] == sorted([client.sid(), room])

    left_out = group[1].sid()
    excluded = await group[asker].call("fetch", {"to": room, "except": left_out})
    assert {item["id"] for item in excluded} == {group[0].sid(), group[2].sid()}
    assert await group[asker].call("fetch", {"to": f"{room}-nobody"}) == []


PAIRS = [
    (0, 1),
    (0, 2),
    (2, 0),
]  # (asker, owner): expressio→expressio, expressio→Node, Node→expressio


@pytest.mark.parametrize("asker,owner", PAIRS, ids=["py-to-py", "py-to-node", "node-to-py"])
async def test_fetched_views_of_another_process_act_through_the_adapter(
    trio: list[ServerProcess], clients: Connect, asker: int, owner: int
) -> None:
    group = await one_on_each(trio, clients)
    witness_index = ({0, 1, 2} - {asker, owner}).pop()
    asking, target, witness = group[asker], group[owner], group[witness_index]
    tag = f"act-{asker}-{owner}"
    spec = {"only": target.sid()}

    assert await asking.call(
        "fetch-act", {**spec, "action": "emit", "arg": {"event": "direct", "args": [{"n": 1}]}}
    )
    await target.wait_for("direct")
    assert target.events("direct") == [({"n": 1},)]

    assert await asking.call("fetch-act", {**spec, "action": "join", "arg": tag})
    joined = {target.sid()}
    # the membership is real on the owner's process: a third process finds it, and reaches it
    assert await fetched_ids(witness, {"to": tag}, joined) == joined
    assert await witness.call("broadcast", {"event": "in-room", "to": tag}) is True
    await target.wait_for("in-room")

    assert await asking.call("fetch-act", {**spec, "action": "leave", "arg": tag})
    assert await fetched_ids(witness, {"to": tag}, set()) == set()

    assert await asking.call("fetch-act", {**spec, "action": "disconnect"})
    deadline = asyncio.get_running_loop().time() + WAIT
    while target.sio.connected:
        assert asyncio.get_running_loop().time() < deadline, "never disconnected"
        await asyncio.sleep(0.02)
    assert asking.sio.connected and witness.sio.connected
    assert asking.events("direct") == [] and witness.events("direct") == []
    assert witness.events("in-room") == [] and asking.events("in-room") == []


@pytest.mark.parametrize("asker", [0, 2], ids=["from-expressio", "from-node"])
async def test_broadcast_with_ack_completes_when_every_process_answered(
    trio: list[ServerProcess], clients: Connect, asker: int
) -> None:
    """With a 30 s timeout, the answers of every client of the three processes are in well
    before it: the request ends when they are all there, not at its timeout."""
    room = f"quiz-{asker}"
    group = await one_on_each(trio, clients)
    answering = [*group, await clients(trio[1].url)]  # two clients on the second process
    for index, client in enumerate(answering):
        client.sio.on("question", lambda q, index=index: {"index": index, "q": q})
        assert await client.call("join", room) is True
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await answering[asker].sio.call(
        "ask", {"event": "question", "data": "?", "to": room, "timeout": 30}, timeout=40
    )
    elapsed = loop.time() - started
    assert sorted(answer["index"] for answer in result["answers"]) == [0, 1, 2, 3]
    assert all(answer["q"] == "?" for answer in result["answers"])
    assert elapsed < 10, f"completed after {elapsed:.1f} s: it waited for its timeout"

    started = loop.time()
    empty = await answering[asker].sio.call(
        "ask", {"event": "question", "to": f"{room}-nobody", "timeout": 30}, timeout=40
    )
    assert empty == {"answers": []}
    assert loop.time() - started < 10
