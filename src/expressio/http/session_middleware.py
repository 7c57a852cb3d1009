"""`session(...)`: the HTTP middleware that gives every request `req.session`.

What goes over the wire: one cookie (default name `expressio.sid`) holding the signed session
id, `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` when the request came over HTTPS. A new
session is stored and its cookie set on the first response that puts something in it (or saves
it explicitly); a session left empty is neither stored nor given a cookie (express-session's
`saveUninitialized: false`), so cookieless clients (crawlers, health checks, floods) cost the
store nothing. A realtime connection opened by a page shares the session once the page's HTTP
side stored something in it.

When the response goes out, the session is saved if its data changed (nested changes
included), else its store expiry is refreshed. With `max_age` the cookie is re-sent on every
response so that it and the store copy expire together, `max_age` seconds after the last
request; without it the cookie lasts until the browser closes and the store copy until
`DEFAULT_IDLE_TTL` (24 h) of inactivity.

Errors: a store that cannot be reached (`SessionStoreUnavailable`) makes the request answer
503; data that cannot be stored (`SessionDataError`) makes it answer 500; both are logged on
the `expressio` logger by the app's error handling, with the message naming the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..sessions.cookie import Secrets
from ..sessions.manager import SessionManager
from ..sessions.session import Session
from ..sessions.stores import SessionStore
from .cookies import set_cookie_line

if TYPE_CHECKING:
    from .request import Request
    from .response import Response
    from .routing import Next


class SessionMiddleware:
    """The middleware `session(...)` returns; `manager` is its `SessionManager`.

    Registered with `app.use(...)`, it also publishes its manager as `app.session_manager`,
    where the realtime layer finds it.
    """

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        # A bad cookie name, domain or path fails here, at setup, not at the first response.
        set_cookie_line(manager.cookie_name, "x", **manager.cookie_attributes(secure_request=False))

    def on_use(self, router: Any) -> None:
        """Called by `app.use(...)`: make the manager reachable from the app."""
        router.session_manager = self.manager

    async def __call__(self, req: Request, res: Response, next: Next) -> None:
        if req.session_pending or isinstance(req.loaded_session, Session):
            next()  # an outer app's session middleware got here first
            return
        manager = self.manager
        cookie_value = req.cookies.get(manager.cookie_name)
        cookie_id = manager.signer.unsign(cookie_value if isinstance(cookie_value, str) else None)
        loader = _Loader(manager, cookie_id)
        req.set_session_loader(loader)

        async def before_response() -> None:
            session = req.loaded_session
            if not isinstance(session, Session):
                return  # never read: nothing to save, no cookie to set
            await manager.save_if_changed(session)
            attributes = manager.cookie_attributes(secure_request=req.secure)
            held_id = loader.held_id
            if session.id is None:
                if held_id is not None:
                    del attributes["max_age"]
                    res.clear_cookie(manager.cookie_name, **attributes)
            elif session.stored and (session.id != held_id or manager.max_age is not None):
                # (a new session left empty is not stored: no cookie for it either)
                res.cookie(manager.cookie_name, manager.cookie_value(session), **attributes)

        res.on_headers(before_response)
        next()


class _Loader:
    """Loads the session a request's cookie names, when the request first needs it."""

    __slots__ = ("cookie_id", "held_id", "manager")

    def __init__(self, manager: SessionManager, cookie_id: str | None) -> None:
        self.manager = manager
        self.cookie_id = cookie_id
        #: the id the browser already holds, if it named the session loaded
        self.held_id: str | None = None

    async def __call__(self) -> Session:
        return self._loaded(await self.manager.load_id(self.cookie_id))

    def now(self) -> Session | None:
        """The session at once when the store answers without waiting, else ``None``."""
        session = self.manager.load_now(self.manager.load_id(self.cookie_id))
        return self._loaded(session) if session is not None else None

    def _loaded(self, session: Session) -> Session:
        self.held_id = self.cookie_id if session.id == self.cookie_id else None
        return session


def session(
    secret: Secrets,
    store: SessionStore | None = None,
    name: str = "expressio.sid",
    max_age: float | None = None,
    cookie: Mapping[str, Any] | None = None,
    save_uninitialized: bool = False,
) -> SessionMiddleware:
    """Session middleware: `app.use(expressio.session(secret="monkey"))`.

    - `secret` signs the session cookie (a list rotates secrets: the last signs, all verify).
    - `store` keeps the data: `MemoryStore()` (the default, this process only) or
      `RedisStore(url)` (shared by every process).
    - `name` is the cookie's name.
    - `max_age` (seconds) is the cookie's Max-Age and the store's time to live, both renewed
      by each request; None gives a browser-session cookie and a 24 h idle expiry in the store.
    - `cookie` overrides cookie attributes: `path`, `domain`, `secure` (None: when HTTPS),
      `samesite` ("lax"), `httponly` (True).
    - `save_uninitialized`: store a new session and set its cookie on the first response
      even when nothing was put in it (express-session's option of that name). False by
      default: a session is stored once it holds something, so requests that leave it empty
      cost the store nothing. True suits pages that open a realtime connection before
      anything is stored: the socket then already shares the session HTTP fills in later.
    """
    return SessionMiddleware(
        SessionManager(
            secret,
            store,
            name=name,
            max_age=max_age,
            cookie=cookie,
            save_uninitialized=save_uninitialized,
        )
    )
