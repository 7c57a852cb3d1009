"""Calling application code from the loop: sync functions run inline, awaitables as tasks.

Layers 1-3 run on the event loop's thread and must never block or die because of a handler.
Every call here logs an exception with its traceback (logger ``expressio.realtime``) and
reports it through ``on_error``; nothing propagates into the server.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeGuard

from .acks import Ack

if TYPE_CHECKING:
    from .socket import Socket

logger = logging.getLogger("expressio.realtime")

# Strong references: the loop keeps only weak ones to tasks, and a handler task collected
# mid-flight would vanish without a trace.
_running: set[asyncio.Future[Any]] = set()


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """``inspect.isawaitable``, answering fast for plain values and coroutines."""
    if value is None:
        return False
    kind = type(value)
    if kind is CoroutineType:
        return True
    if kind in _PLAIN_TYPES:
        return False
    return inspect.isawaitable(value)


_PLAIN_TYPES = frozenset({tuple, list, dict, str, bytes, int, float, bool})


def call_event_handler(
    handler: Callable[..., Any],
    args: list[Any],
    socket: Socket,
    ack_id: int | None,
    event: str,
) -> None:
    """The event path: ``handler(*args)``, its result answering ack ``ack_id`` if the client
    asked for one (``call_user_code`` specialised: see :class:`Namespace`).

    Events are the hot path (one per ack round trip), so this avoids building closures,
    description strings and even the :class:`Ack` unless they are needed.
    """
    if ack_id is None:
        call_user_code(handler, tuple(args), description=f"handler of {event!r}")
        return
    try:
        result = handler(*args)
    except Exception:
        logger.exception("error in handler of %r", event)
        Ack(socket, ack_id).fail()
        return
    if result is None or type(result) is tuple:
        # What a sync handler returns most (nothing, or a tuple), answered at once: the
        # handler never saw an Ack, so nothing can have answered it before.
        try:
            socket._send_ack(ack_id, result or ())
        except Exception:
            logger.exception("error handling the result of the handler of %r", event)
            Ack(socket, ack_id).fail()
        return
    ack = Ack(socket, ack_id)
    if is_awaitable(result):
        call_user_code(
            lambda: result,
            (),
            description=f"handler of {event!r}",
            on_result=ack.answer_with,
            on_error=ack.fail,
        )
        return
    try:
        ack.answer_with(result)
    except Exception:
        logger.exception("error handling the result of the handler of %r", event)
        ack.fail()


def call_user_code(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    description: str,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[], None] | None = None,
) -> None:
    """Call ``function(*args)``; if it returns an awaitable, finish it in a task.

    ``on_result`` receives the return value (or the awaited result). ``on_error`` runs after
    the exception is logged. Neither runs when the task is cancelled.
    """
    try:
        result = function(*args)
    except Exception:
        logger.exception("error in %s", description)
        _report(on_error, description)
        return
    if is_awaitable(result):
        task = asyncio.ensure_future(_finish(result, description, on_result, on_error))
        _running.add(task)
        task.add_done_callback(_running.discard)
        return
    _deliver(result, description, on_result, on_error)


async def _finish(
    awaitable: Awaitable[Any],
    description: str,
    on_result: Callable[[Any], None] | None,
    on_error: Callable[[], None] | None,
) -> None:
    try:
        result = await awaitable
    except Exception:
        logger.exception("error in %s", description)
        _report(on_error, description)
        return
    _deliver(result, description, on_result, on_error)


def _deliver(
    result: Any,
    description: str,
    on_result: Callable[[Any], None] | None,
    on_error: Callable[[], None] | None,
) -> None:
    if on_result is None:
        return
    try:
        on_result(result)
    except Exception:
        # e.g. a return value JSON cannot carry: the handler's fault, reported like one
        logger.exception("error handling the result of %s", description)
        _report(on_error, description)


def _report(on_error: Callable[[], None] | None, description: str) -> None:
    if on_error is None:
        return
    try:
        on_error()
    except Exception:
        logger.exception("error reporting a failure of %s", description)


def running_tasks() -> int:
    """How many handler tasks are in flight (for diagnostics and tests)."""
    return len(_running)
