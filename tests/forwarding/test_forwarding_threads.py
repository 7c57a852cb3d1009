"""HTTP → realtime forwarding between ``def`` routes: a ``def`` route reached from HTTP that
forwards to another ``def`` route and waits for it runs that route in its own worker thread, so
a crowd of such requests can never take every realtime thread and wait for one more."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import expressio
from expressio.io.routes import REALTIME_THREADS
from tests.support import served

CONCURRENT_REQUESTS = REALTIME_THREADS + 10
FORWARD_WAIT = 10.0  # seconds a route waits for the route it forwarded to


class Crowd:
    """Lets the first route of each request go on only once every realtime thread is held by
    one (or after a while): the forwards then all happen while no thread is free."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._size = size
        self.full = threading.Event()

    def enter(self) -> None:
        with self._lock:
            self._inside += 1
            if self._inside >= self._size:
                self.full.set()
        self.full.wait(timeout=3)


def make_app(crowd: Crowd) -> expressio.Application:
    app = expressio.express()
    app.http().io()

    @app.io.route("a")
    def first(req: Any) -> None:
        crowd.enter()
        req.thread = threading.get_ident()
        pending = req.io.route("b")
        pending.result(timeout=FORWARD_WAIT)
        req.io.respond({"b": req.b_answer, "same_thread": req.b_thread == req.thread})

    @app.io.route("b")
    def second(req: Any) -> None:
        req.b_thread = threading.get_ident()
        req.b_answer = f"b saw {req.data['n']}"

    @app.io.route("a_then_boom")
    def forwards_to_failure(req: Any) -> None:
        req.io.route("boom").result(timeout=FORWARD_WAIT)
        req.io.respond("never sent: the failure answered first")

    @app.io.route("boom")
    def boom(req: Any) -> None:
        raise RuntimeError("this route fails on purpose")

    @app.io.route("a_then_nowhere")
    def forwards_nowhere(req: Any) -> None:
        req.io.route("no-such-route").result(timeout=FORWARD_WAIT)
        req.io.respond("never sent: the unknown route answered first")

    @app.post("/forward/:route")
    def forward(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])

    return app


@pytest.fixture(scope="module")
def crowd() -> Crowd:
    return Crowd(REALTIME_THREADS)


@pytest.fixture(scope="module")
def url(crowd: Crowd) -> Iterator[str]:
    with served(make_app(crowd)) as base_url:
        yield base_url
    crowd.full.set()


async def test_more_requests_than_threads_forwarding_def_to_def_all_answer(url: str) -> None:
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    # Generous: a deadlocked server answers 500 once FORWARD_WAIT runs out, well before this.
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(client.post("/forward/a", json={"n": n}) for n in range(CONCURRENT_REQUESTS))
        )
    assert [response.status_code for response in responses] == [200] * CONCURRENT_REQUESTS
    assert [response.json() for response in responses] == [
        {"b": f"b saw {n}", "same_thread": True} for n in range(CONCURRENT_REQUESTS)
    ]


async def test_a_failing_def_forward_from_a_def_route_answers_500(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post("/forward/a_then_boom", json={})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}


async def test_an_unknown_forward_from_a_def_route_answers_404(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post("/forward/a_then_nowhere", json={})
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown route: no-such-route"}
