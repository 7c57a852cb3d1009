"""The first-contact rule of the sans-IO connection: a polling session whose client never
polls nor probes after its handshake is closed long before the heartbeat would close it.

Without it, 12.3k handshakes a second that never polled again kept 184,725 sessions open for
a ping interval and timeout (45 s, +534 MB).
"""

from __future__ import annotations

from expressio.engine.connection import Closed, Connection, ConnectionState
from expressio.engine.reasons import DisconnectReason

INTERVAL = 25.0
TIMEOUT = 20.0
CONTACT = 3.0


def make(transport: str = "polling", contact: float | None = CONTACT) -> Connection:
    return Connection(
        transport,
        now=100.0,
        ping_interval=INTERVAL,
        ping_timeout=TIMEOUT,
        max_payload=1000,
        max_send_buffer=100,
        first_contact_timeout=contact,
    )


def test_a_polling_session_never_polled_closes_at_the_first_contact_deadline() -> None:
    connection = make()
    assert connection.awaits_first_contact
    assert connection.deadline == 100.0 + CONTACT
    assert connection.tick(100.0 + CONTACT - 0.001) is None
    assert connection.tick(100.0 + CONTACT) == Closed(DisconnectReason.PING_TIMEOUT)
    # Nothing is owed to a client that never polled: the session is gone at once.
    assert connection.state is ConnectionState.CLOSED
    assert not connection.awaits_last_poll


def test_a_post_is_no_contact_only_a_poll_or_a_probe_is() -> None:
    posted = make()
    assert posted.start_post() is True
    posted.finish_post()
    assert posted.receive_payload(b"4hello", 101.0)
    assert posted.awaits_first_contact
    assert posted.tick(100.0 + CONTACT) == Closed(DisconnectReason.PING_TIMEOUT)

    polled = make()
    assert polled.start_poll(101.0) is None  # waits for data: the client is there
    assert not polled.awaits_first_contact
    assert polled.deadline == 100.0 + INTERVAL
    assert polled.tick(100.0 + CONTACT) is None
    assert polled.state is ConnectionState.OPEN

    probed = make()
    assert probed.start_probe()
    assert not probed.awaits_first_contact
    assert probed.tick(100.0 + CONTACT) is None


def test_after_contact_the_heartbeat_runs_as_before() -> None:
    connection = make()
    connection.start_poll(101.0)
    assert connection.tick(100.0 + INTERVAL) is None  # the ping is queued
    assert connection.finish_poll() == "2"
    assert connection.deadline == 100.0 + INTERVAL + TIMEOUT
    closed = connection.tick(100.0 + INTERVAL + TIMEOUT)
    assert closed == Closed(DisconnectReason.PING_TIMEOUT)


def test_a_first_contact_deadline_later_than_the_first_ping_lets_the_ping_go_first() -> None:
    connection = make(contact=INTERVAL + 5)
    assert connection.deadline == 100.0 + INTERVAL
    assert connection.tick(100.0 + INTERVAL) is None  # a ping, no close
    assert connection.deadline == 100.0 + INTERVAL + 5  # the contact deadline comes first now
    assert connection.tick(100.0 + INTERVAL + 5) == Closed(DisconnectReason.PING_TIMEOUT)


def test_websocket_sessions_and_sessions_without_the_rule_have_no_contact_deadline() -> None:
    for connection in (make("websocket"), make(contact=None)):
        assert not connection.awaits_first_contact
        assert connection.deadline == 100.0 + INTERVAL
        assert connection.tick(100.0 + CONTACT) is None
