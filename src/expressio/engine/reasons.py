"""Why a session or a socket ended: one type for every disconnect reason.

The values are socket.io 4's server-side strings (what a Node ``socket.on("disconnect",
(reason) => ...)`` handler receives), plus ``"connect timeout"``, expressio's reason for a
client that joined no namespace in time. Members are ``str``: a handler may compare the reason
with a plain string, print it or send it as is.

Example::

    from expressio.engine import DisconnectReason

    def on_disconnect(socket: EngineSocket, reason: str) -> None:
        if reason == DisconnectReason.PING_TIMEOUT:  # or: reason == "ping timeout"
            ...
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DisconnectReason"]


class DisconnectReason(StrEnum):
    # The engine's: the connection itself ended.
    TRANSPORT_CLOSE = "transport close"  # the client went away or sent a close packet
    TRANSPORT_ERROR = "transport error"  # over max_payload, a second GET/POST, send buffer full
    PING_TIMEOUT = "ping timeout"  # no pong within ping_timeout
    PARSE_ERROR = "parse error"  # an undecodable packet
    FORCED_CLOSE = "forced close"  # the server closed the session (or a callback raised)
    SERVER_SHUTTING_DOWN = "server shutting down"
    # The realtime layer's: one namespace (or the whole connection) was left.
    CLIENT_NAMESPACE_DISCONNECT = "client namespace disconnect"
    SERVER_NAMESPACE_DISCONNECT = "server namespace disconnect"
    CONNECT_TIMEOUT = "connect timeout"
