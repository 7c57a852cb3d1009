"""MemoryStore's footprint: compact payloads, a cap with least-recently-used eviction, and no
session stored for requests that leave it empty (express-session's saveUninitialized: false)."""

from __future__ import annotations

import gc
import logging
import tracemalloc
from typing import Any

import httpx
import orjson
import pytest

import expressio
from expressio.sessions import DEFAULT_MAX_SESSIONS, MemoryStore
from expressio.sessions.cookie import new_session_id


async def test_small_sessions_cost_well_under_a_kilobyte_each() -> None:
    """orjson's bytes keep a ~4 KB buffer even for b"{}": the store used to keep that buffer for
    every session (~4 KB each). It now keeps compact copies; ids and bookkeeping included, a
    small session costs a few hundred bytes."""
    store = MemoryStore()
    count = 5_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(count):
            payload = orjson.dumps({}) if index % 2 else orjson.dumps({"n": index})
            await store.save(new_session_id(), payload, 60)
        del payload
        gc.collect()
        per_session = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert len(store) == count
    assert per_session < 500, f"{per_session:.0f} bytes per session"


async def test_the_payload_reads_back_unchanged() -> None:
    store = MemoryStore()
    payload = orjson.dumps({"user": "ann", "cart": [1, 2]})
    await store.save("a", payload, 60)
    assert await store.load("a") == payload


def test_the_default_cap_is_documented_and_configurable() -> None:
    assert DEFAULT_MAX_SESSIONS == 100_000
    assert MemoryStore().max_sessions == DEFAULT_MAX_SESSIONS
    assert MemoryStore(max_sessions=10).max_sessions == 10
    with pytest.raises(ValueError, match="max_sessions"):
        MemoryStore(max_sessions=0)


async def test_when_full_the_least_recently_used_session_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store used to grow without bound: a flood of new sessions could exhaust memory."""
    store = MemoryStore(max_sessions=3)
    for sid in ("a", "b", "c"):
        await store.save(sid, b"{}", 60)
    assert await store.load("a") == b"{}"  # a read counts as a use: "b" is now the oldest
    with caplog.at_level(logging.WARNING, logger="expressio.sessions"):
        await store.save("d", b"{}", 60)
        assert len(store) == 3 and await store.load("b") is None
        await store.touch("c", 60)  # a touch counts too: "a" is now the oldest
        await store.save("e", b"{}", 60)
        assert await store.load("a") is None
        await store.save("c", b'{"x":1}', 60)  # rewriting one that is there evicts nothing
    assert len(store) == 3
    assert [await store.load(sid) for sid in ("c", "d", "e")] == [b'{"x":1}', b"{}", b"{}"]
    full = [record for record in caplog.records if "MemoryStore full" in record.message]
    assert len(full) == 1  # said once, not at every eviction


async def test_expiry_still_applies() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0], max_sessions=10)
    await store.save("a", b"{}", 5)
    now[0] = 6.0
    assert await store.load("a") is None and len(store) == 0


def counting_app(store: MemoryStore) -> expressio.Application:
    app = expressio.express()
    app.use(expressio.session(secret="monkey", store=store))

    @app.get("/never")
    def never_reads(req: Any, res: Any) -> Any:
        return {"ok": True}

    @app.get("/reads")
    def reads(req: Any, res: Any) -> Any:
        return {"user": req.session.get("user"), "id": req.session.id}

    @app.get("/reads-async")
    async def reads_async(req: Any, res: Any) -> Any:
        return {"n": len(req.session)}

    @app.get("/writes")
    def writes(req: Any, res: Any) -> Any:
        req.session["user"] = "ann"
        return {"ok": True}

    return app


@pytest.mark.parametrize("path", ["/never", "/reads", "/reads-async"])
async def test_cookieless_requests_that_leave_the_session_empty_store_nothing(path: str) -> None:
    """1,000 cookieless requests: to a route that never reads the session, or one that reads
    it without changing it. The store used to get a new empty session (and the client a cookie)
    for every request that read it."""
    store = MemoryStore()
    transport = httpx.ASGITransport(app=counting_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(1_000):
            response = await client.get(path)
            assert response.status_code == 200
            assert "set-cookie" not in response.headers
            client.cookies.clear()
    assert len(store) == 0


async def test_a_session_that_gets_data_is_stored_and_keeps_its_cookie() -> None:
    store = MemoryStore()
    transport = httpx.ASGITransport(app=counting_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.get("/reads")
        assert "set-cookie" not in first.headers
        written = await client.get("/writes")
        assert "set-cookie" in written.headers and len(store) == 1
        again = (await client.get("/reads")).json()
        assert again["user"] == "ann" and "set-cookie" not in first.headers
    assert len(store) == 1
