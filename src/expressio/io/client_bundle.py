"""``/socket.io/socket.io.js``: the official browser client, from npm or ``expressio client``.

No copy of the client ships with expressio. The bundle is looked up in the ``browser client
path`` setting (a ``dist`` directory, or the ``socket.io.js`` file itself), else in
``node_modules/socket.io-client/dist/`` in the app's directory, the current directory, or any
parent of either, else where ``expressio client install`` puts it (``$EXPRESSIO_CLIENT_DIR``,
or ``~/.local/share/expressio/socket.io-client-<version>/dist``: see :mod:`.client_install`).
When it is missing the answer is a 404 that says how to install it.

Settings (socket.io 0.9's names): ``browser client`` (serve it at all), ``browser client
minification`` (``socket.io.js`` answers with ``socket.io.min.js``), ``browser client gzip``
(gzip for clients that accept it), ``browser client etag`` (an ``ETag``; a matching
``If-None-Match`` gets 304). Source maps beside the files are served too.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client_install import SERVABLE, client_directory

BUNDLE_DIR = Path("node_modules") / "socket.io-client" / "dist"
CLIENT_FILE = "socket.io.js"
MINIFIED_FILE = "socket.io.min.js"

INSTALL_HINT = (
    "The socket.io browser client is not installed.\n"
    "Install it for your user with:\n\n"
    "    expressio client install\n\n"
    "or next to your app with npm:\n\n"
    "    npm install socket.io-client\n\n"
    "or point app.io.set('browser client path', '/path/to/socket.io-client/dist') at it.\n"
)

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Any]


def is_bundle_path(path: str) -> bool:
    """``path`` relative to the mount (``/socket.io.js``): a file of the client bundle?"""
    return path.startswith("/") and path.count("/") == 1 and bool(SERVABLE.match(path[1:]))


@dataclass(frozen=True, slots=True)
class _Loaded:
    mtime_ns: int
    body: bytes
    gzipped: bytes | None
    etag: str


class ClientBundle:
    """Finds and serves the client files; caches each file until it changes on disk."""

    def __init__(self, settings: Callable[[str], Any], roots: Iterable[Path]) -> None:
        self._setting = settings
        self._roots = tuple(roots)
        self._cache: dict[Path, _Loaded] = {}

    def directory(self) -> Path | None:
        """Where the bundle is, or None when it cannot be found."""
        configured = self._setting("browser_client_path")
        if configured is not None:
            path = Path(configured)
            if path.is_file():
                path = path.parent
            return path if (path / CLIENT_FILE).is_file() else None
        seen: set[Path] = set()
        for root in self._roots:
            for folder in (root, *root.parents):
                if folder in seen:
                    break
                seen.add(folder)
                candidate = folder / BUNDLE_DIR
                if (candidate / CLIENT_FILE).is_file():
                    return candidate
        installed = client_directory()
        if installed is not None and (installed / CLIENT_FILE).is_file():
            return installed
        return None

    async def serve(self, scope: Scope, send: Send, name: str) -> None:
        """Answer a GET/HEAD for file ``name`` (``socket.io.js``, ``socket.io.js.map``...)."""
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _answer(send, 405, _TEXT, b"Method Not Allowed\n", [(b"allow", b"GET, HEAD")])
            return
        if not self._setting("browser_client"):
            await _answer(send, 404, _TEXT, b"The browser client is disabled ('browser client').\n")
            return
        folder = self.directory()
        if folder is None:
            await _answer(send, 404, _TEXT, INSTALL_HINT.encode())
            return
        if self._setting("browser_client_minification") and name in (
            CLIENT_FILE,
            CLIENT_FILE + ".map",
        ):
            name = name.replace(CLIENT_FILE, MINIFIED_FILE)
        loaded = self._load(folder / name)
        if loaded is None:
            await _answer(send, 404, _TEXT, f"{name} is not in {folder}\n".encode())
            return
        content_type = _JSON if name.endswith(".map") else _JAVASCRIPT
        headers: list[tuple[bytes, bytes]] = []
        if self._setting("browser_client_etag"):
            headers.append((b"etag", loaded.etag.encode()))
            if _matches(_header(scope, b"if-none-match"), loaded.etag):
                await _answer(send, 304, None, b"", headers)
                return
        body = loaded.body
        gzip_on = self._setting("browser_client_gzip")
        if gzip_on:
            headers.append((b"vary", b"Accept-Encoding"))
            if "gzip" in (_header(scope, b"accept-encoding") or "") and loaded.gzipped is not None:
                body = loaded.gzipped
                headers.append((b"content-encoding", b"gzip"))
        await _answer(send, 200, content_type, body, headers, head=method == "HEAD")

    def _load(self, path: Path) -> _Loaded | None:
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached is not None and cached.mtime_ns == mtime_ns:
            return cached
        body = path.read_bytes()
        loaded = _Loaded(
            mtime_ns=mtime_ns,
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag='"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"',
        )
        self._cache[path] = loaded
        return loaded


_TEXT = b"text/plain; charset=utf-8"
_JAVASCRIPT = b"application/javascript; charset=utf-8"
_JSON = b"application/json; charset=utf-8"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [item.strip().removeprefix("W/") for item in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


async def _answer(
    send: Send,
    status: int,
    content_type: bytes | None,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    head: bool = False,
) -> None:
    all_headers = list(headers or [])
    if content_type is not None:
        all_headers.append((b"content-type", content_type))
    if status != 304:
        all_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if head or status == 304 else body})
