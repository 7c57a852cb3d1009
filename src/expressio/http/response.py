"""``res``: the Express-style response.

How a response goes out: ``send``/``json``/``send_file``/... *decide* the response (status,
headers, body) and mark it pending; it is then transmitted on the event loop, as soon as the
loop gets to it, even while the handler still runs (Express's "send now" behaviour) — or
at the latest right after the handler returns. Just before transmission the ``on_headers``
hooks run (sync or async), so middleware such as sessions can still set cookies.

Because ``send`` only decides, it is safe from the worker thread that runs a ``def``
handler; it hops onto the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.responses import FileResponse
from starlette.responses import Response as StarletteResponse
from starlette.types import Send

from .cookies import encode_value, set_cookie_line
from .request import HTTPError

if TYPE_CHECKING:
    from .request import Request

logger = logging.getLogger("expressio")

HeadersHook = Callable[[], Awaitable[None] | None]

HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
_TYPE_ALIASES = {"text": "text/plain", "json": JSON, "html": "text/html", "js": "text/javascript"}
_LOCATION_SAFE = ":/?#[]@!$&'()*+,;=%~"

# Response life cycle: OPEN → PENDING (decided, not yet on the wire) → SENT (headers out).
OPEN, PENDING, SENT = 0, 1, 2


# RFC 9110: a field name is a token; a field value holds no CR, LF, NUL nor other control
# character (tab excepted), and goes out as latin-1, as Node's http module checks.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def check_header_name(name: Any) -> None:
    """Raise ``ValueError`` unless ``name`` can be sent as a header name."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError(
            f"invalid header name {name!r}: a header name is a token "
            "(letters, digits and !#$%&'*+-.^_`|~)"
        )


def check_header_value(name: str, value: str) -> None:
    """Raise ``ValueError`` unless ``value`` can be sent as the value of header ``name``:
    a CR or LF would split the response head (header injection)."""
    if not _FIELD_VALUE.fullmatch(value):
        raise ValueError(
            f"invalid value for header {name!r}: {value!r} holds a character a header cannot "
            "carry (CR, LF, NUL, another control character, or one beyond latin-1); "
            "encode it first (e.g. urllib.parse.quote)"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "keys"):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dump_json(value: Any) -> bytes:
    """orjson with the few conversions handlers expect (mappings, sets)."""
    return orjson.dumps(value, default=_json_default)


class ResponseAlreadySent(RuntimeError):
    """A handler changed or sent a response that was already decided."""


class Response:
    """The HTTP response, as Express names it. Most methods return ``res`` for chaining."""

    def __init__(self, req: Request, send: Send) -> None:
        self.req = req
        self.app = req.app
        self.status_code = 200
        self.locals: dict[str, Any] = {}
        self._send = send
        self._headers: dict[str, tuple[str, str | list[str]]] = {}
        self._cookies: list[str] = []
        self._hooks: list[HeadersHook] = []
        self._body: bytes = b""
        self._asgi_response: StarletteResponse | None = None
        self._state = OPEN
        self._committing = False
        self._in_hooks = False
        self._commit_task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    # -- status and headers ------------------------------------------------------------------

    def status(self, code: int) -> Response:
        """Set the status code; chainable: ``res.status(201).json(item)``."""
        self._check_headers_open()
        self.status_code = code
        return self

    def set(self, name: str | dict[str, str], value: str | list[str] | None = None) -> Response:
        """Set a header (or several from a dict). A list value sends the header once per item."""
        self._check_headers_open()
        if isinstance(name, dict):
            for key, item in name.items():
                self.set(key, item)
            return self
        if value is None:
            raise TypeError("res.set(name, value) needs a value")
        check_header_name(name)
        values = [str(item) for item in value] if isinstance(value, list) else [str(value)]
        for item in values:
            check_header_value(name, item)
        if name.lower() == "set-cookie":
            self._cookies.extend(values)
            return self
        self._headers[name.lower()] = (name, values if isinstance(value, list) else values[0])
        return self

    header = set

    def append(self, name: str, value: str) -> Response:
        """Add a value to a header without replacing what is there."""
        existing = self.get(name)
        if existing is None or name.lower() == "set-cookie":
            return self.set(name, value)
        values = existing if isinstance(existing, list) else [existing]
        return self.set(name, [*values, value])

    def get(self, name: str) -> str | list[str] | None:
        """A header set on this response, case-insensitive."""
        if name.lower() == "set-cookie":
            return list(self._cookies) or None
        entry = self._headers.get(name.lower())
        return entry[1] if entry else None

    def remove_header(self, name: str) -> Response:
        self._check_headers_open()
        self._headers.pop(name.lower(), None)
        return self

    def type(self, mime: str) -> Response:
        """Set Content-Type from a MIME type or an extension: ``"json"``, ``".png"``, ``"html"``."""
        if "/" not in mime:
            extension = mime.lstrip(".").lower()
            guessed = _TYPE_ALIASES.get(extension) or mimetypes.guess_type("x." + extension)[0]
            mime = guessed or "application/octet-stream"
            if mime.startswith("text/") or mime in (JSON, "application/javascript"):
                mime += "; charset=utf-8"
        return self.set("Content-Type", mime)

    content_type = type

    def on_headers(self, callback: HeadersHook, *, first: bool = False) -> None:
        """Run ``callback()`` just before the headers go out; it may be ``async``.

        Hooks run in registration order (``first=True`` puts this one before those already
        registered) and may still change headers and cookies. A hook that raises turns the
        response into an error response for that exception.
        """
        if self._state == SENT:
            raise ResponseAlreadySent("the response headers are already sent")
        if first:
            self._hooks.insert(0, callback)
        else:
            self._hooks.append(callback)

    @property
    def headers_sent(self) -> bool:
        return self._state == SENT

    @property
    def finished(self) -> bool:
        """Whether a response has been decided (sent or about to be)."""
        return self._state != OPEN

    # -- cookies -----------------------------------------------------------------------------

    def cookie(self, name: str, value: Any, *, signed: bool = False, **options: Any) -> Response:
        """Set a cookie. Options: ``max_age`` (seconds), ``expires``, ``path`` ("/"), ``domain``,
        ``secure``, ``httponly``, ``samesite``. Non-string values are stored as JSON.

        ``signed=True`` signs it with the secret of ``cookie_parser(secret)`` or the app's
        ``"secret"`` setting; it then reads back from ``req.signed_cookies``.
        """
        self._check_headers_open()
        secret = None
        if signed:
            secret = self.req.secret if self.req.secret is not None else self.app.get("secret")
            if secret is None:
                raise RuntimeError(
                    "signed cookies need a secret: app.use(expressio.cookie_parser(secret)) "
                    'or app.set("secret", secret)'
                )
        self._cookies.append(set_cookie_line(name, encode_value(value, secret), **options))
        return self

    def clear_cookie(self, name: str, **options: Any) -> Response:
        """Expire a cookie (pass the same ``path``/``domain`` it was set with)."""
        options.pop("max_age", None)
        options["expires"] = 0
        return self.cookie(name, "", **options)

    # -- sending -----------------------------------------------------------------------------

    def send(self, body: Any = None) -> Response:
        """Send ``body``: ``str`` → HTML, ``bytes`` → binary, ``None`` → empty,
        a Starlette response → as is, anything else → JSON."""
        if isinstance(body, str):
            self._default_type(HTML)
            return self._decide(body.encode())
        if isinstance(body, bytes | bytearray | memoryview):
            self._default_type("application/octet-stream")
            return self._decide(bytes(body))
        if body is None:
            return self._decide(b"")
        if isinstance(body, StarletteResponse):
            return self._decide_asgi(body)
        return self.json(body)

    def json(self, value: Any) -> Response:
        """Send ``value`` as JSON (orjson)."""
        self._default_type(JSON)
        return self._decide(dump_json(value))

    def send_status(self, code: int) -> Response:
        """Set the status and send its phrase as the body (``res.send_status(404)``)."""
        self.status(code)
        self._default_type(TEXT)
        return self._decide(_phrase(code).encode())

    def end(self, data: str | bytes | None = None) -> Response:
        """End the response, with ``data`` as the body if given (no Content-Type added)."""
        body = data.encode() if isinstance(data, str) else (data or b"")
        return self._decide(body)

    def redirect(self, status_or_url: int | str, url: str | None = None) -> Response:
        """Redirect: ``res.redirect("/login")`` (302) or ``res.redirect(301, "/new")``.
        ``"back"`` means the Referer (or ``/``)."""
        if isinstance(status_or_url, int):
            status, target = status_or_url, url
        else:
            status, target = 302, status_or_url
        if target is None:
            raise TypeError("res.redirect needs a URL")
        if target == "back":
            target = self.req.get("referer") or "/"
        location = quote(target, safe=_LOCATION_SAFE)
        self.status(status)
        self.set("Location", location)
        self._default_type(TEXT)
        return self._decide(f"{_phrase(status)}. Redirecting to {location}".encode())

    def send_file(
        self,
        path: str | os.PathLike[str],
        *,
        root: str | os.PathLike[str] | None = None,
        filename: str | None = None,
        attachment: bool = False,
    ) -> Response:
        """Send a file (ranges, ETag and Last-Modified through Starlette's ``FileResponse``).

        A relative ``path`` is looked up under ``root`` when given (and may not leave it),
        else under the current directory, then beside the module that created the app.
        A missing file raises ``HTTPError(404)``.
        """
        self._check_open()
        full = self._resolve_file(Path(path), Path(root) if root is not None else None)
        content_type = self.get("content-type")
        response = FileResponse(
            full,
            status_code=self.status_code,
            media_type=content_type if isinstance(content_type, str) else None,
            filename=filename or (full.name if attachment else None),
            content_disposition_type="attachment" if attachment else "inline",
        )
        return self._decide_asgi(response)

    sendfile = send_file  # Express 3's spelling, used by express.io's examples

    def download(self, path: str | os.PathLike[str], filename: str | None = None) -> Response:
        """Send a file as an attachment (``Content-Disposition: attachment``)."""
        return self.send_file(path, filename=filename, attachment=True)

    def render(self, template: str, context: dict[str, Any] | None = None) -> Response:
        """Render a Jinja2 template from the ``views`` setting and send it as HTML.

        The template sees ``app.locals``, then ``res.locals``, then ``context``.
        """
        merged = {**self.locals, **(context or {})}
        html = self.req.app.render(template, merged)
        self._default_type(HTML)
        return self._decide(html.encode())

    # -- internals ---------------------------------------------------------------------------

    def _send_returned(self, value: Any) -> None:
        """Send a handler's return value: as ``send``, or Flask's ``(body, status[, headers])``."""
        if isinstance(value, tuple):
            if not 2 <= len(value) <= 3 or not isinstance(value[1], int):
                raise TypeError(
                    "a returned tuple must be (body, status) or (body, status, headers)"
                )
            self.status(value[1])
            if len(value) == 3:
                self.set(value[2])
            value = value[0]
        self.send(value)

    def _check_headers_open(self) -> None:
        # on_headers hooks run after the response was decided and may still change headers.
        if self._state != OPEN and not self._in_hooks:
            self._check_open()

    def _check_open(self) -> None:
        if self._state != OPEN:
            raise ResponseAlreadySent(
                f"the response to {self.req.method} {self.req.original_url} was already sent"
            )

    def _default_type(self, content_type: str) -> None:
        if "content-type" not in self._headers:
            self._headers["content-type"] = ("Content-Type", content_type)

    def _resolve_file(self, path: Path, root: Path | None) -> Path:
        name = str(path)
        if "\0" in name:
            # No file name holds a NUL (the OS refuses it): a bad request, as in Express.
            raise HTTPError(400, "Bad file name")
        if root is not None:
            base = root.resolve()
            try:
                full = (base / path).resolve()
            except OSError:  # e.g. a name too long for the file system: no such file
                raise HTTPError(404, _not_found(name)) from None
            if full != base and base not in full.parents:
                raise HTTPError(403, "Forbidden path")
            candidates = [full]
        elif path.is_absolute():
            candidates = [path]
        else:
            candidates = [Path.cwd() / path, self.req.app.root / path]
        for candidate in candidates:
            try:
                if candidate.is_file():
                    return candidate
            except OSError:  # ENAMETOOLONG, ELOOP...: nothing to send under that name
                continue
        raise HTTPError(404, _not_found(name))

    def _decide(self, body: bytes) -> Response:
        self._check_open()
        self._body = body
        self._state = PENDING
        self._schedule()
        return self

    def _decide_asgi(self, response: StarletteResponse) -> Response:
        self._check_open()
        self._asgi_response = response
        self._state = PENDING
        self._schedule()
        return self

    def _schedule(self) -> None:
        # Transmit on the loop's next turn even if the handler keeps running; when the handler
        # returns first, the dispatcher transmits right away and this callback finds nothing
        # left to do.
        if threading.get_ident() == self._loop_thread:
            self._loop.call_soon(self._start_commit)
        else:
            self._loop.call_soon_threadsafe(self._start_commit)

    def _start_commit(self) -> None:
        if not self._committing and self._commit_task is None:
            self._commit_task = self._loop.create_task(self._commit())

    async def _finish(self) -> None:
        """Make sure the decided response is fully transmitted (called by the dispatcher)."""
        if self._commit_task is not None:
            await self._commit_task
        elif not self._committing and self._state == PENDING:
            await self._commit()

    def _reset_for_error(self) -> None:
        """Forget a decided-but-unsent response so an error response can replace it."""
        self._headers = {}
        self._body = b""
        self._asgi_response = None
        self._state = OPEN
        self.status_code = 500

    async def _run_hooks(self) -> None:
        hooks, self._hooks = self._hooks, []
        self._in_hooks = True
        try:
            for hook in hooks:
                outcome = hook()
                if outcome is not None:
                    await outcome
        finally:
            self._in_hooks = False

    async def _commit(self) -> None:
        if self._committing:
            return
        self._committing = True
        if self._hooks:
            try:
                await self._run_hooks()
            except Exception as exc:  # the response becomes the error's response
                self._state = OPEN
                self.app.error_response(exc, self.req, self)
        self._state = SENT
        scope = self.req.scope
        if self._asgi_response is not None:
            await self._transmit_asgi(self._asgi_response)
            return
        status = self.status_code
        headers = [
            (key.encode("latin-1"), item.encode("latin-1"))
            for key, value in self._header_items()
            for item in ([value] if isinstance(value, str) else value)
        ]
        body = self._body
        if status >= 200 and status not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode()))
        send = self._send
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})

    def _header_items(self) -> Iterable[tuple[str, str | list[str]]]:
        yield from self._headers.values()
        for line in self._cookies:
            yield "set-cookie", line

    async def _transmit_asgi(self, response: StarletteResponse) -> None:
        # Headers and cookies set through ``res`` win over the response object's own.
        if self._headers or self._cookies:
            ours = {key.encode("latin-1") for key in self._headers}
            raw = [(key, value) for key, value in response.raw_headers if key not in ours]
            raw.extend(
                (key.lower().encode("latin-1"), item.encode("latin-1"))
                for key, value in self._header_items()
                for item in ([value] if isinstance(value, str) else value)
            )
            response.raw_headers = raw
        await response(self.req.scope, self.req.receive, self._send)


def _not_found(name: str) -> str:
    """The 404 message for a file name a client may have chosen: echoed only when short."""
    if len(name) > 200 or not name.isprintable():
        return "File not found"
    return f"File not found: {name}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)
