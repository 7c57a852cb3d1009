"""What the direct websocket path takes from uvicorn beyond its documented API.

``DirectWebSocketProtocol`` is handed to uvicorn as ``Config(ws=...)``. uvicorn's HTTP
protocols build it, hand it the connection and switch the transport to it; on shutdown the
server asks it to close. None of that is public API, so pyproject.toml bounds uvicorn and these
checks say exactly what moved when a new release changes it (run them against the newest
release with scripts/test-latest.sh before raising the bound). The end-to-end behaviour is in
test_engine_direct.py (engine websockets take the direct path, other websockets fall back to
uvicorn's protocol, shutdown closes them going away).
"""

from __future__ import annotations

import inspect

import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.middleware.message_logger import MessageLoggerMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol
from uvicorn.server import Server, ServerState

from expressio.engine.direct import DirectWebSocketProtocol

MOVED = (
    "uvicorn {version} changed what expressio's direct websocket path relies on: {what}. "
    "Adapt src/expressio/engine/direct.py (and its fallback) before widening the uvicorn "
    "bound in pyproject.toml."
)


def _require(condition: bool, what: str) -> None:
    if not condition:
        pytest.fail(MOVED.format(version=uvicorn.__version__, what=what), pytrace=False)


@pytest.mark.parametrize("http_protocol", [HttpToolsProtocol, H11Protocol])
def test_http_protocols_build_the_websocket_protocol_as_we_expect(http_protocol: type) -> None:
    source = inspect.getsource(http_protocol)
    _require(
        "ws_protocol_class(" in source
        and "config=self.config" in source
        and "server_state=self.server_state" in source
        and "app_state=self.app_state" in source,
        f"{http_protocol.__name__} no longer builds ws_protocol_class(config=, server_state=,"
        " app_state=)",
    )
    _require(
        "protocol.connection_made(self.transport)" in source
        and "protocol.data_received(" in source
        and "self.transport.set_protocol(protocol)" in source,
        f"{http_protocol.__name__} no longer hands the connection over with connection_made, "
        "data_received (the upgrade request's bytes) and transport.set_protocol",
    )


def test_config_takes_a_websocket_protocol_class() -> None:
    config = Config(app=lambda scope, receive, send: None, ws=DirectWebSocketProtocol)
    config.load()
    _require(
        config.ws_protocol_class is DirectWebSocketProtocol,
        "Config(ws=<class>) no longer uses the class as the websocket protocol",
    )
    for attribute in ("loaded", "loaded_app", "root_path"):
        _require(hasattr(config, attribute), f"Config has no {attribute!r}")


def test_server_state_members_we_use() -> None:
    state = ServerState()
    _require(isinstance(state.connections, set), "ServerState.connections is not a set")
    _require(
        isinstance(state.default_headers, list), "ServerState.default_headers is not a list"
    )


def test_server_shutdown_calls_each_connections_shutdown() -> None:
    source = inspect.getsource(Server.shutdown)
    _require(
        "server_state.connections" in source and ".shutdown()" in source,
        "Server.shutdown no longer calls shutdown() on every protocol in "
        "server_state.connections",
    )


def test_fallback_protocol_has_the_constructor_we_call() -> None:
    parameters = inspect.signature(AutoWebSocketsProtocol).parameters
    _require(
        {"config", "server_state", "app_state"} <= set(parameters),
        "the automatic websocket protocol no longer takes config, server_state and app_state",
    )


def test_message_logger_wraps_the_app_in_app() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        return None

    _require(
        MessageLoggerMiddleware(app).app is app,  # type: ignore[arg-type]
        "MessageLoggerMiddleware no longer keeps the wrapped app in .app",
    )


@pytest.mark.parametrize("http_protocol", [HttpToolsProtocol, H11Protocol])
def test_http_protocols_have_what_the_connection_guard_extends(http_protocol: type) -> None:
    """``expressio.http.connection_guard`` subclasses both HTTP protocols."""
    source = inspect.getsource(http_protocol)
    for member in ("self.loop", "self.cycle", "self.server_state", "self.transport"):
        _require(member in source, f"{http_protocol.__name__} has no {member}")
    _require(
        "self.connections.add(self)" in source and "self.connections.discard(self)" in source,
        f"{http_protocol.__name__} no longer counts itself in server_state.connections",
    )
    if http_protocol is HttpToolsProtocol:
        hooks = ("def on_message_begin", "def on_headers_complete")
        _require(
            all(hook in source for hook in hooks),
            "HttpToolsProtocol lost the parser callbacks at a request head's start and end",
        )
    else:
        _require("self.conn.their_state" in source, "H11Protocol no longer keeps its h11 conn")
    _require(
        "config.http_protocol_class(" in inspect.getsource(Server.startup),
        "Server.startup no longer calls Config(http=...) as the protocol factory",
    )
