"""``req.io.of(name)`` in an HTTP handler: one view per namespace, whichever way it is named
(``"admin"`` or ``"/admin"``), so the routes forwarded through it share one ``req``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import expressio
from tests.support import served


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    admin = app.io.of("/admin")

    @admin.route("report")
    def report(req: Any) -> None:
        req.io.respond({"tag": getattr(req, "tag", None)})

    @app.get("/views")
    def views(req: Any, res: Any) -> Any:
        return {
            "stable": req.io.of("admin") is req.io.of("admin"),
            "same": req.io.of("admin") is req.io.of("/admin"),
        }

    @app.post("/forward")
    def forward(req: Any, res: Any) -> None:
        req.tag = "set by the handler"  # read through by the forwarded route's req
        req.io.of("admin").route("report")

    return app


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with served(make_app()) as base_url:
        yield base_url


async def test_a_namespace_named_with_or_without_slash_is_one_view(site: str) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=10) as http:
        assert (await http.get("/views")).json() == {"stable": True, "same": True}
        answer = await http.post("/forward")
    # the route's req reads what was set on the HTTP request
    assert answer.json() == {"tag": "set by the handler"}
