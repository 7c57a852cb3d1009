"""``app.io``: the express.io realtime API of an app (a placeholder until the realtime server).

``app.io`` exists on every app. Calling ``app.io()`` creates the realtime server; until the
realtime layer is available it raises ``NotImplementedError``. Every member used before
``app.io()`` raises the "call app.io() first" error, as express.io did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .application import Application


class AppIO:
    """The io object for the entire app: routing and broadcasting to realtime clients."""

    def __init__(self, app: Application) -> None:
        self.app = app

    def __call__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> Application:
        raise NotImplementedError("the realtime server is not available yet")

    def _not_started(self, name: str) -> NoReturn:
        raise RuntimeError(f"You must call app.io() before using app.io.{name}")

    def route(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("route")

    def broadcast(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("broadcast")

    def room(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("room")

    def set(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("set")

    def enable(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("enable")

    def disable(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("disable")

    def configure(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("configure")

    def use(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("use")

    def of(self, *args: Any, **kwargs: Any) -> Any:
        self._not_started("of")
