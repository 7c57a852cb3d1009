"""expressio: express.io for Python.

One app that serves Express-style HTTP routes and Socket.IO realtime routes,
shares one session between them, and forwards HTTP requests into realtime routes.
"""

from .appio import AppIO
from .application import Application, HandlerDidNotRespond, express
from .http_forwarding import ForwardedRequest, HTTPRequestIO, NoSocketError
from .io_loop import Pending
from .middleware import cookie_parser, json, multipart, static, urlencoded
from .request import HTTPError, Request
from .request_io import RequestIO
from .response import Response, ResponseAlreadySent
from .route_forward import route_forward
from .routing import Router
from .scaleout import Emitter, RedisAdapter
from .sessions import (
    MemoryStore,
    RedisStore,
    Session,
    SessionDataError,
    SessionStore,
    SessionStoreUnavailable,
    session,
)
from .socket_request import HandshakeData, SocketRequest
from .workers import WorkerConfigError

__version__ = "0.1.0"

__all__ = [
    "AppIO",
    "Application",
    "Emitter",
    "ForwardedRequest",
    "HTTPError",
    "HTTPRequestIO",
    "HandlerDidNotRespond",
    "HandshakeData",
    "MemoryStore",
    "NoSocketError",
    "Pending",
    "RedisAdapter",
    "RedisStore",
    "Request",
    "RequestIO",
    "Response",
    "ResponseAlreadySent",
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
