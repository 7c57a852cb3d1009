"""EngineSocket: one Engine.IO session as the layer above sees it.

It wraps the sans-IO :class:`~expressio.engine.connection.Connection` with what needs the
event loop: the heartbeat timer (one ``loop.call_at`` handle per session, no task), the
waiter that wakes whichever transport currently drains the outbox, and the callbacks.
Nothing here knows about ASGI; transports talk to it through ``_waiter`` (a :class:`Waiter`)
and the connection.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from expressio.engine.connection import (
    Closed,
    Connection,
    ConnectionState,
    MessageReceived,
)
from expressio.engine.handshake import HandshakeRequest
from expressio.engine.reasons import DisconnectReason
from expressio.protocol.engineio import PreparedMessage

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = ["EngineSocket", "Waiter"]


class Waiter(Protocol):
    """What the transport draining a session parks on it to hear that there is work.

    One-shot: the socket drops it, then calls ``set_result(None)`` once. The ASGI transports
    park an ``asyncio.Future``; the direct transport parks itself and flushes when called.
    """

    def done(self) -> bool: ...

    def set_result(self, result: None, /) -> None: ...


class EngineSocket:
    """One Engine.IO session. Methods never block and keep the order of calls."""

    __slots__ = (
        "_connection",
        "_reported",
        "_server",
        "_timer",
        "_waiter",
        "request",
        "sid",
        "state",
    )

    sid: str
    request: HandshakeRequest
    state: object  # a free slot for the layer above (e.g. its per-connection record)

    def __init__(
        self, server: EngineServer, sid: str, request: HandshakeRequest, connection: Connection
    ) -> None:
        self.sid = sid
        self.request = request
        self.state = None
        self._server = server
        self._connection = connection
        self._timer: asyncio.TimerHandle | None = None
        # Set by the transport that drains the outbox while it has nothing to do.
        self._waiter: Waiter | None = None
        self._reported = False

    @property
    def transport(self) -> str:
        """``"polling"`` or ``"websocket"``: the transport that carries the session now."""
        return self._connection.transport

    @property
    def closed(self) -> bool:
        return not self._connection.is_open

    def send(self, data: str | bytes) -> None:
        """Queue one message: ``str`` goes as text, ``bytes`` as binary."""
        self.send_prepared(PreparedMessage(data))

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a message prepared once (see ``EngineServer.prepare``) for many sockets."""
        overflow = self._connection.send(message)
        if overflow is not None:
            self._server._log_slow_client(self)
            self._closed(overflow.reason)
        elif self._waiter is not None:  # checked here: most sends find no waiter parked
            self._wake()

    def close(self, reason: str = DisconnectReason.FORCED_CLOSE) -> None:
        """Close the session and report ``reason`` once.

        A close the server decides (``"forced close"``, ``"server shutting down"``, or any
        reason of the layer above) still delivers what was queued before; the engine's error
        reasons (``"transport close"``, ``"transport error"``, ``"ping timeout"``,
        ``"parse error"``) discard it.
        """
        closed = self._connection.close(reason)
        if closed is not None:
            self._closed(closed.reason)

    def __repr__(self) -> str:
        return f"<EngineSocket {self.sid} {self.transport} {self._connection.state.value}>"

    # -- for the transports ----------------------------------------------------------------

    def _wake(self) -> None:
        """Let the draining transport look at the connection again."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _upgraded(self) -> None:
        """The probing websocket took the session over (the client sent ``5``)."""
        # Any GET still pending ends with a noop; the outbox is the websocket's now.
        self._wake()
        # A close that waited for the upgrade is the websocket's to deliver, not a GET's.
        self._server._forget_draining(self)

    def _abandon_probe(self) -> None:
        """The probing websocket failed or went away: the session stays on polling."""
        self._connection.abandon_probe()
        # A close that waited for the upgrade now answers the pending GET, if any.
        self._wake()

    def _dispatch(self, event: MessageReceived | Closed) -> None:
        if isinstance(event, MessageReceived):
            self._server._deliver(self, event.data)
        else:
            self._closed(event.reason)

    def _closed(self, reason: str) -> None:
        """The connection has closed: report it once and release what the session held."""
        if self._reported:
            return
        self._reported = True
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        self._server._release(self)
        self._wake()
        self._server._report_disconnect(self, reason)

    # -- heartbeat -------------------------------------------------------------------------

    def _arm_heartbeat(self) -> None:
        """Make sure the timer fires no later than the connection's next deadline."""
        connection = self._connection
        if connection.state is ConnectionState.CLOSED or self._reported:
            return
        deadline = connection.deadline
        timer = self._timer
        if timer is not None:
            # Firing early is harmless (the tick does nothing and re-arms); late is not.
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._timer = self._server._loop.call_at(deadline, self._on_heartbeat, deadline)

    def _on_heartbeat(self, scheduled: float) -> None:
        self._timer = None
        # The loop may run a handle a hair before its time; it is due all the same.
        now = max(self._server._loop.time(), scheduled)
        closed = self._connection.tick(now)
        if closed is not None:
            self._closed(closed.reason)
            return
        if self._connection.outbox:
            self._wake()
        self._arm_heartbeat()
