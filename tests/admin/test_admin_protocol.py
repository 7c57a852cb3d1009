"""The admin namespace as the official Socket.IO Admin UI uses it, driven by the official
socket.io-client in Node (``node/admin_client.mjs``): login, the socket list, live updates,
the UI's commands, refusals, login sessions and the limit on wrong guesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import expressio
from tests.socket_clients import run_node
from tests.support import served

SCRIPT = Path(__file__).resolve().parent / "node" / "admin_client.mjs"
USERNAME, PASSWORD = "admin", "correct horse"
MODES = {"websocket-only": "websocket", "polling-then-upgrade": "polling,websocket"}

Results = dict[str, dict[str, Any]]


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    app.io.instrument(auth={"username": USERNAME, "password": PASSWORD})

    @app.io.route("enter")
    def enter(req: Any) -> None:
        req.io.join(req.data)
        req.io.respond("entered")

    return app


@pytest.fixture(scope="module")
def results() -> Iterator[Callable[[str], Results]]:
    cache: dict[str, Results] = {}
    # One server per mode: the rate limit scenario locks an address out for a minute.
    with served(make_app()) as ws_url, served(make_app()) as polling_url:
        urls = {"websocket-only": ws_url, "polling-then-upgrade": polling_url}

        def results_for(mode: str) -> Results:
            if mode not in cache:
                cache[mode] = run_node(
                    SCRIPT, urls[mode], "--transports", MODES[mode],
                    "--username", USERNAME, "--password", PASSWORD,
                )  # fmt: skip
            return cache[mode]

        yield results_for


def step(results: Results, name: str) -> dict[str, Any]:
    assert name in results, f"the client script never reported {name!r}: {results}"
    record = results[name]
    assert "error" not in record, f"{name} failed in the client:\n{record['error']}"
    return record


modes = pytest.mark.parametrize("mode", list(MODES))


@modes
def test_login_gets_config_session_sockets_and_stats(
    results: Callable[[str], Results], mode: str
) -> None:
    record = step(results(mode), "login")
    assert set(record["config"]["supportedFeatures"]) == {
        "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "EMIT",
        "AGGREGATED_EVENTS", "ALL_EVENTS",
    }  # fmt: skip
    assert isinstance(record["sessionId"], str) and len(record["sessionId"]) >= 16
    # The admin's own socket is listed, without its auth (the password) anywhere.
    listed = record["allSockets"]
    assert [socket["nsp"] for socket in listed] == ["/admin"]
    assert "auth" not in listed[0]["handshake"]
    assert PASSWORD not in str(listed)
    stats = record["stats"]
    assert {"serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount"} <= set(
        stats
    )
    assert stats["clientsCount"] >= 1
    assert {"name": "/admin", "socketsCount": 1} in stats["namespaces"]


@modes
def test_live_updates_and_commands(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "login")
    connected = record["connected"][0]
    user_id = connected["id"]
    assert connected["nsp"] == "/"
    assert connected["rooms"] == [user_id]
    assert connected["handshake"]["address"] == "127.0.0.1"
    assert connected["transport"] in ("polling", "websocket")
    assert record["connected"][1].endswith("Z")  # a JavaScript Date, serialised
    assert record["joined"][:3] == ["/", "lobby", user_id]
    assert record["received"][:3] == ["/", user_id, ["enter", "lobby"]]
    assert record["commanded"][:3] == ["/", "vip", user_id]
    assert record["left"][:3] == ["/", "vip", user_id]
    later = record["later"]
    assert any(n["name"] == "/" and n["socketsCount"] >= 1 for n in later["namespaces"])
    kinds = {event["type"] for event in later["aggregatedEvents"]}
    assert {"rawConnection", "packetsIn", "bytesIn"} & kinds
    assert record["gone"][:3] == ["/", user_id, "server namespace disconnect"]
    assert record["userDisconnect"] == "io server disconnect"  # the client's name for it


@modes
def test_wrong_or_missing_credentials_are_refused(
    results: Callable[[str], Results], mode: str
) -> None:
    assert step(results(mode), "wrong_password") == {
        "connected": False,
        "message": "invalid credentials",
    }
    assert step(results(mode), "no_credentials") == {
        "connected": False,
        "message": "invalid credentials",
    }


@modes
def test_a_login_session_reconnects_without_the_password(
    results: Callable[[str], Results], mode: str
) -> None:
    record = step(results(mode), "session_id")
    assert record["outcome"] == {"connected": True}
    assert record["forgedOutcome"] == {"connected": False, "message": "invalid credentials"}


@modes
def test_wrong_guesses_lock_their_address_out(results: Callable[[str], Results], mode: str) -> None:
    record = step(results(mode), "rate_limit")
    attempts = record["attempts"]
    assert attempts[:5] == ["invalid credentials"] * 5
    assert all(message.startswith("too many failed logins") for message in attempts[5:])
    locked = record["lockedOutcome"]
    assert locked["connected"] is False and locked["message"].startswith("too many failed logins")
    assert record["otherOutcome"] == {"connected": True}
