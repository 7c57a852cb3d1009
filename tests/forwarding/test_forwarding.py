"""HTTP → realtime forwarding over a real server: ``req.io.route`` from HTTP handlers with JSON,
form and query data, answers (respond, 204, 500, 404), broadcasts reaching sockets, and the
socket-only methods refusing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

import expressio

from .app_under_test import RECORDS, RELEASE
from .harness import WAIT


async def test_json_body_is_the_data(http: httpx.AsyncClient) -> None:
    response = await http.post("/fw/echo", json={"a": 1, "nested": [1, 2]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["data"] == {"a": 1, "nested": [1, 2]}
    assert answer["method"] == "POST"
    assert answer["socket"] is None
    assert answer["event"] == "echo"


async def test_form_body_is_the_data(http: httpx.AsyncClient) -> None:
    response = await http.post("/fw/echo", data={"name": "ada", "tag": ["x", "y"]})
    assert response.json()["data"] == {"name": "ada", "tag": ["x", "y"]}


async def test_multipart_fields_are_the_data(http: httpx.AsyncClient) -> None:
    response = await http.post("/fw/echo", files={"upload": ("a.txt", b"hi")}, data={"k": "v"})
    assert response.json()["data"] == {"k": "v"}


async def test_body_already_parsed_by_middleware_is_used(http: httpx.AsyncClient) -> None:
    assert (await http.post("/parsed/fw/echo", json={"via": "json()"})).json()["data"] == {
        "via": "json()"
    }
    assert (await http.post("/parsed/fw/echo", data={"via": "form"})).json()["data"] == {
        "via": "form"
    }
    # a body parser ran but there was no body: the query is the data
    assert (await http.get("/parsed/fw/echo?q=1")).json()["data"] == {"q": "1"}


async def test_without_a_body_the_query_is_the_data(http: httpx.AsyncClient) -> None:
    answer = (await http.get("/fw/echo?x=1&y=2&y=3")).json()
    assert answer["data"] == {"x": "1", "y": ["2", "3"]}
    assert answer["query"] == {"x": "1", "y": ["2", "3"]}
    assert (await http.get("/fw/echo")).json()["data"] == {}


async def test_params_headers_and_session_are_the_http_ones(http: httpx.AsyncClient) -> None:
    assert (await http.post("/fw/set_nick", json={"nick": "grace"})).status_code == 204
    answer = (await http.put("/fw/echo/42", headers={"X-Test": "hello"})).json()
    assert answer["params"] == {"route": "echo", "id": "42"}
    assert answer["header"] == "hello"
    assert answer["nick"] == "grace"
    assert answer["method"] == "PUT"


async def test_invalid_json_body_answers_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/fw/echo", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "Invalid JSON body" in response.json()["error"]


async def test_respond_with_several_arguments_is_a_json_array(http: httpx.AsyncClient) -> None:
    response = await http.get("/fw/two_args")
    assert response.status_code == 200
    assert response.json() == ["a", 2, {"c": 3}]


async def test_respond_with_nothing_is_204(http: httpx.AsyncClient) -> None:
    response = await http.get("/fw/respond_nothing")
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize("prefix", ["/fw", "/fw-def"])
@pytest.mark.parametrize("route", ["quiet", "quiet_sync"])
async def test_a_route_that_never_responds_answers_204(
    http: httpx.AsyncClient, prefix: str, route: str
) -> None:
    RECORDS.pop(f"{route}_ran", None)
    response = await http.get(f"{prefix}/{route}")
    assert response.status_code == 204
    assert response.content == b""
    assert RECORDS[f"{route}_ran"] is True


async def recorded(key: str) -> Any:
    """What the server recorded under ``key``, waiting up to WAIT s for it (the response may
    leave before the handler's last statements run: it goes out once the answer is known)."""
    for _ in range(int(WAIT / 0.02)):
        if key in RECORDS:
            return RECORDS[key]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the server never recorded {key!r}")


async def test_async_handler_awaiting_the_route_resumes_after_it(
    http: httpx.AsyncClient,
) -> None:
    RECORDS.pop("quiet_ran", None)
    RECORDS.pop("awaited_after_route", None)
    assert (await http.get("/fw-await/quiet")).status_code == 204
    assert await recorded("awaited_after_route") is True


async def test_def_handler_waiting_for_the_route_resumes_after_it(
    http: httpx.AsyncClient,
) -> None:
    RECORDS.pop("quiet_sync_ran", None)
    RECORDS.pop("def_waited_after_route", None)
    assert (await http.get("/fw-def-wait/quiet_sync")).status_code == 204
    assert await recorded("def_waited_after_route") is True


@pytest.mark.parametrize("prefix", ["/fw", "/fw-def"])
async def test_a_route_that_raises_answers_500_and_is_logged(
    http: httpx.AsyncClient, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="expressio"):
        response = await http.get(f"{prefix}/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    failures = [r for r in caplog.records if "error in realtime route 'boom'" in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    # the server carries on
    assert (await http.get("/fw/two_args")).status_code == 200


async def test_unknown_route_answers_404_and_grows_no_table(http: httpx.AsyncClient) -> None:
    before = (await http.get("/table-size")).json()
    for index in range(50):
        response = await http.get(f"/fw/missing_{index}")
        assert response.status_code == 404
        assert response.json() == {"error": f"Unknown route: missing_{index}"}
    assert (await http.get("/table-size")).json() == before


async def test_forward_from_a_forwarded_route_to_an_unknown_one_is_404(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/fw/forward_unknown")
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown route: no_such_route"}


async def test_forwarded_routes_forward_the_same_request(http: httpx.AsyncClient) -> None:
    response = await http.get("/fw/first")
    assert response.json() == {"from": "second", "mark": "set by first"}


async def test_a_namespaced_route_through_of(http: httpx.AsyncClient) -> None:
    assert (await http.get("/admin-ping")).json() == {"ns": "/admin"}


async def test_headers_set_before_forwarding_are_kept(http: httpx.AsyncClient) -> None:
    response = await http.get("/with-header")
    assert response.headers["x-kept"] == "yes"
    assert response.json() == ["a", 2, {"c": 3}]


async def test_head_request_gets_no_body(http: httpx.AsyncClient) -> None:
    response = await http.head("/fw/two_args")
    assert response.status_code == 200
    assert response.content == b""


async def test_respond_straight_from_the_handler(http: httpx.AsyncClient) -> None:
    assert (await http.get("/direct-respond")).json() == {"direct": True}
    assert (await http.get("/direct-respond-many")).json() == [1, "two"]


async def test_a_value_json_cannot_carry_answers_500(http: httpx.AsyncClient) -> None:
    response = await http.get("/fw/unserialisable")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}


async def test_socket_only_methods_raise_in_forwarded_routes(http: httpx.AsyncClient) -> None:
    errors = (await http.get("/fw/socket_only")).json()
    assert set(errors) == {"emit", "emit_with_ack", "join", "leave", "disconnect"}
    for name, message in errors.items():
        assert f"req.io.{name}() needs a realtime client" in message
        assert "came over HTTP" in message


async def test_emit_raises_in_the_http_handler_too(http: httpx.AsyncClient) -> None:
    answer = (await http.get("/emit-from-handler")).json()
    assert answer["type"] == "NoSocketError"
    assert "GET /emit-from-handler came over HTTP" in answer["error"]


async def test_respond_goes_out_before_the_route_finishes_and_later_changes_are_saved(
    http: httpx.AsyncClient,
) -> None:
    RELEASE.clear()
    try:
        response = await http.get("/fw/respond_then_work")
        assert response.json() == "early"
        assert RECORDS["late_done"] is False  # the route is still running
    finally:
        RELEASE.set()
    # the change the route made after answering reaches the store once it has finished
    for _ in range(int(WAIT / 0.05)):
        session = (await http.get("/session")).json()
        if "late" in session:
            break
        await asyncio.sleep(0.05)
    assert session.get("late") == "saved after the response"


async def test_broadcast_reaches_every_connected_client(
    http: httpx.AsyncClient, connect: Any
) -> None:
    alice, bob = await connect(), await connect(transports=("polling",))
    response = await http.post("/fw/announce", json={"headline": "hello all"})
    assert response.status_code == 204
    assert await alice.inbox.wait_for("news") == [{"headline": "hello all"}]
    assert await bob.inbox.wait_for("news") == [{"headline": "hello all"}]


async def test_room_broadcast_reaches_only_the_room(http: httpx.AsyncClient, connect: Any) -> None:
    member, outsider = await connect(), await connect()
    assert "hipsters" in await member.call("join_room", "hipsters")
    response = await http.post("/fw/to_room", json={"room": "hipsters", "text": "meh"})
    assert response.status_code == 204
    # a broadcast to everyone sent afterwards fences the room broadcast for the outsider
    await http.post("/fw/announce", json="fence")
    assert await member.inbox.wait_for("room_news") == ["meh"]
    await outsider.inbox.wait_for("news")
    assert outsider.inbox.of("room_news") == []


async def test_broadcasts_from_the_http_handler_itself(
    http: httpx.AsyncClient, connect: Any
) -> None:
    member, outsider = await connect(), await connect()
    await member.call("join_room", "lobby")
    assert (await http.get("/broadcast-from-handler")).text == "ok"
    assert await member.inbox.wait_for("room_news") == ["handler to lobby"]
    assert await outsider.inbox.wait_for("news") == [{"from": "handler"}]
    assert outsider.inbox.of("room_news") == []


async def test_a_handler_that_answered_may_still_forward(
    http: httpx.AsyncClient, connect: Any
) -> None:
    client = await connect()
    response = await http.get("/answered-then-forward?headline=x")
    assert response.text == "the handler answered"
    assert await client.inbox.wait_for("news") == [{"headline": "x"}]


async def test_a_body_over_the_limit_answers_413(http: httpx.AsyncClient) -> None:
    from expressio.http.forwarding import MAX_FORWARDED_BODY

    big = b'"' + b"x" * MAX_FORWARDED_BODY + b'"'
    response = await http.post("/fw/echo", content=big, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert (await http.get("/fw/two_args")).status_code == 200


async def test_a_mounted_sub_app_forwards_through_the_outer_apps_realtime() -> None:
    app = expressio.express()
    app.io()
    app.io.route("ping", lambda req: req.io.respond({"pong": req.data}))
    admin = expressio.express()

    @admin.get("/ping")
    def ping(req: Any, res: Any) -> None:
        req.io.route("ping")

    app.use("/admin", admin)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/admin/ping", params={"n": "1"})
    assert response.status_code == 200
    assert response.json() == {"pong": {"n": "1"}}
