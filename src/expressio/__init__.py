"""expressio: express.io for Python.

One app that serves Express-style HTTP routes and Socket.IO realtime routes,
shares one session between them, and forwards HTTP requests into realtime routes.
"""

from .application import Application, HandlerDidNotRespond, express
from .middleware import cookie_parser, json, multipart, static, urlencoded
from .request import HTTPError, Request
from .response import Response
from .routing import Router
from .sessions import (
    MemoryStore,
    RedisStore,
    Session,
    SessionDataError,
    SessionStore,
    SessionStoreUnavailable,
    session,
)

__version__ = "0.1.0"

__all__ = [
    "Application",
    "HTTPError",
    "HandlerDidNotRespond",
    "MemoryStore",
    "RedisStore",
    "Request",
    "Response",
    "Router",
    "Session",
    "SessionDataError",
    "SessionStore",
    "SessionStoreUnavailable",
    "__version__",
    "cookie_parser",
    "express",
    "json",
    "multipart",
    "session",
    "static",
    "urlencoded",
]
