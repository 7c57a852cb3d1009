"""``app.io``: one test per row of API.md's AppIO table, reserved names, lifecycle hooks and
settings — against a real server, through the python-socketio client."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
import pytest

import expressio

from .app_under_test import RECORDS
from .conftest import WAIT, Connect, Refused, clients, served

# -- app.io() itself -------------------------------------------------------------------------


def test_members_need_app_io_first_and_app_io_runs_once() -> None:
    app = expressio.express()
    with pytest.raises(RuntimeError, match=r"call app\.io\(\) before using app\.io\.route"):
        app.io.route("x", lambda req: None)
    assert app.http().io() is app  # order relative to http() does not matter
    assert expressio.express().io().http() is not None
    with pytest.raises(RuntimeError, match="already called"):
        app.io()


def test_options_reach_the_server() -> None:
    app = expressio.express()
    app.io({"ping_interval": 3}, ping_timeout=4, max_payload=1234, transports=["websocket"])
    assert app.io.server is not None
    engine = app.io.server.engine
    assert (engine.ping_interval, engine.ping_timeout, engine.max_payload) == (3.0, 4.0, 1234)
    assert engine.transports == ("websocket",)
    assert app.io.get("heartbeat interval") == 3.0
    # app.listen() may carry /socket.io websockets on the engine's direct transport
    assert app.direct_websocket_route("/socket.io/") is engine


# -- routes ----------------------------------------------------------------------------------


def test_route_call_and_decorator_forms_register_the_same_way() -> None:
    app = expressio.express().io()

    def by_call(req: Any) -> None:
        pass

    assert app.io.route("by_call", by_call) is by_call

    @app.io.route("by_decorator")
    def by_decorator(req: Any) -> None:
        pass

    sub = {"create": by_call, "update": by_decorator}
    app.io.route("todo", sub)
    assert set(app.io.routes) == {"by_call", "by_decorator", "todo:create", "todo:update"}


def test_route_with_a_reserved_name_raises() -> None:
    app = expressio.express().io()
    for name in ("error", "message", "connecting", "reconnect", "disconnecting", "newListener"):
        with pytest.raises(ValueError, match="reserved"):
            app.io.route(name, lambda req: None)
        with pytest.raises(ValueError, match="reserved"):
            app.io.broadcast(name, "x")
    app.io.route("connect", lambda req: None)
    app.io.route("disconnect", lambda req: None)


async def test_route_added_after_connect_is_live(connect: Connect, url: str) -> None:
    client = await connect()
    # the module's app is reachable through the server thread's objects: add a route by name
    app = _module_app(url)
    app.io.route("late", lambda req: req.io.respond("late route"))
    assert await client.call("late") == "late route"


async def test_broadcast_reaches_every_client(connect: Connect) -> None:
    first, second = await connect(), await connect()
    assert await first.call("app_broadcast", {"to": "all"}) == "done"
    assert await first.inbox.wait_for("everyone") == [{"to": "all"}]
    assert await second.inbox.wait_for("everyone") == [{"to": "all"}]


async def test_room_broadcast_reaches_the_room_only(connect: Connect) -> None:
    member, outsider = await connect(), await connect()
    await member.call("join", "hipster")
    await outsider.call("app_room_broadcast", {"room": "hipster", "message": "meh"})
    await member.inbox.wait_for("fence")
    await outsider.inbox.wait_for("fence")
    assert member.inbox.of("app_room_message") == ["meh"]
    assert "app_room_message" not in outsider.inbox.events()


# -- lifecycle and reserved events -----------------------------------------------------------


async def test_connect_hook_gets_the_auth_payload_and_runs_first(connect: Connect) -> None:
    with_auth = await connect(auth={"token": "t"})
    without = await connect()
    # events wait for the connect hook: it has run, and joined "lobby", before this one
    assert "lobby" in (await without.call("whoami"))["rooms"]
    assert "lobby" in (await with_auth.call("whoami"))["rooms"]
    hooks = dict(RECORDS["connect"])
    assert hooks[with_auth.sid] == {"token": "t"}
    assert hooks[without.sid] == {}


async def test_disconnect_hook_gets_the_reason(connect: Connect) -> None:
    client = await connect()
    sid = client.sid
    await client.sio.disconnect()
    await _eventually(lambda: sid in dict(RECORDS["disconnect"]))
    # python-socketio closes the transport right after its DISCONNECT packet; the official
    # client's exact reason is checked in test_node_client.py
    assert dict(RECORDS["disconnect"])[sid] in ("client namespace disconnect", "transport close")


async def test_client_events_with_reserved_names_reach_no_route(connect: Connect) -> None:
    client = await connect()
    sid = client.sid
    await client.call("echo", "after the connect hook")
    connects_before = len(RECORDS["connect"])
    for name in ("connect", "disconnect", "message", "error", "reconnect"):
        await client.sio.emit(name, {"fake": True})
    assert await client.call("echo", "fence") == "fence"
    assert len(RECORDS["connect"]) == connects_before
    assert sid not in dict(RECORDS["disconnect"])
    assert client.sio.connected
    # as socket.io does, an ack the client waits for is not answered: its own timeout applies
    assert await _ack_or_silence(client, "message", "hi") is SILENCE


SILENCE = object()


async def _ack_or_silence(client: Any, event: str, *args: Any, within: float = 0.3) -> Any:
    """The ack's arguments, or SILENCE when none came within ``within`` seconds."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def callback(*values: Any) -> None:
        if not answer.done():
            answer.set_result(list(values))

    await client.sio.emit(event, args, callback=callback)
    try:
        return await asyncio.wait_for(answer, within)
    except TimeoutError:
        return SILENCE


async def test_an_event_with_no_route_is_ignored_as_socket_io_does(connect: Connect) -> None:
    client = await connect()
    assert await _ack_or_silence(client, "nobody-routes-this", 1) is SILENCE
    await client.sio.emit("nobody-routes-this", 2)  # without an ack: ignored too
    assert await client.call("echo", "still here") == "still here"


async def test_unknown_event_ack_setting_answers_with_an_error() -> None:
    app = expressio.express().http().io()
    app.io.set("unknown event ack", True)
    assert app.io.enabled("unknown_event_ack")
    app.io.route("echo", lambda req: req.io.respond(req.data))
    admin = app.io.of("/admin")  # namespaces made before or after the change both follow it
    with served(app) as base_url:
        async with clients(base_url) as connect:
            client = await connect()
            assert await client.call("nobody-routes-this", 1) == {
                "error": "Unknown route: nobody-routes-this"
            }
            # a reserved name is no route either
            assert await client.call("message", "hi") == {"error": "Unknown route: message"}
            app.io.disable("unknown event ack")
            assert await _ack_or_silence(client, "nobody-routes-this", 1) is SILENCE
            app.io.enable("unknown event ack")
            other = await connect(namespace="/admin")
            assert await other.call("nope") == {"error": "Unknown route: nope"}
            assert admin.name == "/admin"
            assert await client.call("echo", "still here") == "still here"


# -- handshake middleware --------------------------------------------------------------------


async def test_use_next_form_accepts_and_decorates_the_handshake(connect: Connect) -> None:
    client = await connect(query="user=ada")
    assert (await client.call("whoami"))["user"] == "ada"


async def test_use_next_form_refusal_reaches_connect_error(connect: Connect) -> None:
    with pytest.raises(Refused, match="denied by next"):
        await connect(query="deny=1")


async def test_use_raising_form_refusal_reaches_connect_error(connect: Connect) -> None:
    with pytest.raises(Refused, match="denied by raise"):
        await connect(auth={"deny": True})


async def test_middleware_that_never_calls_next_refuses_at_connect_timeout() -> None:
    app = expressio.express().io(connect_timeout=0.5)
    app.io.use(lambda handshake, next: None)
    with served(app) as base_url:
        async with clients(base_url) as open_client:
            with pytest.raises(Refused, match="did not answer"):
                await open_client()


async def test_authorization_setting_of_socketio_09(caplog: pytest.LogCaptureFixture) -> None:
    app = expressio.express().io()

    def authorization(handshake: Any, callback: Any) -> None:
        callback(None, handshake.query.get("key") == "open")

    app.io.set("authorization", authorization)
    app.io.route("ping", lambda req: req.io.respond("pong"))
    with served(app) as base_url:
        async with clients(base_url) as open_client:
            assert await (await open_client(query="key=open")).call("ping") == "pong"
            with pytest.raises(Refused, match="not authorized"):
                await open_client(query="key=shut")


# -- namespaces ------------------------------------------------------------------------------


async def test_of_gives_a_namespace_its_own_routes_middleware_hooks_and_broadcasts(
    connect: Connect,
) -> None:
    admin = await connect("/admin", auth={"token": "secret"})
    default = await connect()
    assert await admin.call("whoami") == {"namespace": "/admin", "rooms": [admin.sid]}
    assert dict(RECORDS["admin_connect"])[admin.sid] == {"token": "secret"}
    other_admin = await connect("/admin", auth={"token": "secret"})
    assert await admin.call("broadcast", "news") == "done"
    assert await other_admin.inbox.wait_for("admin_shout") == ["news"]
    assert await admin.inbox.wait_for("admin_news") == ["news"]
    assert await default.call("echo", "fence") == "fence"
    assert "admin_news" not in default.inbox.events()
    # "/" routes are not "/admin" routes, and "/admin" has its own middleware
    await admin.emit("echo", "unrouted")
    assert await admin.call("whoami") is not None
    assert "echo" not in admin.inbox.events()
    with pytest.raises(Refused, match="admins only"):
        await connect("/admin", auth={"token": "wrong"})


# -- settings --------------------------------------------------------------------------------


def test_unknown_setting_lists_the_known_ones() -> None:
    app = expressio.express().io()
    with pytest.raises(KeyError, match=r"unknown io setting 'flash policy port'.*'log level'"):
        app.io.set("flash policy port", 10843)


def test_socketio_09_settings_map_onto_the_engine() -> None:
    app = expressio.express().io()
    engine = app.io.server.engine  # type: ignore[union-attr]
    app.io.set("heartbeat interval", 7).set("heartbeat timeout", 9).set("max payload", 2048)
    assert (engine.ping_interval, engine.ping_timeout, engine.max_payload) == (7.0, 9.0, 2048)
    app.io.set("close timeout", 11)
    assert engine.ping_timeout == 11.0
    app.io.set("transports", ["websocket", "xhr-polling", "flashsocket"])
    assert engine.transports == ("websocket", "polling")
    app.io.set("connect timeout", 3)
    assert app.io.server.connect_timeout == 3.0  # type: ignore[union-attr]
    app.io.enable("browser client gzip").disable("browser client")
    assert app.io.enabled("browser client gzip") and app.io.disabled("browser client")
    with pytest.raises(ValueError, match="positive"):
        app.io.set("heartbeat interval", 0)


def test_log_level_maps_onto_the_expressio_logger() -> None:
    logger = logging.getLogger("expressio")
    previous = logger.level
    try:
        app = expressio.express().io()
        for level, expected in ((0, logging.ERROR), (1, logging.WARNING), (3, logging.DEBUG)):
            app.io.set("log level", level)
            assert logger.level == expected
        with pytest.raises(ValueError, match="log level"):
            app.io.set("log level", 7)
    finally:
        logger.setLevel(previous)


def test_configure_runs_now_or_only_in_its_environment() -> None:
    app = expressio.express().io()
    app.set("env", "production")
    ran: list[str] = []
    app.io.configure(lambda: ran.append("always"))
    app.io.configure("development", lambda: ran.append("development"))
    app.io.configure("production", lambda: ran.append("production"))
    assert ran == ["always", "production"]
    app.io.configure(lambda: app.io.enable("browser client minification").set("log level", 1))
    assert app.io.get("browser client minification") is True
    logging.getLogger("expressio").setLevel(logging.NOTSET)


async def test_settings_changed_after_app_io_apply_to_new_connections() -> None:
    app = expressio.express().io()
    with served(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            app.io.set("heartbeat interval", 12).set("max payload", 5000)
            opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            handshake = orjson.loads(opened.text[1:])
            assert (handshake["pingInterval"], handshake["maxPayload"]) == (12000, 5000)
            assert handshake["upgrades"] == ["websocket"]
            app.io.set("transports", "websocket")
            refused = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            assert refused.status_code == 400
            app.io.set("transports", ["polling"])
            opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            assert orjson.loads(opened.text[1:])["upgrades"] == []


async def test_origins_setting_opens_the_handshake_to_listed_origins() -> None:
    app = expressio.express().io()
    with served(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:

            async def handshake_from(origin: str) -> int:
                params = {"EIO": "4", "transport": "polling"}
                answer = await http.get("/socket.io/", params=params, headers={"Origin": origin})
                return answer.status_code

            assert await handshake_from("https://elsewhere.example") == 403
            app.io.set("origins", ["https://elsewhere.example"])
            assert await handshake_from("https://elsewhere.example") == 200
            assert await handshake_from("https://third.example") == 403
            app.io.set("origins", "*:*")
            assert await handshake_from("https://third.example") == 200


async def test_store_cannot_change_while_clients_are_connected(connect: Connect, url: str) -> None:
    await connect()
    with pytest.raises(RuntimeError, match="cannot change while clients are connected"):
        _module_app(url).io.set("store", expressio.realtime.InMemoryAdapter)


# -- helpers ---------------------------------------------------------------------------------


def _module_app(url: str) -> expressio.Application:
    from . import conftest

    app = conftest.SERVED_APPS[url]
    assert isinstance(app, expressio.Application)
    return app


async def _eventually(condition: Any) -> None:
    for _ in range(int(WAIT / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never became true")
