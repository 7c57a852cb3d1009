"""Layer 2: the Engine.IO v4 engine.

:class:`EngineServer` is an ASGI application serving Engine.IO sessions over HTTP
long-polling and websocket (with the upgrade between them); :class:`EngineSocket` is one
session. The protocol rules live in the sans-IO :mod:`expressio.engine.connection`; the
modules ``polling`` and ``websocket`` are the ASGI transports.
"""

from expressio.engine.connection import Connection
from expressio.engine.handshake import HandshakeRequest
from expressio.engine.reasons import DisconnectReason
from expressio.engine.server import EngineServer
from expressio.engine.socket import EngineSocket
from expressio.protocol.engineio import PreparedMessage

__all__ = [
    "Connection",
    "DisconnectReason",
    "EngineServer",
    "EngineSocket",
    "HandshakeRequest",
    "PreparedMessage",
]
