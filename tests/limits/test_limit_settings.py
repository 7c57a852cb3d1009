"""The limit settings of ``app.io``: names, defaults, checks, and where they take effect."""

from __future__ import annotations

from typing import Any

import pytest

import expressio


def _served_parts(app: Any) -> tuple[Any, Any]:
    server = app.io.server
    return server, server.engine


def test_defaults_reach_the_engine_and_the_realtime_server() -> None:
    app = expressio.express()
    app.http().io()
    server, engine = _served_parts(app)
    assert app.io.get("max clients") == engine.max_clients == 20_000
    assert app.io.get("first contact timeout") == engine.first_contact_timeout == 10.0
    assert app.io.get("allow request") is None and engine.allow_request is None
    assert app.io.get("max rooms per socket") == server.max_rooms_per_socket == 1000


def test_keywords_of_app_io_and_later_changes_apply() -> None:
    def gate(request: Any) -> bool:
        return True

    app = expressio.express()
    app.http().io(max_clients=5, first_contact_timeout=2, allow_request=gate)
    server, engine = _served_parts(app)
    assert (engine.max_clients, engine.first_contact_timeout, engine.allow_request) == (
        5,
        2.0,
        gate,
    )
    app.io.set("max clients", 7).set("first_contact_timeout", 3.5).set("allow request", None)
    app.io.set("max rooms per socket", 10)
    assert (engine.max_clients, engine.first_contact_timeout, engine.allow_request) == (
        7,
        3.5,
        None,
    )
    assert server.max_rooms_per_socket == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max clients", 0),
        ("max clients", 2.5),
        ("first contact timeout", 0),
        ("first contact timeout", "soon"),
        ("max rooms per socket", -1),
    ],
)
def test_bad_values_raise_a_clear_error(name: str, value: Any) -> None:
    app = expressio.express()
    app.http().io()
    with pytest.raises(ValueError, match="positive"):
        app.io.set(name, value)


def test_allow_request_must_be_callable() -> None:
    app = expressio.express()
    with pytest.raises(TypeError, match="allow_request must be callable"):
        app.http().io(allow_request="yes")


def test_listen_limits_are_checked_before_serving() -> None:
    from expressio.http.serving import build_config

    app = expressio.express()
    with pytest.raises(ValueError, match="header_timeout"):
        build_config(app, header_timeout=0)
    with pytest.raises(ValueError, match="max_connections"):
        build_config(app, max_connections=0)
    build_config(app, header_timeout=None, max_connections=None)  # both off
