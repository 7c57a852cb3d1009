"""Data JSON cannot carry raises where the IO call was made, also in a ``def`` route whose
calls are handed over to the event loop (an error there could only be logged)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import expressio

from .conftest import clients, served

UNENCODABLE = {1, 2, 3}  # a set: JSON cannot carry it


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()

    def attempts(req: Any) -> dict[str, str]:
        calls = {
            "emit": lambda: req.io.emit("x", UNENCODABLE),
            "broadcast": lambda: req.io.broadcast("x", UNENCODABLE),
            "room_broadcast": lambda: req.io.room("r").broadcast("x", UNENCODABLE),
            "app_broadcast": lambda: app.io.broadcast("x", UNENCODABLE),
            "app_room_broadcast": lambda: app.io.room("r").broadcast("x", UNENCODABLE),
        }
        outcomes = {}
        for name, call in calls.items():
            try:
                call()
            except TypeError:
                outcomes[name] = "raised"
            else:
                outcomes[name] = "no error"
        return outcomes

    @app.io.route("bad_data_sync")
    def bad_data_sync(req: Any) -> None:
        req.io.respond(attempts(req))

    @app.io.route("bad_data_async")
    async def bad_data_async(req: Any) -> None:
        req.io.respond(attempts(req))

    @app.io.route("emit_then_fine")
    def emit_then_fine(req: Any) -> None:
        req.io.emit("fine", ["good", b"\x00binary"])
        req.io.respond("done")

    return app


@pytest.fixture
def site() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url


async def test_unencodable_data_raises_in_def_and_async_def_routes_alike(site: str) -> None:
    raised = dict.fromkeys(
        ("emit", "broadcast", "room_broadcast", "app_broadcast", "app_room_broadcast"), "raised"
    )
    async with clients(site) as connect:
        client = await connect()
        assert await client.call("bad_data_async") == raised
        assert await client.call("bad_data_sync") == raised
        # nothing half-sent: the client got none of them, and good data still flows
        assert await client.call("emit_then_fine") == "done"
        assert client.inbox.of("fine") == [["good", b"\x00binary"]]
        assert "x" not in client.inbox.events()
