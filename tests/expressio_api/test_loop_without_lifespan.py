"""IO calls from ``def`` routes reach the event loop also when the HTTP side never ran: no
lifespan, and websocket-only clients on the direct path (no ASGI call at all)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import expressio
from tests.support import served

from .conftest import WAIT, clients


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()

    @app.io.route("ask")
    def ask(req: Any) -> None:
        req.io.emit("before", "emitted from a worker thread")
        answer = req.io.emit_with_ack("question", req.data, timeout=WAIT).result(WAIT)
        req.io.respond({"answer": answer})

    return app


@pytest.fixture
def site() -> Iterator[str]:
    with served(make_app(), lifespan="off") as base_url:
        yield base_url


async def test_def_route_emits_and_waits_for_an_ack_without_lifespan(site: str) -> None:
    async with clients(site) as connect:
        client = await connect(transports=("websocket",), answers={"question": "forty-two"})
        assert await client.call("ask", "what?") == {"answer": "forty-two"}
        assert client.inbox.of("before") == ["emitted from a worker thread"]
        assert client.inbox.of("question") == ["what?"]
