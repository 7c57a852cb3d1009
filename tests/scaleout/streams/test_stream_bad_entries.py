"""Malformed or foreign entries on the stream, and garbage on the request channel, are logged
once per kind and skipped: the reader carries on with the next entry."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
import redis

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
