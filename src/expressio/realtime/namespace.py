"""A Socket.IO namespace: admission (middleware), event handlers, lifecycle hooks, broadcast."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from ..engine.reasons import DisconnectReason
from .acks import Ack
from .adapter import Adapter
from .socket import Socket, check_event_name
from .user_code import call_event_handler, call_user_code, is_awaitable

if TYPE_CHECKING:
    from .connection import Connection
    from .server import RealtimeServer

logger = logging.getLogger("expressio.realtime")

Middleware: TypeAlias = Callable[[Socket, dict[str, Any]], "Awaitable[None] | None"]
EventHandler: TypeAlias = Callable[..., Any]
Dispatch: TypeAlias = Callable[[Socket, str, list[Any], Ack | None], None]
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

DEFAULT_REFUSAL = "Connection refused"
INTERNAL_ERROR = "Internal Server Error"


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    return set(value)


class Namespace:
    """Sockets of one namespace plus what the application attached to it.

    - ``use(middleware)``: ``middleware(socket, auth)``, sync or async, runs for every CONNECT
      in registration order; raising ``ConnectionRefusedError("reason"[, data])`` refuses with
      ``CONNECT_ERROR {"message": "reason", "data": data}``.
    - ``on(event, handler)``: ``handler(socket, *args)``, sync (runs inline on the loop, keep it
      fast) or async (runs as a task). If the client asked for an ack, the return value answers
      it: ``None`` → no arguments, a tuple → several, anything else → one. A handler that raises
      is logged and the ack gets ``{"error": "Internal Server Error"}``.
    - ``dispatch``: when set, every event goes to it instead of the ``on`` table.
    """

    def __init__(
        self,
        server: RealtimeServer,
        name: str,
        adapter_factory: Callable[[Namespace], Adapter],
    ) -> None:
        self.server = server
        self.name = name
        self._sockets: dict[str, Socket] = {}
        self.sockets: Mapping[str, Socket] = MappingProxyType(self._sockets)
        self._middlewares: list[Middleware] = []
        self._handlers: dict[str, EventHandler] = {}
        self.on_connect: Callable[[Socket, Any], Any] | None = None
        self.on_disconnect: Callable[[Socket, str], Any] | None = None
        self.dispatch: Dispatch | None = None
        self.adapter = adapter_factory(self)

    def __repr__(self) -> str:
        return f"<Namespace {self.name} sockets={len(self._sockets)}>"

    # --- application API -------------------------------------------------------------------

    def use(self, middleware: Middleware) -> None:
        self._middlewares.append(middleware)

    def on(self, event: str, handler: HandlerT) -> HandlerT:
        self._handlers[event] = handler
        return handler

    def event(self, event: str) -> Callable[[HandlerT], HandlerT]:
        """Decorator form of :meth:`on`."""

        def register(handler: HandlerT) -> HandlerT:
            return self.on(event, handler)

        return register

    def emit(
        self,
        event: str,
        *args: Any,
        to: str | Iterable[str] | None = None,
        skip: str | Iterable[str] | None = None,
    ) -> None:
        """Send to every socket of the namespace, or to those in the rooms ``to``, minus the
        socket ids in ``skip``. The packet is encoded once whatever the number of recipients."""
        check_event_name(event)
        packet = self.server.parser.encode_event(self.name, event, args)
        self.adapter.broadcast(packet, _as_set(to), _as_set(skip))

    # --- admission ---------------------------------------------------------------------------

    def _connect(self, connection: Connection, auth: dict[str, Any]) -> None:
        """Run the middlewares for one CONNECT; an async one makes admission a task, during
        which ``connection`` refuses another CONNECT of this namespace (see Connection)."""
        socket = Socket(self, connection, auth)
        middlewares = tuple(self._middlewares)
        for index, middleware in enumerate(middlewares):
            try:
                pending = middleware(socket, auth)
            except Exception as error:
                self._refuse(connection, error)
                return
            if is_awaitable(pending):
                rest = middlewares[index + 1 :]
                task = asyncio.ensure_future(self._admit_later(connection, socket, pending, rest))
                # Strong refs to the task in flight (the loop keeps only weak ones), and the
                # mark that lets the connection refuse a second CONNECT meanwhile.
                admissions = self.server._admissions
                admissions.add(task)
                task.add_done_callback(admissions.discard)
                connection._admitting[self.name] = task
                task.add_done_callback(lambda done: connection._admission_done(self.name, done))
                return
        self._accept(connection, socket)

    async def _admit_later(
        self,
        connection: Connection,
        socket: Socket,
        pending: Awaitable[None],
        rest: tuple[Middleware, ...],
    ) -> None:
        try:
            await pending
            for middleware in rest:
                result = middleware(socket, socket._auth)
                if is_awaitable(result):
                    await result
        except Exception as error:
            self._refuse(connection, error)
            return
        self._accept(connection, socket)

    def _refuse(self, connection: Connection, error: Exception) -> None:
        data: Any = None
        if isinstance(error, ConnectionRefusedError):
            message = str(error.args[0]) if error.args else DEFAULT_REFUSAL
            if len(error.args) > 1:
                data = error.args[1]
        else:
            logger.error("error in connection middleware of %s", self.name, exc_info=error)
            message = INTERNAL_ERROR
        if connection.closed:
            return
        encode_connect_error = connection.parser.encode_connect_error
        try:
            packet = encode_connect_error(self.name, message, data)
        except TypeError:
            logger.exception("connection refusal data of %s cannot be encoded", self.name)
            packet = encode_connect_error(self.name, message)
        connection.send(packet)

    def _accept(self, connection: Connection, socket: Socket) -> None:
        if connection.closed:
            return
        previous = connection.sockets.get(self.name)
        if previous is not None:
            # A second CONNECT for the same namespace replaces the first socket.
            previous._close(DisconnectReason.CLIENT_NAMESPACE_DISCONNECT)
        socket.connected = True
        self._sockets[socket.id] = socket
        connection._adopt(socket)
        self.adapter.add(socket.id, socket.id)
        connection.send(connection.parser.encode_connect(self.name, socket.id))
        if self.on_connect is not None:
            call_user_code(
                self.on_connect,
                (socket, socket._auth),
                description=f"connect hook of {self.name}",
            )

    # --- traffic -----------------------------------------------------------------------------

    def _handle_event(self, socket: Socket, data: list[Any], ack_id: int | None) -> None:
        """An EVENT's payload (``[name, *args]``, validated) and ack id, from the client."""
        event: str = data[0]
        dispatch = self.dispatch
        if dispatch is not None:
            ack = Ack(socket, ack_id) if ack_id is not None else None
            try:
                dispatch(socket, event, data[1:], ack)
            except Exception:
                logger.exception("error dispatching %r on %s", event, self.name)
                if ack is not None:
                    ack.fail()
            return
        handler = self._handlers.get(event)
        if handler is None:
            logger.debug("no handler for %r on %s", event, self.name)
            return
        # The handler's arguments: the socket in place of the event name (the list is ours).
        data[0] = socket
        call_event_handler(handler, data, socket, ack_id, event)

    def _forget(self, socket: Socket, reason: str) -> None:
        self._sockets.pop(socket.id, None)
        self.adapter.remove_all(socket.id)
        if self.on_disconnect is not None:
            call_user_code(
                self.on_disconnect,
                (socket, reason),
                description=f"disconnect hook of {self.name}",
            )
