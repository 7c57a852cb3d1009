"""What only the TestClient does: the sync client over its private loop, errors of the app
raised in the test, ``app.io`` from the test body, reconnection with state recovery, and
its bad-input paths."""

from __future__ import annotations

import gc
import warnings

import pytest

import expressio
from expressio.testing import (
    AsyncTestClient,
    ConnectionRefused,
    LifespanError,
    SocketClosedError,
    TestClient,
)

from .app_under_test import RECORDS, make_app

# -- the sync client ----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_sync_client_shares_cookies_between_http_and_sockets(transport: str) -> None:
    with TestClient(make_app()) as client:
        assert client.post("/login", json={"user": "ada"}).json() == {"logged_in": "ada"}
        assert "expressio.sid" in client.cookies
        with client.socket(transport=transport) as socket:
            assert socket.call("whoami")["user"] == "ada"
            assert socket.call("status", "away") == "saved"
        assert client.get("/profile").json() == {"user": "ada", "status": "away"}


def test_app_io_from_the_test_body_reaches_the_sockets() -> None:
    app = make_app()
    with TestClient(app) as client:
        first, second = client.socket(), client.socket()
        app.io.broadcast("news", {"n": 1})  # the test's thread: the app's bridge hops over
        assert first.wait_for("news") == {"n": 1}
        assert second.wait_for("news") == {"n": 1}
        assert second.call("join", "blue") == ["blue", "lobby"]
        app.io.room("blue").broadcast("blue_news", "only blue")
        assert second.wait_for("blue_news") == "only blue"
        sockets = app.io.fetch_sockets().result(timeout=5)
        assert sorted(socket.id for socket in sockets) == sorted([first.id, second.id])
        assert [item.event for item in first.received()] == ["news"]


def test_the_server_asks_a_sync_socket_through_its_handler() -> None:
    with TestClient(make_app()) as client, client.socket() as socket:
        socket.on("question", lambda text: f"answer to {text}")
        assert socket.call("ask_client", "q") == {"client_said": "answer to q"}
        assert [(item.event, item.args) for item in socket.received("question")] == [
            ("question", ("q",))
        ]


def test_one_app_serves_one_client_after_another() -> None:
    app = make_app()
    for round in range(3):
        with TestClient(app) as client, client.socket() as socket:
            assert socket.call("echo", round) == round


async def test_the_async_client_in_an_async_test() -> None:
    app = make_app()
    async with AsyncTestClient(app) as client:
        await client.post("/login", json={"user": "lin"})
        async with client.socket() as first, client.socket(transport="polling") as second:
            app.io.broadcast("news", "now")  # the same loop: no hop
            assert await first.wait_for("news") == "now"
            assert await second.wait_for("news") == "now"
            assert (await second.call("whoami"))["user"] == "lin"


# -- connection state recovery ----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_reconnect_recovers_the_id_rooms_and_missed_broadcasts(transport: str) -> None:
    app = make_app(recovery={"max_disconnection": 60})
    with TestClient(app) as client:
        socket = client.socket(transport=transport)
        other = client.socket()
        assert socket.call("join", "blue") == ["blue", "lobby"]
        first_id = socket.id
        app.io.broadcast("news", 1)
        assert socket.wait_for("news") == 1
        assert socket.received("news")[0].offset is not None  # taken off the arguments
        # The connection drops; meanwhile a broadcast goes out; then it comes back.
        socket.drop()
        assert other.call("to_room", {"room": "blue", "message": "missed"}) == "done"
        socket.reconnect()
        assert socket.recovered
        assert socket.id == first_id
        assert socket.wait_for("room_message") == "missed"
        assert socket.call("whoami")["rooms"] == ["blue", "lobby"]
    assert ("transport close" in [reason for _, reason in RECORDS["disconnect"]]) is True


def test_reconnect_without_recovery_is_a_new_connection() -> None:
    with TestClient(make_app()) as client:
        socket = client.socket()
        first_id = socket.id
        socket.reconnect()
        assert socket.connected and not socket.recovered
        assert socket.id != first_id
        assert socket.call("echo", "again") == "again"


# -- errors of the app ----------------------------------------------------------------------


def test_an_http_handler_error_is_raised_at_the_request() -> None:
    with TestClient(make_app()) as client:
        with pytest.raises(LookupError, match="boom in an HTTP handler"):
            client.get("/http_boom")
        assert client.get("/profile").status_code == 200  # raised once, then gone


def test_a_realtime_route_error_is_raised_at_the_call() -> None:
    with TestClient(make_app()) as client, client.socket() as socket:
        with pytest.raises(RuntimeError, match="boom in a realtime route"):
            socket.call("boom")
        assert socket.call("echo", 1) == 1


def test_an_error_after_an_emit_is_raised_by_what_the_test_does_next() -> None:
    with TestClient(make_app()) as client:
        socket = client.socket()
        socket.emit("boom_no_ack")
        # Raised as soon as it happens, not after the wait's 5 s.
        with pytest.raises(ValueError, match="boom without an ack"):
            socket.wait_for("never_sent")
        assert socket.call("echo", "after") == "after"


def test_an_error_not_raised_yet_is_raised_at_the_end_of_the_block() -> None:
    app = make_app()

    @app.io.route("late_boom")
    def late_boom(req):  # type: ignore[no-untyped-def]
        req.io.respond("answered")
        raise ArithmeticError("after the answer")

    with pytest.raises(ArithmeticError, match="after the answer"), TestClient(app) as client:
        socket = client.socket()
        assert socket.call("late_boom") == "answered"
        raised_yet = socket.received()  # maybe raises already; else the end of the block
        assert raised_yet == []


def test_handshake_middleware_errors_are_raised_too() -> None:
    with TestClient(make_app()) as client, pytest.raises(KeyError, match="middleware crash"):
        client.socket(auth={"crash": True})


def test_raise_server_exceptions_off_leaves_the_answers() -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        assert client.get("/http_boom").status_code == 500
        with client.socket() as socket:
            assert socket.call("boom") == {"error": "Internal Server Error"}
            socket.emit("boom_no_ack")
            assert socket.call("echo", "fine") == "fine"


def test_a_failing_startup_hook_fails_the_client() -> None:
    app = expressio.express()

    @app.on_startup
    def broken() -> None:
        raise OSError("no database")

    with pytest.raises(LifespanError, match="no database"):
        TestClient(app).__enter__()


# -- bad input ------------------------------------------------------------------------------


def test_a_call_with_no_route_times_out_naming_the_event() -> None:
    with TestClient(make_app()) as client, client.socket() as socket:
        with pytest.raises(TimeoutError, match=r"no answer to 'no_such_event' on / within 0\.2 s"):
            socket.call("no_such_event", timeout=0.2)
        with pytest.raises(TimeoutError, match=r"no 'never_sent' on / within 0\.1 s"):
            socket.wait_for("never_sent", timeout=0.1)


def test_a_closed_socket_refuses_to_be_used() -> None:
    with TestClient(make_app()) as client:
        socket = client.socket()
        socket.disconnect()
        assert socket.disconnect_reason == "io client disconnect"
        with pytest.raises(SocketClosedError, match="cannot emit 'echo'"):
            socket.emit("echo", 1)
        with pytest.raises(SocketClosedError, match="cannot call 'echo'"):
            socket.call("echo", 1)
        with pytest.raises(SocketClosedError, match="disconnected"):
            socket.wait_for("anything")
        socket.disconnect()  # twice: nothing happens
        pushed = client.socket()
        pushed.emit("disconnect_me")
        assert pushed.wait_disconnected() == "io server disconnect"
        with pytest.raises(SocketClosedError, match="io server disconnect"):
            pushed.emit("echo", 1)


def test_refusals_are_connection_refused_errors() -> None:
    with TestClient(make_app()) as client:
        with pytest.raises(ConnectionRefused) as refused:
            client.socket(auth={"deny": True})
        assert (refused.value.message, refused.value.data) == ("denied", {"why": "asked to"})
        with pytest.raises(ConnectionRefused) as forbidden:
            client.socket(headers={"origin": "https://elsewhere.example"})
        assert forbidden.value.status == 403
        with pytest.raises(ValueError, match="transport is one of websocket, polling"):
            client.socket(transport="carrier-pigeon")


def test_using_the_client_outside_its_block_says_so() -> None:
    client = TestClient(make_app())
    with pytest.raises(RuntimeError, match="use it in a 'with' block"):
        client.get("/profile")


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_sockets_left_open_are_closed_at_the_end_without_warnings(transport: str) -> None:
    app = make_app()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "never awaited" or "never retrieved" would raise
        with TestClient(app) as client:
            for _ in range(3):
                client.socket(transport=transport).emit("echo", "left open")
        gc.collect()
    assert len(RECORDS["disconnect"]) == 3
    assert {reason for _, reason in RECORDS["disconnect"]} == {"client namespace disconnect"}
