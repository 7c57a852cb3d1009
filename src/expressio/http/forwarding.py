"""HTTP → realtime forwarding: ``req.io`` in an HTTP handler, and the ``req`` a forwarded
realtime route receives.

```python
@app.io.route("todos:create")
def create(req):                        # the same route serves sockets and HTTP
    todo = store.add(req.data)
    req.io.broadcast("todos:created", todo)
    req.io.respond(todo)

@app.post("/todos")
def post_todo(req, res):
    req.io.route("todos:create")        # no await needed: the route answers the request
```

How the HTTP response is produced. The first ``req.io.route(name)`` of a request that has not
been answered yet *hands the response over* to the forwarded routes: the response is decided
at once as a deferred one, so the handler may simply return (``def`` or ``async def``, awaiting
the route or not) without tripping the "handler did not respond" check. What goes out is:

- ``req.io.respond(x)`` → ``200`` with JSON ``x`` (several arguments → a JSON array, none →
  ``204``), sent as soon as it is called even if the routes keep running;
- every forwarded route finished without ``respond`` → ``204 No Content``;
- a forwarded route raised → ``500`` (logged with its traceback) unless it had responded;
- the route does not exist → ``404`` (logged; nothing is added to any table);
- a body that cannot be parsed → ``400``, a body over :data:`MAX_FORWARDED_BODY` → ``413``.

Error answers are JSON ``{"error": "..."}``, as realtime acks get. Headers and cookies set on
``res`` before forwarding are kept; once forwarded, ``res`` cannot be used to answer (it raises
``ResponseAlreadySent``). A handler that answered with ``res`` itself may still forward: the
routes run (their broadcasts reach clients) but their ``respond`` has nowhere to go (logged).

A ``def`` route that forwards to a ``def`` route runs it in its own worker thread, as over a
socket (see :func:`expressio.io.routes.forward_in_this_thread`): many requests whose routes
wait for their forwards can never take every realtime thread and then wait for one more. The
HTTP handler's own forward always starts on the loop, so that the handler returns at once.

The session is saved after the routes: the response waits for them (or for ``respond``) before
the session middleware saves, and a change a route makes after responding is saved when it
finishes. Only cookie changes made after ``respond`` cannot reach the browser any more, as with
any response already sent: ``regenerate()``, ``destroy()``, and the first write to a new session
(an empty new session sets no cookie unless ``session(save_uninitialized=True)``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio.from_thread
import orjson
from starlette.datastructures import UploadFile
from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send

from ..io.appio import runtime_of
from ..io.loop_bridge import Pending, settle
from ..io.request_io import UNKNOWN_ROUTE, NoSocketError, RequestIO
from ..io.routes import Route, RouteChain
from ..io.socket_request import SocketRequest
from ..io.targets import MISSING as _MISSING
from ..sessions.errors import SessionStoreUnavailable
from .request import parse_query
from .response import dump_json

if TYPE_CHECKING:
    from ..io.appio import AppIO
    from .pathpattern import Params
    from .request import Request
    from .routing import Router

logger = logging.getLogger("expressio.io")

#: Bytes of request body a forwarded route may receive as ``req.data`` (larger → 413).
MAX_FORWARDED_BODY = 1_000_000

_JSON = b"application/json"
_EMPTY = object()  # "no body": req.data falls back to the query


class HTTPForwarding:
    """The app's ``request_io_factory``: gives every HTTP request its ``req.io``, a
    :class:`~expressio.io.request_io.RequestIO` answered through an :class:`HTTPExchange`."""

    __slots__ = ("appio", "host", "runtime")

    def __init__(self, appio: AppIO, host: Router) -> None:
        self.appio = appio
        self.host = host
        self.runtime = runtime_of(appio)

    def __call__(self, req: Request) -> RequestIO:
        bridge = self.runtime.bridge
        if bridge.loop is None:
            # Served without an ASGI lifespan (e.g. a test transport): learn the loop now, so
            # that IO from a ``def`` handler's worker thread still reaches the loop's thread.
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                anyio.from_thread.run_sync(bridge.attach)
            else:
                bridge.attach()
        exchange = HTTPExchange(req, self)
        return exchange.view("/")


class HTTPExchange:
    """One HTTP request handed to realtime routes: its answer, its running routes. It is the
    :class:`~expressio.io.request_io.Reply` of the request's ``req.io`` (one per namespace)."""

    def __init__(self, req: Request, forwarding: HTTPForwarding) -> None:
        self.http = req
        self.appio = forwarding.appio
        self.host = forwarding.host
        self.bridge = forwarding.runtime.bridge
        self.tasks = forwarding.runtime.tasks
        self._views: dict[str, RequestIO] = {}
        self._hand_over = threading.Lock()
        self._deferred: DeferredResponse | None = None
        # Loop-side state (touched on the loop's thread only).
        self._answer: tuple[int, bytes] | None = None
        self._running = 0
        self._settled: asyncio.Event | None = None  # an answer exists, or nothing runs
        self._idle: asyncio.Event | None = None  # nothing runs
        self._data: Any = _MISSING
        self._data_loading: asyncio.Future[Any] | None = None
        self._drain: asyncio.Future[None] | None = None

    def view(self, namespace: str) -> RequestIO:
        """``req.io`` for ``namespace`` (``req.io.of(name)``); one per namespace."""
        target = self.appio.of(namespace)  # "admin" and "/admin" are one namespace
        view = self._views.get(target.name)
        if view is None:
            view = self._views[target.name] = RequestIO(target, self)
            ForwardedRequest(self, view)
        return view

    # -- answering (loop thread) -----------------------------------------------------------

    def answer(self, status: int, body: bytes) -> bool:
        """Decide the HTTP answer, once; False when one was already decided."""
        if self._answer is not None:
            return False
        self._answer = (status, body)
        self._events()[0].set()
        return True

    def answer_error(self, status: int, message: str) -> None:
        self.answer(status, orjson.dumps({"error": message}))

    @property
    def decided(self) -> tuple[int, bytes] | None:
        return self._answer

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        if self._settled is None or self._idle is None:
            self._settled, self._idle = asyncio.Event(), asyncio.Event()
            if self._running == 0:
                self._idle.set()
                self._settled.set()
        return self._settled, self._idle

    async def wait_settled(self) -> None:
        """Until the answer is known: ``respond`` was called, or every route has finished."""
        await self._events()[0].wait()

    async def wait_idle(self) -> None:
        """Until every forwarded route (forwards of forwards included) has finished."""
        await self._events()[1].wait()

    # -- forwarding ------------------------------------------------------------------------

    def prepare_hand_over(self) -> DeferredResponse | None:
        """The deferred response that will answer this request, when the forwarded routes
        are to answer it (it is not answered yet); None otherwise. Any thread."""
        res = self.http.res
        if res is None:
            return None
        with self._hand_over:
            if self._deferred is not None or res.finished:
                return None
            self._deferred = DeferredResponse(self)
            return self._deferred

    def hand_over(self, deferred: DeferredResponse) -> None:
        """Decide the response as ``deferred`` (see the module doc). Any thread."""
        res = self.http.res
        assert res is not None
        # The wait for the routes must come before every other hook, the session
        # middleware's save above all: it is to save what the routes changed.
        res.on_headers(self.wait_settled, first=True)
        res.send(deferred)

    # -- the Reply of req.io ---------------------------------------------------------------

    def before_forward(self, request: Any, name: str) -> Callable[[], None] | None:
        """The first forward of a request not answered yet makes the routes answer it: the
        response is handed over right after the route was started (see the module doc)."""
        if request.event is None:
            # The routes see the request as it is when first forwarded (e.g. params set by
            # route_forward), not as it goes on changing in the handler afterwards.
            request.event = name
            http = self.http
            request.params, request.path, request.method = http.params, http.path, http.method
        deferred = self.prepare_hand_over()
        if deferred is None:
            return None
        return lambda: self.hand_over(deferred)

    def start(self, chain: RouteChain, route: Route, request: Any, pending: Pending) -> None:
        """Run ``route`` (claimed in ``chain``) once the body is parsed (loop thread)."""
        self._running += 1
        settled, idle = self._events()
        idle.clear()
        if self._answer is None:
            settled.clear()
        task = self.tasks.spawn(self._forward(chain, route, request))
        task.add_done_callback(lambda _: settle(pending.future))
        if self._deferred is None and self._drain is None:
            # The handler answered by itself: nothing waits for these routes but this.
            self._drain = self.tasks.spawn(self._save_after_routes())

    async def _forward(self, chain: RouteChain, route: Route, request: Any) -> None:
        try:
            await self._load_data()
            if self._data is _MISSING:
                return  # the body was refused; answered already
            request.data = self._data
            request.args = (self._data,)
            if route.mentions_session and self.http.session_pending:
                try:
                    await self.http.load_session()
                except SessionStoreUnavailable as error:
                    logger.error(
                        "session store unavailable for %s: %s", self.http.original_url, error
                    )
                    self.answer_error(503, "Session store unavailable")
                    return
            await chain.run(route, request)
        except Exception:  # the chain reports route errors itself; this is anything else
            logger.exception(
                "forwarding %s to route %r failed", self.http.original_url, route.name
            )
            self.answer_error(500, "Internal Server Error")
        finally:
            self._running -= 1
            if self._running == 0:
                settled, idle = self._events()
                idle.set()
                settled.set()

    def respond(self, request: Any, args: tuple[Any, ...]) -> None:
        """Answer the HTTP request with JSON: one argument → it, several → an array, none →
        ``204 No Content``. The first answer wins; later ones are ignored (logged)."""
        try:
            if not args:
                status, body = 204, b""
            else:
                status, body = 200, dump_json(args[0] if len(args) == 1 else list(args))
        except TypeError as error:
            logger.error("respond() got a value JSON cannot carry: %s", error)
            status, body = 500, orjson.dumps({"error": "Internal Server Error"})
        res = self.http.res
        if self._deferred is None and res is not None and not res.finished:
            # Not forwarded (yet): answer right away, as res.json would.
            if status == 204:
                res.status(204).end()
            else:
                res.status(status).type("json").end(body)
            self.bridge.call(self.answer, status, body)
            return
        self.bridge.call(self._respond, status, body)

    def _respond(self, status: int, body: bytes) -> None:
        if self._deferred is None:
            req = self.http
            logger.warning(
                "respond() ignored: the handler of %s %s answered before forwarding",
                req.method,
                req.original_url,
            )
        elif not self.answer(status, body):
            logger.debug("respond() ignored: the HTTP request was already answered")

    def route_missing(self, name: str) -> None:
        self.answer_error(404, UNKNOWN_ROUTE + name)

    def route_failed(self, name: str, error: BaseException) -> None:
        self.appio.of("/").report_error(error)  # before the 500 leaves, as over a socket
        self.answer_error(500, "Internal Server Error")

    async def _save_after_routes(self) -> None:
        await self.wait_idle()
        await self.save_late()

    async def save_late(self) -> None:
        """Save what the routes changed in the session after the session middleware saved it
        (they went on after ``respond``, or the handler had answered by itself)."""
        session = self.http.loaded_session
        if session is None or not getattr(session, "persistent", False) or not session.modified:
            return
        manager = self.host.session_manager
        if manager is None:
            return
        try:
            await manager.save_if_changed(session)
        except Exception:
            logger.exception(
                "saving the session changed by routes forwarded from %s %s failed",
                self.http.method,
                self.http.original_url,
            )

    # -- req.data ------------------------------------------------------------------------

    @property
    def data(self) -> Any:
        return None if self._data is _MISSING else self._data

    async def _load_data(self) -> None:
        if self._data_loading is None:
            self._data_loading = asyncio.ensure_future(self._parse_data())
        await asyncio.shield(self._data_loading)

    async def _parse_data(self) -> None:
        req = self.http
        try:
            body = await _request_body(req)
        except _BodyRefused as refusal:
            logger.warning(
                "%s %s: body refused for a forwarded route: %s",
                req.method,
                req.original_url,
                refusal.message,
            )
            self.answer_error(refusal.status, refusal.message)
            return
        self._data = dict(req.query) if body is _EMPTY else body


class _BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _has_body(req: Request) -> bool:
    length = req.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in req.headers


async def _request_body(req: Request) -> Any:
    """The parsed body (what a body parser already made of it, if one ran), or ``_EMPTY``."""
    if req.body_parsed:
        return req.body if req.body not in (None, {}) or _has_body(req) else _EMPTY
    if not _has_body(req):
        return _EMPTY
    if req.is_type("multipart/form-data"):
        try:
            form = await req.starlette.form()
        except Exception as error:
            raise _BodyRefused(400, f"Invalid multipart body: {error}") from error
        return {
            name: value for name, value in form.multi_items() if not isinstance(value, UploadFile)
        }
    try:
        raw = await req.read_body(MAX_FORWARDED_BODY)
    except Exception as error:
        status = getattr(error, "status", 400)
        raise _BodyRefused(status, str(error) or "Bad request body") from error
    if not raw:
        return _EMPTY
    if req.is_type("json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise _BodyRefused(400, f"Invalid JSON body: {error}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    if req.is_type("application/x-www-form-urlencoded"):
        return parse_query(text)
    return text if req.is_type("text/*") else raw




class DeferredResponse(StarletteResponse):
    """The response of a forwarded request: decided at once, written when the answer is known.

    The app transmits it after the ``on_headers`` hooks, the first of which waits for the
    answer; the request then stays open until every route has finished."""

    def __init__(self, exchange: HTTPExchange) -> None:
        super().__init__(status_code=204)
        self._exchange = exchange

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = self._exchange
        await exchange.wait_settled()
        status, body = exchange.decided or (204, b"")
        headers = [
            (key, value)
            for key, value in self.raw_headers
            if key not in (b"content-length", b"content-type")
        ]
        if status != 204:
            headers.append((b"content-type", _JSON))
            headers.append((b"content-length", str(len(body)).encode()))
        else:
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})
        # The request lasts as long as its routes; what they change in the session after
        # answering is saved now (the session middleware's save has run before the answer).
        await exchange.wait_idle()
        await exchange.save_late()


class ForwardedRequest(SocketRequest):
    """``req`` in a realtime route run from HTTP: the HTTP flavour of a SocketRequest.

    ``data`` is the parsed body (JSON, form) or, without a body, the query; ``event`` the first
    route forwarded to; ``session``, ``headers``, ``params`` and ``query`` are the HTTP
    request's; ``http`` is that request itself (cookies, ip, method...). ``socket`` and
    ``handshake`` are None: there is no connection. Attributes middleware set on the HTTP
    request (``req.user``) read through; routes may add attributes, which the routes they
    forward to see.
    """

    def __init__(self, exchange: HTTPExchange, io: RequestIO) -> None:
        http = exchange.http
        # data: set once the body is parsed, before the first route runs
        super().__init__(None, (), io, None)
        self.http = http
        self.params: Params = http.params
        self.path = http.path
        self.method = http.method

    @property
    def headers(self) -> Mapping[str, str]:
        return self.http.headers

    @property
    def session(self) -> Any:
        """The HTTP request's session (loaded before a route whose code reads it)."""
        return self.http.session

    @session.setter
    def session(self, value: Any) -> None:
        self.http.session = value

    @property
    def query(self) -> dict[str, Any]:
        return self.http.query

    @property
    def cookies(self) -> dict[str, Any]:
        return self.http.cookies

    def __repr__(self) -> str:
        return f"<ForwardedRequest {self.method} {self.http.original_url} data={self.data!r}>"

    def __str__(self) -> str:
        return f"{self.http.method} {self.http.original_url}"

    def __getattr__(self, name: str) -> Any:
        # What middleware put on the HTTP request (req.user...) is there for the routes too.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.http, name)


__all__ = [
    "MAX_FORWARDED_BODY",
    "ForwardedRequest",
    "HTTPForwarding",
    "NoSocketError",
]
