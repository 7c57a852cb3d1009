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
finishes. Only cookie changes (``regenerate()``, ``destroy()``) made after ``respond`` cannot
reach the browser any more, as with any response already sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import anyio.from_thread
import orjson
from starlette.datastructures import UploadFile
from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send

from ..io.loop_bridge import LoopBridge, Pending, settle
from ..io.request_io import MISSING as _MISSING
from ..io.request_io import UNKNOWN_ROUTE
from ..io.routes import (
    RouteChain,
    RouteHandler,
    RouteTable,
    forward_in_this_thread,
    in_route_thread,
    is_async_callable,
)
from .request import parse_query
from .response import dump_json

if TYPE_CHECKING:
    from ..io.appio import AppIO
    from ..io.namespace import IONamespace, NamespaceRoom
    from .pathpattern import Params
    from .request import Request

logger = logging.getLogger("expressio.io")

#: Bytes of request body a forwarded route may receive as ``req.data`` (larger → 413).
MAX_FORWARDED_BODY = 1_000_000

_JSON = b"application/json"
_EMPTY = object()  # "no body": req.data falls back to the query


class NoSocketError(RuntimeError):
    """A socket-only IO method (``emit``, ``join``, ``leave``...) was called for a request that
    came over HTTP: there is no client connection to talk to."""


class HTTPForwarding:
    """The app's ``request_io_factory``: gives every HTTP request its :class:`HTTPRequestIO`."""

    __slots__ = ("appio",)

    def __init__(self, appio: AppIO) -> None:
        self.appio = appio

    def __call__(self, req: Request) -> HTTPRequestIO:
        bridge = self.appio.bridge
        if bridge.loop is None:
            # Served without an ASGI lifespan (e.g. a test transport): learn the loop now, so
            # that IO from a ``def`` handler's worker thread still reaches the loop's thread.
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                anyio.from_thread.run_sync(bridge.attach)
            else:
                bridge.attach()
        exchange = HTTPExchange(req, self.appio, bridge)
        return exchange.view("/")


class HTTPExchange:
    """One HTTP request handed to realtime routes: its answer, its running routes."""

    def __init__(self, req: Request, appio: AppIO, bridge: LoopBridge) -> None:
        self.http = req
        self.appio = appio
        self.bridge = bridge
        self._views: dict[str, HTTPRequestIO] = {}
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

    def view(self, namespace: str) -> HTTPRequestIO:
        """``req.io`` for ``namespace`` (``req.io.of(name)``); one per namespace."""
        target = self.appio.of(namespace)  # "admin" and "/admin" are one namespace
        view = self._views.get(target.name)
        if view is None:
            view = self._views[target.name] = HTTPRequestIO(self, target)
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

    def start(
        self,
        view: HTTPRequestIO,
        name: str,
        pending: Pending,
        claimed: RouteHandler | None = None,
    ) -> None:
        """Run route ``name`` of ``view``'s namespace (loop thread); ``claimed``: its handler,
        already counted in the chain by the caller."""
        self._running += 1
        settled, idle = self._events()
        idle.clear()
        if self._answer is None:
            settled.clear()
        task = asyncio.ensure_future(self._forward(view, name, claimed))
        task.add_done_callback(lambda _: settle(pending.future))
        if self._deferred is None and self._drain is None:
            # The handler answered by itself: nothing waits for these routes but this.
            self._drain = asyncio.ensure_future(self._save_after_routes())
            _background.add(self._drain)
            self._drain.add_done_callback(_background.discard)

    async def _forward(self, view: HTTPRequestIO, name: str, claimed: RouteHandler | None) -> None:
        try:
            await self._load_data()
            if self._data is _MISSING:
                return  # the body was refused; answered already
            if claimed is None:
                await view.chain.start(name, view.request)
            else:
                await view.chain.run(name, claimed, view.request)
        except Exception:  # the chain reports route errors itself; this is anything else
            logger.exception("forwarding %s to route %r failed", self.http.original_url, name)
            self.answer_error(500, "Internal Server Error")
        finally:
            self._running -= 1
            if self._running == 0:
                settled, idle = self._events()
                idle.set()
                settled.set()

    async def _save_after_routes(self) -> None:
        await self.wait_idle()
        await self.save_late()

    async def save_late(self) -> None:
        """Save what the routes changed in the session after the session middleware saved it
        (they went on after ``respond``, or the handler had answered by itself)."""
        session = self.http.session
        if session is None or not getattr(session, "persistent", False) or not session.modified:
            return
        manager = getattr(self.appio.app, "session_manager", None)
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


_background: set[asyncio.Future[None]] = set()  # strong references to late session saves


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


class HTTPRequestIO:
    """``req.io`` in an HTTP handler, and in a realtime route forwarded from one."""

    __slots__ = ("_chain", "_exchange", "_request", "namespace")

    def __init__(self, exchange: HTTPExchange, namespace: IONamespace) -> None:
        self._exchange = exchange
        self.namespace = namespace
        self._chain: RouteChain | None = None
        self._request: ForwardedRequest | None = None

    @property
    def routes(self) -> RouteTable:
        """The route table of this namespace."""
        return self.namespace.routes

    @property
    def chain(self) -> RouteChain:
        if self._chain is None:
            self._chain = RouteChain(self.namespace.routes, self)
        return self._chain

    @property
    def request(self) -> ForwardedRequest:
        """The ``req`` the forwarded routes of this namespace receive (one for the chain)."""
        if self._request is None:
            self._request = ForwardedRequest(self._exchange, self)
        return self._request

    # -- routes ----------------------------------------------------------------------------

    def route(self, name: str) -> Pending:
        """Run realtime route ``name`` with the HTTP flavour of this request; the returned
        :class:`~expressio.io.loop_bridge.Pending` resolves when that route has finished.

        The first forward of a request not answered yet makes the routes answer it (see the
        module doc): the handler may return at once."""
        if not isinstance(name, str):
            raise TypeError(f"a route name is a str, not {type(name).__name__}")
        exchange = self._exchange
        request = self.request  # made now: params and path as they are before the handler moves on
        if request.event is None:
            request.event = name
        deferred = exchange.prepare_hand_over()
        if deferred is None and self._runs_in_this_thread(name):
            return forward_in_this_thread(
                exchange.bridge, self.chain, name, request, self._run_claimed
            )
        pending = Pending()
        # Started before the response is decided: the deferred response then never sees "no
        # route running" before this one counts (both hops keep their order, see io_loop).
        exchange.bridge.call(exchange.start, self, name, pending)
        if deferred is not None:
            exchange.hand_over(deferred)
        return pending

    def _runs_in_this_thread(self, name: str) -> bool:
        """Whether a forward to ``name`` runs in the calling thread: a ``def`` route forwarding
        to a ``def`` route does, so that it never waits in a worker thread for another one
        (every thread could be taken by such waits). The HTTP handler's own forward does not:
        it is to answer the request while the handler returns."""
        if not in_route_thread() or self._exchange.bridge.on_loop_thread():
            return False
        target = self.namespace.routes.get(name)
        return target is not None and not is_async_callable(target)

    def _run_claimed(self, name: str, handler: RouteHandler, pending: Pending) -> None:
        self._exchange.start(self, name, pending, handler)

    def of(self, namespace: str) -> HTTPRequestIO:
        """The same, for the routes and clients of another namespace."""
        return self._exchange.view(namespace)

    def respond(self, *args: Any) -> None:
        """Answer the HTTP request with JSON: one argument → it, several → an array, none →
        ``204 No Content``. The first answer wins; later ones are ignored (logged)."""
        exchange = self._exchange
        try:
            if not args:
                status, body = 204, b""
            else:
                status, body = 200, dump_json(args[0] if len(args) == 1 else list(args))
        except TypeError as error:
            logger.error("respond() got a value JSON cannot carry: %s", error)
            status, body = 500, orjson.dumps({"error": "Internal Server Error"})
        res = exchange.http.res
        if exchange._deferred is None and res is not None and not res.finished:
            # Not forwarded (yet): answer right away, as res.json would.
            if status == 204:
                res.status(204).end()
            else:
                res.status(status).type("json").end(body)
            exchange.bridge.call(exchange.answer, status, body)
            return
        exchange.bridge.call(self._respond, status, body)

    def _respond(self, status: int, body: bytes) -> None:
        exchange = self._exchange
        if exchange._deferred is None:
            req = exchange.http
            logger.warning(
                "respond() ignored: the handler of %s %s answered before forwarding",
                req.method,
                req.original_url,
            )
        elif not exchange.answer(status, body):
            logger.debug("respond() ignored: the HTTP request was already answered")

    # -- everyone else ---------------------------------------------------------------------

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        """Send ``event`` to every client of the namespace (there is no sender to leave out)."""
        self.namespace.broadcast(event, data)

    def room(self, room: str) -> NamespaceRoom:
        """``req.io.room(room).broadcast(event, data)``: every client in ``room``."""
        return self.namespace.room(room)

    # -- what needs a socket -----------------------------------------------------------------

    def _no_socket(self, method: str) -> NoReturn:
        req = self._exchange.http
        raise NoSocketError(
            f"req.io.{method}() needs a realtime client, but {req.method} "
            f"{req.original_url} came over HTTP: answer it with req.io.respond(), reach "
            "clients with req.io.broadcast() or req.io.room(name).broadcast()"
        )

    def emit(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._no_socket("emit")

    def emit_with_ack(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._no_socket("emit_with_ack")

    def join(self, room: str) -> NoReturn:
        self._no_socket("join")

    def leave(self, room: str) -> NoReturn:
        self._no_socket("leave")

    def disconnect(self) -> NoReturn:
        self._no_socket("disconnect")

    def on(self, event: str, handler: Callable[..., Any]) -> NoReturn:
        self._no_socket("on")

    @property
    def socket(self) -> None:
        """No socket: the request came over HTTP."""
        return None

    # -- outcomes of the route chain -------------------------------------------------------

    def route_missing(self, name: str) -> None:
        self._exchange.answer_error(404, UNKNOWN_ROUTE + name)

    def route_failed(self, name: str, error: BaseException) -> None:
        self._exchange.answer_error(500, "Internal Server Error")

    def __repr__(self) -> str:
        req = self._exchange.http
        return f"<HTTPRequestIO {req.method} {req.original_url} namespace={self.namespace.name}>"


class ForwardedRequest:
    """``req`` in a realtime route run from HTTP: the HTTP flavour of a SocketRequest.

    ``data`` is the parsed body (JSON, form) or, without a body, the query; ``event`` the first
    route forwarded to; ``session``, ``headers``, ``params`` and ``query`` are the HTTP
    request's; ``http`` is that request itself (cookies, ip, method...). ``socket`` and
    ``handshake`` are None: there is no connection. Routes may add attributes, which the
    routes they forward to see.
    """

    def __init__(self, exchange: HTTPExchange, io: HTTPRequestIO) -> None:
        http = exchange.http
        self._exchange = exchange
        self.io = io
        self.http = http
        self.session: Any = http.session
        self.params: Params = http.params
        self.path = http.path
        self.method = http.method
        self.socket = None
        self.handshake = None
        #: the first route forwarded to (a socket request's ``event``)
        self.event: str | None = None

    @property
    def data(self) -> Any:
        return self._exchange.data

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.data,)

    @property
    def headers(self) -> Mapping[str, str]:
        return self.http.headers

    @property
    def query(self) -> dict[str, Any]:
        return self.http.query

    @property
    def cookies(self) -> dict[str, Any]:
        return self.http.cookies

    def __repr__(self) -> str:
        return f"<ForwardedRequest {self.method} {self.http.original_url} data={self.data!r}>"


__all__ = [
    "MAX_FORWARDED_BODY",
    "ForwardedRequest",
    "HTTPForwarding",
    "HTTPRequestIO",
    "NoSocketError",
]
