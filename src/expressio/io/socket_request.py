"""``req`` in a realtime route: the SocketRequest.

```python
@app.io.route("hello")
async def hello(req):
    req.data            # what the client sent (first argument after the event name), or None
    req.io              # the RequestIO: emit, respond, broadcast, room, join, leave, route...
    req.headers         # headers of the connection's first HTTP request (case-insensitive)
    req.session         # the session HTTP routes see (None without expressio.session)
    req.handshake       # headers, address, time, query, url, secure, issued, auth
    req.socket          # the realtime socket: id, rooms, namespace (prefer req.io)
    req.socket.data     # a dict kept for this connection across its events (socket.io's
                        # socket.data); handshake middleware fills it via handshake.socket_data
    req.recovered       # True when connection state recovery gave this client its state back
```

A request forwarded from HTTP (:mod:`expressio.http.forwarding`) has the same shape: it is a
SocketRequest whose ``socket`` and ``handshake`` are ``None``, and whose ``headers``,
``session`` and ``data`` come from the HTTP request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..realtime import Socket
    from .clients import Client
    from .handshake import HandshakeData
    from .request_io import RequestIO
    from .routes import Route

_UNLOADED: Final[Any] = object()


class SocketRequest:
    """What a realtime route receives. Middleware-like code may add attributes freely."""

    __slots__ = ("__dict__", "_client", "_route", "_session", "args", "data", "event", "io")

    def __init__(
        self,
        event: str | None,
        args: tuple[Any, ...],
        io: RequestIO,
        client: Client | None,
        session: Any = _UNLOADED,
        route: Route | None = None,
    ) -> None:
        self.event = event
        #: every argument the client sent after the event name
        self.args = args
        self.data: Any = args[0] if args else None
        self.io = io
        self._client = client
        self._session = session
        self._route = route
        io._req = self

    @property
    def handshake(self) -> HandshakeData | None:
        client = self._client
        return client.handshake if client is not None else None

    @property
    def headers(self) -> Mapping[str, str]:
        client = self._client
        assert client is not None
        headers: Mapping[str, str] = client.handshake["headers"]
        return headers

    @property
    def socket(self) -> Socket | None:
        return self.io.socket

    @property
    def recovered(self) -> bool:
        """True when this client reconnected and connection state recovery gave it back its
        id, rooms and the broadcasts it missed (``app.io(recovery=...)``); read it in the
        ``connect`` hook to tell a fresh client, which needs the whole state, from one that
        needs nothing more. False without a socket (a request forwarded from HTTP)."""
        socket = self.io.socket
        return socket is not None and socket.recovered

    @property
    def session(self) -> Any:
        """The session HTTP routes see (``None`` without ``expressio.session``). Loaded before
        the route runs when the route's code reads it, else on first use (see
        :mod:`expressio.io.clients`)."""
        session = self._session
        if session is _UNLOADED:
            session = self._session = self.io._namespace.session_now(self._client, self._route)
        return session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    def __repr__(self) -> str:
        socket = self.socket
        where = f" socket={socket.id}" if socket is not None else ""
        return f"<SocketRequest {self.event!r}{where} data={self.data!r}>"
