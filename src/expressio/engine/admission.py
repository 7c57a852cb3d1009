"""Whether a request may join the engine, and as what: one decision for every transport.

Both websocket transports (the ASGI one in ``websocket.py`` and the direct asyncio protocol in
``direct.py``) describe the opening request as an ASGI-style scope and ask
:func:`admit_websocket`, so the origin policy, the query checks and the rules for a ``sid``
are written once. The transports only differ in how they answer.

A request that would open a new session (a polling handshake, or a websocket without a
``sid``) then asks :func:`admit_new_session`: the ``max_clients`` bound, then the
application's ``allow_request``. Its answer is immediate unless ``allow_request`` is a
coroutine function; the transports await it then (the direct one without blocking its reads).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, MutableMapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias

from starlette.datastructures import Headers

from expressio.engine.handshake import (
    FORBIDDEN,
    REQUEST_REFUSED,
    TOO_MANY_CLIENTS,
    UNKNOWN_SID,
    EngineError,
    HandshakeRequest,
    parse_query,
)
from expressio.engine.socket import EngineSocket

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = [
    "ALLOW_REQUEST_TIMEOUT",
    "Admission",
    "Verdict",
    "admit_new_session",
    "admit_websocket",
    "open_websocket_session",
]

logger = logging.getLogger("expressio.engine")

#: Seconds an ``async def`` allow_request may take; past them the handshake is refused.
ALLOW_REQUEST_TIMEOUT: Final = 10.0

#: ``None``: open the session; an ``EngineError``: refuse with it; an awaitable: either, later.
Verdict: TypeAlias = "EngineError | Awaitable[EngineError | None] | None"


class Admission(NamedTuple):
    """What to do with a websocket asking to join the engine.

    Exactly one case holds: ``error`` (refuse with that HTTP answer, before the handshake),
    ``query`` (a new session: :func:`admit_new_session`, then accept and
    :func:`open_websocket_session`), ``probing`` (accept;
    the websocket probes to take over that polling session, whose probe has started), or
    ``duplicate`` (accept and close at once: the session already has or is getting a
    websocket, and the protocol says to close only the newcomer).
    """

    error: EngineError | None = None
    query: dict[str, str] | None = None
    probing: EngineSocket | None = None
    duplicate: bool = False


_DUPLICATE = Admission(duplicate=True)


def admit_websocket(server: EngineServer, scope: MutableMapping[str, Any]) -> Admission:
    """Check a websocket's opening request against ``server``'s policy and sessions."""
    headers = Headers(scope=scope)
    if not server.origin_policy.allows(headers.get("origin"), scope, headers):
        return Admission(error=FORBIDDEN)
    query = parse_query(scope)
    error = server.check_query(query, "websocket")
    if error is not None:
        return Admission(error=error)
    sid = query.get("sid")
    if sid is None:
        return Admission(query=query)
    socket = server.sockets.get(sid)
    if socket is None:
        return Admission(error=UNKNOWN_SID)
    if not server.allow_upgrades or not socket.start_probe():
        return _DUPLICATE
    return Admission(probing=socket)


def admit_new_session(server: EngineServer, request: HandshakeRequest) -> Verdict:
    """May ``request`` open a session? ``max_clients``, then ``allow_request``."""
    if len(server.sockets) >= server.max_clients:
        return TOO_MANY_CLIENTS
    gate = server.allow_request
    if gate is None:
        return None
    try:
        answer = gate(request)
    except Exception:
        _log_gate_failure(request)
        return REQUEST_REFUSED
    if inspect.isawaitable(answer):
        return _admit_later(server, request, answer)
    return None if answer else REQUEST_REFUSED


async def _admit_later(
    server: EngineServer, request: HandshakeRequest, answer: Awaitable[bool]
) -> EngineError | None:
    try:
        async with asyncio.timeout(ALLOW_REQUEST_TIMEOUT):
            allowed = await answer
    except TimeoutError:
        logger.error(
            "allow_request did not answer within %s s; refused the handshake from %s",
            ALLOW_REQUEST_TIMEOUT,
            request.address or "an unknown address",
        )
        return REQUEST_REFUSED
    except Exception:
        _log_gate_failure(request)
        return REQUEST_REFUSED
    if not allowed:
        return REQUEST_REFUSED
    # Sessions may have opened while the answer was awaited.
    return TOO_MANY_CLIENTS if len(server.sockets) >= server.max_clients else None


def _log_gate_failure(request: HandshakeRequest) -> None:
    # The client only learns it was refused; the traceback is for the server's log.
    logger.exception(
        "allow_request raised; refused the handshake from %s",
        request.address or "an unknown address",
    )


def open_websocket_session(
    server: EngineServer, request: HandshakeRequest
) -> tuple[EngineSocket, str]:
    """Register a new websocket session; returns it and the open packet to send first.

    The caller has asked :func:`admit_new_session`; it sends the open packet, then calls
    ``server.connected(socket)``.
    """
    socket = server.open_session("websocket", request)
    return socket, server.open_packet(socket)
