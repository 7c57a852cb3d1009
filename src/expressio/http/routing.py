"""Express routing: a stack of layers run in order, each handler deciding to answer or pass on.

A handler is called as ``handler(req, res, next)`` (or with fewer parameters if it declares
fewer); an error handler declares four, ``(err, req, res, next)``, and only runs while an
error is being passed along. ``async def`` handlers run on the event loop; ``def`` handlers
run in a worker thread so a blocking one never stalls the loop.

``next`` records the handler's wish; the chain continues when the handler's call completes
(its function returned, or its coroutine finished). So a handler "finishes without
answering" when its call completes with no response decided, ``next`` not called and
``None`` returned: that request gets a logged error and a 500 instead of hanging.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from ..io.routes import code_names, is_async_callable
from .pathpattern import Params, PathPattern

if TYPE_CHECKING:
    from ..sessions import SessionManager
    from .request import Request
    from .response import Response

Handler = Callable[..., Any]
PathSpec = str | re.Pattern[str]
F = TypeVar("F", bound=Handler)

# What running a handler (or a whole stack) came to.
NEXT = 0  # passed on; the value is the error being carried, or None
DONE = 1  # a response was decided
STALLED = 2  # returned without answering or calling next; the value is the HandlerSpec

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


class Next:
    """The ``next`` handed to a handler: ``next()``, ``next(error)``, ``next("route")``."""

    __slots__ = ("called", "value")

    def __init__(self) -> None:
        self.called = False
        self.value: Any = None

    def __call__(self, value: Any = None) -> None:
        self.called = True
        self.value = value


class HandlerSpec:
    """A handler with what was learnt about it once, at registration."""

    __slots__ = ("fn", "is_async", "is_error", "mentions_session", "name", "positional")

    def __init__(self, fn: Handler) -> None:
        if not callable(fn):
            raise TypeError(f"a handler must be callable, got {fn!r}")
        self.fn = fn
        self.is_async = is_async_callable(fn)
        count = _positional_count(fn)
        self.is_error = count == 4
        self.positional = 4 if self.is_error else min(count, 3)
        self.name = getattr(fn, "__qualname__", None) or repr(fn)
        #: its code reads ``req.session``: a pending session is loaded before it runs
        self.mentions_session = "session" in code_names(fn)

    async def invoke(self, req: Request, res: Response, err: Any) -> tuple[int, Any]:
        """Run the handler once and say what came of it."""
        step = Next()
        args: tuple[Any, ...] = (
            (err, req, res, step) if self.is_error else (req, res, step)[: self.positional]
        )
        try:
            if self.mentions_session and req.session_pending:
                await req.load_session()
            if self.is_async:
                result = await self.fn(*args)
            else:
                result = await run_in_threadpool(self.fn, *args)
        except Exception as exc:
            return NEXT, exc
        if step.called:
            return NEXT, step.value
        if result is not None and result is not res:  # `return res.send(...)` sent already
            try:
                res._send_returned(result)
            except Exception as exc:
                return NEXT, exc
            return DONE, None
        if res._state:
            return DONE, None
        return STALLED, self


def _positional_count(fn: Handler) -> int:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return 3
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return 3
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


class Route:
    """Handlers for one path, per method (``app.route("/book").get(a).post(b)``)."""

    def __init__(self, pattern: PathPattern) -> None:
        self.pattern = pattern
        self.entries: list[tuple[str | None, HandlerSpec]] = []
        self.methods: set[str] = set()
        self.any_method = False
        self.has_error_handlers = False

    def add(self, method: str | None, *handlers: Handler) -> Route:
        if not handlers:
            raise TypeError("a route needs at least one handler")
        for handler in handlers:
            spec = HandlerSpec(handler)
            self.entries.append((method, spec))
            self.has_error_handlers = self.has_error_handlers or spec.is_error
        if method is None:
            self.any_method = True
        else:
            self.methods.add(method)
        return self

    def handles(self, method: str) -> bool:
        if self.any_method or method in self.methods:
            return True
        return method == "HEAD" and "GET" in self.methods

    def all(self, *handlers: Handler) -> Route:
        return self.add(None, *handlers)

    def get(self, *handlers: Handler) -> Route:
        return self.add("GET", *handlers)

    def post(self, *handlers: Handler) -> Route:
        return self.add("POST", *handlers)

    def put(self, *handlers: Handler) -> Route:
        return self.add("PUT", *handlers)

    def patch(self, *handlers: Handler) -> Route:
        return self.add("PATCH", *handlers)

    def delete(self, *handlers: Handler) -> Route:
        return self.add("DELETE", *handlers)

    async def dispatch(self, req: Request, res: Response, err: Any) -> tuple[int, Any]:
        method = req.method
        explicit_head = method == "HEAD" and "HEAD" in self.methods
        for entry_method, spec in self.entries:
            if (
                entry_method is not None
                and entry_method != method
                and not (method == "HEAD" and entry_method == "GET" and not explicit_head)
            ):
                continue
            if (err is None) == spec.is_error:
                continue
            outcome, value = await spec.invoke(req, res, err)
            if outcome != NEXT:
                return outcome, value
            if value == "route":
                return NEXT, None
            if value == "router":
                return NEXT, "router"
            err = value
        return NEXT, err


class Layer:
    """One entry of a router's stack: a route, a middleware function, or a mounted router."""

    __slots__ = ("handler", "mounted", "pattern", "route")

    def __init__(
        self,
        pattern: PathPattern,
        *,
        route: Route | None = None,
        handler: HandlerSpec | None = None,
        mounted: Router | None = None,
    ) -> None:
        self.pattern = pattern
        self.route = route
        self.handler = handler
        self.mounted = mounted


class Router:
    """An Express router: ``get/post/put/patch/delete/all``, ``use`` and ``route``.

    Registration works as a call (``router.get("/", handler)``, returns the router for
    chaining) and as a decorator (``@router.get("/")``, returns the function unchanged).
    """

    is_application = False

    def __init__(
        self, *, case_sensitive: bool = False, strict: bool = False, merge_params: bool = False
    ) -> None:
        self.stack: list[Layer] = []
        #: the sessions of ``expressio.session(...)`` once it is used here (``app.use``)
        self.session_manager: SessionManager | None = None
        self.case_sensitive = case_sensitive
        self.strict = strict
        self.merge_params = merge_params

    # -- registration ------------------------------------------------------------------------

    def _pattern(self, path: PathSpec, *, end: bool) -> PathPattern:
        if not isinstance(path, str | re.Pattern):
            raise TypeError(f"a path must be a string or a compiled regex, got {path!r}")
        return PathPattern(path, end=end, case_sensitive=self.case_sensitive, strict=self.strict)

    def route(self, path: PathSpec) -> Route:
        """A route for ``path`` to which handlers are added per method, chained."""
        route = Route(self._pattern(path, end=True))
        self.stack.append(Layer(route.pattern, route=route))
        return route

    def _register(self, method: str | None, path: PathSpec, handlers: tuple[Handler, ...]) -> Any:
        if handlers:
            self.route(path).add(method, *handlers)
            return self

        def decorator(handler: F) -> F:
            self.route(path).add(method, handler)
            return handler

        return decorator

    def get(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("GET", path, handlers)

    def post(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("POST", path, handlers)

    def put(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("PUT", path, handlers)

    def patch(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("PATCH", path, handlers)

    def delete(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("DELETE", path, handlers)

    def head(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("HEAD", path, handlers)

    def options(self, path: PathSpec, *handlers: Handler) -> Any:
        return self._register("OPTIONS", path, handlers)

    def all(self, path: PathSpec, *handlers: Handler) -> Any:
        """A route for every method."""
        return self._register(None, path, handlers)

    def use(self, *args: Any) -> Any:
        """Add middleware, optionally under a mount path: ``use([path,] *middleware)``.

        Middleware is ``(req, res, next)``, an error handler ``(err, req, res, next)``, or a
        ``Router``/app mounted at the path (which it then sees stripped from ``req.path``).
        ``use(path)`` alone is a decorator; ``use(fn)`` returns ``fn`` so ``@app.use`` works.
        """
        path: PathSpec = "/"
        items = list(args)
        if items and isinstance(items[0], str | re.Pattern):
            path = items.pop(0)
        if not items:
            if not args:
                raise TypeError("use() needs middleware")

            def decorator(handler: F) -> F:
                self.use(path, handler)
                return handler

            return decorator
        pattern = self._pattern(path, end=False)
        for item in items:
            if isinstance(item, Router):
                self.stack.append(Layer(pattern, mounted=item))
            else:
                self.stack.append(Layer(pattern, handler=HandlerSpec(item)))
                on_use = getattr(item, "on_use", None)
                if callable(on_use):
                    on_use(self)
        if len(args) == 1 and not isinstance(items[0], Router):
            return items[0]
        return self

    # -- dispatch ----------------------------------------------------------------------------

    async def handle(self, req: Request, res: Response, err: Any = None) -> tuple[int, Any]:
        """Run the stack for ``req``; returns ``(DONE, None)``, ``(STALLED, spec)`` or
        ``(NEXT, error-or-None)`` when the request falls through."""
        method = req.method
        parent_params = req.params
        for layer in self.stack:
            found = layer.pattern.match(req.path)
            if found is None:
                continue
            params = found[0]
            if self.merge_params and parent_params:
                params = Params({**parent_params, **params})
            route = layer.route
            if route is not None:
                if not route.handles(method):
                    continue
                if err is not None and not route.has_error_handlers:
                    continue
                req.params = params
                outcome, value = await route.dispatch(req, res, err)
            else:
                handler = layer.handler
                if handler is not None and (err is None) == handler.is_error:
                    continue
                req.params = params
                saved = req._enter_mount(found[1]) if found[1] else None
                try:
                    if handler is not None:
                        outcome, value = await handler.invoke(req, res, err)
                    else:
                        outcome, value = await self._enter(layer, req, res, err)
                finally:
                    if saved is not None:
                        req._leave_mount(saved)
            if outcome != NEXT:
                return outcome, value
            if value == "router":
                return NEXT, None
            err = None if value == "route" else value
        return NEXT, err

    @staticmethod
    async def _enter(layer: Layer, req: Request, res: Response, err: Any) -> tuple[int, Any]:
        mounted = layer.mounted
        assert mounted is not None
        if not mounted.is_application:
            return await mounted.handle(req, res, err)
        # A mounted app answers with its own settings (views, env...) while it runs.
        outer = req.app
        req.app = mounted  # type: ignore[assignment]
        try:
            return await mounted.handle(req, res, err)
        finally:
            req.app = outer
