"""``req.io.disconnect()`` closes the client's whole connection, as API.md says: every
namespace it joined on that connection ends, and the client is told (it does not reconnect)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

import expressio

from .conftest import WAIT, served


def make_app(reasons: list[tuple[str, str]]) -> expressio.Application:
    app = expressio.express()
    app.http().io()
    chat = app.io.of("/chat")

    @app.io.route("bye")
    def bye(req: Any) -> None:
        req.io.disconnect()

    @app.io.route("disconnect")
    def gone(req: Any) -> None:
        reasons.append(("/", req.data))

    @chat.route("disconnect")
    def gone_from_chat(req: Any) -> None:
        reasons.append(("/chat", req.data))

    return app


@pytest.fixture
def site() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    reasons: list[tuple[str, str]] = []
    with served(make_app(reasons)) as base_url:
        yield base_url, reasons


async def test_disconnect_closes_every_namespace_of_the_connection(
    site: tuple[str, list[tuple[str, str]]],
) -> None:
    base_url, reasons = site
    sio = socketio.AsyncClient(reconnection=False)
    ended = {"/": asyncio.Event(), "/chat": asyncio.Event()}
    for namespace, event in ended.items():
        sio.on("disconnect", lambda *_, event=event: event.set(), namespace=namespace)
    await sio.connect(
        base_url, namespaces=["/", "/chat"], transports=["websocket"], wait_timeout=WAIT
    )
    try:
        await sio.emit("bye")
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ended.values())), WAIT)
        assert not sio.connected
    finally:
        if sio.connected:
            await sio.disconnect()
    for _ in range(100):
        if len(reasons) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(reasons) == [
        ("/", "server namespace disconnect"),
        ("/chat", "server namespace disconnect"),
    ]
