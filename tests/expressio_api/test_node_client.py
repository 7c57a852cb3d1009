"""The official socket.io-client 4.x (Node) against the express.io app under test, in two
transport modes: acks with extra arguments, server acks, broadcasts, rooms, forwarding, handler
exceptions, refusals, namespaces and lifecycle hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .app_under_test import RECORDS, make_app
from .conftest import run_node, served

MODES = {"websocket-only": "websocket", "polling-then-upgrade": "polling,websocket"}

Results = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def results(node_url: str) -> Callable[[str], Results]:
    cache: dict[str, Results] = {}

    def results_for(mode: str) -> Results:
        if mode not in cache:
            cache[mode] = run_node("express_io_client.mjs", node_url, "--transports", MODES[mode])
        return cache[mode]

    return results_for


def step(results: Results, name: str) -> dict[str, Any]:
    assert name in results, f"the client script never reported {name!r}: {results}"
    record = results[name]
    assert "error" not in record, f"{name} failed in the client:\n{record['error']}"
    return record


modes = pytest.mark.parametrize("mode", list(MODES))


@modes
def test_respond_with_extra_arguments(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "respond_and_extra_arguments")
    assert record["echo"] == [{"hello": "world"}]
    assert record["extra"] == ["one", 2, {"three": 3}]
    assert record["viaEmitWithAck"] == "x"


@modes
def test_server_acks_reach_callbacks(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "server_emit_with_callback")
    assert record["answered"] == [["yes", 42]]
    # emit_with_ack resolves to a tuple when the client acks with several arguments
    assert record["ackValue"] == [{"answer": ["yes", 42]}]


@modes
def test_broadcast_excludes_the_sender(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "broadcast_excludes_the_sender")
    assert record["receiver"] == [["shout", {"hi": "all"}]]
    assert "shout" not in record["senderEvents"]
    assert "fence" in record["senderEvents"]


@modes
def test_rooms(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "rooms")
    assert record["rooms"] == [["hipster", "lobby"]]
    assert record["member"] == [["room_message", "hey"]]
    assert record["sender"] == [] and record["outsider"] == []


@modes
def test_forwarding_chain(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "forwarding_chain")
    assert record["answer"] == ["chain done"]
    assert record["steps"] == ["a", "b", "c with payload", "a after b"]
    assert record["unknown"] == [{"error": "Unknown route: no-such-route"}]


@modes
def test_an_event_with_no_route_lets_the_clients_ack_timeout_fire(
    results: Callable[[str], Results], mode: str
) -> None:
    record = step(results(mode), "unknown_event_times_out")
    assert record.get("timedOut") is True, record
    assert "timed out" in record["message"]
    assert record["after"] == ["alive"]


@modes
def test_handler_exceptions(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "handler_exceptions")
    assert record["sync"] == record["async"] == [{"error": "Internal Server Error"}]
    assert record["after"] == ["alive"]


@modes
def test_middleware_refusal_message(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "middleware_refusal")
    assert record == {"refused": True, "message": "denied by raise"}


@modes
def test_namespace(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "namespace")
    assert record["whoami"] == [{"namespace": "/admin", "rooms": [record["id"]]}]
    assert record["message"] == "admins only"
    assert dict(RECORDS["admin_connect"])[record["id"]] == {"token": "secret"}


@modes
async def test_disconnect_hook_reason(results: Callable[[str], Results], mode: str) -> None:
    sid = step(results(mode), "disconnect_reason")["id"]
    for _ in range(250):
        if sid in dict(RECORDS["disconnect"]):
            break
        await asyncio.sleep(0.02)
    assert dict(RECORDS["disconnect"])[sid] == "client namespace disconnect"
    assert dict(RECORDS["connect"])[sid] == {}


@modes
def test_server_side_disconnect(results: Callable[[str], Results], mode: str) -> None:
    assert step(results(mode), "server_disconnect")["reason"] == "io server disconnect"
