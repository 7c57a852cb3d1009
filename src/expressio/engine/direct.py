"""The direct websocket transport: an asyncio protocol that owns each engine websocket.

Under uvicorn with httptools, ``Config(ws=DirectWebSocketProtocol)`` (what
``expressio.http.serving.build_config`` chooses) hands every ``Upgrade: websocket`` request to this
protocol. When the request's path belongs to an :class:`EngineServer` of the app (see
:func:`direct_engine_of`), the protocol answers the handshake itself and carries the session
with its own RFC 6455 framing (``expressio.protocol.websocket_frames``), without ASGI message
dicts, a receive queue or a task per connection. Any other websocket is handed to uvicorn's
usual websocket protocol, so the app's ASGI websocket routes keep working beside it.

Why: per ack, broadcast delivery, new connection and idle connection, the ASGI path through
uvicorn costs several times the server CPU and memory of a plain asyncio protocol.

How a session runs:

* The admission rules (origin, ``EIO``, ``transport``, ``sid``, ``max_clients``,
  ``allow_request``) are ``admission.py``'s, the same as over ASGI; a refusal is an HTTP
  answer before the handshake. While an ``async def`` allow_request decides, the connection
  waits in a phase of its own; no task runs for it otherwise.
* The parser's events are dispatched by type; messages go to the session as they arrive
  (``EngineSocket.receive_frame``, whose state machine decides what they mean). What the
  application queues while a read is processed (an ack, say) is written in one
  ``transport.write``: once the read is done, or, for the common read (one whole text
  frame, ``FrameParser.single_text``), in the flush callback below, with the writes of every
  other session that read in the same loop turn.
* Messages queued at any other time wake the protocol (it is the socket's ``Waiter``): every
  woken session of the loop is flushed together in one callback after the current one, so a
  broadcast of many messages costs one write per recipient, and the framed bytes of a
  broadcast message are built once (cached in ``PreparedMessage.frame``) for all recipients.
* Backpressure: while the transport's buffer is over its high-water mark (``pause_writing``),
  messages stay in the session's bounded outbox; a client that stops reading therefore meets
  the engine's slow-client policy (closed with ``"transport error"`` once ``max_send_buffer``
  packets or ``max_send_buffer_bytes`` of them wait) and its connection is aborted, without
  disturbing anyone else. What sits in the transport's own buffer is at most its high-water
  mark plus one flushed outbox, itself within those bounds.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, MutableMapping
from enum import Enum
from http import HTTPStatus
from typing import Any, ClassVar, Final

from expressio.engine.admission import (
    admit_new_session,
    admit_websocket,
    open_websocket_session,
)
from expressio.engine.handshake import REQUEST_REFUSED, EngineError, HandshakeRequest
from expressio.engine.reasons import DisconnectReason
from expressio.engine.server import EngineServer
from expressio.engine.socket import EngineSocket
from expressio.engine.upgrade_request import (
    direct_engine_of,
    handshake_problem,
    http_response,
    parse_upgrade_request,
    remote_address,
    served_app,
    switching_protocols,
)
from expressio.protocol.engineio import PreparedMessage
from expressio.protocol.websocket_frames import (
    BINARY,
    GOING_AWAY,
    NORMAL_CLOSURE,
    POLICY_VIOLATION,
    PONG,
    TEXT,
    BinaryMessage,
    Close,
    FrameParser,
    Ping,
    ProtocolError,
    TextMessage,
    close_frame,
    encode_frame,
    text_frame,
)

__all__ = ["DirectWebSocketProtocol", "direct_engine_of"]

logger = logging.getLogger("expressio.engine")

#: Seconds a closing connection has to take its last frames before it is aborted.
CLOSE_TIMEOUT: Final = 5.0
_MAX_REQUEST_SIZE: Final = 65536


def _default_fallback() -> Callable[..., asyncio.Protocol] | None:
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    return AutoWebSocketsProtocol


class _Phase(Enum):
    REQUEST = "request"  # reading the upgrade request
    ADMITTING = "admitting"  # an async allow_request decides whether to open a session
    HANDING_OVER = "handing over"  # not ours: uvicorn's protocol takes over next
    PROBING = "probing"  # upgrading a polling session: 2probe / 5 not done yet
    OPEN = "open"  # carries an engine session
    CLOSED = "closed"


# Module constants: an Enum member lookup costs ~0.2 µs, and the hot path checks the phase
# several times per message.
_REQUEST: Final = _Phase.REQUEST
_ADMITTING: Final = _Phase.ADMITTING
_HANDING_OVER: Final = _Phase.HANDING_OVER
_PROBING: Final = _Phase.PROBING
_OPEN: Final = _Phase.OPEN
_CLOSED: Final = _Phase.CLOSED


class _FlushBatch:
    """Sessions of one loop with frames waiting, written in one callback after the current."""

    __slots__ = ("_loop", "_pending", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[DirectWebSocketProtocol] = []
        self._scheduled = False

    def add(self, protocol: DirectWebSocketProtocol) -> None:
        self._pending.append(protocol)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        pending = self._pending
        self._pending = []
        for protocol in pending:
            protocol._flush()


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _FlushBatch] = (
    weakref.WeakKeyDictionary()
)


def _batch_for(loop: asyncio.AbstractEventLoop) -> _FlushBatch:
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _FlushBatch(loop)
    return batch


#: Bytes of queued frames joined into one write; above, the frames are written unjoined.
_JOIN_LIMIT: Final = 64 * 1024

# The header of a final text frame of 0 to 125 bytes, by size.
_SHORT_TEXT_HEADERS: Final = tuple(bytes((0x80 | TEXT, size)) for size in range(126))


def _framed(message: PreparedMessage) -> bytes:
    """The websocket frame of ``message``, built on first use and shared by every recipient."""
    frame = message.frame
    if frame is None:
        content = message.websocket
        if type(content) is str:
            frame = encode_frame(TEXT, content.encode("utf-8"))
        else:
            frame = encode_frame(BINARY, content)  # type: ignore[arg-type]
        message.frame = frame
    return frame


class DirectWebSocketProtocol(asyncio.Protocol):
    """uvicorn's websocket protocol class for ``app.listen()`` (see the module docstring)."""

    #: Builds the protocol for websockets that are not an engine's (uvicorn's "auto" choice).
    fallback: ClassVar[Callable[..., asyncio.Protocol] | None] = None

    __slots__ = (
        "_app_state",
        "_batch",
        "_close_timer",
        "_config",
        "_loop",
        "_parser",
        "_paused",
        "_pending_pong",
        "_phase",
        "_probe_timer",
        "_receiving",
        "_request",
        "_server_state",
        "_socket",
        "_transport",
    )

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any]) -> None:
        if not config.loaded:
            config.load()
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = asyncio.get_running_loop()
        self._batch = _batch_for(self._loop)
        self._transport: asyncio.Transport = None  # type: ignore[assignment]
        self._phase = _REQUEST
        self._request: bytearray | None = bytearray()
        self._socket: EngineSocket | None = None
        self._parser: FrameParser | None = None
        self._paused = False
        # The answer to the latest websocket ping received while writing was paused.
        self._pending_pong: bytes | None = None
        # True while a read is processed: what gets queued meanwhile is written right after.
        self._receiving = False
        self._probe_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        phase = self._phase
        if phase is _OPEN:
            # The common read: one whole text frame (a message) and nothing else.
            text = self._parser.single_text(data)  # type: ignore[union-attr]
            if text is None:
                self._receive_frames(data)
                return
            socket = self._socket
            assert socket is not None
            # The flush is scheduled here, so what gets queued meanwhile needs no wake-up
            # (the flush parks the waiter again).
            socket.waiter = None
            try:
                socket.receive_frame(text, self._loop.time())
            finally:
                if self._phase is _OPEN:
                    # Written with the other sessions' writes, after this turn's reads: the
                    # writes then come back to back, and a peer woken by the first one is
                    # often still awake for the next (a wake-up is much of a write's cost).
                    # Scheduled even when nothing is queued yet: an async def route's answer,
                    # queued on the next turn before this flush runs, leaves with it (parking
                    # the waiter here instead costs that answer a wake-up and a turn).
                    self._batch.add(self)
        elif phase is _PROBING:
            self._receive_frames(data)
        elif phase is _REQUEST or phase is _HANDING_OVER or phase is _ADMITTING:
            request = self._request
            assert request is not None
            request += data
            if phase is _REQUEST:
                self._read_request(request)
            elif phase is _ADMITTING and len(request) > _MAX_REQUEST_SIZE:
                # Frames sent before the handshake's answer: a few at most, never this many.
                self._phase = _CLOSED
                self._transport.close()

    def pause_writing(self) -> None:
        self._paused = True
        if self._socket is not None:
            self._socket.write_blocked = True  # volatile packets are dropped meanwhile

    def resume_writing(self) -> None:
        self._paused = False
        if self._socket is not None:
            self._socket.write_blocked = False
        pong = self._pending_pong
        if pong is not None:
            self._pending_pong = None
            if self._phase is _OPEN or self._phase is _PROBING:
                self._transport.write(pong)
        if self._phase is _OPEN:
            self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        phase = self._phase
        self._phase = _CLOSED
        self._cancel_timers()
        socket = self._socket
        if socket is None:
            return
        self._socket = None
        if phase is _PROBING:
            socket.abandon_probe()
            return
        if socket.waiter is self:
            socket.waiter = None
        socket.close(DisconnectReason.TRANSPORT_CLOSE)
        socket.finish_close()

    # -- uvicorn's server calls this on shutdown ------------------------------------------

    def shutdown(self) -> None:
        phase = self._phase
        if phase is _OPEN:
            assert self._socket is not None
            self._socket.close(DisconnectReason.SERVER_SHUTTING_DOWN)
            self._flush()
        elif phase is _PROBING:
            self._abandon_probe()
            self._end(GOING_AWAY)
        elif phase is not _CLOSED:
            self._phase = _CLOSED
            self._transport.close()

    # -- the socket's Waiter: called when a message is queued or the session closes -----

    def done(self) -> bool:
        return False

    def set_result(self, result: None, /) -> None:
        if not self._receiving:
            self._batch.add(self)

    # -- the opening handshake -------------------------------------------------------------

    def _read_request(self, request: bytearray) -> None:
        end = request.find(b"\r\n\r\n")
        if end < 0:
            if len(request) > _MAX_REQUEST_SIZE:
                self._respond(http_response(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE))
            return
        parsed = parse_upgrade_request(bytes(request[:end]), self._config.root_path)
        if parsed is None:
            self._respond(http_response(HTTPStatus.BAD_REQUEST))
            return
        engine = direct_engine_of(served_app(self._config), parsed.path)
        if engine is None:
            # Not ours: uvicorn's protocol gets the request once this call has returned
            # (until then the HTTP protocol is still the transport's and would override it).
            self._phase = _HANDING_OVER
            self._loop.call_soon(self._hand_over)
            return
        self._request = None
        problem = handshake_problem(parsed)
        if problem is not None:
            self._respond(problem)
            return
        transport = self._transport
        scope: MutableMapping[str, Any] = {
            "type": "websocket",
            "scheme": "wss" if transport.get_extra_info("sslcontext") else "ws",
            "path": parsed.path,
            "raw_path": parsed.raw_path,
            "root_path": self._config.root_path,
            "query_string": parsed.query_string,
            "headers": parsed.headers,
            "client": remote_address(transport),
        }
        key = parsed.header(b"sec-websocket-key")
        assert key is not None  # handshake_problem checked it
        self._handshake(engine, scope, key, request[end + 4 :])

    def _handshake(
        self,
        engine: EngineServer,
        scope: MutableMapping[str, Any],
        key: bytes,
        early_data: bytearray,
    ) -> None:
        engine.bind_loop()
        # Built before admission, which may start a polling session's probe: nothing may fail
        # between that and the 101 (the key was validated by handshake_problem).
        response = switching_protocols(key, self._server_state.default_headers)
        admission = admit_websocket(engine, scope)
        if admission.error is not None:
            self._refuse(admission.error)
            return
        transport = self._transport
        if admission.query is not None:
            request = HandshakeRequest.from_scope(scope, admission.query)
            verdict = admit_new_session(engine, request)
            if verdict is None:
                self._open_session(engine, request, response, early_data)
            elif isinstance(verdict, EngineError):
                self._refuse(verdict)
            else:
                # Bytes that come meanwhile are kept for the session (reads go on, so that a
                # client going away is noticed).
                self._phase = _ADMITTING
                self._request = early_data
                decided = asyncio.ensure_future(verdict)
                engine.track(decided)
                decided.add_done_callback(
                    lambda done: self._admitted(done, engine, request, response)
                )
            return
        self._parser = FrameParser(engine.max_payload)
        if admission.probing is not None:
            transport.write(b"".join(response))
            self._socket = admission.probing
            self._phase = _PROBING
            self._probe_timer = self._loop.call_later(engine.upgrade_timeout, self._probe_timed_out)
        else:
            # A second websocket for the session: the protocol says close it, and only it.
            response.append(close_frame(POLICY_VIOLATION))
            transport.write(b"".join(response))
            self._phase = _CLOSED
            transport.close()
            return
        if early_data and self._phase is not _CLOSED:
            self._receive_frames(bytes(early_data))

    def _admitted(
        self,
        decided: asyncio.Future[EngineError | None],
        engine: EngineServer,
        request: HandshakeRequest,
        response: list[bytes],
    ) -> None:
        """An async allow_request has answered (the admission catches its errors)."""
        if self._phase is not _ADMITTING:
            return  # the client went away, or the server is shutting down
        early_data = self._request
        assert early_data is not None
        self._request = None
        error = None if decided.cancelled() else decided.result()
        if decided.cancelled() or error is not None:
            self._refuse(error or REQUEST_REFUSED)
            return
        self._open_session(engine, request, response, early_data)

    def _open_session(
        self,
        engine: EngineServer,
        request: HandshakeRequest,
        response: list[bytes],
        early_data: bytearray,
    ) -> None:
        """Switch protocols with the open packet in the same write, then carry the session."""
        self._parser = FrameParser(engine.max_payload)
        socket, open_packet = open_websocket_session(engine, request)
        response.append(text_frame(open_packet))
        self._transport.write(b"".join(response))
        self._socket = socket
        socket.write_blocked = self._paused
        self._phase = _OPEN
        self._receiving = True
        try:
            engine.connected(socket)
        finally:
            self._receiving = False
        self._flush()
        if early_data and self._phase is _OPEN:
            self._receive_frames(bytes(early_data))

    def _refuse(self, error: EngineError) -> None:
        """Refuse the websocket with the engine's HTTP answer."""
        self._respond(
            http_response(
                HTTPStatus(error.status), [(b"content-type", error.content_type)], error.body()
            )
        )

    def _respond(self, answer: bytes) -> None:
        """Answer with plain HTTP (a refusal) and end the connection."""
        self._phase = _CLOSED
        self._request = None
        self._transport.write(answer)
        self._transport.close()

    def _hand_over(self) -> None:
        request = self._request
        self._request = None
        if self._phase is not _HANDING_OVER or request is None:
            return  # the client went away meanwhile
        self._phase = _CLOSED
        factory = type(self).fallback or _default_fallback()
        if factory is None:
            self._respond(http_response(HTTPStatus.NOT_IMPLEMENTED))
            return
        self._server_state.connections.discard(self)
        protocol = factory(
            config=self._config, server_state=self._server_state, app_state=self._app_state
        )
        protocol.connection_made(self._transport)
        protocol.data_received(bytes(request))
        self._transport.set_protocol(protocol)

    # -- frames ------------------------------------------------------------------------------

    def _receive_frames(self, data: bytes) -> None:
        parser = self._parser
        socket = self._socket
        assert parser is not None and socket is not None
        now = self._loop.time()
        self._receiving = True
        try:
            # Any: the hot path tells the kinds apart by exact type, which mypy cannot follow.
            events: list[Any] = parser.feed(data)
            for event in events:
                kind = type(event)
                if kind is TextMessage or kind is BinaryMessage:
                    if self._phase is _PROBING:
                        self._probe_frame(event.data)
                    else:
                        socket.receive_frame(event.data, now)
                elif kind is Ping:
                    self._answer_ping(event.payload)
                elif kind is Close:
                    self._peer_closed(event)
                    return
                elif kind is ProtocolError:
                    logger.debug("websocket protocol error: %s", event.reason)
                    self._protocol_error(event.code)
                    return
                if self._phase is _CLOSED:
                    return
        finally:
            self._receiving = False
        if self._phase is _OPEN:
            self._flush()

    def _answer_ping(self, payload: bytes) -> None:
        pong = encode_frame(PONG, payload)
        if self._paused:
            # A client that pings without reading must not grow the write buffer: RFC 6455
            # (5.5.3) lets an endpoint answer only the most recent ping, so one pong waits.
            self._pending_pong = pong
        else:
            self._transport.write(pong)

    def _probe_frame(self, frame: str | bytes) -> None:
        socket = self._socket
        assert socket is not None
        result = socket.receive_probe_frame(frame)
        if result.reply is not None:
            self._transport.write(text_frame(result.reply))
        elif result.upgraded:
            self._cancel_timers()
            socket.write_blocked = self._paused
            self._phase = _OPEN
        elif result.failed:
            self._abandon_probe()
            self._end(POLICY_VIOLATION)

    def _probe_timed_out(self) -> None:
        self._probe_timer = None
        if self._phase is _PROBING:
            self._abandon_probe()
            self._end(POLICY_VIOLATION)

    def _abandon_probe(self) -> None:
        """The session stays on polling and is no longer this websocket's business."""
        socket = self._socket
        assert socket is not None
        socket.abandon_probe()
        self._socket = None

    def _peer_closed(self, event: Close) -> None:
        if self._phase is _PROBING:
            self._abandon_probe()
        else:
            self._close_session(DisconnectReason.TRANSPORT_CLOSE)
        self._end(event.code)

    def _protocol_error(self, code: int) -> None:
        if self._phase is _PROBING:
            self._abandon_probe()
        else:
            self._close_session(DisconnectReason.TRANSPORT_ERROR)
        self._end(code)

    def _close_session(self, reason: str) -> None:
        socket = self._socket
        assert socket is not None
        socket.close(reason)

    # -- writing -----------------------------------------------------------------------------

    def _flush(self) -> None:
        """Write what the session queued; end the websocket once the session has closed."""
        if self._phase is not _OPEN:
            return
        socket = self._socket
        assert socket is not None
        if self._paused and not socket.closed:
            # The client is behind: messages wait in the bounded outbox.
            socket.waiter = self
            return
        batch = socket.take_outbox()
        if batch:
            if len(batch) == 1:
                message = batch[0]
                frame = message.frame
                if frame is None:
                    content = message.websocket
                    if type(content) is str:
                        payload = content.encode("utf-8")
                        size = len(payload)
                        if size < 126:  # _framed, inlined for a short text
                            frame = _SHORT_TEXT_HEADERS[size] + payload
                        else:
                            frame = encode_frame(TEXT, payload)
                    else:
                        frame = encode_frame(BINARY, content)  # type: ignore[arg-type]
                    message.frame = frame  # a broadcast's other recipients reuse it
                self._transport.write(frame)
            else:
                frames = [_framed(message) for message in batch]
                if sum(map(len, frames)) <= _JOIN_LIMIT:
                    self._transport.write(b"".join(frames))  # one write for many small frames
                else:
                    # Large frames (a broadcast's, shared by its recipients) go as they are:
                    # joining them would copy them once per client that catches up at once.
                    self._transport.writelines(frames)
        if not socket.closed:
            socket.waiter = self
            return
        reason = socket.close_reason
        socket.finish_close()
        if reason == DisconnectReason.TRANSPORT_ERROR and self._paused:
            # The slow-client policy: nothing more will reach this client in time.
            self._phase = _CLOSED
            self._transport.abort()
            return
        self._end(GOING_AWAY if reason == DisconnectReason.SERVER_SHUTTING_DOWN else NORMAL_CLOSURE)

    def _end(self, code: int) -> None:
        """Send a close frame (1005: an empty one) and close the connection, bounded in time."""
        self._phase = _CLOSED
        self._cancel_timers()
        socket = self._socket
        if socket is not None and socket.waiter is self:
            socket.waiter = None
        transport = self._transport
        if transport.is_closing():
            return
        transport.write(close_frame(code))
        transport.close()
        self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, transport.abort)

    def _cancel_timers(self) -> None:
        for name in ("_probe_timer", "_close_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
