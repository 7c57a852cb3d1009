"""The official socket.io-client 4.x (npm), driven by tests/interop/node/client.mjs, against
the interop server in each transport mode: every scenario the script runs is checked here."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import ROOT

CLIENT_SCRIPT = ROOT / "tests" / "interop" / "node" / "client.mjs"
# The script bounds each of its steps itself; this only stops a hung Node process.
SCRIPT_TIMEOUT = 60

MODES = {
    "websocket-only": ("websocket", "websocket", "websocket"),
    "polling-only": ("polling", "polling", "polling"),
    "polling-then-upgrade": ("polling,websocket", "polling", "websocket"),
}

Results = dict[str, dict[str, Any]]


def run_client(url: str, transports: str, *args: str) -> Results:
    completed = subprocess.run(
        ["node", str(CLIENT_SCRIPT), "--url", url, "--transports", transports, *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        cwd=ROOT,
        check=False,
    )
    results: Results = {}
    for line in completed.stdout.splitlines():
        record = json.loads(line)
        results[record.pop("step")] = record
    assert "done" in results or "connect" in results, (
        f"the client script printed nothing useful (exit {completed.returncode}):\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
    return results


@pytest.fixture(scope="module")
def client_results(interop_url: str) -> Callable[[str], Results]:
    """The script's report for a transport mode; each mode runs once per module."""
    cache: dict[str, Results] = {}

    def results_for(mode: str) -> Results:
        if mode not in cache:
            cache[mode] = run_client(interop_url, MODES[mode][0])
        return cache[mode]

    return results_for


def step(results: Results, name: str) -> dict[str, Any]:
    assert name in results, f"the client script never reported {name!r}: {results}"
    record = results[name]
    assert "error" not in record, f"{name} failed in the client:\n{record['error']}"
    return record


def binary(hex_bytes: str) -> dict[str, str]:
    """How client.mjs prints a binary value it received (always a Buffer under Node)."""
    return {"$binary": hex_bytes, "$type": "Buffer"}


mode_parameter = pytest.mark.parametrize("mode", list(MODES))


@mode_parameter
def test_connects_on_the_expected_transport(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "connect")
    _, first, final = MODES[mode]
    assert record["first_transport"] == first
    assert record["transport"] == final
    assert isinstance(record["id"], str) and record["id"]


@mode_parameter
def test_client_emit_gets_the_server_ack(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "ack_from_server")
    assert record["answer"] == [
        "text",
        42,
        {"nested": {"buf": binary("010203")}, "list": [True, None, binary("0405")]},
    ]


@mode_parameter
@pytest.mark.parametrize("style", ["callback", "awaited"])
def test_server_emit_gets_the_client_ack(
    client_results: Callable[[str], Results], mode: str, style: str
) -> None:
    record = step(client_results(mode), f"ack_from_client_{style}")
    question = "callback" if style == "callback" else "await"
    sent = "05" if style == "callback" else "06"
    assert record["answer"] == [
        {"got": {"question": question, "buf": binary(sent)}, "reply": binary("070809")}
    ]


@mode_parameter
def test_binary_nested_in_objects_round_trips(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "binary_both_ways")
    assert record["echoed"] == [
        {"buf": binary("090807"), "nested": [{"array_buffer": binary("00ff")}], "text": "mixed"}
    ]


@mode_parameter
def test_server_sends_binary(client_results: Callable[[str], Results], mode: str) -> None:
    record = step(client_results(mode), "binary_from_server")
    assert record["received"] == [
        {"text": "server bytes", "buf": binary("000102ff"), "nested": [{"deep": binary("1020")}]}
    ]


@mode_parameter
def test_namespaces_share_the_connection(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "namespaces")
    assert record["admin"] == {"namespace": "/admin"}
    assert record["unknown_namespace"]["connected"] is False
    assert record["unknown_namespace"]["message"] == "Invalid namespace"
    assert record["main_answer"] == "main still works"


@mode_parameter
def test_middleware_refusal_reaches_connect_error(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "middleware_refusal")
    assert record["refused"]["connected"] is False
    assert record["refused"]["message"] == "not authorized"
    assert record["allowed"] == {"connected": True}
    assert record["identity"] == {"namespace": "/private"}


@mode_parameter
def test_client_reconnects_after_the_server_drops_it(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "reconnection")
    assert record["reason"] == "transport close"
    assert record["new_id"] is True
    assert record["transport"] == MODES[mode][2]
    assert record["answer"] == "after reconnection"


@mode_parameter
def test_every_scenario_passed(client_results: Callable[[str], Results], mode: str) -> None:
    assert step(client_results(mode), "done")["failed"] == []


@mode_parameter
def test_burst_is_delivered_once_and_in_order(
    client_results: Callable[[str], Results], mode: str
) -> None:
    """Events emitted from the first moment (across the upgrade, where there is one): every
    ack arrives, every echo arrives once, in the order sent."""
    record = step(client_results(mode), "burst_across_upgrade")
    assert record["acked"] == list(range(50))
    assert record["echoed"] == list(range(50))


@mode_parameter
def test_room_broadcast_skips_the_sender_and_outsiders(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "rooms")
    assert record["seen"] == {
        "sender": [],
        "peer": [{"text": "to the room", "buf": binary("03")}],
        "outsider": [],
    }


@mode_parameter
def test_server_namespace_disconnect_is_final(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "server_disconnect")
    assert record == {"reason": "io server disconnect", "active": False}
