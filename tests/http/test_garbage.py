"""A request leaves no reference cycles behind: everything it made is freed by reference
counting when it ends. Cycles would leave each request's objects to the garbage collector, whose
runs then cost a large share of a busy server's time."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

import expressio


@pytest.fixture
def saved_garbage() -> Iterator[list[Any]]:
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def serve_once(app: Any, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # a real server yields while it writes

    await app(scope, receive, send)


async def test_answered_requests_leave_no_cycles(saved_garbage: list[Any]) -> None:
    app = expressio.express()

    @app.get("/hello")
    async def hello(req: expressio.Request, res: expressio.Response) -> None:
        res.send("Hello World")

    @app.get("/users/:id")
    def user(req: expressio.Request, res: expressio.Response) -> dict[str, str]:
        return {"id": req.params["id"]}

    for _ in range(20):
        await serve_once(app, "/hello")
        await serve_once(app, "/users/7")
        await serve_once(app, "/missing")
    await asyncio.sleep(0.05)
    gc.collect()
    ours = [
        type(item).__name__
        for item in saved_garbage
        if type(item).__module__.startswith("expressio")
    ]
    assert ours == []
