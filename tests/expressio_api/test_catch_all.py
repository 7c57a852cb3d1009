"""``@app.io.route("*")``: the catch-all route (socket.io's ``onAny``), through python-socketio."""

from __future__ import annotations

import asyncio
from typing import Any

import expressio

from .conftest import clients, served


def make_app() -> Any:
    app = expressio.express().http().io()
    seen: list[tuple[str, Any]] = []
    app.seen = seen  # type: ignore[attr-defined]

    @app.io.route("own")
    def own(req: Any) -> None:
        req.io.respond("own route")

    @app.io.route("*")
    def anything(req: Any) -> None:
        seen.append((req.event, req.data))
        req.io.respond({"event": req.event, "data": req.data, "args": list(req.args)})

    @app.io.route("forward_nowhere")
    async def forward_nowhere(req: Any) -> None:
        await req.io.route("no-such-route")

    admin = app.io.of("/admin")

    @admin.route("*")
    async def admin_anything(req: Any) -> None:
        await asyncio.sleep(0)
        req.io.respond("admin got " + req.event)

    return app


async def test_events_without_a_route_reach_the_catch_all_with_their_name() -> None:
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as connect:
            client = await connect()
            assert await client.call("whatever", 1, 2) == {
                "event": "whatever",
                "data": 1,
                "args": [1, 2],
            }
            assert await client.call("own") == "own route"  # a route of its own wins
            await client.emit("no-ack", "x")
            assert await client.call("fence") == {"event": "fence", "data": None, "args": []}
            assert ("no-ack", "x") in app.seen


async def test_reserved_names_and_forwards_never_reach_the_catch_all() -> None:
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as connect:
            client = await connect()
            for name in ("message", "disconnect", "connect_error"):
                await client.emit(name, "fake")
            # a forward names its route: an unknown one is an error, not the catch-all's
            assert await client.call("forward_nowhere") == {
                "error": "Unknown route: no-such-route"
            }
            await client.call("fence")
            assert [event for event, _ in app.seen] == ["fence"]


async def test_each_namespace_has_its_own_catch_all() -> None:
    app = make_app()
    with served(app) as base_url:
        async with clients(base_url) as connect:
            admin = await connect(namespace="/admin")
            assert await admin.call("stats") == "admin got stats"
            root = await connect()
            assert (await root.call("stats"))["event"] == "stats"


async def test_a_catch_all_added_while_clients_are_connected_is_live_for_them() -> None:
    app = expressio.express().http().io()
    late = app.io.of("/late")
    with served(app) as base_url:
        async with clients(base_url) as connect:
            client = await connect(namespace="/late")
            late.route("*", lambda req: req.io.respond("late " + req.event))
            assert await client.call("hello") == "late hello"
