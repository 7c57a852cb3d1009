"""The official socket.io-client 4.x with socket.io-msgpack-parser (npm), against the interop
server in msgpack mode, in each transport mode: the same scenarios (tests/interop/node/client.mjs
with ``--parser msgpack``) and the same assertions as the JSON parser's suite, whose tests are
collected here a second time with this module's fixtures.

Emit and ack both ways, Buffer <-> bytes nested in objects and arrays (an ArrayBuffer from the
client arrives as bytes too), room broadcasts, namespaces, an unknown namespace and a middleware
refusal (CONNECT_ERROR), a server-side disconnect and a reconnection, a burst across the upgrade.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.interop import test_node_client as json_suite
from tests.interop.conftest import INTEROP_DIR, TARGET
from tests.interop.test_node_client import MODES, Results, binary, mode_parameter, run_client, step
from tests.support import free_port, python_server, server_process

PARSER_ARGS = ("--parser", "msgpack")

# notepack.io sends an ArrayBuffer as msgpack extension 0, a Buffer as bin. A Node server holds
# the ArrayBuffer and echoes it as one; in Python both are bytes, sent back as bin, which a
# Node client reads as a Buffer (the JSON parser makes every binary value a Buffer).
ECHOED_ARRAY_BUFFER = "ArrayBuffer" if TARGET == "node" else "Buffer"


def echoed_array_buffer(hex_bytes: str) -> dict[str, str]:
    return {"$binary": hex_bytes, "$type": ECHOED_ARRAY_BUFFER}


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


@pytest.fixture(scope="module")
def client_results(interop_url: str) -> Callable[[str], Results]:
    """The script's report for a transport mode, the client using the msgpack parser."""
    cache: dict[str, Results] = {}

    def results_for(mode: str) -> Results:
        if mode not in cache:
            cache[mode] = run_client(interop_url, MODES[mode][0], *PARSER_ARGS)
        return cache[mode]

    return results_for


test_connects_on_the_expected_transport = json_suite.test_connects_on_the_expected_transport
test_server_emit_gets_the_client_ack = json_suite.test_server_emit_gets_the_client_ack
test_server_sends_binary = json_suite.test_server_sends_binary
test_namespaces_share_the_connection = json_suite.test_namespaces_share_the_connection
test_middleware_refusal_reaches_connect_error = (
    json_suite.test_middleware_refusal_reaches_connect_error
)
test_client_reconnects_after_the_server_drops_it = (
    json_suite.test_client_reconnects_after_the_server_drops_it
)
test_every_scenario_passed = json_suite.test_every_scenario_passed
test_burst_is_delivered_once_and_in_order = json_suite.test_burst_is_delivered_once_and_in_order
test_room_broadcast_skips_the_sender_and_outsiders = (
    json_suite.test_room_broadcast_skips_the_sender_and_outsiders
)
test_server_namespace_disconnect_is_final = json_suite.test_server_namespace_disconnect_is_final


@mode_parameter
def test_client_emit_gets_the_server_ack(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "ack_from_server")
    assert record["answer"] == [
        "text",
        42,
        {"nested": {"buf": binary("010203")}, "list": [True, None, echoed_array_buffer("0405")]},
    ]


@mode_parameter
def test_binary_nested_in_objects_round_trips(
    client_results: Callable[[str], Results], mode: str
) -> None:
    record = step(client_results(mode), "binary_both_ways")
    assert record["echoed"] == [
        {
            "buf": binary("090807"),
            "nested": [{"array_buffer": echoed_array_buffer("00ff")}],
            "text": "mixed",
        }
    ]
