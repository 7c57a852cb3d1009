"""A Socket.IO v5 client on one namespace, for tests: the async one, ``AsyncTestSocket``.

It speaks the protocol as the official client does (``socket.io-client`` 4): a CONNECT with the
auth payload, events and acks (binary ones too), the server's acks answered by handlers given
to :meth:`AsyncTestSocket.on`, DISCONNECT, and connection state recovery (the ``pid`` and the
last broadcast's offset sent back on reconnection). Each test socket has an Engine.IO session of
its own (the official client's ``forceNew``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..protocol.parsers import Parser, get_parser
from ..protocol.socketio import DecodeError, Packet, PacketType
from .engine_client import EngineClient, EngineRefused, TransportClosed, open_engine

if TYPE_CHECKING:
    from .client import AsyncTestClient

#: The official client's name for a disconnection the server asked for.
SERVER_DISCONNECT = "io server disconnect"
#: ... and for one the client asked for.
CLIENT_DISCONNECT = "io client disconnect"
#: Bytes of binary attachments one packet from the server may carry.
MAX_ATTACHMENT_BYTES = 100_000_000


class Received(NamedTuple):
    """One event the server sent: its name, its arguments, and (with connection state
    recovery on) the offset the server appended to it, taken off the arguments."""

    event: str
    args: tuple[Any, ...]
    offset: str | None = None

    @property
    def data(self) -> Any:
        """One argument: it; none: ``None``; several: the tuple (as ``emit_with_ack``)."""
        return _data_of(self.args)


class ConnectionRefused(Exception):
    """The server refused the connection: ``message`` is its ``connect_error`` message
    (``"Invalid namespace"``, a middleware's refusal...), or the HTTP answer to a refused
    handshake; ``data`` the refusal's data, ``status`` the HTTP status when there was one."""

    def __init__(self, message: str, data: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.status = status


class SocketClosedError(RuntimeError):
    """The test socket is not connected (any more): it cannot emit, call or wait."""


class AsyncTestSocket:
    """A realtime client of the app under test (see :meth:`AsyncTestClient.socket`)."""

    def __init__(
        self,
        client: AsyncTestClient,
        namespace: str = "/",
        *,
        auth: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        transport: str = "websocket",
        parser: str | Parser = "json",
        path: str = "/socket.io/",
    ) -> None:
        self.namespace = namespace if namespace.startswith("/") else "/" + namespace
        self._client = client
        self._auth = dict(auth) if auth is not None else None
        self._headers = dict(headers or {})
        self._query = dict(query or {})
        self.transport = transport
        self._parser = get_parser(parser)
        self._path = path
        #: the socket id the server gave (``None`` before the first connection)
        self.id: str | None = None
        self.connected = False
        #: True when the last connection got the previous one's state back (recovery)
        self.recovered = False
        #: why the last connection ended: ``"io server disconnect"``, ``"io client
        #: disconnect"`` or ``"transport close"`` (the official client's reasons)
        self.disconnect_reason: str | None = None
        self._received: list[Received] = []
        self._taken: dict[str, int] = {}  # per event: how many wait_for returned
        self._news = asyncio.Event()
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._acks: dict[int, tuple[str, asyncio.Future[tuple[Any, ...]]]] = {}
        self._next_ack_id = 0
        self._engine: EngineClient | None = None
        self._connecting: asyncio.Future[Any] | None = None
        self._disconnected = asyncio.Event()
        self._pid: str | None = None
        self._offset: str | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    def __repr__(self) -> str:
        state = "connected" if self.connected else f"disconnected ({self.disconnect_reason})"
        return f"<AsyncTestSocket {self.namespace} id={self.id} {self.transport} {state}>"

    async def __aenter__(self) -> AsyncTestSocket:
        if not self.connected:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    # -- connecting --------------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> AsyncTestSocket:
        """Open an Engine.IO session and connect to the namespace; :class:`ConnectionRefused`
        when the server says no. With a ``pid`` from an earlier connection (recovery on), ask
        for that connection's state back."""
        if self.connected:
            raise RuntimeError(f"{self!r} is connected already")
        seconds = self._client.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        self._decoder = self._parser.decoder(MAX_ATTACHMENT_BYTES)
        self._connecting = loop.create_future()
        self._disconnected.clear()
        engine = open_engine(self.transport, self._on_message, self._on_close)
        try:
            await asyncio.wait_for(
                engine.open(
                    self._client.app, self._client.http, self._path, self._query, self._headers
                ),
                seconds,
            )
        except EngineRefused as refused:
            self._client.check_server_errors()
            raise ConnectionRefused(refused.body, status=refused.status) from None
        self._engine = engine
        auth = dict(self._auth or {})
        if self._pid is not None:
            # As the official client: the offset only once a broadcast brought one (without
            # it, the server cannot tell what was missed, and starts afresh).
            auth["pid"] = self._pid
            if self._offset is not None:
                auth["offset"] = self._offset
        packet = self._parser.encode_packet(
            PacketType.CONNECT, self.namespace, auth if auth or self._auth is not None else None
        )
        try:
            await engine.send(packet.messages)
            answer = await self._client.wait(self._connecting, seconds)
        except BaseException as error:
            if not isinstance(error, TimeoutError | TransportClosed):
                await engine.close()  # an error of the app (middleware), raised in the test
                raise
            await engine.close()
            self._client.check_server_errors()
            if isinstance(error, TransportClosed):
                raise ConnectionRefused("the server closed the connection") from None
            raise TimeoutError(
                f"the server did not answer the connection to {self.namespace} within "
                f"{seconds} s (handshake middleware that never decides?)"
            ) from None
        if isinstance(answer, ConnectionRefused):
            await engine.close()
            self._client.check_server_errors()
            raise answer
        pid = answer.get("pid") if isinstance(answer, dict) else None
        self.recovered = pid is not None and pid == self._pid
        self._pid = pid if isinstance(pid, str) else None
        self.id = answer.get("sid") if isinstance(answer, dict) else None
        self.connected = True
        self.disconnect_reason = None
        self._client.check_server_errors()
        return self

    async def drop(self) -> None:
        """Lose the connection without a word, as a network failure does: for the server a
        ``"transport close"``, whose state connection state recovery keeps for a while. The
        socket stays disconnected until :meth:`reconnect`."""
        engine = self._engine
        if engine is None:
            return
        if self.connected:
            self._mark_disconnected("transport close")
        await engine.drop()

    async def reconnect(self, timeout: float | None = None) -> AsyncTestSocket:
        """Connect again as the official client's automatic reconnection does, after losing
        the connection (:meth:`drop` happens first if it is still up). With connection state
        recovery on (``app.io(recovery=...)``) it asks for its state back, and ``recovered``
        tells whether it got it: its id, its rooms, and the broadcasts it missed, which then
        arrive first."""
        await self.drop()
        return await self.connect(timeout)

    async def disconnect(self) -> None:
        """Leave the namespace (the server's ``disconnect`` hook gets ``"client namespace
        disconnect"``) and close the session. Nothing happens when already disconnected."""
        engine = self._engine
        if engine is None:
            return
        if self.connected:
            self._mark_disconnected(CLIENT_DISCONNECT)
            with contextlib.suppress(TransportClosed):
                await engine.send(self._parser.encode_disconnect(self.namespace).messages)
        await engine.close()
        await self._settle_tasks()

    async def wait_disconnected(self, timeout: float | None = None) -> str:
        """Wait until the connection ends (the server disconnected it, or its transport
        closed); its reason (see ``disconnect_reason``)."""
        seconds = self._client.timeout if timeout is None else timeout
        try:
            await self._client.wait(self._disconnected.wait(), seconds)
        except TimeoutError:
            raise TimeoutError(f"{self!r} was still connected after {seconds} s") from None
        assert self.disconnect_reason is not None
        return self.disconnect_reason

    # -- sending -----------------------------------------------------------------------------

    async def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` with ``args`` (``bytes`` travel as binary attachments)."""
        engine = self._need_connection("emit", event)
        packet = self._parser.encode_event(self.namespace, event, args)
        await self._send(engine, packet.messages, event)
        self._client.check_server_errors()

    async def call(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Send ``event`` asking for an acknowledgement and wait for it: the route's answer
        (``req.io.respond(x)`` → ``x``; several arguments → a tuple; none → ``None``).
        ``TimeoutError`` naming the event when no answer comes within ``timeout`` seconds."""
        engine = self._need_connection("call", event)
        seconds = self._client.timeout if timeout is None else timeout
        ack_id = self._next_ack_id
        self._next_ack_id += 1
        answer: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = (event, answer)
        packet = self._parser.encode_event(self.namespace, event, args, ack_id)
        try:
            await self._send(engine, packet.messages, event)
            args_back = await self._client.wait(answer, seconds)
        except TimeoutError:
            raise TimeoutError(
                f"no answer to {event!r} on {self.namespace} within {seconds} s: is there a "
                f"route for {event!r}, and does it call req.io.respond()? (An event that no "
                "route takes is ignored, as socket.io does, unless the 'unknown event ack' "
                "setting is on.)"
            ) from None
        finally:
            self._acks.pop(ack_id, None)
        return _data_of(args_back)

    def on(self, event: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """``handler(*args)`` answers the server's ``event`` when the server waits for an
        acknowledgement (``req.io.emit_with_ack``, ``broadcast_with_ack``): its return value
        (awaited if a coroutine; ``None`` → no arguments, a tuple → spread) is the answer. The
        event is recorded in ``received()`` as well. Returns ``handler``."""
        self._handlers[event] = handler
        return handler

    # -- what the server sent ----------------------------------------------------------------

    def received(self, event: str | None = None) -> list[Received]:
        """Every event received so far (only ``event``'s, when given), oldest first."""
        self._client.check_server_errors()
        return [item for item in self._received if event is None or item.event == event]

    async def wait_for(self, event: str, timeout: float | None = None) -> Any:
        """The data of the next ``event`` that no earlier ``wait_for`` returned, waiting up to
        ``timeout`` seconds for it (one argument → it; several → a tuple; none → ``None``)."""
        seconds = self._client.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            self._client.check_server_errors()
            taken = self._taken.get(event, 0)
            matching = [item for item in self._received if item.event == event]
            if len(matching) > taken:
                self._taken[event] = taken + 1
                return matching[taken].data
            if not self.connected and self._engine is not None and self._engine.closed:
                raise SocketClosedError(
                    f"{self!r} is disconnected: no {event!r} can arrive any more"
                )
            self._news.clear()
            try:
                await self._client.wait(self._news.wait(), deadline - loop.time())
            except TimeoutError:
                seen = sorted({item.event for item in self._received})
                raise TimeoutError(
                    f"no {event!r} on {self.namespace} within {seconds} s (received so far: "
                    f"{', '.join(map(repr, seen)) or 'nothing'})"
                ) from None

    # -- from the engine (on the loop) -------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        try:
            packet = self._decoder.feed(message)
        except DecodeError as error:
            self._client.report_protocol_error(
                DecodeError(f"the server sent an invalid Socket.IO packet: {error}")
            )
            return
        if packet is None or packet.namespace != self.namespace:
            return
        kind = packet.type
        if kind is PacketType.CONNECT:
            self._settle_connecting(packet.data)
        elif kind is PacketType.CONNECT_ERROR:
            self._settle_connecting(_refusal(packet.data))
        elif kind is PacketType.EVENT or kind is PacketType.BINARY_EVENT:
            self._on_event(packet)
        elif kind is PacketType.ACK or kind is PacketType.BINARY_ACK:
            waiting = self._acks.pop(packet.id, None) if packet.id is not None else None
            if waiting is not None and not waiting[1].done():
                waiting[1].set_result(tuple(packet.data))
        elif kind is PacketType.DISCONNECT:
            self._mark_disconnected(SERVER_DISCONNECT)
            engine = self._engine
            if engine is not None:
                self._spawn(engine.close())

    def _on_event(self, packet: Packet) -> None:
        event, *args = packet.data
        offset = None
        if self._pid is not None and packet.id is None and args and isinstance(args[-1], str):
            # With recovery on, the server appends each broadcast's offset; the official
            # client keeps the last one to send back when it reconnects.
            offset = args.pop()
            self._offset = offset
        self._received.append(Received(event, tuple(args), offset))
        self._news.set()
        if packet.id is not None:
            handler = self._handlers.get(event)
            if handler is not None:
                self._spawn(self._answer(handler, event, args, packet.id))

    async def _answer(
        self, handler: Callable[..., Any], event: str, args: list[Any], ack_id: int
    ) -> None:
        try:
            result = handler(*args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as error:
            error.add_note(f"(raised by the test's handler of {event!r})")
            self._client.report_protocol_error(error)
            return
        answer = () if result is None else result if isinstance(result, tuple) else (result,)
        engine = self._engine
        if engine is None or not self.connected:
            return
        packet = self._parser.encode_ack(self.namespace, ack_id, answer)
        with contextlib.suppress(TransportClosed):
            await engine.send(packet.messages)

    def _on_close(self, reason: str) -> None:
        if self.connected:
            self._mark_disconnected(reason)
        self._settle_connecting(None)

    def _settle_connecting(self, answer: Any) -> None:
        connecting = self._connecting
        if connecting is not None and not connecting.done():
            if answer is None:
                connecting.set_exception(TransportClosed("closed"))
                connecting.exception()  # retrieved here: a refused connect may not await it
            else:
                connecting.set_result(answer)

    def _mark_disconnected(self, reason: str) -> None:
        self.connected = False
        self.disconnect_reason = reason
        self._disconnected.set()
        self._news.set()
        for event, answer in self._acks.values():
            if not answer.done():
                answer.set_exception(
                    SocketClosedError(f"disconnected ({reason}) while waiting for {event!r}")
                )
                answer.exception()
        self._acks.clear()

    # -- helpers -----------------------------------------------------------------------------

    def _need_connection(self, method: str, event: str) -> EngineClient:
        self._client.check_server_errors()
        engine = self._engine
        if not self.connected or engine is None or engine.closed:
            why = f" ({self.disconnect_reason})" if self.disconnect_reason else ""
            raise SocketClosedError(
                f"cannot {method} {event!r}: {self.namespace} socket {self.id} is not "
                f"connected{why}"
            )
        return engine

    async def _send(
        self, engine: EngineClient, messages: tuple[str | bytes, ...], event: str
    ) -> None:
        try:
            await engine.send(messages)
        except TransportClosed:
            raise SocketClosedError(
                f"cannot send {event!r}: the connection of {self.namespace} socket {self.id} closed"
            ) from None

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_tasks(self) -> None:
        if self._tasks:
            await asyncio.wait(tuple(self._tasks), timeout=5.0)
        for task in tuple(self._tasks):
            task.cancel()


def _data_of(args: tuple[Any, ...] | list[Any]) -> Any:
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def _refusal(data: Any) -> ConnectionRefused:
    if isinstance(data, dict):
        return ConnectionRefused(str(data.get("message", "")), data.get("data"))
    return ConnectionRefused(str(data))
