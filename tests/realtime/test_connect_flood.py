"""CONNECT packets sent while one is being admitted: one pending admission per namespace.

Without the bound, one polling POST of ``"40\\x1e" * 333000`` to a server with an async
connection middleware started 333k admission tasks in one loop turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
import pytest

from expressio.realtime import RealtimeServer, Socket

Make = Any
WAIT = 5.0


async def test_a_second_connect_while_the_first_is_admitted_closes_the_connection(
    make_server: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """Checks: many CONNECTs of one namespace in one go start one admission, the second one
    closes the connection with "parse error" (logged at info), and no task is left behind."""
    server, engine = make_server()
    release = asyncio.Event()
    calls: list[dict[str, Any]] = []

    async def slow(socket: Socket, auth: dict[str, Any]) -> None:
        calls.append(auth)
        await release.wait()

    server.of("/").use(slow)
    client = engine.connect()
    with caplog.at_level(logging.INFO, logger="expressio.realtime"):
        client.receive(*["0"] * 1000)
    await asyncio.sleep(0)
    assert len(calls) == 1
    assert client.closed and client.close_reason == "parse error"
    assert any(
        r.levelno == logging.INFO and "admission is pending" in r.getMessage()
        for r in caplog.records
    )
    release.set()
    await asyncio.sleep(0.01)
    assert client.take() == []  # closed: the late admission answers nothing
    assert server._admissions == set()
    assert server.of("/").sockets == {}


async def test_connects_after_an_admission_ends_and_to_other_namespaces_are_allowed(
    make_server: Make,
) -> None:
    """Checks: the bound is per namespace and per pending admission only — another namespace
    meanwhile, and the same namespace again once admitted, still connect."""
    server, engine = make_server()

    async def allow(socket: Socket, auth: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)

    server.of("/").use(allow)
    server.of("/chat").use(allow)
    client = engine.connect()
    client.receive("0", "0/chat,")
    await asyncio.sleep(0.05)
    sent = client.take()
    assert len(sent) == 2 and not client.closed
    client.receive("0")  # a CONNECT again, now that the first is done
    await asyncio.sleep(0.05)
    assert len(client.take()) == 1 and not client.closed
    assert len(server.of("/").sockets) == 1


async def test_admission_tasks_belong_to_their_server(make_server: Make) -> None:
    """Checks: the strong references to admission tasks are per server, not module-global."""
    first, first_engine = make_server()
    second, _ = make_server()
    gate = asyncio.Event()

    async def wait(socket: Socket, auth: dict[str, Any]) -> None:
        await gate.wait()

    first.of("/").use(wait)
    first_engine.connect().receive("0")
    await asyncio.sleep(0)
    assert len(first._admissions) == 1 and second._admissions == set()
    gate.set()
    await asyncio.sleep(0.01)
    assert first._admissions == set()


async def test_one_polling_post_of_connect_packets_closes_the_session(serve: Any) -> None:
    """Checks, end to end over real polling: a POST of many CONNECTs runs the async
    middleware once and ends the session (the next poll is refused)."""
    server = RealtimeServer()
    calls: list[int] = []

    async def slow(socket: Socket, auth: dict[str, Any]) -> None:
        calls.append(1)
        await asyncio.sleep(0.05)

    server.of("/").use(slow)
    url = await serve(server)
    base = url + "/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = await http.get(base)
        sid = orjson.loads(opened.text[1:])["sid"]
        session = f"{base}&sid={sid}"
        posted = await http.post(session, content="\x1e".join(["40"] * 10_000))
        assert posted.status_code == 200
        await asyncio.sleep(0.1)
        after = await http.get(session)
    assert len(calls) == 1
    assert after.status_code == 400 and "Session ID unknown" in after.text
