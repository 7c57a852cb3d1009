"""Built-in middleware: body parsers, static files, cookie secrets.

Each factory returns an ``async`` middleware ``(req, res, next)``, so none of them costs a
thread hop. Body parsers act only on requests of their Content-Type and leave ``req.body``
as ``{}`` otherwise, like Express's body-parser.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from .cookies import Secret
from .request import HTTPError, Request, parse_query
from .response import Response
from .routing import Next

Middleware = Callable[[Request, Response, Next], Awaitable[None]]


def _types(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _body_parser(
    name: str, wanted: tuple[str, ...], limit: int, decode: Callable[[bytes], Any]
) -> Middleware:
    """A middleware that reads a body of the ``wanted`` types (at most ``limit`` bytes) into
    ``req.body`` with ``decode``, once: a body an earlier parser read is left as it is."""

    async def parser(req: Request, res: Response, next: Next) -> None:
        if req.body_parsed or not req.is_type(*wanted):
            if req.body is None:
                req.body = {}
            next()
            return
        req.body_parsed = True
        req.body = decode(await req.read_body(limit))
        next()

    parser.__name__ = parser.__qualname__ = name
    return parser


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPError(400, f"Invalid JSON body: {exc}") from exc


def _decode_form(raw: bytes) -> Any:
    try:
        return parse_query(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise HTTPError(400, "Invalid form body: not UTF-8") from exc


def json(*, limit: int = 100_000, type: str | Sequence[str] = ("json",)) -> Middleware:
    """Parse JSON bodies into ``req.body`` (orjson). Malformed JSON → 400, over ``limit``
    bytes → 413. ``type`` says which Content-Types count (default: ``application/json`` and
    ``*/*+json``)."""
    return _body_parser("json_parser", _types(type), limit, _decode_json)


def urlencoded(
    *, limit: int = 100_000, type: str | Sequence[str] = ("application/x-www-form-urlencoded",)
) -> Middleware:
    """Parse form bodies into ``req.body`` (a dict; repeated names become lists)."""
    return _body_parser("urlencoded_parser", _types(type), limit, _decode_form)


def multipart(*, max_files: int = 1000, max_fields: int = 1000) -> Middleware:
    """Parse ``multipart/form-data`` with Starlette: fields into ``req.body``, uploads into
    ``req.files`` (name → Starlette ``UploadFile``, or a list of them when repeated).

    Uploads are closed when the response has gone out.
    """

    async def multipart_parser(req: Request, res: Response, next: Next) -> None:
        if req.body_parsed or not req.is_type("multipart/form-data"):
            if req.body is None:
                req.body = {}
            next()
            return
        req.body_parsed = True
        try:
            form = await req.starlette.form(max_files=max_files, max_fields=max_fields)
        except HTTPException as exc:
            raise HTTPError(exc.status_code, f"Invalid multipart body: {exc.detail}") from exc
        fields: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for name, value in form.multi_items():
            target = files if isinstance(value, UploadFile) else fields
            if name in target:
                existing = target[name]
                target[name] = (
                    [*existing, value] if isinstance(existing, list) else [existing, value]
                )
            else:
                target[name] = value
        req.body = fields
        req.files = files
        next()

    return multipart_parser


def cookie_parser(secret: Secret | None = None) -> Middleware:
    """Give signed cookies a secret: ``req.signed_cookies`` and ``res.cookie(..., signed=True)``.

    Cookies are always parsed (lazily); this only sets ``req.secret``. A list of secrets
    allows rotation: the last one signs, all of them verify.
    """

    async def cookie_secret(req: Request, res: Response, next: Next) -> None:
        req.secret = secret
        req._cookies = None  # parse again with the secret if something read them before
        next()

    return cookie_secret


def static(
    root: str | os.PathLike[str],
    *,
    index: str | None = "index.html",
    redirect: bool = True,
    fallthrough: bool = True,
) -> Middleware:
    """Serve files under ``root`` for GET and HEAD (Starlette's ``StaticFiles``: ranges,
    ETag, 304s, no escaping the directory). A directory serves its ``index`` file, after a
    redirect that adds the trailing slash. A missing file passes on to the next handler
    (or answers 404 when ``fallthrough`` is false)."""
    files = StaticFiles(directory=Path(root), check_dir=True)

    async def serve_static(req: Request, res: Response, next: Next) -> None:
        if req.method not in ("GET", "HEAD"):
            next()
            return
        if "\0" in req.path:
            # No file name holds a NUL: a bad request (Express's send answers 400 too).
            if fallthrough:
                next()
                return
            raise HTTPError(400, "Bad Request")
        relative = os.path.normpath(os.path.join(*req.path.split("/")))
        try:
            response = await files.get_response(relative, req.scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise HTTPError(exc.status_code) from exc
            if index and await _is_directory(files, relative):
                if not req.path.endswith("/") and redirect:
                    query = req.query_string
                    target = req.base_url + req.path + "/" + (f"?{query}" if query else "")
                    res.redirect(301, target)
                    return
                try:
                    response = await files.get_response(os.path.join(relative, index), req.scope)
                except HTTPException:
                    response = None
            else:
                response = None
        if response is None:
            if fallthrough:
                next()
                return
            raise HTTPError(404, "Not Found")
        res.send(response)

    return serve_static


async def _is_directory(files: StaticFiles, relative: str) -> bool:
    try:
        _full, stat_result = await anyio.to_thread.run_sync(files.lookup_path, relative)
    except (OSError, ValueError):  # a name too long for the file system, a NUL...: not a dir
        return False
    return stat_result is not None and stat.S_ISDIR(stat_result.st_mode)
