"""expressio: express.io for Python.

One app that serves Express-style HTTP routes and Socket.IO realtime routes,
shares one session between them, and forwards HTTP requests into realtime routes.
"""

from .application import Application, HandlerDidNotRespond, express
from .middleware import cookie_parser, json, multipart, static, urlencoded
from .request import HTTPError, Request
from .response import Response
from .routing import Router

__version__ = "0.1.0"

__all__ = [
    "Application",
    "HTTPError",
    "HandlerDidNotRespond",
    "Request",
    "Response",
    "Router",
    "__version__",
    "cookie_parser",
    "express",
    "json",
    "multipart",
    "static",
    "urlencoded",
]
