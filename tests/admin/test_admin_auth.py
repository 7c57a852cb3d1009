"""Credentials, login sessions and the lockout after wrong guesses, on their own (a fake clock),
and the arguments ``app.io.instrument`` refuses."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

import expressio
from expressio.io import admin_auth
from expressio.io.admin_auth import Credentials, LoginLimiter, LoginSessions

# A well-formed bcrypt hash (its content does not matter to these tests).
BCRYPT_HASH = "$2b$10$" + "N9qo8uLOickgx2ZMRZoMye" + "IjZAgcfl7p92ldGxad68LJZdL17lhWy"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_credentials_match_only_the_right_pair() -> None:
    credentials = Credentials({"username": "admin", "password": "pw"})
    assert credentials.matches("admin", "pw")
    assert not credentials.matches("admin", "pw2")
    assert not credentials.matches("root", "pw")
    assert not credentials.matches("admin", None)
    assert not credentials.matches(None, None)
    assert not credentials.matches({"x": 1}, ["pw"])
    assert not credentials.slow
    assert "pw" not in repr(credentials)


def test_socket_io_style_auth_with_a_type_is_accepted() -> None:
    credentials = Credentials({"type": "basic", "username": "admin", "password": "pw"})
    assert credentials.matches("admin", "pw")


@pytest.mark.parametrize(
    "auth",
    [
        "admin:pw",
        {"username": "admin"},
        {"username": "admin", "password": ""},
        {"username": 1, "password": "pw"},
        {"username": "admin", "password": "pw", "role": "x"},
    ],
)
def test_malformed_auth_is_a_clear_error(auth: Any) -> None:
    with pytest.raises(TypeError, match="username"):
        Credentials(auth)


def test_an_unknown_auth_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown auth type 'oauth'"):
        Credentials({"type": "oauth", "username": "a", "password": "b"})


def test_a_bcrypt_hash_without_bcrypt_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # an import of it now fails
    with pytest.raises(RuntimeError, match="pip install bcrypt"):
        Credentials({"username": "admin", "password": BCRYPT_HASH})


def test_a_bcrypt_hash_is_checked_by_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[tuple[bytes, bytes]] = []

    def checkpw(password: bytes, hashed: bytes) -> bool:
        checked.append((password, hashed))
        if not hashed.startswith(b"$2"):
            raise ValueError("Invalid salt")
        return password == b"right"

    monkeypatch.setitem(sys.modules, "bcrypt", types.SimpleNamespace(checkpw=checkpw))
    credentials = Credentials({"username": "admin", "password": BCRYPT_HASH})
    assert credentials.slow
    assert credentials.matches("admin", "right")
    assert not credentials.matches("admin", "wrong")
    assert not credentials.matches("other", "right")
    assert checked[0] == (b"right", BCRYPT_HASH.encode())


def test_the_limiter_locks_an_address_out_after_the_allowed_failures() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window=60.0, clock=clock)
    for _ in range(2):
        limiter.failed("10.0.0.1")
        assert limiter.retry_after("10.0.0.1") == 0
    clock.now += 10
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(50.0)
    assert limiter.retry_after("10.0.0.2") == 0  # another address is not concerned
    clock.now += 50  # the oldest failure is now a window old
    assert limiter.retry_after("10.0.0.1") == 0


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window=60.0, clock=clock)
    limiter.failed("a")
    limiter.failed("a")
    clock.now += 61
    limiter.failed("a")
    assert limiter.retry_after("a") == 0


def test_a_success_forgets_the_failures() -> None:
    limiter = LoginLimiter(max_failures=2, window=60.0, clock=Clock())
    limiter.failed("a")
    limiter.succeeded("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 0


def test_the_limiter_remembers_a_bounded_number_of_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admin_auth, "MAX_TRACKED_ADDRESSES", 100)
    limiter = LoginLimiter(max_failures=1, window=60.0, clock=Clock())
    for number in range(1000):
        limiter.failed(f"10.0.{number // 256}.{number % 256}")
    assert len(limiter._failures) == 100
    assert limiter.retry_after("10.0.3.231") > 0  # the latest are kept


def test_login_sessions_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    sessions = LoginSessions(clock=clock)
    first = sessions.create()
    assert sessions.valid(first)
    assert not sessions.valid("0" * 32)
    assert not sessions.valid(None)
    assert not sessions.valid(["not", "a", "string"])
    clock.now += admin_auth.SESSION_LIFETIME + 1
    assert not sessions.valid(first)
    monkeypatch.setattr(admin_auth, "MAX_SESSIONS", 3)
    made = [sessions.create() for _ in range(5)]
    assert [sessions.valid(session) for session in made] == [False, False, True, True, True]


def started_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    return app


def test_instrument_needs_auth_or_an_explicit_false() -> None:
    with pytest.raises(TypeError, match="auth=False"):
        started_app().io.instrument()


def test_instrument_needs_app_io_first() -> None:
    with pytest.raises(RuntimeError, match=r"call app\.io\(\) before using app\.io\.instrument"):
        expressio.express().io.instrument(auth=False)


def test_instrument_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="'development' or 'production'"):
        started_app().io.instrument(auth=False, mode="debug")  # type: ignore[arg-type]


def test_instrument_runs_once() -> None:
    app = started_app()
    app.io.instrument(auth=False)
    with pytest.raises(RuntimeError, match="already"):
        app.io.instrument(auth=False)


def test_the_admin_namespace_is_not_the_apps() -> None:
    app = started_app()
    app.io.of("/admin")
    with pytest.raises(ValueError, match="in use by the app"):
        app.io.instrument(auth=False)
    instrumented = started_app()
    instrumented.io.instrument(auth=False, namespace="/ops")
    with pytest.raises(ValueError, match="admin UI's namespace"):
        instrumented.io.of("/ops")
    assert instrumented.io.of("/admin").name == "/admin"  # the default name is free then


def test_the_mode_follows_the_apps_env_by_default() -> None:
    app = started_app()
    app.set("env", "production")
    assert app.io.instrument(auth=False).development is False
    other = started_app()
    other.set("env", "development")
    assert other.io.instrument(auth=False).development is True
