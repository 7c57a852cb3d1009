"""The chat demo without a browser: the answers of its HTTP API, and what its terminal shows
(the address once it listens, a plain message when the port is taken, a line per request and
per realtime connection)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from tests.support import free_port, printing_server

from .conftest import CHAT_APP

ANNOUNCE = "/api/announce"


def refusal(reply: httpx.Response) -> str:
    """The error of a 400 answer, checked to be a JSON object ending with a newline."""
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.text.endswith("}\n"), repr(reply.text)
    error: str = reply.json()["error"]
    return error


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"json": {"text": "  "}}, "An announcement needs some text"),
        ({"json": {}}, "An announcement needs some text"),
        ({"json": ["Deploy at five"]}, 'Send a JSON object such as {"text": "Hello all"}'),
        ({"data": {"text": "Deploy at five"}}, 'Send a JSON object such as {"text": "Hello all"}'),
        ({"content": b"Deploy at five"}, 'Send a JSON object such as {"text": "Hello all"}'),
        (
            {"content": b'{"text": ', "headers": {"content-type": "application/json"}},
            "Invalid JSON body: ",
        ),
    ],
    ids=["blank text", "no text", "not an object", "form body", "no JSON", "malformed JSON"],
)
def test_announce_refuses_what_is_not_an_announcement_with_400(
    chat_url: str, body: dict[str, Any], expected: str
) -> None:
    reply = httpx.post(f"{chat_url}{ANNOUNCE}", timeout=10, **body)
    assert refusal(reply).startswith(expected)


def test_announce_accepts_a_json_object_with_text(chat_url: str) -> None:
    reply = httpx.post(f"{chat_url}{ANNOUNCE}", json={"text": "Deploy at five"}, timeout=10)
    assert (reply.status_code, reply.json()) == (200, {"announced": True})


def test_a_taken_port_gets_a_plain_message_and_no_banner() -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(CHAT_APP), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    printed = done.stdout + done.stderr
    assert done.returncode != 0, printed
    assert f"port {port} is in use; pass --port N" in done.stderr, printed
    assert "open http://" not in printed, printed  # the banner means "it listens": not here
    assert "Traceback" not in printed, printed


def test_the_terminal_shows_the_address_once_listening_then_each_request(tmp_path: Path) -> None:
    """The banner once the port listens, a line per request and per connection, and a quiet
    Ctrl+C."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, str(CHAT_APP), "--port", str(port)]
    with printing_server(argv, tmp_path / "chat.log") as output:
        output.wait_for(rf"^expressio chat: open {re.escape(base)}/ ")
        # The banner is printed once the port listens: no waiting, no retry.
        socket.create_connection(("127.0.0.1", port), timeout=5).close()

        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/").status_code == 200
            assert http.post("/login", data={"nickname": "ada"}).status_code == 302
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        client = socketio.Client()
        client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])
        sid = client.get_sid()
        client.disconnect()
        output.wait_for(rf"disconnect {re.escape(str(sid))}: ")
        output.process.send_signal(signal.SIGINT)  # Ctrl+C stops it, quietly
        assert output.process.wait(timeout=15) == 0
        printed = output.text()

    request_line = r"^INFO: +{} {} \d+\.\d ms$"
    assert re.search(request_line.format("GET /", 200), printed, re.M), printed
    assert re.search(request_line.format("POST /login", 302), printed, re.M), printed
    assert re.search(rf"^INFO: +connect {re.escape(str(sid))}$", printed, re.M), printed
    reasons = "(client namespace disconnect|transport close)"
    assert re.search(rf"^INFO: +disconnect {re.escape(str(sid))}: {reasons}$", printed, re.M)
    assert "Traceback" not in printed, printed
