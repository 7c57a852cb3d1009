"""A route that joins more rooms than ``max rooms per socket`` allows, driven by a real client.

The join raises ``expressio.RoomLimitError`` in the route; the route error path logs it and
answers the client's ack with the error; the client stays connected with the rooms it had.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import expressio
from tests.socket_clients import clients
from tests.support import served

LIMIT = 20


def _app() -> Any:
    app = expressio.express()
    app.http().io(max_rooms_per_socket=LIMIT)
    app.set("env", "production")

    @app.io.route("join")
    def join(req: Any) -> None:
        for index in range(req.data["count"]):
            req.io.join(f"{req.data['prefix']}{index}")
        req.io.respond(len(req.socket.rooms))

    @app.io.route("join_async")
    async def join_async(req: Any) -> None:
        for index in range(req.data["count"]):
            req.io.join(f"{req.data['prefix']}{index}")
        req.io.respond(len(req.socket.rooms))

    @app.io.route("rooms")
    def rooms(req: Any) -> None:
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    @app.io.route("shout")
    def shout(req: Any) -> None:
        req.io.room(req.data).broadcast("heard", req.data)
        req.io.respond("sent")

    return app


@pytest.mark.parametrize("route", ["join", "join_async"])
async def test_a_route_joining_too_many_rooms_gets_the_error_ack_and_stays_connected(
    route: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Checks: joining up to the limit works; one more room raises in the route, which is
    logged with RoomLimitError and answered {"error": "Internal Server Error"}; the socket is
    still connected, in its rooms (they still receive), and may rejoin one of them."""
    with served(_app()) as base_url, caplog.at_level(logging.ERROR):
        async with clients(base_url) as connect:
            client = await connect()
            other = await connect()
            assert await client.call(route, {"prefix": "a", "count": LIMIT}) == LIMIT + 1
            answer = await client.call(route, {"prefix": "b", "count": 1})
            assert answer == {"error": "Internal Server Error"}
            assert client.sio.connected
            assert await client.call("rooms") == sorted(f"a{index}" for index in range(LIMIT))
            assert await client.call(route, {"prefix": "a", "count": 3}) == LIMIT + 1
            assert await other.call("shout", "a7") == "sent"
            assert await client.inbox.wait_for("heard") == ["a7"]
    limit_error = expressio.RoomLimitError
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is limit_error]
    assert len(failures) == 1, [r.getMessage() for r in caplog.records]
