"""Request heads that never end, and more connections than the server takes.

Without a deadline, uvicorn keeps reading a request head for as long as the client trickles
it: 3,000 connections sending one byte a second were all still open after 35 s. ``app.listen``
now closes a connection whose head is not complete within ``header_timeout`` (408), and
answers 503 to connections beyond ``max_connections``.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest

import expressio
from expressio.http.connection_guard import ConnectionLimits, guarded
from tests.socket_clients import clients
from tests.support import served

from .conftest import limits_server

HEADER_TIMEOUT = 1.5
#: Generous: the server closes them at HEADER_TIMEOUT; a loaded machine may take longer.
CLOSED_WITHIN = HEADER_TIMEOUT + 8.0
SLOW_SOCKETS = 60
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 200


async def _trickle(host: str, port: int, opened: asyncio.Event, started: list[None]) -> float:
    """Send a request head a byte every 0.2 s, never finishing it; the seconds until the
    server closed the connection, with what it answered checked."""
    reader, writer = await asyncio.open_connection(host, port)
    begin = time.monotonic()
    started.append(None)
    if len(started) == SLOW_SOCKETS:
        opened.set()
    answer = b""
    try:
        for byte in HEAD:
            writer.write(bytes((byte,)))
            try:
                answer += await asyncio.wait_for(reader.read(4096), 0.2)
            except TimeoutError:
                continue
            if not answer or reader.at_eof():
                break
        else:
            raise AssertionError("the server waited for the whole slow head")
        answer += await asyncio.wait_for(reader.read(), CLOSED_WITHIN)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    return time.monotonic() - begin


async def test_request_heads_that_never_end_are_closed_while_others_are_served() -> None:
    """Checks: 60 connections trickling a request head are each answered 408 and closed
    within the bound; meanwhile an HTTP request and a socket.io client are served."""
    with limits_server("--header-timeout", str(HEADER_TIMEOUT)) as base_url:
        address = urlsplit(base_url)
        assert address.hostname is not None and address.port is not None
        opened = asyncio.Event()
        started: list[None] = []
        slow = [
            asyncio.ensure_future(_trickle(address.hostname, address.port, opened, started))
            for _ in range(SLOW_SOCKETS)
        ]
        await asyncio.wait_for(opened.wait(), 10)
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get("/")
            assert (response.status_code, response.text) == (200, "hello")
        async with clients(base_url) as connect:
            client = await connect(transports=("polling", "websocket"))
            assert await client.call("echo", {"during": "slow heads"}) == {"during": "slow heads"}
        lasted = await asyncio.wait_for(asyncio.gather(*slow), CLOSED_WITHIN + 10)
        assert max(lasted) < CLOSED_WITHIN, sorted(lasted)[-5:]
        # A well-behaved client after them, on a connection that stays idle in between.
        async with httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/")).status_code == 200


async def test_a_connection_that_sends_nothing_is_closed_too() -> None:
    """Checks: the deadline runs from the connection's start, not from its first byte."""
    with limits_server("--header-timeout", str(HEADER_TIMEOUT)) as base_url:
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN)
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


async def test_a_slow_head_after_a_first_request_on_the_same_connection_is_closed() -> None:
    """Checks: the deadline also applies to the next request of a kept-alive connection
    (uvicorn's keep-alive timeout is cancelled by any byte)."""
    with limits_server("--header-timeout", str(HEADER_TIMEOUT)) as base_url:
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            first = await asyncio.wait_for(reader.readuntil(b"hello"), 5)
            assert first.startswith(b"HTTP/1.1 200 ")
            begin = time.monotonic()
            answer = b""
            for byte in HEAD:
                writer.write(bytes((byte,)))
                try:
                    answer = await asyncio.wait_for(reader.read(4096), 0.5)
                except TimeoutError:
                    continue
                break
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
            assert time.monotonic() - begin < CLOSED_WITHIN
        finally:
            writer.close()


async def test_connections_beyond_the_cap_get_503_and_are_served_again_below_it() -> None:
    """Checks: with max_connections=20 and 20 idle connections open, a request is answered
    503 (with Retry-After and a short text); once they are closed, requests are served."""
    with limits_server("--max-connections", "20", "--header-timeout", "30") as base_url:
        address = urlsplit(base_url)
        idle = [await asyncio.open_connection(address.hostname, address.port) for _ in range(20)]
        await asyncio.sleep(0.3)  # the server has accepted them all
        try:
            async with httpx.AsyncClient(base_url=base_url) as http:
                refused = await http.get("/")
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                assert refused.text == "Too many connections"
        finally:
            for _, writer in idle:
                writer.close()
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/")).status_code == 200
            async with clients(base_url) as connect:
                client = await connect()
                assert await client.call("echo", 1) == 1


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_both_http_protocols_keep_the_deadline_and_the_cap(http: str) -> None:
    """Checks: whichever uvicorn HTTP protocol serves (h11 when httptools is missing), a
    slow head gets 408 and a connection over the cap 503, and a normal request is served."""
    app = expressio.express()
    app.get("/", lambda req, res: res.send("hello"))
    limits = ConnectionLimits(header_timeout=1.0, max_connections=2)
    with served(app, http=guarded(http, limits)) as base_url:
        address = urlsplit(base_url)
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/")).text == "hello"
        await asyncio.sleep(0.3)  # that connection has closed on the server's side too
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write(HEAD[:30])
        other, other_writer = await asyncio.open_connection(address.hostname, address.port)
        third, third_writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            assert (await asyncio.wait_for(third.read(), 5)).startswith(b"HTTP/1.1 503 ")
            assert (await asyncio.wait_for(reader.read(), CLOSED_WITHIN)).startswith(
                b"HTTP/1.1 408 "
            )
            assert (await asyncio.wait_for(other.read(), CLOSED_WITHIN)).startswith(
                b"HTTP/1.1 408 "
            )
        finally:
            for each in (writer, other_writer, third_writer):
                each.close()
