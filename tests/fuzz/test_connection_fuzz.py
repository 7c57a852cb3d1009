"""Polling bodies and transport events through the sans-IO Engine.IO ``Connection``.

No network: the tests play the transports' part (as ``EngineSocket`` and the transports call
the connection) and check what the connection promises: a POST body is applied whole or
refused with one close; every close is reported once, by the call that caused it; what the
server queued reaches the client in order, never twice, on whichever transport drains it;
the send buffer stays within its bounds; and a move outside the lifecycle table (a
``RuntimeError``, an engine bug) never happens.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from expressio.engine.connection import (
    CLOSE_RULES,
    PING,
    Closed,
    Connection,
    ConnectionState,
    DuplicatePoll,
    DuplicatePost,
    MessageReceived,
    PollAfterUpgrade,
)
from expressio.engine.reasons import DisconnectReason
from expressio.protocol.engineio import (
    PAYLOAD_SEPARATOR,
    DecodeError,
    Packet,
    PacketType,
    PreparedMessage,
    decode_payload,
    encode_payload,
)
from tests.fuzz.strategies import mangled

T = TypeVar("T")

MAX_PAYLOAD = 300
MAX_SEND_BUFFER = 12
MAX_SEND_BUFFER_BYTES = 200
INTERVAL = 25.0
TIMEOUT = 20.0


def make(transport: str = "polling") -> Connection:
    return Connection(
        transport,
        now=0.0,
        ping_interval=INTERVAL,
        ping_timeout=TIMEOUT,
        max_payload=MAX_PAYLOAD,
        max_send_buffer=MAX_SEND_BUFFER,
        max_send_buffer_bytes=MAX_SEND_BUFFER_BYTES,
    )


packet_texts = st.text(max_size=40).filter(lambda text: PAYLOAD_SEPARATOR not in text)
client_packets = st.one_of(
    st.builds(Packet, st.sampled_from(PacketType), packet_texts),
    st.builds(Packet, st.just(PacketType.MESSAGE), st.binary(max_size=40)),
)
valid_bodies = st.lists(client_packets, min_size=1, max_size=8).map(encode_payload)
bodies = st.one_of(
    valid_bodies.map(lambda text: text.encode("utf-8", "surrogatepass")),
    valid_bodies.flatmap(mangled).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=MAX_PAYLOAD + 20),
    st.builds(lambda size: b"4" + b"x" * size, st.integers(MAX_PAYLOAD - 3, MAX_PAYLOAD + 3)),
)


def expected_events(connection: Connection, body: bytes) -> list[MessageReceived | Closed]:
    """What ``receive_payload`` must answer, derived from the codec alone."""
    if len(body) > MAX_PAYLOAD:
        return [Closed(DisconnectReason.TRANSPORT_ERROR)]
    try:
        packets = decode_payload(body)
    except DecodeError:
        return [Closed(DisconnectReason.PARSE_ERROR)]
    events: list[MessageReceived | Closed] = []
    queued, queued_bytes = len(connection.outbox), connection.outbox_bytes
    for packet in packets:
        if packet.type is PacketType.MESSAGE:
            events.append(MessageReceived(packet.data))
        elif packet.type is PacketType.CLOSE:
            return [*events, Closed(DisconnectReason.TRANSPORT_CLOSE)]
        elif packet.type is PacketType.PING:
            queued, queued_bytes = queued + 1, queued_bytes + 1 + len(packet.data)
            if queued > MAX_SEND_BUFFER or queued_bytes > MAX_SEND_BUFFER_BYTES:
                return [*events, Closed(DisconnectReason.TRANSPORT_ERROR)]
    return events


@given(bodies)
@example(b"")
@example(b"\x1e")
@example(b"4a\x1e")
@example(b"4a\x1e1\x1e4b")
@example(b"2\x1e2\x1e2\x1e2\x1e2\x1e2\x1e2")
@example(b"4\xff")
@example(b"bAA=")
def test_a_post_body_is_applied_whole_or_refused_with_one_close(body: bytes) -> None:
    connection = make()
    bystander = make()  # another session of the same engine, a message queued for it
    bystander.send(PreparedMessage("queued"))
    expected = expected_events(connection, body)
    events = connection.receive_payload(body, 1.0)
    assert events == expected
    closes = [event for event in events if type(event) is Closed]
    assert closes in ([], events[-1:])  # at most one close, and it ends the body
    assert connection.is_open == (not closes)
    if closes and closes[0].reason == DisconnectReason.PARSE_ERROR:
        assert events == closes  # an undecodable body delivers nothing
    for message in connection.outbox:  # the pongs to the body's pings
        assert message.websocket[:1] == "3"
    # Nothing else is disturbed.
    assert bystander.is_open and bystander.start_poll(1.0) == "4queued"


# -- the whole lifecycle, driven as the transports drive it ------------------------------------

server_reasons = st.sampled_from(
    [
        DisconnectReason.FORCED_CLOSE,
        DisconnectReason.SERVER_SHUTTING_DOWN,
        DisconnectReason.CLIENT_NAMESPACE_DISCONNECT,
        DisconnectReason.TRANSPORT_CLOSE,
        DisconnectReason.TRANSPORT_ERROR,
        DisconnectReason.PING_TIMEOUT,
        DisconnectReason.PARSE_ERROR,
    ]
)
#: True one draw in five: how often a client misbehaves or the server closes, so that most
#: runs get far before something ends the session.
#: (Hypothesis favours the first of sampled values, and small integers, so "usual" comes first.)
rarely = st.sampled_from([False, False, False, False, True])


def mostly(usual: st.SearchStrategy[T], unusual: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return rarely.flatmap(lambda odd: unusual if odd else usual)


# What a live client mostly sends, and now and then anything at all.
websocket_frames = mostly(
    st.sampled_from(["4hello", "4", "3", "6", "2x", b"\x00\x01"]),
    st.one_of(
        st.sampled_from(["3", "2", "2x", "1", "5", "6", "0", "", "9", "4", "4hello", "2probe"]),
        st.text(max_size=12),
        st.binary(max_size=12),
        st.builds(lambda size: "4" + "é" * size, st.integers(70, 160)),
    ),
)
friendly_bodies = st.lists(
    st.one_of(
        st.builds(Packet, st.just(PacketType.MESSAGE), packet_texts),
        st.builds(Packet, st.just(PacketType.MESSAGE), st.binary(max_size=10)),
        st.sampled_from([Packet(PacketType.PONG), Packet(PacketType.NOOP)]),
        st.just(Packet(PacketType.PING, "x")),
    ),
    min_size=1,
    max_size=4,
).map(lambda packets: encode_payload(packets).encode("utf-8", "surrogatepass"))
lifecycle_bodies = mostly(friendly_bodies, bodies)
probe_frames = st.sampled_from(["2probe", "2probe", "5", "5", "6", "3probe", "4x", "", b"\x00"])


class ConnectionLifecycle(RuleBasedStateMachine):
    """One session, its GETs, POSTs, probes and websocket, in any order the transports allow."""

    @initialize(transport=st.sampled_from(["polling", "polling", "websocket"]))
    def open(self, transport: str) -> None:
        self.connection = make(transport)
        self.now = 0.0
        self.sent: list[str] = []  # messages the connection accepted, in order
        self.delivered: list[str] = []  # messages the client got, in order
        self.closes = 0
        # What the server and the transports hold (as EngineSocket keeps it):
        self.reachable = True  # the server still routes requests to the session
        self.last_poll_timer = False  # a closed session waits for its last poll
        self.get_parked = False
        self.probing = False
        self.websocket = transport == "websocket"
        self.counter = 0
        self.duplicate_get = False

    # -- helpers ---------------------------------------------------------------------------

    def report(self, closed: Closed | None, was_open: bool) -> None:
        """A call's close event: reported once, by the call that closed the session."""
        closes_now = was_open and not self.connection.is_open
        assert (closed is not None) == closes_now, (closed, was_open, self.connection.state)
        if closed is None:
            return
        self.closes += 1
        assert self.closes == 1
        # EngineSocket._report_close: keep the session reachable only for a last poll it owes.
        self.reachable = self.connection.awaits_last_poll
        self.last_poll_timer = self.reachable

    def last_delivery_done(self) -> None:
        """A close the server decided (not an error, see ``CLOSE_RULES``) still delivers all
        that was queued before it; unless the client broke the protocol meanwhile."""
        reason = self.connection.close_reason
        if reason is not None and reason not in CLOSE_RULES and not self.duplicate_get:
            assert self.delivered == self.sent

    def forget_if_closed(self) -> None:
        if self.closes:
            self.reachable = False
            self.last_poll_timer = False

    def take(self, answer: str) -> None:
        """A GET's answer, as the client decodes it."""
        for packet in decode_payload(answer):  # the server's own payload always decodes
            if packet.type is PacketType.MESSAGE:
                assert isinstance(packet.data, str)
                self.delivered.append(packet.data)

    # -- the application -------------------------------------------------------------------

    @rule(size=st.integers(0, 30))
    def send(self, size: int) -> None:
        self.counter += 1
        data = f"m{self.counter}:" + "x" * size
        was_open = self.connection.is_open
        before = len(self.connection.outbox)
        closed = self.connection.send(PreparedMessage(data))
        if was_open and closed is None:
            assert len(self.connection.outbox) == before + 1
            self.sent.append(data)
        self.report(closed, was_open)

    @rule(reason=server_reasons, now=rarely)
    def close(self, reason: str, now: bool) -> None:
        if not now and self.connection.state is not ConnectionState.UPGRADING:
            return  # rarely, but often mid-upgrade, where closing has its own rules
        was_open = self.connection.is_open
        self.report(self.connection.close(reason), was_open)

    @rule(seconds=st.sampled_from([1.0, 1.0, 5.0, 5.0, 10.0, INTERVAL, TIMEOUT, 60.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        was_open = self.connection.is_open
        closed = self.connection.tick(self.now)
        if closed is not None:
            assert closed.reason == DisconnectReason.PING_TIMEOUT
        self.report(closed, was_open)

    # -- long-polling ----------------------------------------------------------------------

    @precondition(lambda self: self.reachable and self.connection.transport == "polling")
    @rule(duplicate=rarely)
    def get(self, duplicate: bool) -> None:
        if self.get_parked and not duplicate:
            return  # a client polls once at a time; rarely, it breaks that rule
        was_open = self.connection.is_open
        answer = self.connection.start_poll(self.now)
        if type(answer) is DuplicatePoll:
            assert self.get_parked
            self.duplicate_get = True
            self.report(answer.closed if was_open else None, was_open)
            return
        self.report(None, was_open)
        if answer is None:
            assert not self.get_parked
            self.get_parked = True
            return
        assert isinstance(answer, str)
        self.take(answer)
        if self.connection.state is ConnectionState.CLOSED:
            self.last_delivery_done()
            self.forget_if_closed()

    @precondition(lambda self: self.get_parked)
    @rule()
    def parked_get_wakes(self) -> None:
        connection = self.connection
        owed = (
            not connection.is_open
            or connection.transport != "polling"
            or bool(connection.outbox)
            # during an upgrade an empty GET is held until its noop is due (as engine.io does)
            or (connection.state is ConnectionState.UPGRADING and connection._held_poll_noop_due)
        )
        answer = connection.finish_poll()
        if owed:
            assert answer is not None, "a GET left waiting with something to answer"
        if type(answer) is PollAfterUpgrade:
            # held while the upgrade completed: refused (HTTP 400), the websocket delivers
            assert connection.transport == "websocket"
            self.get_parked = False
            return
        if answer is not None:
            assert isinstance(answer, str)
            self.get_parked = False
            self.take(answer)
            if connection.state is ConnectionState.CLOSED:
                if connection.transport == "polling":
                    self.last_delivery_done()
                self.forget_if_closed()

    @precondition(lambda self: self.get_parked)
    @rule(now=rarely)
    def parked_get_goes_away(self, now: bool) -> None:
        if not now:
            return
        self.get_parked = False
        was_open = self.connection.is_open
        closed = self.connection.abandon_poll()
        self.report(closed, was_open)
        if closed is None:
            self.forget_if_closed()

    @precondition(lambda self: self.reachable and self.connection.transport == "polling")
    @rule(body=lifecycle_bodies, overlapping=st.sampled_from([False] * 19 + [True]))
    def post(self, body: bytes, overlapping: bool) -> None:
        connection = self.connection
        was_open = connection.is_open
        started = connection.start_post()
        if started is not True:
            assert started is False and not was_open
            return
        if overlapping:
            second = connection.start_post()
            assert type(second) is DuplicatePost
            connection.finish_post()
            self.report(second.closed, was_open)
            return
        connection.finish_post()
        events = connection.receive_payload(body, self.now)
        closes = [event for event in events if type(event) is Closed]
        assert closes in ([], events[-1:])
        self.report(closes[0] if closes else None, was_open)

    @precondition(lambda self: self.connection.is_open)
    @rule()
    def client_pongs(self) -> None:
        """A live client answers the ping (over whichever transport carries the session)."""
        connection = self.connection
        if connection.transport == "websocket":
            if self.websocket:
                assert connection.receive_frame("3", self.now) is None
        elif self.reachable and connection.start_post() is True:
            connection.finish_post()
            assert connection.receive_payload(b"3", self.now) == []

    @precondition(lambda self: self.last_poll_timer)
    @rule()
    def last_poll_never_comes(self) -> None:
        self.connection.finish_close()
        self.forget_if_closed()

    # -- the upgrade -----------------------------------------------------------------------

    @precondition(lambda self: self.reachable and not self.probing)
    @rule()
    def probe_starts(self) -> None:
        connection = self.connection
        allowed = connection.state is ConnectionState.OPEN and connection.transport == "polling"
        assert connection.start_probe() == allowed
        self.probing = allowed

    @precondition(lambda self: self.probing)
    @rule(frame=probe_frames, now=rarely)
    def probe_frame(self, frame: str | bytes, now: bool) -> None:
        if now:
            self.probe_receives(frame)

    @precondition(lambda self: self.probing)
    @rule()
    def probe_proceeds(self) -> None:
        """The next frame of a client completing the upgrade (random frames rarely do)."""
        self.probe_receives("2probe" if self.connection.state is ConnectionState.OPEN else "5")

    def probe_receives(self, frame: str | bytes) -> None:
        result = self.connection.receive_probe_frame(frame, self.now)
        assert sum((result.reply is not None, result.upgraded, result.failed)) <= 1
        if result.upgraded:
            self.probing = False
            self.websocket = True
            assert self.connection.transport == "websocket"
            self.forget_if_closed()
        elif result.failed:
            self.probing = False
            self.connection.abandon_probe()

    @precondition(lambda self: self.probing)
    @rule(now=rarely)
    def probe_goes_away(self, now: bool) -> None:
        if not now:
            return
        self.probing = False
        self.connection.abandon_probe()

    # -- the websocket ---------------------------------------------------------------------

    @precondition(lambda self: self.websocket)
    @rule(frame=websocket_frames)
    def websocket_frame(self, frame: str | bytes) -> None:
        was_open = self.connection.is_open
        event = self.connection.receive_frame(frame, self.now)
        if type(event) is MessageReceived:
            assert was_open
        self.report(event if type(event) is Closed else None, was_open)

    @precondition(lambda self: self.websocket)
    @rule()
    def websocket_writes(self) -> None:
        connection = self.connection
        for message in connection.take_outbox():
            content = message.websocket
            if isinstance(content, str) and content[:1] == "4":
                self.delivered.append(content[1:])
        assert connection.outbox == [] and connection.outbox_bytes == 0
        if not connection.is_open:
            self.last_delivery_done()
            connection.finish_close()
            self.websocket = False

    @precondition(lambda self: self.websocket)
    @rule(now=rarely)
    def websocket_goes_away(self, now: bool) -> None:
        if not now:
            return
        was_open = self.connection.is_open
        self.report(self.connection.close(DisconnectReason.TRANSPORT_CLOSE), was_open)
        self.connection.finish_close()
        self.websocket = False

    # -- what holds after every step -------------------------------------------------------

    @invariant()
    def delivered_in_order_never_twice(self) -> None:
        assert self.delivered == self.sent[: len(self.delivered)]

    @invariant()
    def send_buffer_within_bounds(self) -> None:
        connection = self.connection
        outbox = connection.outbox
        assert len(outbox) <= MAX_SEND_BUFFER + 1  # one ping is never refused
        counted = sum(len(message.websocket) for message in outbox if message is not PING)
        assert connection.outbox_bytes == counted <= MAX_SEND_BUFFER_BYTES

    @invariant()
    def closed_stays_closed(self) -> None:
        if self.closes:
            assert not self.connection.is_open
            assert self.connection.close_reason is not None


# Runs of 35 steps: long enough to open, upgrade and close a session and poll after that.
ConnectionLifecycle.TestCase.settings = settings(stateful_step_count=35)
test_connection_lifecycle = ConnectionLifecycle.TestCase
