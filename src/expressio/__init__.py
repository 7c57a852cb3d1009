"""expressio: express.io for Python.

One app that serves Express-style HTTP routes and Socket.IO realtime routes,
shares one session between them, and forwards HTTP requests into realtime routes.
"""

from .http.application import Application, HandlerDidNotRespond, express
from .http.forwarding import ForwardedRequest
from .http.middleware import cookie_parser, json, multipart, static, urlencoded
from .http.request import HTTPError, Request
from .http.response import Response, ResponseAlreadySent
from .http.route_forward import route_forward
from .http.routing import Router
from .http.session_middleware import session
from .http.workers import WorkerConfigError
from .io.appio import AppIO
from .io.handshake import HandshakeData
from .io.loop_bridge import Pending
from .io.request_io import NoSocketError, RequestIO
from .io.socket_request import SocketRequest
from .io.targets import FetchSocketsLimitError
from .realtime import RoomLimitError
from .scaleout import Emitter, RedisAdapter, RedisStreamsAdapter
from .sessions import (
    MemoryStore,
    RedisStore,
    Session,
    SessionDataError,
    SessionStore,
    SessionStoreUnavailable,
)

__version__ = "0.1.0"

__all__ = [
    "AppIO",
    "Application",
    "Emitter",
    "FetchSocketsLimitError",
    "ForwardedRequest",
    "HTTPError",
    "HandlerDidNotRespond",
    "HandshakeData",
    "MemoryStore",
    "NoSocketError",
    "Pending",
    "RedisAdapter",
    "RedisStore",
    "RedisStreamsAdapter",
    "Request",
    "RequestIO",
    "Response",
    "ResponseAlreadySent",
    "RoomLimitError",
    "Router",
    "Session",
    "SessionDataError",
    "SessionStore",
    "SessionStoreUnavailable",
    "SocketRequest",
    "WorkerConfigError",
    "__version__",
    "cookie_parser",
    "express",
    "json",
    "multipart",
    "route_forward",
    "session",
    "static",
    "urlencoded",
]
