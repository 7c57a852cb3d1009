"""Serving an app with uvicorn (uvloop + httptools), over HTTP or HTTPS.

``build_config`` is separate from ``serve`` so tests and tools can run the same
configuration in their own ``uvicorn.Server`` (for instance in a thread).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.logging import DefaultFormatter

from ..engine.direct import DirectWebSocketProtocol
from .connection_guard import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionLimits,
    guarded,
)

# Keyword options of app.listen() that are ours rather than uvicorn's.
_TLS_KEYS = {
    "key": "ssl_keyfile",
    "cert": "ssl_certfile",
    "passphrase": "ssl_keyfile_password",
    "ca": "ssl_ca_certs",
}


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def build_config(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 7076,
    tls: dict[str, Any] | None = None,
    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
    max_connections: int | None = DEFAULT_MAX_CONNECTIONS,
    **options: Any,
) -> uvicorn.Config:
    """A uvicorn configuration for ``app``; ``tls`` is ``app.https()``'s options.

    ``header_timeout`` (seconds a client has to send a whole request head, else 408 and
    closed) and ``max_connections`` (open at once in this process, websockets included; one
    more gets a 503) are :mod:`expressio.http.connection_guard`'s; ``None`` turns one off.
    Other keyword options go to ``uvicorn.Config`` as they are (``log_level``,
    ``access_log``, ``ws``...; an ``http`` protocol given there replaces the guarded one).
    uvloop and httptools are used when installed, and websockets of the app's engines take
    the direct path (``expressio.engine.direct``).
    """
    limits = ConnectionLimits(header_timeout=header_timeout, max_connections=max_connections)
    settings: dict[str, Any] = {
        "loop": "uvloop" if _available("uvloop") else "asyncio",
        # uvicorn's HTTP protocol with a deadline for request heads and a connection cap.
        "http": guarded("httptools" if _available("httptools") else "h11", limits),
        "access_log": False,
        "log_level": "info",
        "lifespan": "on",
        # Proxies are the app's business ("trust proxy" setting, as in Express): uvicorn must
        # not rewrite the client address and scheme from X-Forwarded-* on its own.
        "proxy_headers": False,
        # Engine websockets skip ASGI (expressio.engine.direct); any other websocket is
        # handed to uvicorn's usual protocol. ``ws="auto"`` opts out.
        "ws": DirectWebSocketProtocol,
    }
    settings.update(options)
    for ours, theirs in _TLS_KEYS.items():
        if tls and tls.get(ours) is not None:
            settings[theirs] = str(tls[ours])
    return uvicorn.Config(app, host=host, port=port, **settings)


def show_info_logs() -> None:
    """Print the ``expressio`` logger's INFO lines to the terminal, formatted as uvicorn's own,
    unless logging is configured already: a handler on the root or ``expressio`` logger, or a
    level given to ``expressio`` (the realtime ``log level`` setting), is left as it is."""
    framework = logging.getLogger("expressio")
    if framework.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    framework.addHandler(handler)
    if framework.level == logging.NOTSET:
        framework.setLevel(logging.INFO)


def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 7076,
    tls: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` in this process until interrupted (blocking). Several processes sharing
    the port: :func:`expressio.http.workers.serve_workers`."""
    uvicorn.Server(build_config(app, host=host, port=port, tls=tls, **options)).run()
