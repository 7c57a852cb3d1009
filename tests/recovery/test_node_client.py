"""Connection state recovery with the official socket.io-client 4.x (Node): a client whose
transport drops gets its id, rooms and missed broadcasts back; anything else gets a fresh
socket. Each scenario runs against an app of its own, served by a real uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.socket_clients import run_node
from tests.support import served

from .app import log_size, make_app

SCRIPT = Path(__file__).resolve().parent / "node" / "recovery_client.mjs"
MODES = {"websocket": "websocket", "polling": "polling"}


def run(app: Any, scenario: str, *args: str) -> dict[str, Any]:
    with served(app) as base_url:
        results = run_node(SCRIPT, base_url, "--scenario", scenario, *args)
    assert "failed" not in results, results["failed"]["error"]
    return results


@pytest.mark.parametrize("transports", list(MODES.values()))
def test_recovers_id_rooms_and_missed_broadcasts(transports: str) -> None:
    app = make_app()
    results = run(app, "recover", "--transports", transports)
    first, recovered, after = results["first"], results["recovered"], results["after"]
    assert first["recovered"] is False
    assert first["welcome"] == {"recovered": False, "middleware_runs": 1, "handshake_runs": 1}
    assert recovered["recovered"] is True
    assert recovered["id"] == first["id"]
    # In order, once each; not the other room's, not the one a was left out of.
    assert recovered["missed"] == [3, 4, 5, 6]
    assert recovered["offsets_distinct"] is True
    # req.recovered in the connect hook; the middleware did not run again (so nothing it
    # would store on the handshake is there).
    assert recovered["welcome"] == {
        "recovered": True,
        "middleware_runs": 1,
        "handshake_runs": None,
    }
    assert app.locals["middleware_runs"]["a"] == 1
    assert after["rooms"] == sorted([first["id"], "r"])
    assert after["news"] == [1, 2, 3, 4, 5, 6, 7]
    assert after["data"] == {"favourite": 42}  # req.socket.data came back
    # What the server saw: a recoverable reason (the client calls it "forced close").
    assert app.locals["disconnects"][0] == "transport close"


def test_middleware_runs_again_unless_skipped() -> None:
    app = make_app(skip_middlewares=False)
    recovered = run(app, "recover")["recovered"]
    assert recovered["recovered"] is True
    assert recovered["missed"] == [3, 4, 5, 6]
    assert recovered["welcome"] == {"recovered": True, "middleware_runs": 2, "handshake_runs": 2}


def test_automatic_reconnection_recovers_what_was_broadcast_meanwhile() -> None:
    record = run(make_app(), "auto_reconnect")["recovered"]
    assert record["recovered"] is True
    assert record["id"] == record["first"]["id"]
    assert record["news"] == ["before", "while away 1", "while away 2"]
    assert [welcome["recovered"] for welcome in record["welcomes"]] == [False, True]


def test_after_the_window_the_client_starts_afresh() -> None:
    record = run(make_app(max_disconnection=0.5), "window", "--away-ms", "1200")["reconnected"]
    assert record["recovered"] is False
    assert record["id"] != record["first"]["id"]
    assert record["rooms"] == [record["id"]]
    assert record["data"] is None
    assert record["news"] == [1]
    assert record["welcome"] == {"recovered": False, "middleware_runs": 2, "handshake_runs": 2}


def test_forged_ids_and_offsets_get_a_fresh_socket() -> None:
    app = make_app()
    results = run(app, "forged")
    first = results["forged"]["first"]
    for label, attempt in results["forged"]["forged"].items():
        assert attempt["recovered"] is False, label
        assert attempt["id"] != first["id"], label
        assert attempt["rooms"] == [attempt["id"]], label
        assert attempt["news"] == [], label
    # Those attempts left the owner's session alone.
    owner = results["owner"]
    assert owner == {"id": first["id"], "recovered": True, "missed": [2]}
    # The right pid with an offset never given out: neither that client nor, afterwards,
    # the owner gets the state.
    bad = results["bad_offset"]
    assert bad["same_pid"] is True
    assert bad["stolen"]["recovered"] is False
    assert bad["stolen"]["id"] != first["id"]
    assert bad["stolen"]["rooms"] == [bad["stolen"]["id"]]
    assert bad["owner"]["recovered"] is False
    assert bad["owner"]["id"] != first["id"]


def test_packet_log_stays_within_its_cap() -> None:
    app = make_app(max_packets=5)
    record = run(app, "cap")["after_cap"]
    # 21 broadcasts went out; 5 are kept.
    assert record["log"]["packets"] == 5
    assert record["log"]["sessions"] == 1
    # Its offset fell out of the log: a fresh socket, no partial replay.
    assert record["recovered"] is False
    assert record["id"] != record["first"]["id"]
    assert record["rooms"] == [record["id"]]
    assert record["news"] == [0]
    assert record["welcome"]["recovered"] is False
    assert log_size(app)["packets"] == 5
