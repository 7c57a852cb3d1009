"""Whether a websocket may join the engine, and as what: one decision for every transport.

Both websocket transports (the ASGI one in ``websocket.py`` and the direct asyncio protocol in
``direct.py``) describe the opening request as an ASGI-style scope and ask
:func:`admit_websocket`, so the origin policy, the query checks and the rules for a ``sid``
are written once. The transports only differ in how they answer.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.datastructures import Headers

from expressio.engine.handshake import (
    FORBIDDEN,
    UNKNOWN_SID,
    EngineError,
    HandshakeRequest,
    parse_query,
)
from expressio.engine.socket import EngineSocket

if TYPE_CHECKING:
    from expressio.engine.server import EngineServer

__all__ = ["Admission", "admit_websocket", "open_websocket_session"]


class Admission(NamedTuple):
    """What to do with a websocket asking to join the engine.

    Exactly one case holds: ``error`` (refuse with that HTTP answer, before the handshake),
    ``query`` (a new session: accept, then :func:`open_websocket_session`), ``probing`` (accept;
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


def open_websocket_session(
    server: EngineServer, scope: MutableMapping[str, Any], query: dict[str, str]
) -> tuple[EngineSocket, str]:
    """Register a new websocket session; returns it and the open packet to send first.

    The caller sends the open packet, then calls ``server.connected(socket)``.
    """
    socket = server.open_session("websocket", HandshakeRequest.from_scope(scope, query))
    return socket, server.open_packet(socket)
