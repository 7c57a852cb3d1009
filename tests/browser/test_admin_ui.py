"""The official Socket.IO Admin UI in a real headless Chromium, served by ``expressio admin-ui``,
logging in to an app that calls ``app.io.instrument(...)``: it lists the app's connected
sockets and their rooms; with a wrong password it stays on its connection form, refused."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
from playwright.sync_api import expect

import expressio
from tests.support import NODE_MODULES, free_port, served, server_process

from .conftest import Pages

USERNAME, PASSWORD = "admin", "browser-test-password"
ROOMS = {"alice": "lobby", "bob": "lobby", "carol": "kitchen"}

if not (NODE_MODULES / "@socket.io" / "admin-ui" / "ui" / "dist" / "index.html").is_file():
    reason = "the Admin UI tests need npm's @socket.io/admin-ui (scripts/setup.sh installs it)"
    sys.stderr.write(f"\n*** {reason} ***\n")
    pytest.skip(reason, allow_module_level=True)


@dataclass
class Setup:
    ui_url: str
    app_url: str
    socket_ids: dict[str, str]


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
def setup() -> Iterator[Setup]:
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    command = [sys.executable, "-m", "expressio.cli", "admin-ui", "--port", str(ui_port)]
    app = make_app()
    with served(app) as app_url, server_process(command, ui_port):
        # The UI's page is another origin than the app: allow it, and the app's own.
        app.io.set("origins", [ui_url, app_url])
        people: list[socketio.Client] = []
        try:
            ids = {}
            for name, room in ROOMS.items():
                client = socketio.Client(reconnection=False)
                client.connect(app_url, transports=["websocket"], wait_timeout=10)
                people.append(client)
                assert client.call("enter", room, timeout=10) == "entered"
                ids[name] = client.get_sid("/")
            yield Setup(ui_url, app_url, ids)
        finally:
            for client in people:
                client.disconnect()


def open_ui(pages: Pages, name: str, ui_url: str) -> Any:
    page = pages.new(name, width=1400, height=900)
    # Its fonts and icons come from CDNs: not reachable from a test, and not needed. The UI
    # and the app are both on this machine.
    page.context.route(
        "**/*",
        lambda route: route.continue_()
        if route.request.url.startswith("http://127.0.0.1:")
        else route.abort(),
    )
    page.goto(ui_url + "/", wait_until="domcontentloaded")
    return page


def log_in(page: Any, app_url: str, password: str) -> None:
    page.get_by_label("Server URL").fill(app_url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Connect").click()


def test_the_ui_lists_the_sockets_and_rooms(pages: Pages, setup: Setup) -> None:
    page = open_ui(pages, "admin", setup.ui_url)
    log_in(page, setup.app_url, PASSWORD)
    expect(page.get_by_role("button", name="Connect")).to_be_hidden()  # the form closed
    expect(page.get_by_role("banner")).to_contain_text("Status: connected")

    page.evaluate("location.hash = '#/sockets/'")
    for socket_id in setup.socket_ids.values():
        expect(page.get_by_role("cell", name=socket_id, exact=True)).to_be_visible()

    page.evaluate("location.hash = '#/rooms/'")
    lobby = page.get_by_role("row").filter(has=page.get_by_role("cell", name="lobby", exact=True))
    kitchen = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name="kitchen", exact=True)
    )
    expect(lobby.get_by_role("cell", name="2", exact=True)).to_be_visible()
    expect(kitchen.get_by_role("cell", name="1", exact=True)).to_be_visible()
    assert page.errors == []


def test_a_wrong_password_is_refused(pages: Pages, setup: Setup) -> None:
    page = open_ui(pages, "refused", setup.ui_url)
    log_in(page, setup.app_url, PASSWORD + "-wrong")
    expect(page.get_by_text("Invalid credentials", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Connect")).to_be_visible()  # the form stays
    expect(page.get_by_role("banner")).to_contain_text("Status: disconnected")
