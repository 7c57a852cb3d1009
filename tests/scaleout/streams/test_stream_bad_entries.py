"""Malformed or foreign entries on the stream, and garbage on the request channel, are logged
once per kind and skipped: the reader carries on with the next entry."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
import redis
import redis.asyncio

from tests.redis_support import RedisServer
from tests.scaleout.conftest import WAIT, Cluster
from tests.scaleout.streams.conftest import broadcast, start_expressio, start_node, warm_up

pytestmark = pytest.mark.timeout(90)

GOOD_DATA = (
    '{"packet":{"type":2,"data":["ok",%d],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}'
)

BAD_ENTRIES: list[tuple[str, dict[str, Any]]] = [
    ("data is not JSON", {"uid": "u", "nsp": "/", "type": "3", "data": "{not json"}),
    ("data is neither JSON nor base64", {"uid": "u", "nsp": "/", "type": "3", "data": "!!!"}),
    ("data is not msgpack", {"uid": "u", "nsp": "/", "type": "3", "data": "AAAAwcHB"}),
    ("unknown message type", {"uid": "u", "nsp": "/", "type": "99", "data": "{}"}),
    ("type not a number", {"uid": "u", "nsp": "/", "type": "three"}),
    ("uid missing", {"nsp": "/", "type": "3", "data": GOOD_DATA % 0}),
    ("broadcast without packet", {"uid": "u", "nsp": "/", "type": "3", "data": '{"packet":5}'}),
    (
        "broadcast packet has no event name",
        {"uid": "u", "nsp": "/", "type": "3", "data": '{"packet":{"type":2,"data":[1]},"opts":{}}'},
    ),
    (
        "rooms is not a list of room names",
        {
            "uid": "u",
            "nsp": "/",
            "type": "3",
            "data": '{"packet":{"type":2,"data":["e"]},"opts":{"rooms":"r"}}',
        },
    ),
    (
        "broadcast without data",
        {
            "uid": "u",
            "nsp": "/",
            "type": "3",
            "data": base64.b64encode(msgpack.packb([1, 2])).decode(),
        },
    ),
    ("room operation without rooms", {"uid": "u", "nsp": "/", "type": "4", "data": '{"opts":{}}'}),
]


async def test_bad_entries_are_skipped_and_logged_once(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    server = start_expressio(cluster, redis_server.url)
    node = start_node(cluster, redis_server.url)
    client = await clients(server.url)
    node_client = await clients(node.url)
    await warm_up([client, node_client])

    with redis.Redis.from_url(redis_server.url) as r:
        for round_number in range(2):  # twice each: logged once
            for _, fields in BAD_ENTRIES:
                r.xadd("expressio", fields)
            r.xadd("expressio", {"no": "nsp field"})  # not a cluster message: skipped quietly
            r.xadd(
                "expressio", {"uid": "u", "nsp": "/", "type": "3", "data": GOOD_DATA % round_number}
            )
        r.publish("socket.io#/#", b"\xc1 not msgpack")
        r.publish("socket.io#/#", msgpack.packb({"uid": "u", "nsp": "/", "type": 77}))
        r.publish("socket.io#/#", msgpack.packb({"uid": "u", "nsp": "/", "type": 77}))

    await client.wait_for("ok", 2)
    assert client.events("ok") == [(0,), (1,)]
    # the reader is still reading, the process still publishing
    await broadcast(node_client, "after", 1)
    await client.wait_for("after")

    async def logged() -> str:
        while "unknown message type" not in (log := server.log()) or "not msgpack" not in log:
            await asyncio.sleep(0.05)
        return log

    log = await asyncio.wait_for(logged(), WAIT)
    for kind, _ in BAD_ENTRIES:
        assert log.count(f"stream 'expressio' ({kind})") == 1, (kind, log)
    assert log.count("ignored a malformed message on Redis channel") == 2  # two kinds, once each
    assert "Traceback" not in log


def cluster_message(kind: int, data: Any, uid: str = "stranger") -> bytes:
    return bytes(msgpack.packb({"uid": uid, "nsp": "/", "type": kind, "data": data}))


async def test_bad_answers_to_a_fetch_are_dropped_and_the_good_ones_kept(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    """A process of the namespace (here a script listening on its channel) answers a fetch
    with garbage first, then with a list holding one socket among things that are not: the
    fetch gives this process's socket and that one, and each kind of problem is logged once."""
    server = start_expressio(cluster, redis_server.url)
    client = await clients(server.url)
    stranger = redis.asyncio.Redis.from_url(redis_server.url)
    listening = stranger.pubsub()
    await listening.subscribe("socket.io#/#")  # counts as a process: server_count() is 2
    ghost = {
        "id": "ghost",
        "rooms": ["ghost", "lobby"],
        "data": {"x": 1},
        "handshake": {"auth": {"a": 1}, "issued": 1714564800000},
    }

    async def answer_one_fetch() -> dict[str, Any]:
        while True:
            message = await listening.get_message(ignore_subscribe_messages=True, timeout=WAIT)
            if message is None:
                continue
            request = msgpack.unpackb(message["data"])
            if request["type"] != 7:
                continue
            request_id = request["data"]["requestId"]
            reply = f"socket.io#/#{request['uid']}#"
            for kind, data in [
                (8, {"sockets": []}),  # answer without requestId
                (8, {"requestId": request_id, "sockets": "nope"}),
                (11, {"requestId": request_id, "clientCount": -1}),
                (8, {"requestId": request_id, "sockets": [ghost, "not a socket", {"id": 5}]}),
            ]:
                await stranger.publish(reply, cluster_message(kind, data))
            return dict(request["data"])

    try:
        answering = asyncio.ensure_future(answer_one_fetch())
        while await client.call("server-count") < 2:
            await asyncio.sleep(0.05)
        found = await client.call("fetch", {})
        request = await asyncio.wait_for(answering, WAIT)
    finally:
        await listening.aclose()
        await stranger.aclose()
    assert request["opts"] == {"rooms": [], "except": [], "flags": {}}
    assert {(item["id"], item["remote"]) for item in found} == {
        ("ghost", True),
        (client.sid(), False),
    }
    assert len(found) == 2
    assert next(item for item in found if item["id"] == "ghost")["auth"] == {"a": 1}
    log = server.log()
    for kind in (
        "answer without requestId",
        "fetch_sockets answer without sockets",
        "clientCount is not a count",
    ):
        assert log.count(f"({kind})") == 1, (kind, log)
    assert log.count("ignored a socket of a fetch_sockets answer") == 1, log
    assert "Traceback" not in log


async def test_a_fetch_from_a_process_it_does_not_know_is_answered_in_socket_io_s_shape(
    redis_server: RedisServer, cluster: Cluster, clients: Any
) -> None:
    server = start_expressio(cluster, redis_server.url)
    client = await clients(server.url, auth={"token": "t"})
    assert await client.call("set-data", {"user": "ada"}) is True
    asker = redis.asyncio.Redis.from_url(redis_server.url)
    answers = asker.pubsub()
    await answers.subscribe("socket.io#/#stranger#")
    fetch = {"opts": {"rooms": [], "except": [], "flags": {}}, "requestId": "q1"}
    try:
        assert await asker.publish("socket.io#/#", cluster_message(7, fetch)) == 1
        message = None
        while message is None:
            message = await answers.get_message(ignore_subscribe_messages=True, timeout=WAIT)
    finally:
        await answers.aclose()
        await asker.aclose()
    answer = msgpack.unpackb(message["data"])
    assert answer["type"] == 8 and answer["nsp"] == "/"
    assert answer["data"]["requestId"] == "q1"
    (one,) = answer["data"]["sockets"]
    assert set(one) == {"id", "handshake", "rooms", "data"}
    assert one["id"] == client.sid() and one["rooms"] == [client.sid()]
    assert one["data"] == {"user": "ada"} and one["handshake"]["auth"] == {"token": "t"}
    assert {"headers", "time", "address", "issued", "url", "query"} <= set(one["handshake"])
