"""The sans-IO connection state machine: every protocol rule, no network, no clock."""

from __future__ import annotations

import pytest

from expressio.engine.connection import (
    CLOSE_RULES,
    DRAIN_FIRST,
    TRANSITIONS,
    UPGRADE_NOOP_DELAY,
    Closed,
    Connection,
    ConnectionState,
    DuplicatePoll,
    DuplicatePost,
    MessageReceived,
    PollAfterUpgrade,
    ProbeResult,
    Transition,
)
from expressio.engine.reasons import DisconnectReason
from expressio.protocol.engineio import PreparedMessage

NOW = 100.0  # the clock at the handshake
INTERVAL = 25.0
TIMEOUT = 20.0


def make(transport: str = "polling", **options: float) -> Connection:
    settings: dict[str, float] = {
        "ping_interval": INTERVAL,
        "ping_timeout": TIMEOUT,
        "max_payload": 1000,
        "max_send_buffer": 100,
        **options,
    }
    return Connection(
        transport,
        now=NOW,
        ping_interval=settings["ping_interval"],
        ping_timeout=settings["ping_timeout"],
        max_payload=int(settings["max_payload"]),
        max_send_buffer=int(settings["max_send_buffer"]),
    )


def state(connection: Connection) -> ConnectionState:
    # A function call keeps type checkers from narrowing the state across calls that change it.
    return connection.state


def frames(connection: Connection) -> list[str | bytes]:
    return [message.websocket for message in connection.take_outbox()]


# -- heartbeat ---------------------------------------------------------------------------


def test_first_ping_is_due_one_interval_after_the_handshake() -> None:
    connection = make()
    assert connection.deadline == 100.0 + INTERVAL
    assert connection.tick(100.0 + INTERVAL - 0.001) is None
    assert connection.outbox == []
    assert connection.tick(100.0 + INTERVAL) is None
    assert frames(connection) == ["2"]
    assert connection.deadline == 100.0 + INTERVAL + TIMEOUT


def test_pong_schedules_the_next_ping_one_interval_later() -> None:
    connection = make("websocket")
    connection.tick(125.0)
    assert frames(connection) == ["2"]
    assert connection.receive_frame("3", 130.0) is None
    assert connection.deadline == 130.0 + INTERVAL
    # The pong deadline is gone: nothing happens at the old ping + timeout.
    assert connection.tick(145.0) is None
    assert connection.is_open
    assert connection.tick(155.0) is None
    assert frames(connection) == ["2"]


def test_missing_pong_closes_with_ping_timeout_exactly_at_the_deadline() -> None:
    connection = make("websocket")
    connection.tick(125.0)
    connection.send(PreparedMessage("queued"))
    assert connection.tick(144.999) is None
    assert connection.tick(145.0) == Closed("ping timeout")
    assert connection.state is ConnectionState.CLOSED
    assert connection.outbox == []
    assert connection.tick(1000.0) is None


def test_unsolicited_pong_does_not_move_the_heartbeat() -> None:
    connection = make("websocket")
    connection.receive_frame("3", 110.0)
    assert connection.deadline == 125.0


def test_client_ping_is_answered_with_pong() -> None:
    connection = make("websocket")
    assert connection.receive_frame("2hey", 101.0) is None
    assert frames(connection) == ["3hey"]


def test_pongs_to_client_pings_count_against_the_send_buffer() -> None:
    connection = make("websocket", max_send_buffer=3)
    for _ in range(3):
        assert connection.receive_frame("2", 101.0) is None
    assert connection.receive_frame("2", 101.0) == Closed("transport error")
    assert connection.outbox == []


def test_pongs_to_client_pings_in_a_post_count_against_the_send_buffer() -> None:
    connection = make(max_send_buffer=2)
    events = connection.receive_payload(b"2\x1e2\x1e2\x1e4after", 101.0)
    assert events == [Closed("transport error")]
    assert connection.state is ConnectionState.CLOSED


def test_messages_do_not_count_as_pongs() -> None:
    connection = make("websocket")
    connection.tick(125.0)
    connection.receive_frame("4still here", 130.0)
    assert connection.tick(145.0) == Closed("ping timeout")


# -- messages --------------------------------------------------------------------------


def test_text_and_binary_messages_are_reported() -> None:
    connection = make("websocket")
    assert connection.receive_frame("4hello", 101.0) == MessageReceived("hello")
    assert connection.receive_frame(b"\x00\x01", 101.0) == MessageReceived(b"\x00\x01")
    assert connection.receive_frame("4", 101.0) == MessageReceived("")


@pytest.mark.parametrize("ignored", ["0", "5", "6", "0{}"])
def test_open_upgrade_and_noop_are_ignored_on_an_established_transport(ignored: str) -> None:
    connection = make("websocket")
    assert connection.receive_frame(ignored, 101.0) is None
    assert connection.is_open


@pytest.mark.parametrize("garbage", ["abc", "", "9", "x4hello"])
def test_undecodable_frame_closes_with_parse_error(garbage: str) -> None:
    connection = make("websocket")
    assert connection.receive_frame(garbage, 101.0) == Closed("parse error")
    assert connection.state is ConnectionState.CLOSED


def test_frame_over_max_payload_closes_with_transport_error() -> None:
    connection = make("websocket", max_payload=10)
    assert connection.receive_frame("4" + "a" * 9, 101.0) == MessageReceived("a" * 9)
    assert connection.receive_frame(b"x" * 11, 101.0) == Closed("transport error")


def test_max_payload_counts_utf8_bytes_not_characters() -> None:
    connection = make("websocket", max_payload=10)
    # 4 characters, 13 bytes once encoded.
    assert connection.receive_frame("4€€€€", 101.0) == Closed("transport error")


def test_client_close_packet_closes_with_transport_close() -> None:
    connection = make("websocket")
    assert connection.receive_frame("1", 101.0) == Closed("transport close")
    assert connection.receive_frame("4late", 101.0) is None


# -- send buffer -----------------------------------------------------------------------


def test_send_keeps_order() -> None:
    connection = make("websocket")
    for text in ("a", "b", "c"):
        assert connection.send(PreparedMessage(text)) is None
    assert frames(connection) == ["4a", "4b", "4c"]
    assert connection.take_outbox() == []


def test_send_buffer_overflow_closes_with_transport_error() -> None:
    connection = make("websocket", max_send_buffer=3)
    for text in ("a", "b", "c"):
        assert connection.send(PreparedMessage(text)) is None
    assert connection.send(PreparedMessage("d")) == Closed("transport error")
    assert connection.state is ConnectionState.CLOSED
    assert connection.outbox == []
    assert connection.send(PreparedMessage("e")) is None
    assert connection.outbox == []


def test_draining_makes_room_again() -> None:
    connection = make("websocket", max_send_buffer=2)
    connection.send(PreparedMessage("a"))
    connection.send(PreparedMessage("b"))
    connection.take_outbox()
    assert connection.send(PreparedMessage("c")) is None
    assert connection.is_open


# -- long-polling ----------------------------------------------------------------------


def test_poll_waits_when_nothing_is_queued_then_gets_the_messages() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.poll_pending
    assert connection.finish_poll() is None  # a spurious wake keeps waiting
    connection.send(PreparedMessage("one"))
    connection.send(PreparedMessage(b"\x01\x02\x03\x04"))
    assert connection.finish_poll() == "4one\x1ebAQIDBA=="
    assert not connection.poll_pending


def test_poll_is_answered_at_once_when_messages_are_queued() -> None:
    connection = make()
    connection.send(PreparedMessage("ready"))
    assert connection.start_poll(NOW) == "4ready"
    assert not connection.poll_pending


def test_ping_reaches_a_pending_poll() -> None:
    connection = make()
    connection.start_poll(NOW)
    connection.tick(125.0)
    assert connection.finish_poll() == "2"


def test_duplicate_poll_closes_the_session_and_the_first_gets_close() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    duplicate = connection.start_poll(NOW)
    assert duplicate == DuplicatePoll(Closed("transport error"))
    assert connection.finish_poll() == "1"
    assert connection.state is ConnectionState.CLOSED


def test_abandoned_poll_closes_with_transport_close() -> None:
    connection = make()
    connection.start_poll(NOW)
    assert connection.abandon_poll() == Closed("transport close")
    assert connection.state is ConnectionState.CLOSED


def test_one_post_at_a_time() -> None:
    connection = make()
    assert connection.start_post() is True
    assert connection.post_pending
    # A second POST while the first is read breaks the protocol: the session closes.
    assert connection.start_post() == DuplicatePost(Closed("transport error"))
    assert connection.state is ConnectionState.CLOSED
    assert connection.start_post() is False


def test_a_post_may_follow_a_finished_one() -> None:
    connection = make()
    assert connection.start_post() is True
    connection.finish_post()
    assert not connection.post_pending
    assert connection.start_post() is True


def test_duplicate_post_answers_the_pending_poll_with_close() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    connection.send(PreparedMessage("dropped"))
    connection.start_post()
    assert connection.start_post() == DuplicatePost(Closed("transport error"))
    assert connection.finish_poll() == "1"
    assert connection.state is ConnectionState.CLOSED


def test_post_on_a_closing_session_is_refused_without_a_second_close() -> None:
    connection = make()
    connection.send(PreparedMessage("bye"))
    assert connection.close() == Closed("forced close")
    assert connection.start_post() is False
    assert connection.close_reason == "forced close"
    assert connection.start_poll(NOW) == "4bye\x1e1"


def test_a_get_and_a_post_may_be_in_flight_together() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.start_post() is True
    assert connection.receive_payload(b"4hi", 101.0) == [MessageReceived("hi")]
    connection.finish_post()
    assert connection.is_open and connection.poll_pending


def test_post_payload_reports_messages_in_order() -> None:
    connection = make()
    events = connection.receive_payload(b"4test1\x1e4test2\x1ebAQIDBA==", 101.0)
    assert events == [
        MessageReceived("test1"),
        MessageReceived("test2"),
        MessageReceived(b"\x01\x02\x03\x04"),
    ]


def test_post_with_pong_keeps_the_session_alive() -> None:
    connection = make()
    connection.tick(125.0)
    assert connection.receive_payload(b"3", 126.0) == []
    assert connection.deadline == 126.0 + INTERVAL


def test_post_close_packet_answers_the_pending_poll_with_noop() -> None:
    connection = make()
    connection.start_poll(NOW)
    assert connection.receive_payload(b"1", 101.0) == [Closed("transport close")]
    assert connection.finish_poll() == "6"
    assert connection.state is ConnectionState.CLOSED


def test_post_messages_before_a_close_packet_are_delivered() -> None:
    connection = make()
    events = connection.receive_payload(b"4bye\x1e1\x1e4never", 101.0)
    assert events == [MessageReceived("bye"), Closed("transport close")]


def test_undecodable_post_delivers_nothing_and_closes_with_parse_error() -> None:
    connection = make()
    connection.start_poll(NOW)
    assert connection.receive_payload(b"4fine\x1eabc", 101.0) == [Closed("parse error")]
    assert connection.finish_poll() == "1"


def test_post_over_max_payload_closes_with_transport_error() -> None:
    connection = make(max_payload=8)
    assert connection.receive_payload(b"4" + b"a" * 8, 101.0) == [Closed("transport error")]


def test_post_on_closed_session_is_ignored() -> None:
    connection = make()
    connection.close()
    assert connection.receive_payload(b"4late", 101.0) == []


# -- upgrade ---------------------------------------------------------------------------


def test_upgrade_probe_then_upgrade_packet() -> None:
    connection = make()
    assert connection.start_probe()
    assert connection.receive_probe_frame("2probe", NOW) == ProbeResult(reply="3probe")
    assert connection.state is ConnectionState.UPGRADING
    assert connection.transport == "polling"
    assert connection.receive_probe_frame("5", NOW) == ProbeResult(upgraded=True)
    assert connection.transport == "websocket"
    assert state(connection) is ConnectionState.OPEN


def probing() -> Connection:
    """A polling session whose probe was answered at ``NOW``."""
    connection = make()
    assert connection.start_probe()
    assert connection.receive_probe_frame("2probe", NOW) == ProbeResult(reply="3probe")
    return connection


def test_poll_pending_at_the_probe_is_held_then_released_with_noop() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    # Not at once: a packet queued meanwhile would take the noop's place (engine.io's way).
    assert connection.finish_poll() is None
    noop_at = NOW + UPGRADE_NOOP_DELAY
    assert connection.deadline == noop_at
    assert connection.tick(noop_at - 0.001) is None
    assert connection.finish_poll() is None
    assert connection.tick(noop_at) is None
    assert connection.finish_poll() == "6"
    assert connection.outbox == []  # the noop timer is no heartbeat: no ping
    assert connection.deadline == NOW + INTERVAL


def test_poll_arriving_during_the_upgrade_is_held_from_its_arrival() -> None:
    connection = probing()
    arrival = NOW + 0.05
    assert connection.start_poll(arrival) is None
    assert connection.deadline == arrival + UPGRADE_NOOP_DELAY
    connection.tick(NOW + UPGRADE_NOOP_DELAY)
    assert connection.finish_poll() is None
    connection.tick(arrival + UPGRADE_NOOP_DELAY)
    assert connection.finish_poll() == "6"
    # The next GET is held afresh.
    assert connection.start_poll(arrival + 1) is None


def test_packet_queued_during_the_upgrade_goes_out_on_the_held_poll_instead_of_noop() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.send(PreparedMessage("40"))
    assert connection.finish_poll() == "440"
    assert connection.deadline == NOW + INTERVAL


def test_ping_due_during_the_upgrade_goes_out_on_the_held_poll() -> None:
    connection = make(ping_interval=0.05)
    assert connection.start_poll(NOW) is None
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    assert connection.deadline == NOW + 0.05
    connection.tick(NOW + 0.05)
    assert connection.finish_poll() == "2"


def test_poll_held_when_the_upgrade_completes_is_refused() -> None:
    connection = probing()
    assert connection.start_poll(NOW + 0.001) is None
    assert connection.receive_probe_frame("5", NOW + 0.002) == ProbeResult(upgraded=True)
    assert connection.finish_poll() == PollAfterUpgrade()
    assert not connection.poll_pending
    assert connection.deadline == NOW + INTERVAL


def test_poll_held_when_the_probe_is_abandoned_waits_as_any_poll() -> None:
    connection = probing()
    assert connection.start_poll(NOW) is None
    connection.abandon_probe()
    assert connection.tick(NOW + UPGRADE_NOOP_DELAY) is None
    assert connection.finish_poll() is None
    connection.send(PreparedMessage("m"))
    assert connection.finish_poll() == "4m"


def test_poll_gone_while_held_leaves_no_noop_owed_to_the_next_one() -> None:
    connection = probing()
    assert connection.start_poll(NOW) is None
    # The client went away: an abandoned GET closes the session, as on any polling session.
    assert connection.abandon_poll() == Closed("transport close")
    assert connection.deadline == NOW + INTERVAL


def test_no_message_lost_or_duplicated_across_the_upgrade() -> None:
    connection = make()
    connection.send(PreparedMessage("m1"))
    assert connection.start_poll(NOW) == "4m1"
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.send(PreparedMessage("m2"))
    # The client's in-flight poll may still take what is queued during the probe...
    assert connection.start_poll(NOW) == "4m2"
    connection.send(PreparedMessage("m3"))
    connection.receive_probe_frame("5", NOW)
    connection.send(PreparedMessage("m4"))
    # ...and everything after it goes out on the websocket, once.
    assert frames(connection) == ["4m3", "4m4"]
    # A GET after the upgrade never takes websocket traffic: it is refused.
    connection.send(PreparedMessage("m5"))
    assert connection.start_poll(NOW) == PollAfterUpgrade()
    assert frames(connection) == ["4m5"]


def test_messages_queued_during_the_probe_wait_for_the_websocket() -> None:
    connection = make()
    connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.send(PreparedMessage("during"))
    connection.tick(125.0)
    connection.receive_probe_frame("5", NOW)
    assert frames(connection) == ["4during", "2"]


def test_upgrade_packet_before_probe_fails_the_probe() -> None:
    connection = make()
    connection.start_probe()
    assert connection.receive_probe_frame("5", NOW) == ProbeResult(failed=True)
    connection.abandon_probe()
    assert connection.transport == "polling"
    assert connection.start_probe()


@pytest.mark.parametrize("frame", ["4hello", "2", b"\x01", "abc"])
def test_unexpected_frame_on_the_probe_fails_it(frame: str | bytes) -> None:
    connection = make()
    connection.start_probe()
    assert connection.receive_probe_frame(frame, NOW).failed


def test_abandoned_probe_returns_to_polling() -> None:
    connection = make()
    connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.abandon_probe()
    assert connection.state is ConnectionState.OPEN
    assert connection.transport == "polling"
    assert connection.start_poll(NOW) is None


def test_only_one_probe_at_a_time_and_none_on_websocket() -> None:
    connection = make()
    assert connection.start_probe()
    assert not connection.start_probe()
    assert not make("websocket").start_probe()


def test_probe_on_a_closed_session_fails() -> None:
    connection = make()
    connection.start_probe()
    connection.close()
    assert connection.receive_probe_frame("2probe", NOW).failed


def upgrading_with_queue(message: str) -> Connection:
    """A polling session whose probe was answered (the client paused polling), then the
    server queued ``message`` and closed gracefully."""
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.tick(NOW + UPGRADE_NOOP_DELAY)
    assert connection.finish_poll() == "6"
    connection.send(PreparedMessage(message))
    assert connection.close("server namespace disconnect") == Closed(
        "server namespace disconnect"
    )
    return connection


def test_graceful_close_during_the_upgrade_waits_for_it_then_uses_the_websocket() -> None:
    connection = upgrading_with_queue("41")
    assert not connection.is_open
    assert connection.send(PreparedMessage("too late")) is None
    assert connection.receive_probe_frame("5", NOW) == ProbeResult(upgraded=True)
    assert connection.transport == "websocket"
    assert frames(connection) == ["441"]
    assert state(connection) is ConnectionState.CLOSING
    connection.finish_close()
    assert state(connection) is ConnectionState.CLOSED


def test_graceful_close_during_an_abandoned_upgrade_goes_out_by_polling() -> None:
    connection = upgrading_with_queue("41")
    connection.abandon_probe()
    assert connection.transport == "polling"
    assert connection.start_poll(NOW) == "441\x1e1"
    assert state(connection) is ConnectionState.CLOSED


def test_graceful_close_during_the_upgrade_goes_to_a_poll_that_still_comes() -> None:
    connection = upgrading_with_queue("41")
    assert connection.start_poll(NOW) == "441\x1e1"
    # The probe then has no session to take over.
    assert connection.receive_probe_frame("5", NOW).failed


def test_graceful_close_while_a_poll_is_held_delivers_on_that_poll() -> None:
    connection = make()
    assert connection.start_poll(NOW) is None
    assert connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.send(PreparedMessage("41"))
    connection.close("server namespace disconnect")
    # Woken by the close before it took the queue: both go out on it, then the probe fails.
    assert connection.finish_poll() == "441\x1e1"
    assert connection.receive_probe_frame("5", NOW).failed


def test_error_close_during_the_upgrade_is_immediate() -> None:
    connection = make()
    connection.start_probe()
    connection.receive_probe_frame("2probe", NOW)
    connection.send(PreparedMessage("dropped"))
    assert connection.close("transport error") == Closed("transport error")
    assert connection.outbox == []
    assert connection.receive_probe_frame("5", NOW).failed


# -- server-side close -----------------------------------------------------------------


def test_forced_close_on_websocket_still_delivers_the_queue() -> None:
    connection = make("websocket")
    connection.send(PreparedMessage("last words"))
    assert connection.close() == Closed("forced close")
    assert connection.state is ConnectionState.CLOSING
    assert not connection.is_open
    assert frames(connection) == ["4last words"]
    assert connection.close() is None
    connection.finish_close()
    assert state(connection) is ConnectionState.CLOSED


def test_forced_close_on_polling_delivers_queue_then_close_packet() -> None:
    connection = make()
    connection.send(PreparedMessage("bye"))
    assert connection.close("server shutting down") == Closed("server shutting down")
    assert connection.start_poll(NOW) == "4bye\x1e1"
    assert connection.state is ConnectionState.CLOSED


def test_forced_close_with_a_pending_poll_answers_it() -> None:
    connection = make()
    connection.start_poll(NOW)
    connection.close()
    assert connection.finish_poll() == "1"


def test_close_with_a_reason_of_the_layer_above_delivers_the_queue_first() -> None:
    websocket = make("websocket")
    websocket.send(PreparedMessage("41"))
    assert websocket.close("server namespace disconnect") == Closed("server namespace disconnect")
    assert frames(websocket) == ["441"]
    polling = make()
    polling.send(PreparedMessage("41"))
    polling.close("server namespace disconnect")
    assert polling.start_poll(NOW) == "441\x1e1"


def test_error_close_discards_the_queue() -> None:
    connection = make()
    connection.send(PreparedMessage("dropped"))
    connection.start_probe()
    connection.tick(125.0)
    connection.tick(145.0)
    assert connection.outbox == []
    assert connection.state is ConnectionState.CLOSED


@pytest.mark.parametrize(
    ("reason", "drains", "last"),
    [
        ("transport close", False, "6"),
        ("transport error", False, "1"),
        ("ping timeout", False, "1"),
        ("parse error", False, "1"),
        ("forced close", True, "1"),
        ("server shutting down", True, "1"),
        ("server namespace disconnect", True, "1"),
        ("connect timeout", True, "1"),
        ("a reason of the application", True, "1"),
    ],
)
def test_which_closes_drain_the_queue(reason: str, drains: bool, last: str) -> None:
    rule = CLOSE_RULES.get(reason, DRAIN_FIRST)
    assert (rule.drains_queue, rule.last_polling_answer) == (drains, last)
    # The table is what the machine does, on polling with a GET pending...
    polling = make()
    assert polling.start_poll(NOW) is None
    polling.send(PreparedMessage("queued"))
    polling.close(reason)
    assert polling.finish_poll() == ("4queued\x1e" + last if drains else last)
    # ...and on a websocket.
    websocket = make("websocket")
    websocket.send(PreparedMessage("queued"))
    websocket.close(reason)
    assert frames(websocket) == (["4queued"] if drains else [])


def test_a_closed_polling_session_awaits_the_last_poll_only_when_it_owes_one() -> None:
    draining = make()
    draining.close()
    assert draining.awaits_last_poll
    assert draining.start_poll(NOW) == "1"
    assert not draining.awaits_last_poll
    with_poll = make()
    with_poll.start_poll(NOW)
    with_poll.close()
    assert not with_poll.awaits_last_poll  # the pending GET takes the last payload
    discarded = make()
    discarded.close("ping timeout")
    assert not discarded.awaits_last_poll
    websocket = make("websocket")
    websocket.close()
    assert not websocket.awaits_last_poll


def test_the_lifecycle_only_ends_in_closed() -> None:
    assert set(TRANSITIONS) == set(ConnectionState)
    assert TRANSITIONS[ConnectionState.CLOSING] == {Transition.DELIVERED: ConnectionState.CLOSED}
    assert TRANSITIONS[ConnectionState.CLOSED] == {Transition.DELIVERED: ConnectionState.CLOSED}


def test_a_transition_outside_the_table_is_an_engine_bug() -> None:
    connection = make("websocket")
    with pytest.raises(RuntimeError, match="last delivery done"):
        connection.finish_close()  # nothing was closed


# -- disconnect reasons ----------------------------------------------------------------


def test_disconnect_reasons_are_socketio_strings() -> None:
    assert {reason.value for reason in DisconnectReason} == {
        "transport close",
        "transport error",
        "ping timeout",
        "parse error",
        "forced close",
        "server shutting down",
        "client namespace disconnect",
        "server namespace disconnect",
        "connect timeout",
    }
    # User code compares, prints and serialises reasons as plain strings.
    assert DisconnectReason.PING_TIMEOUT == "ping timeout"
    assert f"{DisconnectReason.PARSE_ERROR}" == "parse error"
    assert "transport close" in {DisconnectReason.TRANSPORT_CLOSE}


def test_the_engine_reports_its_reasons_as_the_one_type() -> None:
    connection = make("websocket")
    closed = connection.receive_frame("1", 101.0)
    assert closed is not None
    assert closed.reason is DisconnectReason.TRANSPORT_CLOSE
    assert make().close() == Closed(DisconnectReason.FORCED_CLOSE)
