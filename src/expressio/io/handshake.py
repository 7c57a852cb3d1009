"""The handshake as express.io routes see it, and handshake middleware.

``app.io.use(fn)`` registers middleware that runs once per connection, before it is accepted:
``fn(handshake, next)`` (express.io's form) calls ``next()`` to accept or ``next(error)`` to
refuse; ``fn(handshake)`` accepts by returning and refuses by raising
``ConnectionRefusedError("reason")``. socket.io 0.9's ``authorization`` setting,
``fn(handshake, callback)``, runs first. A ``def`` middleware runs in a worker thread (it
typically looks a user up), an ``async def`` one on the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .routes import call_handler

if TYPE_CHECKING:
    from ..realtime import Handshake, Socket

logger = logging.getLogger("expressio.io")

HandshakeMiddleware = Callable[..., Any]


class HandshakeData(MutableMapping[str, Any]):
    """The connection's handshake, readable as attributes and as a mapping.

    The fields (``headers``, ``address``, ``time``, ``query``, ``url``, ``secure``, ``issued``,
    ``auth``) are fixed; handshake middleware may add its own keys (``handshake["user"] = u``),
    as socket.io 0.9's authorization functions did, and routes read them later from
    ``req.handshake``.

    ``socket_data`` (an attribute, not a key) is the connecting client's ``req.socket.data``
    dict, so that middleware can leave per-connection values there (socket.io's
    ``socket.data``).
    """

    __slots__ = ("_base", "_extra", "_socket")

    def __init__(self, base: Handshake, socket: Socket | None = None) -> None:
        self._base = base
        self._extra: dict[str, Any] = {}
        self._socket = socket

    @property
    def socket_data(self) -> dict[str, Any]:
        """The connecting client's ``req.socket.data`` (the same dict)."""
        socket = self._socket
        if socket is None:
            raise AttributeError("this handshake belongs to no socket")
        return socket.data

    def __getitem__(self, key: str) -> Any:
        if key in self._extra:
            return self._extra[key]
        return self._base[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._base:
            raise KeyError(f"handshake field {key!r} is read-only")
        self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        del self._extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        yield from self._extra

    def __len__(self) -> int:
        return len(self._base) + len(self._extra)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in HandshakeData.__slots__:
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __repr__(self) -> str:
        return f"<HandshakeData {dict(self)!r}>"


async def run_middleware(
    middlewares: tuple[tuple[HandshakeMiddleware, bool], ...],
    authorization: HandshakeMiddleware | None,
    handshake: HandshakeData,
    timeout: float,
) -> None:
    """Run 0.9's ``authorization`` then each middleware ``(fn, takes_next)`` in order; the
    first refusal raises ``ConnectionRefusedError``. ``timeout``: seconds a callback-style
    middleware has to call ``next``."""
    if authorization is not None:
        await _run_with_callback(authorization, handshake, timeout, legacy=True)
    for middleware, takes_next in middlewares:
        if takes_next:
            await _run_with_callback(middleware, handshake, timeout, legacy=False)
        else:
            await call_handler(middleware, handshake)




def takes_next(function: Callable[..., Any]) -> bool:
    """Does ``function`` take ``(handshake, next)`` rather than ``(handshake)``?"""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        parameter
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    varargs = any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters)
    return len(positional) >= 2 or varargs


async def _run_with_callback(
    function: Callable[..., Any], handshake: HandshakeData, timeout: float, *, legacy: bool
) -> None:
    """Run ``fn(handshake, next)`` (or 0.9's ``authorization(handshake, callback)``) and wait
    for its verdict; ``ConnectionRefusedError`` when it refuses or never answers."""
    loop = asyncio.get_running_loop()
    verdict: asyncio.Future[BaseException | None] = loop.create_future()

    def decide(outcome: BaseException | None) -> None:
        if not verdict.done():
            verdict.set_result(outcome)

    def callback(*answer: Any) -> None:
        error = answer[0] if answer else None
        refusal: BaseException | None = None
        if error:
            refusal = _refusal(error)
        elif legacy and not (len(answer) > 1 and answer[1]):
            refusal = ConnectionRefusedError("not authorized")
        loop.call_soon_threadsafe(decide, refusal)

    await call_handler(function, handshake, callback)
    try:
        outcome = await asyncio.wait_for(verdict, timeout)
    except TimeoutError:
        name = getattr(function, "__qualname__", repr(function))
        logger.error("handshake middleware %s never called next() within %s s", name, timeout)
        raise ConnectionRefusedError("Handshake middleware did not answer") from None
    if outcome is not None:
        raise outcome


def _refusal(error: Any) -> BaseException:
    if isinstance(error, ConnectionRefusedError):
        return error
    message = str(error) if not isinstance(error, BaseException) else str(error) or type(
        error
    ).__name__
    return ConnectionRefusedError(message)
