"""``app.io(allow_request=fn)`` (socket.io's ``allowRequest``) with the official client.

``fn(request)`` runs before a session opens, on the polling handshake and on a websocket
handshake (``app.listen()``'s direct websocket path); a false answer or an exception refuses
it with HTTP 403, which the client reports as ``connect_error``; the exception is logged on
the server, not shown to the client.
"""

from __future__ import annotations

import pytest

from tests.socket_clients import run_node

from .conftest import NODE_DIR, limits_server


@pytest.mark.parametrize("gate", ["sync", "async"])
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_the_official_client_is_refused_or_accepted_by_allow_request(
    gate: str, transport: str
) -> None:
    """Checks: a refused handshake and one whose gate raises end in connect_error (the
    client's own message for a failed transport, with no server detail); an accepted one
    connects on that transport and gets its ack."""
    with limits_server("--gate", gate) as base_url:
        results = run_node(
            NODE_DIR / "allow_request_client.mjs", base_url, "--transports", transport
        )
    if transport == "polling":
        refusal = {"connected": False, "message": "xhr poll error", "status": 403}
    else:
        refusal = {"connected": False, "message": "websocket error", "status": None}
    assert results["refused"] == refusal
    assert results["gate_raised"] == refusal
    assert results["accepted"] == {
        "connected": True,
        "echo": {"via": transport},
        "transport": transport,
    }
    assert results["done"] == {"failed": []}
