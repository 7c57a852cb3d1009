"""``req``: the Express-style request handed to HTTP handlers and middleware.

Everything is computed lazily from the ASGI scope, so a handler that reads nothing costs
nothing. Starlette's ``Request`` does the parsing underneath (headers, cookies, forms) and is
reachable as ``req.starlette`` for anything Express has no name for.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.from_thread
from starlette.datastructures import Headers
from starlette.requests import Request as StarletteRequest
from starlette.types import Receive, Scope

from ..sessions.cookie import parse_cookie_header
from ..sessions.errors import SessionNotLoaded
from .cookies import split_cookies
from .pathpattern import Params

if TYPE_CHECKING:
    from .application import Application
    from .response import Response

TrustFunction = Callable[[str, int], bool]


class HTTPError(Exception):
    """An error that carries its HTTP status, e.g. ``raise HTTPError(403, "Not yours")``.

    Its message is the body of the error response (the status phrase when there is none).
    """

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or "")
        self.status = status
        self.message = message


def parse_query(query_string: str) -> dict[str, Any]:
    """``a=1&b=2&b=3`` → ``{"a": "1", "b": ["2", "3"]}``: repeated names become lists."""
    result: dict[str, Any] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name in result:
            existing = result[name]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[name] = [existing, value]
        else:
            result[name] = value
    return result


class Request:
    """The HTTP request, as Express names it.

    Middleware may add attributes freely (``req.user = ...``); ``session``, ``body``, ``files``
    and ``io`` are meant to be assigned by middleware.
    """

    def __init__(self, scope: Scope, receive: Receive, app: Application, path: str) -> None:
        self.scope = scope
        self.receive = receive
        self.app = app
        # The app that received the request; ``app`` changes while a mounted sub-app runs.
        self._root_app = app
        self.res: Response | None = None
        self.params: Params = Params()
        self.body: Any = None
        self.files: dict[str, Any] = {}
        self._session: Any = None
        # Set by the session middleware: loads the session, at most once (see ``session``).
        self._session_loader: Callable[[], Awaitable[Any]] | None = None
        self.secret: Any = None
        self.base_url = ""
        self.path = path
        self._full_path = path
        #: Set by a body parser once it has read the body (later parsers and forwarding reuse it).
        self.body_parsed = False
        self._starlette: StarletteRequest | None = None
        self._headers: Headers | None = None
        self._query: dict[str, Any] | None = None
        self._cookies: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._io: Any = None
        self._io_set = False
        self._raw_body: bytes | None = None

    # -- basics ---------------------------------------------------------------------------

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def starlette(self) -> StarletteRequest:
        """The underlying Starlette request (forms, streaming, URL objects)."""
        if self._starlette is None:
            self._starlette = StarletteRequest(self.scope, self.receive)
        return self._starlette

    @property
    def headers(self) -> Headers:
        """Request headers, a case-insensitive mapping."""
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    def get(self, name: str) -> str | None:
        """One request header, case-insensitive; ``Referer`` and ``Referrer`` are the same."""
        key = name.lower()
        if key in ("referer", "referrer"):
            return self.headers.get("referer") or self.headers.get("referrer")
        return self.headers.get(key)

    header = get

    @property
    def query_string(self) -> str:
        raw: bytes = self.scope.get("query_string", b"")
        return raw.decode("latin-1")

    @property
    def url(self) -> str:
        """Path and query, relative to the mount point (Express's ``req.url``)."""
        query = self.query_string
        return f"{self.path}?{query}" if query else self.path

    @property
    def original_url(self) -> str:
        """Path and query as the client sent them, whatever the mount point."""
        query = self.query_string
        return f"{self._full_path}?{query}" if query else self._full_path

    @property
    def query(self) -> dict[str, Any]:
        if self._query is None:
            self._query = parse_query(self.query_string)
        return self._query

    @property
    def xhr(self) -> bool:
        return (self.headers.get("x-requested-with") or "").lower() == "xmlhttprequest"

    # -- cookies ---------------------------------------------------------------------------

    def _parsed_cookies(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._cookies is None:
            secret = self.secret if self.secret is not None else self.app.settings.get("secret")
            # The parser the realtime handshake uses too: with duplicate names the first wins,
            # as in Express (browsers send the cookie of the most specific path first).
            raw = parse_cookie_header(self.headers.get("cookie"))
            self._cookies = split_cookies(raw, secret)
        return self._cookies

    @property
    def cookies(self) -> dict[str, Any]:
        """Cookies by name (the first of duplicate names); ``j:`` JSON cookies arrive decoded."""
        return self._parsed_cookies()[0]

    @property
    def signed_cookies(self) -> dict[str, Any]:
        """Signed cookies that verify, by name; a tampered one reads ``False``.

        Needs a secret: ``app.use(expressio.cookie_parser(secret))`` or ``app.set("secret", s)``.
        """
        return self._parsed_cookies()[1]

    # -- network and proxies ---------------------------------------------------------------

    def _trust(self) -> TrustFunction:
        return self.app.trust_function

    @property
    def _peer(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    def _address_chain(self) -> list[str]:
        """The socket address, then X-Forwarded-For addresses from nearest to furthest."""
        chain = [self._peer]
        forwarded = self.headers.get("x-forwarded-for")
        if forwarded:
            chain.extend(part.strip() for part in reversed(forwarded.split(",")) if part.strip())
        return chain

    @property
    def ips(self) -> list[str]:
        """With "trust proxy", the trusted X-Forwarded-For chain, client first."""
        trust = self._trust()
        chain = self._address_chain()
        kept = [chain[0]]
        for index, address in enumerate(chain[:-1]):
            if not trust(address, index):
                break
            kept.append(chain[index + 1])
        return list(reversed(kept[1:]))

    @property
    def ip(self) -> str:
        """The client address; with "trust proxy", the furthest address proxies vouch for."""
        trust = self._trust()
        chain = self._address_chain()
        for index, address in enumerate(chain[:-1]):
            if not trust(address, index):
                return address
        return chain[-1]

    @property
    def protocol(self) -> str:
        """``"http"`` or ``"https"``; X-Forwarded-Proto counts when the peer is trusted."""
        scheme = "https" if self.scope.get("scheme") in ("https", "wss") else "http"
        if self._trust()(self._peer, 0):
            forwarded = self.headers.get("x-forwarded-proto")
            if forwarded:
                return forwarded.split(",")[0].strip().lower()
        return scheme

    @property
    def secure(self) -> bool:
        return self.protocol == "https"

    @property
    def hostname(self) -> str | None:
        """The host name without port; X-Forwarded-Host counts when the peer is trusted."""
        host: str | None = None
        if self._trust()(self._peer, 0):
            forwarded = self.headers.get("x-forwarded-host")
            if forwarded:
                host = forwarded.split(",")[0].strip()
        if host is None:
            host = self.headers.get("host")
        if not host:
            return None
        if host.startswith("["):  # IPv6 literal: the port comes after the bracket
            return host[: host.find("]") + 1]
        return host.split(":", 1)[0]

    # -- body ------------------------------------------------------------------------------

    async def read_body(self, limit: int | None = None) -> bytes:
        """The whole request body (read once, then cached); over ``limit`` bytes → 413."""
        if self._raw_body is not None:
            return self._raw_body
        declared = self.headers.get("content-length")
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            raise HTTPError(413, f"Request body larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.starlette.stream():
            size += len(chunk)
            if limit is not None and size > limit:
                raise HTTPError(413, f"Request body larger than {limit} bytes")
            chunks.append(chunk)
        self._raw_body = b"".join(chunks)
        return self._raw_body

    def is_type(self, *types: str) -> bool:
        """Whether the Content-Type is one of ``types`` (``"json"``, ``"application/*"``...)."""
        content_type = (self.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if not content_type:
            return False
        for wanted in types:
            wanted = wanted.lower()
            if wanted == content_type:
                return True
            if "/" not in wanted and (
                content_type.endswith("/" + wanted) or content_type.endswith("+" + wanted)
            ):
                return True
            if wanted.endswith("/*") and content_type.startswith(wanted[:-1]):
                return True
        return False

    # -- the session ---------------------------------------------------------------------

    @property
    def session(self) -> Any:
        """The request's session (``None`` without ``expressio.session``).

        Loaded lazily: before a handler whose code reads ``req.session`` runs (so a request
        that never touches it costs no store round trip, and works while the store is down),
        or on first use elsewhere: from a ``def`` handler's worker thread, or at once from an
        in-memory store; otherwise that read raises
        :class:`~expressio.sessions.SessionNotLoaded`."""
        if self._session_loader is not None:
            self._load_session_now()
        return self._session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value
        self._session_loader = None

    def set_session_loader(self, loader: Callable[[], Awaitable[Any]]) -> None:
        """For session middleware: ``loader()`` loads the session when it is first needed."""
        self._session = None
        self._session_loader = loader

    @property
    def session_pending(self) -> bool:
        """A session is there to load and nobody has needed it yet."""
        return self._session_loader is not None

    @property
    def loaded_session(self) -> Any:
        """The session if it was loaded, else ``None`` (without loading it)."""
        return None if self._session_loader is not None else self._session

    async def load_session(self) -> Any:
        """Load the session now if it is pending; returns it."""
        loader = self._session_loader
        if loader is not None:
            session = await loader()
            if self._session_loader is loader:
                self._session, self._session_loader = session, None
        return self._session

    def _load_session_now(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (a def handler): wait for the loop
            anyio.from_thread.run(self.load_session)
            return
        loader = self._session_loader
        now = getattr(loader, "now", None)
        session = now() if now is not None else None
        if session is None:
            raise SessionNotLoaded(
                "req.session was read on the event loop by code the session was not loaded "
                "for, and the store cannot answer without waiting: read req.session in the "
                "handler itself (then it is loaded before the handler runs), or "
                "'await req.load_session()' first"
            )
        self._session, self._session_loader = session, None

    # -- realtime --------------------------------------------------------------------------

    @property
    def io(self) -> Any:
        """The request's realtime side (HTTP → realtime forwarding), when the app provides one."""
        if not self._io_set:
            # A mounted sub-app without realtime of its own forwards through the outer app's.
            factory = self.app.request_io_factory or self._root_app.request_io_factory
            self._io = factory(self) if factory is not None else None
            self._io_set = True
        return self._io

    @io.setter
    def io(self, value: Any) -> None:
        self._io = value
        self._io_set = True

    # -- mounting --------------------------------------------------------------------------

    def _enter_mount(self, matched: int) -> tuple[str, str]:
        """Strip the mount prefix from ``path`` (Express's ``req.url`` rewriting)."""
        saved = (self.path, self.base_url)
        self.base_url += self.path[:matched]
        self.path = self.path[matched:] or "/"
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        return saved

    def _leave_mount(self, saved: tuple[str, str]) -> None:
        self.path, self.base_url = saved

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.original_url}>"


def compile_trust(setting: Any) -> TrustFunction:
    """The "trust proxy" setting as a function ``(address, hops_from_socket) -> trusted``.

    Express's forms: ``True`` (trust every proxy), an int (trust that many hops), a list or a
    comma-separated string of addresses, CIDR ranges and the names ``loopback``,
    ``linklocal``, ``uniquelocal``, or a function.
    """
    if setting is None or setting is False:
        return _trust_none
    if setting is True:
        return _trust_all
    if isinstance(setting, int):
        hops = setting
        return lambda _address, index: index < hops
    if callable(setting):
        function: TrustFunction = setting
        return function
    names: Sequence[str] = (
        [part.strip() for part in setting.split(",")] if isinstance(setting, str) else setting
    )
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for name in names:
        for value in _NAMED_RANGES.get(name, (name,)):
            networks.append(ipaddress.ip_network(value, strict=False))

    def trusted(address: str, _index: int) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in networks)

    return trusted


_NAMED_RANGES = {
    "loopback": ("127.0.0.1/8", "::1/128"),
    "linklocal": ("169.254.0.0/16", "fe80::/10"),
    "uniquelocal": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}


def _trust_none(_address: str, _index: int) -> bool:
    return False


def _trust_all(_address: str, _index: int) -> bool:
    return True
