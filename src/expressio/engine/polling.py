"""HTTP long-polling over ASGI: the handshake, GET (server to client), POST (client to server).

Also the request checks every polling request goes through (origin, ``EIO``, ``transport``,
``sid``) and the CORS answers browsers need to poll from another allowed origin.

A GET with nothing to deliver waits until the session has something (a message, a ping, the
noop of an upgrade, the close packet) or the client goes away, which closes the session as
Engine.IO prescribes; one that waited while the session moved to a websocket is refused.
What a request may do (one GET and one POST in flight per session, what a closed session still
answers) is the session's state machine's decision: this module only reads requests and writes
answers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from starlette.datastructures import Headers

from expressio.engine.admission import admit_new_session
from expressio.engine.connection import DuplicatePoll, PollAfterUpgrade
from expressio.engine.handshake import (
    ALLOWED_METHODS,
    BAD_HANDSHAKE_METHOD,
    BAD_REQUEST,
    FORBIDDEN,
    UNKNOWN_SID,
    EngineError,
    HandshakeRequest,
    Receive,
    Scope,
    Send,
    cors_headers,
    parse_query,
)
from expressio.engine.reasons import DisconnectReason
from expressio.engine.socket import EngineSocket

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = ["handle_http"]

PAYLOAD_TOO_LARGE: Final = EngineError(413, 3, "Payload too large")

_TEXT_PLAIN: Final = (b"content-type", b"text/plain; charset=UTF-8")


async def handle_http(server: EngineServer, scope: Scope, receive: Receive, send: Send) -> None:
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if not server.origin_policy.allows(origin, scope, headers):
        await _respond_error(send, FORBIDDEN, [])
        return
    cors = cors_headers(origin)
    method = scope["method"]
    if method == "OPTIONS":
        await _respond_preflight(send, headers, cors)
        return
    query = parse_query(scope)
    error = server.check_query(query, "polling")
    if error is not None:
        await _respond_error(send, error, cors)
        return
    sid = query.get("sid")
    if sid is None:
        if method != "GET":
            await _respond_error(send, BAD_HANDSHAKE_METHOD, cors)
            return
        await _handshake(server, scope, query, send, cors)
        return
    socket = server.find(sid)
    if socket is None:
        await _respond_error(send, UNKNOWN_SID, cors)
        return
    if socket.transport != "polling":
        await _respond_error(send, BAD_REQUEST, cors)
        return
    if method == "GET":
        await _poll(socket, receive, send, cors)
    elif method == "POST":
        await _push(server, socket, headers, receive, send, cors)
    else:
        await _respond_error(send, BAD_REQUEST, cors)


async def _handshake(
    server: EngineServer,
    scope: Scope,
    query: dict[str, str],
    send: Send,
    cors: list[tuple[bytes, bytes]],
) -> None:
    request = HandshakeRequest.from_scope(scope, query)
    verdict = admit_new_session(server, request)
    if verdict is not None and not isinstance(verdict, EngineError):
        verdict = await verdict
    if verdict is not None:
        await _respond_error(send, verdict, cors)
        return
    socket = server.open_session("polling", request)
    body = server.open_packet(socket)
    server.connected(socket)
    await _respond(send, 200, body.encode(), [_TEXT_PLAIN, *cors])


async def _poll(
    socket: EngineSocket, receive: Receive, send: Send, cors: list[tuple[bytes, bytes]]
) -> None:
    answer = socket.start_poll()
    if type(answer) is DuplicatePoll:
        # The pending GET is woken by the close and answers the close packet.
        await _respond_error(send, BAD_REQUEST, cors)
        return
    if answer is None:
        answer = await _wait_for_payload(socket, receive)
        if answer is None:
            return  # the client went away; nobody to answer
    if type(answer) is PollAfterUpgrade:
        await _respond_error(send, BAD_REQUEST, cors)
        return
    assert isinstance(answer, str)
    await _respond(send, 200, answer.encode(), [_TEXT_PLAIN, *cors])


async def _wait_for_payload(
    socket: EngineSocket, receive: Receive
) -> str | PollAfterUpgrade | None:
    loop = asyncio.get_running_loop()
    went_away = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        while True:
            waiter: asyncio.Future[None] = loop.create_future()
            socket.waiter = waiter
            await asyncio.wait((waiter, went_away), return_when=asyncio.FIRST_COMPLETED)
            if socket.waiter is waiter:
                socket.waiter = None
            answer = socket.finish_poll() if waiter.done() else None
            if answer is not None:
                return answer
            if went_away.done():
                socket.abandon_poll()
                return None
    finally:
        went_away.cancel()


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


_TOO_LARGE: Final = object()


async def _push(
    server: EngineServer,
    socket: EngineSocket,
    headers: Headers,
    receive: Receive,
    send: Send,
    cors: list[tuple[bytes, bytes]],
) -> None:
    if not socket.start_post():
        await _respond_error(send, BAD_REQUEST, cors)
        return
    try:
        body = await _read_body(receive, headers, server.max_payload)
    finally:
        socket.finish_post()
    if body is None:
        return  # the client went away mid-request
    if body is _TOO_LARGE:
        socket.close(DisconnectReason.TRANSPORT_ERROR)
        await _respond_error(send, PAYLOAD_TOO_LARGE, cors)
        return
    assert isinstance(body, bytes)
    if not socket.receive_payload(body, asyncio.get_running_loop().time()):
        await _respond_error(send, BAD_REQUEST, cors)
        return
    await _respond(send, 200, b"ok", [_TEXT_PLAIN, *cors])


async def _read_body(receive: Receive, headers: Headers, limit: int) -> bytes | object | None:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _TOO_LARGE
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond_preflight(send: Send, headers: Headers, cors: list[tuple[bytes, bytes]]) -> None:
    extra = [(b"access-control-allow-methods", ALLOWED_METHODS.encode())]
    requested = headers.get("access-control-request-headers")
    if requested:
        extra.append((b"access-control-allow-headers", requested.encode("latin-1")))
    await _respond(send, 204, b"", [*cors, *extra])


async def _respond_error(send: Send, error: EngineError, cors: list[tuple[bytes, bytes]]) -> None:
    await _respond(send, error.status, error.body(), [(b"content-type", error.content_type), *cors])


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
