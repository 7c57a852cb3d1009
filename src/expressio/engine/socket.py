"""EngineSocket: one Engine.IO session, as the application and as its transports see it.

It wraps the sans-IO :class:`~expressio.engine.connection.Connection` with what needs the
event loop: the heartbeat timer (one ``loop.call_at`` handle per session, no task), the
waiter that wakes whichever transport currently drains the outbox, and the application's
callbacks (``on_message``, ``on_disconnect`` of the :class:`EngineServer`).

The transport interface (engine.io's ``Transport`` idea: a transport is told what to send and
reports what it received or what closed; nothing here knows about ASGI or asyncio protocols):

=========================  ====================================================================
every transport            ``waiter`` (park a ``Waiter`` here while idle: it is dropped and
                           called once when there is work), ``close(reason)`` (the connection
                           broke: ``"transport close"`` or ``"transport error"``),
                           ``finish_close()`` (the last packets went out, or never will),
                           ``closed``, ``close_reason``, ``transport``
websocket                  ``take_outbox()``, ``receive_frame(frame, now)``, ``write_blocked``
                           (set while the transport cannot write: its buffer is over its
                           high-water mark, or a send is in progress)
long-polling GET           ``start_poll()``, ``finish_poll()`` (once woken), ``abandon_poll()``
long-polling POST          ``start_post()``, ``finish_post()``, ``receive_payload(body, now)``
upgrade (probe websocket)  ``start_probe()``, ``receive_probe_frame(frame)``, ``abandon_probe()``
=========================  ====================================================================

Whether a request or frame is allowed, and what it does, is the connection's decision; these
methods add only the consequences that need the loop (wake a transport, move the heartbeat,
call the application, keep a closed polling session reachable for its last payload). They are
the per-message path, so each does its work inline rather than through further calls.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from expressio.engine.connection import (
    Connection,
    ConnectionState,
    DuplicatePoll,
    DuplicatePost,
    MessageReceived,
    PollAfterUpgrade,
    ProbeResult,
)
from expressio.engine.handshake import HandshakeRequest
from expressio.engine.reasons import DisconnectReason
from expressio.protocol.engineio import PreparedMessage

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = ["EngineSocket", "Waiter"]

logger = logging.getLogger("expressio.engine")

_OPEN = ConnectionState.OPEN
_UPGRADING = ConnectionState.UPGRADING
_CLOSED = ConnectionState.CLOSED


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
        "request",
        "sid",
        "state",
        "waiter",
        "write_blocked",
    )

    sid: str
    request: HandshakeRequest
    state: object  # a free slot for the layer above (e.g. its per-connection record)
    #: Set by the transport that drains the outbox while it has nothing to do (see ``Waiter``).
    waiter: Waiter | None
    #: Set by a websocket transport while it cannot write right now (see :attr:`writable`).
    write_blocked: bool

    def __init__(
        self,
        server: EngineServer,
        sid: str,
        request: HandshakeRequest,
        connection: Connection,
    ) -> None:
        self.sid = sid
        self.request = request
        self.state = None
        self.waiter = None
        self.write_blocked = False
        self._server = server
        self._connection = connection
        # The heartbeat; once the session has closed, the wait for its last poll.
        self._timer: asyncio.TimerHandle | None = None
        self._reported = False
        self._arm_heartbeat()

    # -- for the application ---------------------------------------------------------------

    @property
    def transport(self) -> str:
        """``"polling"`` or ``"websocket"``: the transport that carries the session now."""
        return self._connection.transport

    @property
    def closed(self) -> bool:
        state = self._connection.state
        return not (state is _OPEN or state is _UPGRADING)

    @property
    def close_reason(self) -> str | None:
        """Why the session closed (a :class:`DisconnectReason` or the layer above's reason)."""
        return self._connection.close_reason

    @property
    def writable(self) -> bool:
        """Whether a message queued now goes out without waiting behind others: the session
        is open and, on a websocket, the transport is not blocked (backpressure, or a send in
        progress); on long-polling, a GET is waiting for something to answer. What a volatile
        packet (dropped rather than queued) asks before it is sent."""
        connection = self._connection
        state = connection.state
        if not (state is _OPEN or state is _UPGRADING):
            return False
        if connection.transport == "websocket":
            return not self.write_blocked
        return self.waiter is not None

    def send(self, data: str | bytes) -> None:
        """Queue one message: ``str`` goes as text, ``bytes`` as binary."""
        message = PreparedMessage(data)
        # Connection.send, inlined for the common case (an open session with room in its
        # send buffer); anything else goes through it, which decides.
        connection = self._connection
        state = connection.state
        outbox = connection.outbox
        queued = connection.outbox_bytes + len(message.websocket)
        if (
            (state is _OPEN or state is _UPGRADING)
            and len(outbox) < connection.max_send_buffer
            and queued <= connection.max_send_buffer_bytes
        ):
            outbox.append(message)
            connection.outbox_bytes = queued
            if self.waiter is not None:
                self._wake()
            return
        self.send_prepared(message)

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a message prepared once (see ``EngineServer.prepare``) for many sockets."""
        connection = self._connection
        overflow = connection.send(message)
        if overflow is not None:
            logger.warning(
                "session %s closed: its send buffer exceeded %d packets or %d bytes"
                " (client too slow)",
                self.sid,
                connection.max_send_buffer,
                connection.max_send_buffer_bytes,
            )
            self._report_close(overflow.reason)
        elif self.waiter is not None:  # checked here: most sends find no waiter parked
            self._wake()

    def close(self, reason: str = DisconnectReason.FORCED_CLOSE) -> None:
        """Close the session and report ``reason`` once.

        A close the server decides (``"forced close"``, ``"server shutting down"``, or any
        reason of the layer above) still delivers what was queued before; the engine's error
        reasons (``"transport close"``, ``"transport error"``, ``"ping timeout"``,
        ``"parse error"``) discard it. A transport reports a broken connection this way too.
        """
        closed = self._connection.close(reason)
        if closed is not None:
            self._report_close(closed.reason)

    def __repr__(self) -> str:
        return f"<EngineSocket {self.sid} {self.transport} {self._connection.state.value}>"

    # -- websocket transports --------------------------------------------------------------

    def take_outbox(self) -> list[PreparedMessage]:
        """Everything queued, in order, to send now; the outbox is emptied."""
        connection = self._connection
        outbox = connection.outbox
        if outbox:
            connection.outbox = []
            connection.outbox_bytes = 0
        return outbox

    def receive_frame(self, frame: str | bytes, now: float) -> None:
        """A frame arrived on the websocket that carries the session."""
        connection = self._connection
        if (
            type(frame) is str
            and frame[:1] == "4"
            and connection.state is _OPEN
            and len(frame) * 4 <= connection.max_payload
        ):
            # A text message on an open session, too short to exceed the payload limit even
            # encoded: Connection.receive_frame would answer MessageReceived(frame[1:]).
            callback = self._server.on_message
            if callback is not None:
                try:
                    callback(self, frame[1:])
                except Exception:
                    logger.exception("on_message callback failed; closing session %s", self.sid)
                    self.close(DisconnectReason.FORCED_CLOSE)
            return
        event = connection.receive_frame(frame, now)
        if event is None:
            self._arm_heartbeat()  # a pong moves the next ping
        elif isinstance(event, MessageReceived):
            self._deliver(event.data)  # binary, or text too long for the check above
        else:
            self._report_close(event.reason)

    # -- long-polling ----------------------------------------------------------------------

    def start_poll(self) -> str | PollAfterUpgrade | DuplicatePoll | None:
        """A GET arrived: the payload to answer now; None to park a waiter and wait
        (:meth:`finish_poll` once woken); :class:`DuplicatePoll` to refuse it (a GET was
        pending: the session is closed, and the pending one gets the close packet)."""
        connection = self._connection
        answer = connection.start_poll(self._server.loop.time())
        if answer is None:
            if connection.state is _UPGRADING:
                self._arm_heartbeat()  # held: the timer brings its noop
        elif type(answer) is DuplicatePoll:
            self._report_close(answer.closed.reason)
        else:
            self._answered_poll()
        return answer

    def finish_poll(self) -> str | PollAfterUpgrade | None:
        """The waiting GET was woken: its payload, or None to keep waiting;
        :class:`PollAfterUpgrade` to refuse it (the session moved to the websocket)."""
        answer = self._connection.finish_poll()
        if answer is not None:
            self._answered_poll()
        return answer

    def abandon_poll(self) -> None:
        """The client went away while its GET was waiting."""
        closed = self._connection.abandon_poll()
        if closed is not None:
            self._report_close(closed.reason)
        else:
            self._forget_if_last_poll_done()

    def start_post(self) -> bool:
        """A POST arrived: True to read its body (then :meth:`finish_post`), False to refuse
        it (the session is closed, or this second POST at once has just closed it)."""
        started = self._connection.start_post()
        if type(started) is DuplicatePost:
            self._report_close(started.closed.reason)
            return False
        return started is True

    def finish_post(self) -> None:
        """The POST's body was read, or reading it failed."""
        self._connection.finish_post()

    def receive_payload(self, body: bytes, now: float) -> bool:
        """A POST body: deliver its messages in order. False: it was undecodable."""
        undecodable = False
        for event in self._connection.receive_payload(body, now):
            if self._reported:
                # A message before this one closed the session (its handler closed it,
                # raised, or overflowed the send buffer): the rest is not delivered.
                break
            if isinstance(event, MessageReceived):
                self._deliver(event.data)
            else:
                undecodable = event.reason == DisconnectReason.PARSE_ERROR
                self._report_close(event.reason)
        if self._connection.outbox:
            self._wake()  # e.g. the pong to a ping
        self._arm_heartbeat()
        return not undecodable

    def _answered_poll(self) -> None:
        if self._connection.state is _CLOSED:
            self._forget_if_last_poll_done()

    # -- upgrade ---------------------------------------------------------------------------

    def start_probe(self) -> bool:
        """A websocket asks to take this polling session over; False refuses it."""
        return self._connection.start_probe()

    def receive_probe_frame(self, frame: str | bytes) -> ProbeResult:
        """A frame on the probing websocket. Send ``reply`` if any; ``upgraded``: the
        websocket carries the session from now on; ``failed``: close the probing websocket
        and call :meth:`abandon_probe`."""
        connection = self._connection
        result = connection.receive_probe_frame(frame, self._server.loop.time())
        if result.reply is not None:
            self._arm_heartbeat()  # a GET left pending is held: the timer brings its noop
        elif result.upgraded:
            # A GET still pending is refused; the outbox is the websocket's now.
            self._wake()
            # A close that waited for the upgrade is the websocket's to deliver, not a GET's.
            self._forget_if_last_poll_done()
        return result

    def abandon_probe(self) -> None:
        """The probing websocket failed or went away: the session stays on polling."""
        self._connection.abandon_probe()
        # A close that waited for the upgrade now answers the pending GET, if any.
        self._wake()

    # -- closing ---------------------------------------------------------------------------

    def finish_close(self) -> None:
        """The transport delivered the last packets of the closed session, or gave up."""
        self._connection.finish_close()
        self._forget_if_last_poll_done()

    def _deliver(self, data: str | bytes) -> None:
        callback = self._server.on_message
        if callback is None:
            return
        try:
            callback(self, data)
        except Exception:
            logger.exception("on_message callback failed; closing session %s", self.sid)
            self.close(DisconnectReason.FORCED_CLOSE)

    def _report_close(self, reason: str) -> None:
        """The connection has closed: report it once and release what the session held."""
        if self._reported:
            return
        self._reported = True
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        server = self._server
        if self._connection.awaits_last_poll:
            # Kept reachable by sid: the client polls again within a ping interval if alive.
            server.release(self, until_last_poll=True)
            connection = self._connection
            grace = connection.ping_interval + connection.ping_timeout
            self._timer = server.loop.call_later(grace, self.finish_close)
        else:
            server.release(self)
        self._wake()
        callback = server.on_disconnect
        if callback is not None:
            try:
                callback(self, reason)
            except Exception:
                logger.exception("on_disconnect callback failed for session %s", self.sid)

    def _forget_if_last_poll_done(self) -> None:
        """A session kept for its last poll is done with it (delivered, or given up on)."""
        if not self._reported:
            return
        # After the close is reported, the timer can only be the wait for the last poll.
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        self._server.forget(self)

    def _wake(self) -> None:
        """Let the draining transport look at the connection again."""
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- heartbeat -------------------------------------------------------------------------

    def _arm_heartbeat(self) -> None:
        """Make sure the timer fires no later than the connection's next deadline."""
        connection = self._connection
        if connection.state is _CLOSED or self._reported:
            return
        deadline = connection.deadline
        timer = self._timer
        if timer is not None:
            # Firing early is harmless (the tick does nothing and re-arms); late is not.
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._timer = self._server.loop.call_at(deadline, self._on_heartbeat, deadline)

    def _on_heartbeat(self, scheduled: float) -> None:
        self._timer = None
        # The loop may run a handle a hair before its time; it is due all the same.
        now = max(self._server.loop.time(), scheduled)
        closed = self._connection.tick(now)
        if closed is not None:
            self._report_close(closed.reason)
            return
        connection = self._connection
        if connection.outbox or connection.poll_pending:
            # A ping to send, or a GET held during an upgrade whose noop may be due.
            self._wake()
        self._arm_heartbeat()
