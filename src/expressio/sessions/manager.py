"""`SessionManager`: loads and saves sessions for a cookie; the seam HTTP and realtime share.

The `session(...)` middleware owns one manager and registers it on the app as
`app.session_manager`. The HTTP side calls `load(cookie_value)` when a request comes in and
`save_if_changed(session)` when its response goes out; the realtime side calls
`load_for_cookie_header(handshake_cookie_header)` at connect, `session.reload()` before each
event and `save_if_changed(session)` after it. A session id is only ever taken from the signed
cookie, never from a URL query.
"""

from __future__ import annotations

import math
from collections.abc import Coroutine, Mapping
from typing import Any

from .cookie import Secrets, SessionIdSigner, new_session_id, parse_cookie_header
from .errors import SessionStoreUnavailable
from .serialization import MAX_SESSION_BYTES, decode_session
from .session import _EMPTY_PAYLOAD, Session
from .stores import MemoryStore, SessionStore

#: How long the store keeps a session nobody uses when `max_age` is None, in seconds. The cookie
#: is then a browser-session cookie (no Max-Age); the store copy expires after this much idle
#: time, the clock restarting at every request or event that uses the session.
DEFAULT_IDLE_TTL = 24 * 60 * 60

_COOKIE_OPTION_NAMES = frozenset({"path", "domain", "secure", "samesite", "httponly"})

__all__ = ["DEFAULT_IDLE_TTL", "SessionManager", "SessionStoreUnavailable"]


class SessionManager:
    """Everything about sessions that does not depend on HTTP or realtime specifics.

    `cookie` overrides the cookie attributes: `path` ("/"), `domain` (None: the host only),
    `secure` (None: Secure exactly when the request came over HTTPS), `samesite` ("lax"),
    `httponly` (True). `save_uninitialized=True` stores every new HTTP session (and sets its
    cookie) even when nothing was put in it; by default (False) only sessions that hold
    something, or were saved explicitly, are stored.
    """

    def __init__(
        self,
        secret: Secrets,
        store: SessionStore | None = None,
        *,
        name: str = "expressio.sid",
        max_age: float | None = None,
        cookie: Mapping[str, Any] | None = None,
        max_session_bytes: int = MAX_SESSION_BYTES,
        save_uninitialized: bool = False,
    ) -> None:
        if max_age is not None and max_age <= 0:
            raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
        unknown = set(cookie or {}) - _COOKIE_OPTION_NAMES
        if unknown:
            raise ValueError(
                f"unknown session cookie option(s) {sorted(unknown)}; "
                f"known: {sorted(_COOKIE_OPTION_NAMES)}"
            )
        self.signer = SessionIdSigner(secret)
        self.store: SessionStore = store if store is not None else MemoryStore()
        self.cookie_name = name
        self.max_age = max_age
        self.store_ttl: float = max_age if max_age is not None else DEFAULT_IDLE_TTL
        self.max_session_bytes = max_session_bytes
        self.save_uninitialized = save_uninitialized
        self.cookie_options: dict[str, Any] = {
            "path": "/",
            "domain": None,
            "secure": None,
            "samesite": "lax",
            "httponly": True,
            **(cookie or {}),
        }

    # -- loading ----------------------------------------------------------------------------

    def new_session(self, *, persistent: bool = True) -> Session:
        """A fresh, empty session. A persistent one is stored once something is put in it (or
        it is saved explicitly): HTTP then stores it and sets its cookie when the response goes
        out; left empty it is neither stored nor given a cookie (express-session's
        ``saveUninitialized: false``), so cookieless visitors cost the store nothing. With
        ``save_uninitialized`` it is stored at its first save even when empty."""
        session_id = new_session_id() if persistent else None
        # The change detector's baseline: b"" counts even an empty session as changed.
        baseline = b"" if self.save_uninitialized and persistent else _EMPTY_PAYLOAD
        return Session(self, session_id, {}, baseline, persistent=persistent, stored=False)

    async def load(self, cookie_value: str | None) -> Session:
        """The session a session cookie's value names, or a fresh one when the cookie is
        missing, unsigned, tampered with, or names a session the store no longer has.

        Raises `SessionStoreUnavailable` when the store cannot be reached."""
        return await self.load_id(self.signer.unsign(cookie_value))

    async def load_id(self, session_id: str | None) -> Session:
        """The stored session `session_id` (an id from a verified cookie), or a fresh one."""
        if session_id is not None:
            payload = await self.store.load(session_id)
            if payload is not None:
                return Session(self, session_id, decode_session(payload), payload)
        return self.new_session()

    async def load_for_cookie_header(self, cookie_header: str | None) -> Session:
        """The session for a realtime handshake's Cookie header.

        With a valid cookie naming a stored session: that session, shared with HTTP. Otherwise
        (no cookie, a bad one, or an expired session — a socket cannot set a cookie, so a new
        stored session would be unreachable from HTTP) an in-memory session that lives as long
        as the connection. Raises `SessionStoreUnavailable` when the store cannot be reached."""
        cookie_value = parse_cookie_header(cookie_header).get(self.cookie_name)
        session_id = self.signer.unsign(cookie_value)
        if session_id is not None:
            payload = await self.store.load(session_id)
            if payload is not None:
                return Session(self, session_id, decode_session(payload), payload)
        return self.new_session(persistent=False)

    def load_now(self, loading: Coroutine[Any, Any, Session]) -> Session | None:
        """Finish ``loading`` (a coroutine of this manager's ``load...`` methods) on the spot,
        without the event loop, when the store answers at once (an in-memory store); ``None``
        otherwise (nothing was asked of the store)."""
        if not self.store.answers_at_once:
            loading.close()
            return None
        try:
            loading.send(None)
        except StopIteration as finished:
            session: Session = finished.value
            return session
        loading.close()  # it waited after all
        return None

    # -- saving -----------------------------------------------------------------------------

    async def save_if_changed(self, session: Session) -> bool:
        """Wait for the session's pending store operations, then store it if its data changed
        (a new session: if anything was put in it); else refresh the expiry of a stored one.
        True when it was saved.

        Raises `SessionDataError` when the data cannot be stored and `SessionStoreUnavailable`
        when the store cannot be reached (including by an earlier `save()` of this session)."""
        await session.settle()
        if not session.persistent:
            return False
        operation = session.save_if_changed()
        if operation is None:
            if session.stored:
                await session.touch()
            return False
        await operation
        return True

    # -- the cookie -------------------------------------------------------------------------

    def cookie_value(self, session: Session) -> str:
        """The signed value of the cookie naming `session`."""
        if session.id is None:
            raise ValueError("a destroyed session has no id to put in a cookie")
        return self.signer.sign(session.id)

    def cookie_attributes(self, *, secure_request: bool) -> dict[str, Any]:
        """Set-Cookie attributes: path, domain, secure, samesite, httponly and max_age
        (whole seconds, None for a browser-session cookie)."""
        attributes = dict(self.cookie_options)
        if attributes["secure"] is None:
            attributes["secure"] = secure_request
        attributes["max_age"] = math.ceil(self.max_age) if self.max_age is not None else None
        return attributes
