"""The websocket transport over ASGI: direct sessions and the upgrade from polling.

A websocket session is one reader loop (the ASGI handler itself) plus one writer task that
drains the session's outbox and sleeps on a future while it is empty: no task per message.
ASGI message dicts exist only in this module.

Whether a websocket is admitted, and as what, is decided by ``admission.py`` (shared with the
direct transport). A websocket that brings the ``sid`` of a polling session probes first
(``2probe`` -> ``3probe``), then takes the session over on ``5``. One that brings the sid of a
session already on a websocket (or already probing) is accepted and closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

from expressio.engine.admission import (
    admit_new_session,
    admit_websocket,
    open_websocket_session,
)
from expressio.engine.handshake import EngineError, HandshakeRequest, Receive, Scope, Send
from expressio.engine.reasons import DisconnectReason
from expressio.engine.socket import EngineSocket
from expressio.protocol.engineio import PreparedMessage

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = ["handle_websocket"]

_NORMAL_CLOSURE: Final = 1000
_POLICY_VIOLATION: Final = 1008


async def handle_websocket(
    server: EngineServer, scope: Scope, receive: Receive, send: Send
) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    admission = admit_websocket(server, scope)
    error = admission.error
    request: HandshakeRequest | None = None
    if admission.query is not None:
        request = HandshakeRequest.from_scope(scope, admission.query)
        verdict = admit_new_session(server, request)
        if verdict is not None and not isinstance(verdict, EngineError):
            verdict = await verdict
        error = verdict
    if error is not None:
        await _deny(scope, send, error)
        return
    try:
        await send({"type": "websocket.accept"})
    except BaseException:
        if admission.probing is not None:
            admission.probing.abandon_probe()
        raise
    if request is not None:
        socket, open_packet = open_websocket_session(server, request)
        await send({"type": "websocket.send", "text": open_packet})
        server.connected(socket)
        await _carry_session(server, socket, receive, send)
    elif admission.probing is not None:
        if await _probe(server, admission.probing, receive, send):
            await _carry_session(server, admission.probing, receive, send)
    else:
        # A second websocket for the session: the protocol says close it, and only it.
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})


async def _probe(server: EngineServer, socket: EngineSocket, receive: Receive, send: Send) -> bool:
    """Run the upgrade handshake; True once the session belongs to this websocket."""
    try:
        async with asyncio.timeout(server.upgrade_timeout):
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    socket.abandon_probe()
                    return False
                frame = _frame_of(message)
                if frame is None:
                    continue
                result = socket.receive_probe_frame(frame)
                if result.reply is not None:
                    await send({"type": "websocket.send", "text": result.reply})
                elif result.upgraded:
                    return True
                elif result.failed:
                    break
    except TimeoutError:
        pass
    socket.abandon_probe()
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
    return False


async def _carry_session(
    server: EngineServer, socket: EngineSocket, receive: Receive, send: Send
) -> None:
    """Read frames until the websocket ends, with a writer task draining the outbox."""
    state = _WriterState()
    writer = asyncio.ensure_future(_write(socket, send, state))
    server.track(writer)
    clock = asyncio.get_running_loop().time
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                frame = _frame_of(message)
                if frame is None:
                    continue
                socket.receive_frame(frame, clock())
                if socket.waiter is not None:  # else the writer was woken, or is sending
                    batch = socket.take_outbox()
                    if batch:
                        await _send_inline(socket, send, batch)
            elif message["type"] == "websocket.disconnect":
                state.peer_closed = True
                break
    finally:
        socket.close(DisconnectReason.TRANSPORT_CLOSE)
        if state.peer_closed:
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        socket.finish_close()


async def _send_inline(socket: EngineSocket, send: Send, batch: list[PreparedMessage]) -> None:
    """Send what the last frame produced (e.g. a pong) from the reader itself.

    Saves waking the writer task. Only while the writer is idle (its waiter parked): the
    waiter is held back meanwhile so nothing else wakes it, which keeps a single sender at a
    time and therefore the order of frames.
    """
    waiter = socket.waiter
    assert waiter is not None
    socket.waiter = None
    socket.write_blocked = True  # a send may wait for the peer to read (volatile: drop)
    try:
        while batch:
            for prepared in batch:
                await send(_ws_message(prepared.websocket))
            batch = socket.take_outbox()
    except Exception:
        socket.close(DisconnectReason.TRANSPORT_ERROR)
    socket.write_blocked = False
    if waiter.done():
        return
    if socket.closed:
        waiter.set_result(None)
    else:
        socket.waiter = waiter


def _ws_message(frame: str | bytes) -> dict[str, Any]:
    if type(frame) is str:
        return {"type": "websocket.send", "text": frame}
    return {"type": "websocket.send", "bytes": frame}


class _WriterState:
    __slots__ = ("peer_closed",)

    def __init__(self) -> None:
        self.peer_closed = False


async def _write(socket: EngineSocket, send: Send, state: _WriterState) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            batch = socket.take_outbox()
            if batch:
                # A send may wait for the peer to read: volatile packets are dropped meanwhile.
                socket.write_blocked = True
                for prepared in batch:
                    await send(_ws_message(prepared.websocket))
                socket.write_blocked = False
                continue
            if socket.closed:
                break
            waiter: asyncio.Future[None] = loop.create_future()
            socket.waiter = waiter
            await waiter
    except asyncio.CancelledError:
        raise
    except Exception:
        # The peer is gone mid-write; the reader sees the disconnect and reports it.
        socket.close(DisconnectReason.TRANSPORT_ERROR)
        return
    if not state.peer_closed:
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": _NORMAL_CLOSURE})


def _frame_of(message: Any) -> str | bytes | None:
    text: str | None = message.get("text")
    if text is not None:
        return text
    data: bytes | None = message.get("bytes")
    return data


async def _deny(scope: Scope, send: Send, error: EngineError) -> None:
    """Refuse the websocket before accepting it, with an HTTP answer when the server can."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": error.status,
                "headers": [(b"content-type", error.content_type)],
            }
        )
        await send({"type": "websocket.http.response.body", "body": error.body()})
    else:
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
