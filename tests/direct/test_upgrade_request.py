"""How the direct transport reads an upgrade request and finds the engine that owns it."""

from __future__ import annotations

from typing import Any

from expressio.engine import EngineServer
from expressio.engine.upgrade_request import (
    direct_engine_of,
    handshake_problem,
    http_response,
    parse_upgrade_request,
    switching_protocols,
)
from expressio.http.application import Application
from expressio.realtime import RealtimeServer

HEAD = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: 127.0.0.1:1\r\n"
    b"upgrade: websocket\r\nconnection: Upgrade\r\n"
    b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
    b"Origin:  http://example.com \r\ncookie: a=b"
)


def test_request_parts() -> None:
    request = parse_upgrade_request(HEAD, "")
    assert request is not None
    assert request.path == "/socket.io/"
    assert request.raw_path == b"/socket.io/"
    assert request.query_string == b"EIO=4&transport=websocket"
    assert request.header(b"origin") == b"http://example.com"  # name lower-cased, trimmed
    assert request.header(b"cookie") == b"a=b"
    assert request.header(b"missing") is None
    assert handshake_problem(request) is None


def test_percent_decoded_path_under_the_root_path() -> None:
    request = parse_upgrade_request(b"GET /a%20b/?x=1 HTTP/1.1\r\nhost: h", "/root")
    assert request is not None
    assert request.path == "/root/a b/"
    assert request.raw_path == b"/a%20b/"


def test_malformed_requests() -> None:
    assert parse_upgrade_request(b"POST / HTTP/1.1\r\nhost: h", "") is None
    assert parse_upgrade_request(b"GET /\r\nhost: h", "") is None
    assert parse_upgrade_request(b"GET / HTTP/1.1\r\nno colon here", "") is None


def test_handshake_problems() -> None:
    old = parse_upgrade_request(HEAD.replace(b"version: 13", b"version: 8"), "")
    assert old is not None
    answer = handshake_problem(old)
    assert answer is not None and answer.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"sec-websocket-version: 13\r\n" in answer
    short_key = parse_upgrade_request(HEAD.replace(b"ub25jZQ==", b""), "")
    assert short_key is not None
    answer = handshake_problem(short_key)
    assert answer is not None and answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_switching_protocols_answer() -> None:
    answer = b"".join(switching_protocols(b"dGhlIHNhbXBsZSBub25jZQ==", [(b"server", b"x")]))
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert answer.endswith(b"server: x\r\n\r\n")


def test_http_response_has_length_and_closes() -> None:
    answer = http_response(http_status(403), [(b"content-type", b"application/json")], b"{}")
    head, body = answer.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 403 Forbidden"
    assert b"content-length: 2" in head and b"connection: close" in head
    assert body == b"{}"


def http_status(code: int) -> Any:
    from http import HTTPStatus

    return HTTPStatus(code)


# -- which engine owns a path -----------------------------------------------------------------


def test_engine_served_on_its_own_owns_every_path() -> None:
    engine = EngineServer()
    assert direct_engine_of(engine, "/anything") is engine


def test_realtime_server_is_found_through_its_engine() -> None:
    realtime = RealtimeServer()
    assert direct_engine_of(realtime, "/socket.io/") is realtime.engine


def test_application_mounts() -> None:
    app = Application()
    realtime = RealtimeServer()
    engine = EngineServer()

    async def plain(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never called")

    app.mount_asgi("/socket.io", realtime)
    app.mount_asgi("/engine.io", engine)
    app.mount_asgi("/plain", plain)
    assert direct_engine_of(app, "/socket.io/") is realtime.engine
    assert direct_engine_of(app, "/socket.io") is realtime.engine
    assert direct_engine_of(app, "/engine.io/") is engine
    assert direct_engine_of(app, "/plain/x") is None
    assert direct_engine_of(app, "/socket.iox/") is None
    assert direct_engine_of(app, "/") is None


def test_bound_method_mount_asks_its_object() -> None:
    engine = EngineServer()

    class Router:
        def direct_websocket_route(self, path: str) -> EngineServer | None:
            return engine if path.startswith("/rt/") else None

        async def handle(self, scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("never called")

    app = Application()
    app.mount_asgi("/rt", Router().handle)
    assert direct_engine_of(app, "/rt/") is engine


def test_unknown_apps_own_nothing() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never called")

    assert direct_engine_of(app, "/socket.io/") is None
    assert direct_engine_of(None, "/socket.io/") is None
