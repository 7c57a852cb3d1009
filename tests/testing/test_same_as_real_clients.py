"""The TestClient sees what real clients see. Each scenario runs twice — with httpx and
python-socketio against the app served by uvicorn on a port, and with the TestClient in
process — and asserts the same outcomes both times."""

from __future__ import annotations

import asyncio

import pytest

from .app_under_test import RECORDS, make_app
from .drivers import Refusal, driving

DRIVERS = ["real", "testclient"]
TRANSPORTS = ["websocket", "polling"]


async def wait_until(condition, what: str, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", DRIVERS)
async def test_acks(kind: str, transport: str) -> None:
    async with driving(kind, make_app()) as driver:
        socket = await driver.socket(transport=transport)
        assert await socket.call("echo", {"a": [1, 2]}) == {"a": [1, 2]}
        assert await socket.call("echo_async", "text") == "text"
        assert await socket.call("args", 1, "two", None) == [1, "two", None]
        assert await socket.call("nothing_back") is None


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", DRIVERS)
async def test_binary_both_ways(kind: str, transport: str) -> None:
    async with driving(kind, make_app()) as driver:
        socket = await driver.socket(transport=transport)
        payload = {"blob": b"\x00\x01\xfe\xff", "nested": [b"x", {"deep": b"y"}]}
        assert await socket.call("echo", payload) == payload
        await socket.emit("emit_self", "plain")
        assert await socket.wait_for("to_self") == "plain"
        assert await socket.wait_for("to_self_binary") == {
            "raw": b"\x00\xff",
            "list": [b"a", b"b"],
        }


@pytest.mark.parametrize("kind", DRIVERS)
async def test_the_server_asks_and_the_client_answers(kind: str) -> None:
    async with driving(kind, make_app()) as driver:
        socket = await driver.socket(answers={"question": "forty-two"})
        assert await socket.call("ask_client", "meaning?") == {"client_said": "forty-two"}
        assert await socket.wait_for("question") == "meaning?"


@pytest.mark.parametrize("kind", DRIVERS)
async def test_rooms_and_broadcasts_between_sockets(kind: str) -> None:
    async with driving(kind, make_app()) as driver:
        alice, bob, carol = [await driver.socket() for _ in range(3)]
        assert await alice.call("join", "blue") == ["blue", "lobby"]
        assert await bob.call("join", "blue") == ["blue", "lobby"]
        assert await carol.call("whoami") == {
            "user": None,
            "auth": {},
            "header": None,
            "query": None,
            "rooms": ["lobby"],
        }
        assert await carol.call("to_room", {"room": "blue", "message": "hi blue"}) == "done"
        assert await alice.wait_for("room_message") == "hi blue"
        assert await bob.wait_for("room_message") == "hi blue"
        assert await alice.call("shout", "from alice") == "done"
        assert await bob.wait_for("shouted") == "from alice"
        assert await carol.wait_for("shouted") == "from alice"
        assert await bob.call("leave", "blue") == ["lobby"]
        assert await carol.call("to_room", {"room": "blue", "message": "again"}) == "done"
        assert await carol.call("everyone", "fence") == "done"
        for socket in (alice, bob, carol):
            assert await socket.wait_for("to_everyone") == "fence"
        # The fence came after the second room message: alice got it, bob (gone) did not.
        assert await alice.wait_for("room_message") == "again"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", DRIVERS)
async def test_the_session_is_shared_with_http(kind: str, transport: str) -> None:
    async with driving(kind, make_app()) as driver:
        assert (await driver.post("/login", json={"user": "ada"})).json() == {"logged_in": "ada"}
        socket = await driver.socket(
            transport=transport,
            auth={"token": "t"},
            headers={"x-test": "yes"},
            query={"tag": "q1"},
        )
        assert await socket.call("whoami") == {
            "user": "ada",
            "auth": {"token": "t"},
            "header": "yes",
            "query": "q1",
            "rooms": ["lobby"],
        }
        assert await socket.call("status", "busy") == "saved"
        assert (await driver.get("/profile")).json() == {"user": "ada", "status": "busy"}


@pytest.mark.parametrize("kind", DRIVERS)
async def test_http_forwarded_to_a_realtime_route_reaches_sockets(kind: str) -> None:
    async with driving(kind, make_app()) as driver:
        await driver.post("/login", json={"user": "grace"})
        listener = await driver.socket()
        answer = await driver.post("/announce", json={"text": "hello"})
        assert answer.status_code == 200
        assert answer.json() == {"announced": {"text": "hello"}, "by": "grace"}
        assert await listener.wait_for("announcement") == {"text": "hello"}


@pytest.mark.parametrize("kind", DRIVERS)
async def test_disconnect_reasons(kind: str) -> None:
    async with driving(kind, make_app()) as driver:
        leaving = await driver.socket()
        await leaving.disconnect()
        await wait_until(lambda: len(RECORDS["disconnect"]) == 1, "the disconnect hook")
        sid, reason = RECORDS["disconnect"][0]
        assert sid == leaving.sid
        if kind == "real":
            # python-socketio may close its websocket before its queued DISCONNECT packet
            # leaves (see tests/realtime/test_socketio_clients.py); the official client, like
            # the TestClient, sends it first (tests/expressio_api/test_node_client.py).
            assert reason in ("client namespace disconnect", "transport close")
        else:
            assert reason == "client namespace disconnect"
        pushed = await driver.socket()
        await pushed.emit("disconnect_me")
        await wait_until(lambda: len(RECORDS["disconnect"]) == 2, "the second disconnect hook")
        assert RECORDS["disconnect"][1] == (pushed.sid, "server namespace disconnect")


@pytest.mark.parametrize("kind", DRIVERS)
async def test_middleware_refusals_and_connect_errors(kind: str) -> None:
    async with driving(kind, make_app(), raise_server_exceptions=False) as driver:
        with pytest.raises(Refusal) as refused:
            await driver.socket(auth={"deny": True})
        assert (refused.value.message, refused.value.data) == ("denied", {"why": "asked to"})
        with pytest.raises(Refusal) as crashed:
            await driver.socket(auth={"crash": True})
        assert crashed.value.message == "Internal Server Error"
        with pytest.raises(Refusal) as unknown:
            await driver.socket("/nowhere")
        assert unknown.value.message == "Invalid namespace"
        admin = await driver.socket("/admin")
        assert await admin.call("whoami") == {"namespace": "/admin"}
        accepted = await driver.socket(auth={"token": "ok"})
        # The refused ones never reached the connect hook of "/"; the accepted one did.
        await wait_until(lambda: len(RECORDS["connect"]) >= 1, "the connect hook")
        assert RECORDS["connect"] == [(accepted.sid, {"token": "ok"})]


@pytest.mark.parametrize("kind", DRIVERS)
async def test_a_failing_route_answers_with_an_error(kind: str) -> None:
    async with driving(kind, make_app(), raise_server_exceptions=False) as driver:
        socket = await driver.socket()
        assert await socket.call("boom") == {"error": "Internal Server Error"}
        assert await socket.call("echo", "still here") == "still here"
        assert (await driver.get("/http_boom")).status_code == 500
