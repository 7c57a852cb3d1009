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
```
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..realtime import Handshake, Socket
    from ..sessions import Session
    from .request_io import RequestIO
    from .routes import RouteHandler


class HandshakeData(MutableMapping[str, Any]):
    """The connection's handshake, readable as attributes and as a mapping.

    The fields (``headers``, ``address``, ``time``, ``query``, ``url``, ``secure``, ``issued``,
    ``auth``) are fixed; handshake middleware may add its own keys (``handshake["user"] = u``),
    as socket.io 0.9's authorization functions did, and routes read them later from
    ``req.handshake``.
    """

    __slots__ = ("_base", "_extra")

    def __init__(self, base: Handshake) -> None:
        self._base = base
        self._extra: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._extra:
            return self._extra[key]
        return self._base[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._base:
            raise KeyError(f"handshake field {key!r} is read-only")
        self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        del self._extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        yield from self._extra

    def __len__(self) -> int:
        return len(self._base) + len(self._extra)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in HandshakeData.__slots__:
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __repr__(self) -> str:
        return f"<HandshakeData {dict(self)!r}>"


class SocketRequest:
    """What a realtime route receives. Middleware-like code may add attributes freely."""

    __slots__ = ("__dict__", "_listeners", "args", "data", "event", "handshake", "io", "session")

    def __init__(
        self,
        event: str,
        args: tuple[Any, ...],
        io: RequestIO,
        handshake: HandshakeData,
        session: Session | None,
        listeners: dict[str, list[RouteHandler]],
    ) -> None:
        self.event = event
        #: every argument the client sent after the event name
        self.args = args
        self.data: Any = args[0] if args else None
        self.io = io
        self.handshake = handshake
        self.session = session
        self._listeners = listeners
        io._req = self

    @property
    def headers(self) -> Mapping[str, str]:
        headers: Mapping[str, str] = self.handshake["headers"]
        return headers

    @property
    def socket(self) -> Socket:
        return self.io.socket

    def __repr__(self) -> str:
        return f"<SocketRequest {self.event!r} socket={self.io.socket.id} data={self.data!r}>"
