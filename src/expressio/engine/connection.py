"""The per-connection Engine.IO state machine, sans-IO.

A :class:`Connection` knows the protocol rules of one Engine.IO session and nothing about
sockets or clocks: the IO adapter feeds it what arrived and the current time (``now``, any
monotonic clock in seconds), and it answers with what to report (:class:`MessageReceived`,
:class:`Closed`) while keeping the packets to send in its ``outbox``. Transports ask it; they
decide nothing about the protocol themselves.

The session's lifecycle is data, as in h11's ``_state.py``: :data:`TRANSITIONS` lists every
move between :class:`ConnectionState` values, and :data:`CLOSE_RULES` what a close does to what
the session still owes the client. The rules, top to bottom:

* Heartbeat: a ping is due ``ping_interval`` after the handshake and after every pong; once
  a ping is out, no pong within ``ping_timeout`` closes the session with ``"ping timeout"``.
  :attr:`Connection.deadline` says when :meth:`Connection.tick` must next run (the
  heartbeat's time, or sooner the first contact's or the noop of a GET held during an
  upgrade).
* First contact: a long-polling session whose client has sent neither a GET nor an upgrade
  probe within ``first_contact_timeout`` of its handshake is closed as a ping timeout would
  close it (the client opened it and went away), long before the heartbeat would notice: a
  flood of handshakes that never poll cannot hold sessions for a ping interval and timeout.
  A websocket session is in contact from its start.
* Long-polling, one request of each kind at a time (the Engine.IO spec): a second GET while
  one is pending, or a second POST while one is being read, is a protocol error that closes
  the session with ``"transport error"`` (the newcomer is refused; a pending GET is answered
  with the close packet). A POST body is no larger than ``max_payload``.
* Upgrade: ``2probe`` on the new transport is answered ``3probe`` (the session is
  UPGRADING); ``5`` switches the session to the websocket. The outbox is one queue whichever
  transport drains it, so no packet is lost or sent twice across the switch.
* A GET while upgrading takes what is queued at once; with nothing queued it is held. A held
  GET takes what is queued as soon as something is (engine.io's way with the GET the client
  left pending when it probed: what comes goes out on it rather than a noop), or a noop
  :data:`UPGRADE_NOOP_DELAY` after the probe or after its own arrival, whichever is later
  (engine.io answers on a 100 ms check). If the client's ``5`` completes the upgrade first,
  it is refused (:class:`PollAfterUpgrade`: HTTP 400, as any GET once the session is on the
  websocket): a client may send ``5`` and poll at once, and the poll may reach the server
  first (two connections are read in any order, and a websocket that compresses its frames,
  as Node's ``ws`` does, even sends the ``5`` after it). If the probe is abandoned, it waits
  as any GET does.
* Closing (:data:`CLOSE_RULES`): a client ``1`` packet closes with ``"transport close"`` (a
  pending GET gets a noop); the engine's own error reasons (transport close or error, ping
  timeout, parse error) discard the outbox and answer a pending GET with ``1``; any other
  ``close()``, a decision of the server, first delivers what is queued, then the close packet
  (polling) or frame. (The layer above closes with its own reasons, e.g. a Socket.IO server
  disconnect, whose DISCONNECT packets must reach the client.) Such a close during an upgrade
  (probe answered: the client has paused polling and polls no more) keeps the outbox until the
  client decides: ``5`` completes the upgrade and the websocket delivers it, an abandoned
  probe (or a GET held then, or still to come) has polling deliver it with the close packet.
* Send buffer: at most ``max_send_buffer`` packets, and at most ``max_send_buffer_bytes`` of
  them (:attr:`Connection.outbox_bytes`: the length of each packet's websocket form, in
  characters for text, bytes for binary), wait in the outbox. A send beyond either closes the
  session with ``"transport error"`` (the slow-client policy: a client that cannot keep up is
  disconnected; memory per connection stays bounded). A broadcast message shared by many
  outboxes counts in full in each: a slow reader pins it all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final, NamedTuple

from expressio.engine.reasons import DisconnectReason
from expressio.protocol.engineio import (
    PAYLOAD_SEPARATOR,
    DecodeError,
    Packet,
    PacketType,
    PreparedMessage,
    decode_frame,
    decode_payload,
)

__all__ = [
    "CLOSE_RULES",
    "DRAIN_FIRST",
    "TRANSITIONS",
    "CloseRule",
    "Closed",
    "Connection",
    "ConnectionState",
    "DuplicatePoll",
    "DuplicatePost",
    "MessageReceived",
    "PollAfterUpgrade",
    "ProbeResult",
    "Transition",
]

PING: Final = PreparedMessage.control(PacketType.PING)
#: The default of ``max_send_buffer_bytes``: what one slow client may hold queued.
DEFAULT_MAX_SEND_BUFFER_BYTES: Final = 16 * 1024 * 1024
PONG_PROBE: Final = "3probe"
NOOP_PAYLOAD: Final = "6"
#: How long a GET with nothing to deliver is held while upgrading before a noop ends it:
#: engine.io's interval, and ample for a ``5`` already sent to be read.
UPGRADE_NOOP_DELAY: Final = 0.1
CLOSE_PAYLOAD: Final = "1"


# -- the lifecycle, as data ------------------------------------------------------------------


class ConnectionState(Enum):
    OPEN = "open"
    UPGRADING = "upgrading"  # probe answered, waiting for the client's upgrade packet
    CLOSING = "closing"  # closed for the application; a last delivery is still owed
    CLOSED = "closed"


class Transition(Enum):
    PROBE_ANSWERED = "probe answered"  # 2probe -> 3probe: the client pauses polling
    UPGRADED = "upgraded"  # 5 on the probing websocket
    PROBE_ABANDONED = "probe abandoned"  # the probing websocket failed or went away
    CLOSED_OWING = "closed, owing a last delivery"  # the queue, or a pending GET's answer
    CLOSED_AT_ONCE = "closed at once"  # nothing more goes out
    DELIVERED = "last delivery done"  # delivered, or given up on


# Module constants for the hot path: an Enum member lookup costs ~0.1 µs.
_OPEN: Final = ConnectionState.OPEN
_UPGRADING: Final = ConnectionState.UPGRADING
_CLOSING: Final = ConnectionState.CLOSING
_CLOSED: Final = ConnectionState.CLOSED
_MESSAGE: Final = PacketType.MESSAGE
_PONG: Final = PacketType.PONG

#: Every move of the lifecycle; a (state, transition) pair absent here is an engine bug.
TRANSITIONS: Final[Mapping[ConnectionState, Mapping[Transition, ConnectionState]]] = {
    _OPEN: {
        Transition.PROBE_ANSWERED: _UPGRADING,
        Transition.CLOSED_OWING: _CLOSING,
        Transition.CLOSED_AT_ONCE: _CLOSED,
    },
    _UPGRADING: {
        Transition.UPGRADED: _OPEN,
        Transition.PROBE_ABANDONED: _OPEN,
        Transition.CLOSED_OWING: _CLOSING,
        Transition.CLOSED_AT_ONCE: _CLOSED,
    },
    _CLOSING: {Transition.DELIVERED: _CLOSED},
    _CLOSED: {Transition.DELIVERED: _CLOSED},
}


class CloseRule(NamedTuple):
    """What a close does to what the session still owes the client."""

    #: The queue still goes out, then the close (Engine.IO's "drain first"); else it is dropped.
    drains_queue: bool
    #: What a polling client gets last: after the queue when it drains, else by a pending GET.
    last_polling_answer: str


_DISCARD_QUEUE: Final = CloseRule(drains_queue=False, last_polling_answer=CLOSE_PAYLOAD)
_DISCARD_QUEUE_QUIETLY: Final = CloseRule(drains_queue=False, last_polling_answer=NOOP_PAYLOAD)

#: Closes by the engine's own reasons: what is queued cannot, or need not, reach the client.
CLOSE_RULES: Final[Mapping[str, CloseRule]] = {
    # The client asked to close (or went away): a GET it left pending ends cleanly.
    DisconnectReason.TRANSPORT_CLOSE: _DISCARD_QUEUE_QUIETLY,
    # The connection broke, the client broke the protocol, or it stopped answering pings.
    DisconnectReason.TRANSPORT_ERROR: _DISCARD_QUEUE,
    DisconnectReason.PING_TIMEOUT: _DISCARD_QUEUE,
    DisconnectReason.PARSE_ERROR: _DISCARD_QUEUE,
}
#: Any other reason is the server's decision (``close()``, shutdown, the layer above's own
#: reasons): the client still gets what was queued before it, then the close packet or frame.
DRAIN_FIRST: Final = CloseRule(drains_queue=True, last_polling_answer=CLOSE_PAYLOAD)


# -- what the machine answers ----------------------------------------------------------------


class MessageReceived(NamedTuple):
    data: str | bytes


class Closed(NamedTuple):
    reason: str


Event = MessageReceived | Closed


class DuplicatePoll(NamedTuple):
    """A second GET arrived while one was pending: the session is closed; refuse the newcomer."""

    closed: Closed


class DuplicatePost(NamedTuple):
    """A second POST arrived while one was read: the session is closed; refuse the newcomer."""

    closed: Closed


class PollAfterUpgrade(NamedTuple):
    """The GET waited while the upgrade completed: refuse it (HTTP 400), as any GET that
    comes once the session is on the websocket."""


_POLL_AFTER_UPGRADE: Final = PollAfterUpgrade()


class ProbeResult(NamedTuple):
    """What a frame on the probing websocket means.

    ``reply`` is a frame to send on the probing websocket, ``upgraded`` says the session now
    belongs to that websocket, ``failed`` says the probe must be abandoned (the probing socket
    closed, the session stays on polling).
    """

    reply: str | None = None
    upgraded: bool = False
    failed: bool = False


_PROBE_ACCEPTED: Final = ProbeResult(reply=PONG_PROBE)
_UPGRADED: Final = ProbeResult(upgraded=True)
_PROBE_FAILED: Final = ProbeResult(failed=True)
_PROBE_IGNORED: Final = ProbeResult()


class Connection:
    """One Engine.IO session's protocol state. See the module docstring for the rules."""

    __slots__ = (
        "_awaiting_pong",
        "_contact_due",
        "_delivery_awaits_upgrade",
        "_final_payload",
        "_heartbeat_at",
        "_held_poll_noop_at",
        "_held_poll_noop_due",
        "close_reason",
        "deadline",
        "max_payload",
        "max_send_buffer",
        "max_send_buffer_bytes",
        "outbox",
        "outbox_bytes",
        "ping_interval",
        "ping_timeout",
        "poll_pending",
        "post_pending",
        "probing",
        "state",
        "transport",
    )

    def __init__(
        self,
        transport: str,
        *,
        now: float,
        ping_interval: float,
        ping_timeout: float,
        max_payload: int,
        max_send_buffer: int,
        max_send_buffer_bytes: int = DEFAULT_MAX_SEND_BUFFER_BYTES,
        first_contact_timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.state = ConnectionState.OPEN
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_payload = max_payload
        self.max_send_buffer = max_send_buffer
        # A list drained by swapping it out: cheaper per idle connection than a deque.
        self.outbox: list[PreparedMessage] = []
        # The size of what ``outbox`` holds (see the module docstring): one add per send,
        # reset whenever the outbox is taken or dropped.
        self.max_send_buffer_bytes = max_send_buffer_bytes
        self.outbox_bytes = 0
        self.close_reason: str | None = None
        # When the first GET or probe must have come by (None: it came, or is not awaited).
        self._contact_due: float | None = None
        if first_contact_timeout is not None and transport == "polling":
            self._contact_due = now + first_contact_timeout
        self._heartbeat_at = now + ping_interval
        self._awaiting_pong = False
        self.poll_pending = False
        self.post_pending = False
        self.probing = False
        self._final_payload: str | None = None
        # A graceful close happened mid-upgrade: which transport delivers is not known yet.
        self._delivery_awaits_upgrade = False
        # While upgrading: when the GET held with nothing to deliver gets its noop, and
        # whether that time has come (see the module docstring).
        self._held_poll_noop_at: float | None = None
        self._held_poll_noop_due = False
        self._set_deadline()

    # -- state -----------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while the application may send and receive."""
        state = self.state
        return state is _OPEN or state is _UPGRADING

    @property
    def awaits_last_poll(self) -> bool:
        """Closed on polling, the last payload owed, and no GET pending to take it: the
        session must stay reachable for the client's next GET."""
        return self.state is _CLOSING and self.transport == "polling" and not self.poll_pending

    def _move(self, transition: Transition) -> None:
        next_state = TRANSITIONS[self.state].get(transition)
        if next_state is None:
            raise RuntimeError(f"engine bug: {transition.value!r} in state {self.state.value!r}")
        self.state = next_state

    # -- sending ---------------------------------------------------------------------------

    def send(self, message: PreparedMessage) -> Closed | None:
        """Queue ``message``; a full buffer closes the session (slow-client policy)."""
        if not self.is_open:
            return None
        outbox = self.outbox
        queued = self.outbox_bytes + len(message.websocket)
        if len(outbox) >= self.max_send_buffer or queued > self.max_send_buffer_bytes:
            return self._close(DisconnectReason.TRANSPORT_ERROR)
        outbox.append(message)
        self.outbox_bytes = queued
        return None

    def take_outbox(self) -> list[PreparedMessage]:
        """Everything queued, in order, for the websocket writer; the outbox is emptied."""
        outbox = self.outbox
        if outbox:
            self.outbox = []
            self.outbox_bytes = 0
        return outbox

    # -- receiving -------------------------------------------------------------------------

    def receive_frame(self, frame: str | bytes, now: float) -> Event | None:
        """A frame arrived on the websocket that carries this session."""
        # The path of every message received: checks inlined, the message case first.
        state = self.state
        if not (state is _OPEN or state is _UPGRADING):
            return None
        size = len(frame)
        limit = self.max_payload
        if size > limit or (size * 4 > limit and _utf8_size_exceeds(frame, limit)):
            return self._close(DisconnectReason.TRANSPORT_ERROR)
        try:
            packet = decode_frame(frame)
        except DecodeError:
            return self._close(DisconnectReason.PARSE_ERROR)
        if packet.type is _MESSAGE:
            return MessageReceived(packet.data)
        return self.receive_packet(packet, now)

    def receive_packet(self, packet: Packet, now: float) -> Event | None:
        """One decoded packet on the session's current transport."""
        if not self.is_open:
            return None
        packet_type = packet.type
        if packet_type is _MESSAGE:
            return MessageReceived(packet.data)
        if packet_type is _PONG:
            if self._awaiting_pong:
                self._awaiting_pong = False
                self._heartbeat_at = now + self.ping_interval
                self._set_deadline()
            return None
        if packet_type is PacketType.CLOSE:
            return self._close(DisconnectReason.TRANSPORT_CLOSE)
        if packet_type is PacketType.PING:
            # Engine.IO v4 clients do not ping (the server does); answering is harmless, but
            # the answer counts against the send buffer: a client that pings without reading
            # would otherwise grow the outbox without bound.
            return self.send(PreparedMessage.control(PacketType.PONG, str(packet.data)))
        # open, upgrade and noop mean nothing on an established transport.
        return None

    # -- heartbeat -------------------------------------------------------------------------

    @property
    def awaits_first_contact(self) -> bool:
        """A polling session whose client has not polled nor probed yet."""
        return self._contact_due is not None

    def _contacted(self) -> None:
        if self._contact_due is not None:
            self._contact_due = None
            self._set_deadline()

    def tick(self, now: float) -> Closed | None:
        """Advance the timers to ``now``: queue a due ping, or close on a missed pong (or on a
        first contact that never came); let a GET held during an upgrade have its noop when
        due."""
        if not self.is_open or now < self.deadline:
            return None
        contact_due = self._contact_due
        if contact_due is not None and now >= contact_due:
            return self._close(DisconnectReason.PING_TIMEOUT)
        noop_at = self._held_poll_noop_at
        if noop_at is not None and now >= noop_at:
            self._held_poll_noop_at = None
            self._held_poll_noop_due = True
        if now >= self._heartbeat_at:
            if self._awaiting_pong:
                return self._close(DisconnectReason.PING_TIMEOUT)
            self._awaiting_pong = True
            self._heartbeat_at = now + self.ping_timeout
            # The ping jumps no queue but is never refused by the send buffer bound either:
            # a session too slow to take it will time out instead.
            self.outbox.append(PING)
        self._set_deadline()
        return None

    def _set_deadline(self) -> None:
        deadline = self._heartbeat_at
        noop_at = self._held_poll_noop_at
        if noop_at is not None and noop_at < deadline:
            deadline = noop_at
        contact_due = self._contact_due
        if contact_due is not None and contact_due < deadline:
            deadline = contact_due
        self.deadline = deadline

    # -- long-polling: GET -----------------------------------------------------------------

    def start_poll(self, now: float) -> str | PollAfterUpgrade | DuplicatePoll | None:
        """A GET arrived: the payload to answer now, or None to wait (:meth:`finish_poll`).

        One GET at a time: a second one while the first is pending closes the session; the
        first is then answered with the close packet.
        """
        self._contacted()
        if self.poll_pending:
            closed = self._close(DisconnectReason.TRANSPORT_ERROR)
            self._final_payload = CLOSE_PAYLOAD
            reason = self.close_reason or DisconnectReason.TRANSPORT_ERROR
            return DuplicatePoll(closed or Closed(reason))
        answer = self._poll_answer()
        if answer is None:
            self.poll_pending = True
            if self.state is _UPGRADING:
                self._hold_poll(now)
        return answer

    def finish_poll(self) -> str | PollAfterUpgrade | None:
        """The pending GET was woken: its answer, or None if it should keep waiting."""
        answer = self._poll_answer()
        if answer is not None:
            self.poll_pending = False
        return answer

    def abandon_poll(self) -> Closed | None:
        """The client went away while its GET was pending."""
        self.poll_pending = False
        self._release_held_poll()
        if self.state is _CLOSING:
            self._move(Transition.DELIVERED)  # given up on: nobody is left to take it
            return None
        return self._close(DisconnectReason.TRANSPORT_CLOSE)

    def _poll_answer(self) -> str | PollAfterUpgrade | None:
        answer = self._poll_answer_or_wait()
        if answer is not None:
            self._release_held_poll()
        return answer

    def _poll_answer_or_wait(self) -> str | PollAfterUpgrade | None:
        if self._delivery_awaits_upgrade:
            # The client polled after all: the last delivery goes out on this GET.
            self._seal_polling_delivery(DRAIN_FIRST.last_polling_answer)
        state = self.state
        if state is _CLOSING or state is _CLOSED:
            final = self._final_payload
            self._final_payload = None
            self._move(Transition.DELIVERED)
            return final if final is not None else CLOSE_PAYLOAD
        if self.transport != "polling":
            # Held while the upgrade completed: the websocket owns the outbox now.
            return _POLL_AFTER_UPGRADE
        outbox = self.outbox
        if outbox:
            self.outbox = []
            self.outbox_bytes = 0
            return PAYLOAD_SEPARATOR.join(message.polling for message in outbox)
        if state is _UPGRADING and self._held_poll_noop_due:
            # Ends the GET cleanly so the client can finish pausing polling.
            return NOOP_PAYLOAD
        return None

    def _hold_poll(self, now: float) -> None:
        """Upgrading, and a GET waits with nothing to deliver: its noop comes later."""
        self._held_poll_noop_at = now + UPGRADE_NOOP_DELAY
        self._held_poll_noop_due = False
        self._set_deadline()

    def _release_held_poll(self) -> None:
        """No GET is held for a noop any more (answered, gone, or the upgrade is over)."""
        self._held_poll_noop_at = None
        self._held_poll_noop_due = False
        self._set_deadline()

    # -- long-polling: POST ----------------------------------------------------------------

    def start_post(self) -> bool | DuplicatePost:
        """A POST arrived: True to read its body (then :meth:`finish_post`), False to refuse it
        (the session is closed).

        One POST at a time, or packets could be applied out of order: a second one while the
        first is read closes the session (:class:`DuplicatePost`).
        """
        if not self.is_open:
            return False
        if self.post_pending:
            closed = self._close(DisconnectReason.TRANSPORT_ERROR)
            assert closed is not None  # the session was open
            return DuplicatePost(closed)
        self.post_pending = True
        return True

    def finish_post(self) -> None:
        """The POST's body was read, or its reading failed: another POST may come."""
        self.post_pending = False

    def receive_payload(self, body: bytes, now: float) -> list[Event]:
        """A POST body arrived: decode it whole, then apply its packets in order."""
        if not self.is_open:
            return []
        if len(body) > self.max_payload:
            closed = self._close(DisconnectReason.TRANSPORT_ERROR)
            return [closed] if closed else []
        try:
            packets = decode_payload(body)
        except DecodeError:
            closed = self._close(DisconnectReason.PARSE_ERROR)
            return [closed] if closed else []
        events: list[Event] = []
        for packet in packets:
            event = self.receive_packet(packet, now)
            if event is not None:
                events.append(event)
                if type(event) is Closed:
                    break
        return events

    # -- upgrade ---------------------------------------------------------------------------

    def start_probe(self) -> bool:
        """A websocket asks to take over this polling session; False refuses it."""
        if self.state is not _OPEN or self.transport != "polling" or self.probing:
            return False
        self._contacted()
        self.probing = True
        return True

    def receive_probe_frame(self, frame: str | bytes, now: float) -> ProbeResult:
        """A frame on the probing websocket, before it carries the session."""
        if self._delivery_awaits_upgrade:
            return self._finish_upgrade_of_closing_session(frame)
        if not self.is_open:
            return _PROBE_FAILED
        if frame == "2probe" and self.state is _OPEN:
            self._move(Transition.PROBE_ANSWERED)
            if self.poll_pending:
                self._hold_poll(now)
            return _PROBE_ACCEPTED
        if frame == "5" and self.state is _UPGRADING:
            self._move(Transition.UPGRADED)
            self.transport = "websocket"
            self.probing = False
            self._release_held_poll()
            return _UPGRADED
        if frame == "6":
            return _PROBE_IGNORED
        return _PROBE_FAILED

    def _finish_upgrade_of_closing_session(self, frame: str | bytes) -> ProbeResult:
        # The session stays CLOSING: the websocket takes the outbox, then closes.
        if frame == "5":
            self._delivery_awaits_upgrade = False
            self.transport = "websocket"
            self.probing = False
            return _UPGRADED
        if frame == "6":
            return _PROBE_IGNORED
        return _PROBE_FAILED  # the adapter abandons the probe: polling delivers

    def abandon_probe(self) -> None:
        """The probing websocket went away or timed out: the session stays on polling."""
        if self.probing:
            self.probing = False
            if self.state is _UPGRADING:
                self._move(Transition.PROBE_ABANDONED)
                self._release_held_poll()  # it waits as any GET does
            elif self._delivery_awaits_upgrade:
                self._seal_polling_delivery(DRAIN_FIRST.last_polling_answer)

    # -- closing ---------------------------------------------------------------------------

    def close(self, reason: str = DisconnectReason.FORCED_CLOSE) -> Closed | None:
        """Server-side close; returns the event to report, None if already closed."""
        return self._close(reason)

    def _close(self, reason: str) -> Closed | None:
        if not self.is_open:
            return None
        self.close_reason = reason
        rule = CLOSE_RULES.get(reason, DRAIN_FIRST)
        if rule.drains_queue:
            upgrading = self.state is _UPGRADING
            self._move(Transition.CLOSED_OWING)
            if upgrading:
                # The client paused polling for the upgrade and will not poll again: sealing
                # a polling payload now would strand it. The probe's outcome decides.
                self._delivery_awaits_upgrade = True
            elif self.transport == "polling":
                self._seal_polling_delivery(rule.last_polling_answer)
            return Closed(reason)
        self.outbox = []
        self.outbox_bytes = 0
        if self.transport == "polling" and self.poll_pending:
            self._move(Transition.CLOSED_OWING)
            self._final_payload = rule.last_polling_answer
        else:
            self._move(Transition.CLOSED_AT_ONCE)
        return Closed(reason)

    def _seal_polling_delivery(self, last: str) -> None:
        """Turn what is queued, then ``last``, into the final polling payload."""
        self._delivery_awaits_upgrade = False
        pending = [message.polling for message in self.outbox]
        pending.append(last)
        self._final_payload = PAYLOAD_SEPARATOR.join(pending)
        self.outbox = []
        self.outbox_bytes = 0

    def finish_close(self) -> None:
        """The transport delivered (or gave up on) the last packets."""
        self._move(Transition.DELIVERED)
        self.outbox = []
        self.outbox_bytes = 0
        self._final_payload = None
        self._delivery_awaits_upgrade = False


def _utf8_size_exceeds(frame: str | bytes, limit: int) -> bool:
    # len() of a str counts code points; only text that could exceed the limit once
    # encoded (up to 4 bytes per code point) pays for the encoding (the caller checks).
    if isinstance(frame, str) and len(frame) * 4 > limit:
        return len(frame.encode("utf-8", "surrogatepass")) > limit
    return False
