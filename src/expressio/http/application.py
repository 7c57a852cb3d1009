"""The app: an Express router with settings, views, serving, and an ASGI entry point.

``app`` is a plain ASGI application (``http``, ``websocket`` and ``lifespan`` scopes), so
``uvicorn mymodule:app`` serves the same thing as ``app.listen()``.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jinja2 import Environment
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..io.appio import AppIO
from .forwarding import HTTPForwarding
from .request import HTTPError, Request, TrustFunction, compile_trust
from .response import TEXT, Response, _phrase
from .routing import NEXT, STALLED, Handler, HandlerSpec, PathSpec, Router

if TYPE_CHECKING:
    from ..engine import EngineServer

logger = logging.getLogger("expressio")

Hook = TypeVar("Hook", bound=Callable[[], Awaitable[None] | None])
#: ``hook(error)``: told of an exception of the app's code that nothing handled (``on_error``)
ErrorHook = Callable[[BaseException], object]
ErrorHookT = TypeVar("ErrorHookT", bound=ErrorHook)


class HandlerDidNotRespond(RuntimeError):
    """A handler returned without sending a response, returning a value or calling next()."""


def express() -> Application:
    """Create an app. Relative ``views`` and files are also looked up beside the caller's module."""
    caller = sys._getframe(1).f_globals.get("__file__")
    root = Path(caller).resolve().parent if caller else Path.cwd()
    return Application(root=root)


class Application(Router):
    """An Express app: routing (from ``Router``), settings, ``locals``, views and serving."""

    is_application = True

    def __init__(self, *, root: Path | None = None) -> None:
        super().__init__()
        self.root = root or Path.cwd()
        self.settings: dict[str, Any] = {
            "env": os.environ.get("EXPRESSIO_ENV", "development"),
            "views": None,
            "view engine": None,
            "trust proxy": False,
        }
        self.locals: dict[str, Any] = {"settings": self.settings}
        self.trust_function: TrustFunction = compile_trust(False)
        self.io = AppIO(self)
        self._forwarding: Callable[[Request], Any] | None = None
        self._mounts: list[tuple[str, str, ASGIApp]] = []
        self._startup: list[Callable[[], Awaitable[None] | None]] = []
        self._shutdown: list[Callable[[], Awaitable[None] | None]] = []
        #: Told of every exception of the app's code that nothing handled (see ``on_error``).
        self.error_hooks: list[ErrorHook] = []
        self._templates: dict[str, Environment] = {}
        self.tls: dict[str, Any] | None = None
        #: Log one INFO line per HTTP request and per realtime connection and disconnection
        #: (the ``expressio`` logger). None: on when ``app.listen()`` serves in development.
        self.log_requests: bool | None = None

    # -- settings ----------------------------------------------------------------------------

    def set(self, name: str, value: Any) -> Application:
        """Set a setting (``env``, ``views``, ``view engine``, ``trust proxy``, ``secret``...)."""
        self.settings[name] = value
        if name == "trust proxy":
            self.trust_function = compile_trust(value)
        elif name == "views":
            self._templates.clear()
        return self

    def get(self, path: PathSpec, *handlers: Handler) -> Any:
        """``app.get("/path", handler)`` routes; ``app.get("name")`` reads a setting.

        One string that starts with ``/`` or ``*`` (or a compiled regex) is a route decorator;
        any other single string is a setting name.
        """
        if not handlers and isinstance(path, str) and not path.startswith(("/", "*")):
            return self.settings.get(path)
        return super().get(path, *handlers)

    def enable(self, name: str) -> Application:
        return self.set(name, True)

    def disable(self, name: str) -> Application:
        return self.set(name, False)

    def enabled(self, name: str) -> bool:
        return bool(self.settings.get(name))

    def disabled(self, name: str) -> bool:
        return not self.settings.get(name)

    # -- views -------------------------------------------------------------------------------

    def render(self, template: str, context: dict[str, Any] | None = None) -> str:
        """Render a Jinja2 template from ``views`` with ``app.locals`` and ``context``."""
        engine = self.settings.get("view engine")
        name = template
        if engine and "." not in Path(template).name:
            name = f"{template}.{str(engine).lstrip('.')}"
        environment = self._template_environment()
        return environment.get_template(name).render({**self.locals, **(context or {})})

    def _template_environment(self) -> Environment:
        views = self.settings.get("views")
        key = repr(views)
        environment = self._templates.get(key)
        if environment is None:
            if views is None:
                # Default: ./views under the current directory, then beside the app's module.
                directories = [str(Path.cwd() / "views"), str(self.root / "views")]
            elif isinstance(views, str | os.PathLike):
                directories = [str(views)]
            else:
                directories = [str(item) for item in views]
            environment = Jinja2Templates(directory=directories).env
            self._templates[key] = environment
        return environment

    # -- serving -----------------------------------------------------------------------------

    def http(self) -> Application:
        """Serve plain HTTP when listened (the default)."""
        self.tls = None
        return self

    def https(self, options: dict[str, Any]) -> Application:
        """Serve HTTPS: ``options`` holds ``key`` and ``cert`` (file paths), optional
        ``passphrase`` and ``ca``."""
        missing = [name for name in ("key", "cert") if not options.get(name)]
        if missing:
            raise ValueError(f"app.https() needs {' and '.join(missing)} (file paths)")
        unknown = set(options) - {"key", "cert", "passphrase", "ca"}
        if unknown:
            raise ValueError(f"unknown app.https() options: {', '.join(sorted(unknown))}")
        self.tls = dict(options)
        return self

    def listen(self, port: int = 7076, host: str = "127.0.0.1", **options: Any) -> None:
        """Serve the app with uvicorn (HTTP or HTTPS as configured); blocks until stopped.
        ``workers=N`` serves it with N processes (see :mod:`expressio.http.workers`).

        In development (the ``env`` setting) the terminal shows one line per HTTP request
        and per realtime connection and disconnection (see ``log_requests``)."""
        from .serving import serve, show_info_logs

        if self.log_requests is None:
            self.log_requests = self.settings.get("env") == "development"
        if self.log_requests:
            show_info_logs()
        workers = options.pop("workers", 1)
        if workers != 1:
            from .workers import serve_workers

            serve_workers(self, host=host, port=port, workers=workers, tls=self.tls, **options)
            return
        serve(self, host=host, port=port, tls=self.tls, **options)

    @property
    def request_io_factory(self) -> Callable[[Request], Any] | None:
        """Builds ``req.io`` for HTTP → realtime forwarding, once ``app.io()`` was called."""
        if self._forwarding is None and self.io.started:
            self._forwarding = HTTPForwarding(self.io, self)
        return self._forwarding

    @request_io_factory.setter
    def request_io_factory(self, factory: Callable[[Request], Any] | None) -> None:
        self._forwarding = factory

    def mount_asgi(self, prefix: str, app: ASGIApp) -> None:
        """Hand every ``http`` and ``websocket`` request under ``prefix`` to ``app``, before
        routing (the realtime server's ``/socket.io``). ``root_path`` grows by ``prefix``."""
        prefix = "/" + prefix.strip("/")
        self._mounts = [mount for mount in self._mounts if mount[0] != prefix]
        self._mounts.append((prefix, prefix + "/", app))

    def direct_websocket_route(self, path: str) -> EngineServer | None:
        """The engine (``EngineServer``) a mount serves websockets at ``path`` with, or None:
        lets ``app.listen()`` carry those websockets without ASGI (``expressio.engine.direct``)."""
        for prefix, prefix_slash, target in self._mounts:
            if path == prefix or path.startswith(prefix_slash):
                from ..engine.direct import direct_engine_of

                return direct_engine_of(target, path)
        return None

    def on_startup(self, hook: Hook) -> Hook:
        """Run ``hook()`` (sync or async) when the server starts (ASGI lifespan)."""
        self._startup.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook()`` (sync or async) when the server stops (ASGI lifespan)."""
        self._shutdown.append(hook)
        return hook

    def on_error(self, hook: ErrorHookT) -> ErrorHookT:
        """Run ``hook(error)`` for each exception of the app's code that nothing handled, after
        it is logged: an HTTP handler or middleware that raised with no error middleware taking
        it (the client got a 500), a realtime route or ``connect``/``disconnect`` hook, handshake
        middleware that raised something other than a refusal, a server-side route.

        For tests and error reporting (``expressio.testing`` raises them in the test). The hook
        runs on the event loop and must not block; an exception it raises is logged and
        ignored. ``app.error_hooks`` is the list of hooks, to remove one."""
        self.error_hooks.append(hook)
        return hook

    def report_error(self, error: BaseException) -> None:
        """Tell the ``on_error`` hooks of ``error`` (already logged by whoever caught it)."""
        for hook in tuple(self.error_hooks):
            try:
                hook(error)
            except Exception:
                logger.exception("an on_error hook failed")

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            path: str = scope["path"]
            if self._mounts:
                for prefix, prefix_slash, target in self._mounts:
                    if path == prefix or path.startswith(prefix_slash):
                        child = dict(scope)
                        child["root_path"] = scope.get("root_path", "") + prefix
                        await target(child, receive, send)
                        return
            if kind == "http":
                if self.log_requests:
                    await self._handle_logged(scope, receive, send, path)
                else:
                    await self._handle_http(scope, receive, send, path)
            else:
                await _refuse_websocket(receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _handle_logged(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """``_handle_http``, then one line: ``GET /login?next=%2F 200 3.1 ms``."""
        started = time.perf_counter()
        status: int | str = "-"  # no response started (the client went away)

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._handle_http(scope, receive, send_noting_status, path)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            logger.info(
                "%s %s%s %s %.1f ms",
                scope["method"],
                scope["path"],
                "?" + query if query else "",
                status,
                (time.perf_counter() - started) * 1000,
            )

    async def _handle_http(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        root_path = scope.get("root_path")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        req = Request(scope, receive, self, path)
        res = Response(req, send)
        req.res = res
        try:
            outcome, value = await self.handle(req, res, None)
            if outcome == NEXT:
                if value is not None and value != "route":
                    self.error_response(value, req, res)
                elif not res.finished:
                    res.status_code = 404
                    res.set("Content-Type", TEXT)
                    res.end(f"Cannot {req.method} {req._full_path}")
            elif outcome == STALLED:
                spec: HandlerSpec = value
                self.error_response(
                    HandlerDidNotRespond(
                        f"handler {spec.name} for {req.method} {req._full_path} returned "
                        "without sending a response or calling next()"
                    ),
                    req,
                    res,
                )
            await res._finish()
        except Exception as exc:
            logger.exception("error while answering %s %s", req.method, req._full_path)
            if _unexpected(exc):
                self.report_error(exc)
            if not res.headers_sent:
                self.error_response(exc, req, res, logged=True)
                await res._finish()
        finally:
            if req._starlette is not None:
                await req._starlette.close()
            # req and res point at each other; without this every request would leave a
            # reference cycle for the garbage collector, which costs ~20% of throughput.
            req.res = None

    def error_response(
        self, err: Any, req: Request, res: Response, *, logged: bool = False
    ) -> None:
        """Decide the response for an error no error handler answered (Express's final handler).

        The status comes from the error's ``status``/``status_code`` (4xx/5xx), else 500.
        4xx errors and ``HTTPError`` show their message; other 5xx errors show only the status
        phrase, plus the traceback when ``env`` is ``"development"``. 5xx errors are logged
        with their traceback.
        """
        status = _status_of(err)
        if status >= 500 and not logged:
            if isinstance(err, HandlerDidNotRespond):
                logger.error("%s", err)
            elif isinstance(err, BaseException):
                logger.error(
                    "error while answering %s %s", req.method, req._full_path, exc_info=err
                )
            else:
                logger.error("error while answering %s %s: %r", req.method, req._full_path, err)
            if _unexpected(err):
                self.report_error(err)
        if res.headers_sent:
            return
        res._reset_for_error()
        res.status_code = status
        res.set("Content-Type", TEXT)
        if status < 500 or isinstance(err, HTTPError):
            # An HTTPError's message was written for the client; so are 4xx messages.
            message = getattr(err, "message", None) or str(err) or _phrase(status)
            res.end(message)
            return
        body = _phrase(status)
        if self.settings.get("env") == "development":
            if isinstance(err, BaseException) and err.__traceback__ is not None:
                body += "\n\n" + "".join(traceback.format_exception(err))
            else:
                body += f"\n\n{err}"
        res.end(body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self._startup:
                        await _call_hook(hook)
                except Exception:
                    logger.exception("a startup hook failed")
                    await send(
                        {"type": "lifespan.startup.failed", "message": traceback.format_exc()}
                    )
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    for hook in self._shutdown:
                        await _call_hook(hook)
                except Exception:
                    logger.exception("a shutdown hook failed")
                    await send(
                        {"type": "lifespan.shutdown.failed", "message": traceback.format_exc()}
                    )
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _call_hook(hook: Callable[[], Awaitable[None] | None]) -> None:
    outcome = hook()
    if inspect.isawaitable(outcome):
        await outcome


async def _refuse_websocket(receive: Receive, send: Send) -> None:
    # Closing before accepting makes the server answer the upgrade with 403.
    await receive()
    await send({"type": "websocket.close", "code": 1008})


def _unexpected(err: Any) -> bool:
    """An exception that chose no status of its own (``HTTPError(503)`` and the session
    store's outage did): a bug of the app rather than an answer, for the ``on_error`` hooks."""
    return isinstance(err, BaseException) and _status_of(err) == 500 and not any(
        isinstance(getattr(err, attribute, None), int) for attribute in ("status", "status_code")
    )


def _status_of(err: Any) -> int:
    for attribute in ("status", "status_code"):
        status = getattr(err, attribute, None)
        if isinstance(status, int) and 400 <= status < 600:
            return status
    return 500


__all__ = ["Application", "HTTPError", "HandlerDidNotRespond", "express"]
