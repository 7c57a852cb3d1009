"""``route_forward()``: a REST mapping from HTTP onto realtime routes, as express.io's
``routeForward`` offered.

```python
app.io.route("users", {
    "list":   lambda req: req.io.respond(list(users.values())),
    "read":   lambda req: req.io.respond(users[req.params["id"]]),
    "create": create_user,
})
app.use("/api", expressio.route_forward())
```

Under the mount path, ``METHOD /resource`` and ``METHOD /resource/:id`` are forwarded to the
realtime route ``resource:action`` (``:id`` lands in ``req.params["id"]``), with the HTTP flavour
of the request (see :mod:`expressio.http.forwarding`):

=========================  ==========  ===========  ==========
request                    ``"angular"``  ``"rails"``  ``"backbone"``
=========================  ==========  ===========  ==========
``GET /users``             ``list``    ``index``    ``read``
``GET /users/:id``         ``read``    ``show``     ``read``
``POST /users``            ``create``  ``create``   ``create``
``PUT|PATCH /users/:id``   ``update``  ``update``   ``update``
``DELETE /users/:id``      ``delete``  ``destroy``  ``delete``
=========================  ==========  ===========  ==========

``"angular"`` (the default) and ``"backbone"`` are express.io's own configurations; ``"rails"``
uses Rails' action names. ``HEAD`` is mapped as ``GET``. Unlike express.io, a URL the mapping
does not cover (another method, a deeper path) or a resource without that route passes on
with ``next()``, so the rest of the app keeps working under the same path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..io.request_io import has_route
from .pathpattern import Params

if TYPE_CHECKING:
    from .request import Request
    from .response import Response
    from .routing import Next

#: action → (HTTP method, whether the URL carries an id: True, False, or None for either)
Config = Mapping[str, tuple[str, bool | None]]

CONFIGS: dict[str, Config] = {
    "angular": {
        "list": ("GET", False),
        "create": ("POST", False),
        "read": ("GET", True),
        "update": ("PUT", True),
        "delete": ("DELETE", True),
    },
    "backbone": {
        "create": ("POST", False),
        "read": ("GET", None),
        "update": ("PUT", True),
        "delete": ("DELETE", True),
    },
    "rails": {
        "index": ("GET", False),
        "create": ("POST", False),
        "show": ("GET", True),
        "update": ("PUT", True),
        "destroy": ("DELETE", True),
    },
}
CONFIGS["angularjs"] = CONFIGS["angular"]
CONFIGS["backbonejs"] = CONFIGS["backbone"]


class RouteForward:
    """The middleware :func:`route_forward` returns; ``table`` maps ``(method, has_id)`` to
    the action name."""

    __slots__ = ("namespace", "table")

    def __init__(self, config: Config, namespace: str) -> None:
        table: dict[tuple[str, bool], str] = {}
        for action, (method, has_id) in config.items():
            for with_id in (False, True) if has_id is None else (has_id,):
                table[(method.upper(), with_id)] = action
        for with_id in (False, True):
            # PATCH is a partial update: the PUT action takes it unless mapped on its own.
            if ("PUT", with_id) in table:
                table.setdefault(("PATCH", with_id), table[("PUT", with_id)])
        self.table = table
        self.namespace = namespace

    def action_for(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``("users:read", "42")`` for ``GET /users/42``; None when the URL is not mapped."""
        if method == "HEAD":
            method = "GET"
        parts = path.strip("/").split("/") if path.strip("/") else []
        if not 1 <= len(parts) <= 2 or not all(parts) or path.startswith("//"):
            return None
        resource = parts[0]
        item = parts[1] if len(parts) == 2 else None
        action = self.table.get((method, item is not None))
        if action is None:
            return None
        return f"{resource}:{action}", item

    async def __call__(self, req: Request, res: Response, next: Next) -> None:
        mapped = self.action_for(req.method, req.path)
        if mapped is None:
            next()
            return
        name, item = mapped
        io: Any = req.io
        if io is None:
            raise RuntimeError(
                "expressio.route_forward() needs the realtime routes: call app.io() first"
            )
        view = io.of(self.namespace) if self.namespace != "/" else io
        if not has_route(view, name):
            next()
            return
        if item is not None:
            req.params = Params({**req.params, "id": item})
        view.route(name)

    def __repr__(self) -> str:
        return f"<RouteForward {sorted(set(self.table.values()))} namespace={self.namespace}>"


def route_forward(config: str | Config = "angular", *, namespace: str = "/") -> RouteForward:
    """Middleware forwarding REST requests to ``resource:action`` realtime routes.

    ``config`` is ``"angular"`` (default), ``"backbone"``, ``"rails"``, or a mapping
    ``{action: (method, has_id)}`` such as ``{"search": ("GET", False)}`` (``has_id`` None:
    with or without an id); ``namespace`` is the
    realtime namespace whose routes are used. Mount it under a path:
    ``app.use("/api", expressio.route_forward())``."""
    if isinstance(config, str):
        try:
            config = CONFIGS[config]
        except KeyError:
            known = ", ".join(sorted(CONFIGS))
            raise ValueError(f"no route_forward config {config!r} (known: {known})") from None
    for action, spec in config.items():
        if (
            not isinstance(spec, tuple)
            or len(spec) != 2
            or not isinstance(spec[0], str)
            or spec[1] not in (True, False, None)
        ):
            raise TypeError(
                f"route_forward config entry {action!r} must be (method, has_id) with has_id "
                f"True, False or None, got {spec!r}"
            )
    return RouteForward(config, namespace)


__all__ = ["CONFIGS", "RouteForward", "route_forward"]
