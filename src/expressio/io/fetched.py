"""What ``fetch_sockets()`` returns: one view per matching client (socket.io's
``RemoteSocket``).

```python
@app.io.route("who")
async def who(req):
    for client in await app.io.room("lobby").fetch_sockets():
        print(client.id, client.rooms, client.handshake.address, client.data)
        client.emit("hello", {"from": req.socket.id})
        client.join("seen")
```

``rooms`` is a snapshot taken when the sockets were fetched; ``data`` is the client's own
``req.socket.data`` dict and ``handshake`` the same object as its ``req.handshake``. The methods
act at once and in call order, from any thread, like the other IO methods; a client that has
disconnected since is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..realtime import check_event_name

if TYPE_CHECKING:
    from ..realtime import Socket
    from .handshake import HandshakeData
    from .namespace import IONamespace

_MISSING: Any = object()


class FetchedSocket:
    """One client matched by ``fetch_sockets()``."""

    __slots__ = ("_io", "_socket", "handshake", "id", "rooms")

    def __init__(self, io: IONamespace, socket: Socket) -> None:
        self._io = io
        self._socket = socket
        self.id: str = socket.id
        #: the rooms it was in when fetched, its own id included
        self.rooms: set[str] = socket.rooms
        self.handshake: HandshakeData = io.handshake_of(socket)

    @property
    def data(self) -> dict[str, Any]:
        """The client's ``req.socket.data``: the same dict, not a copy."""
        return self._socket.data

    def emit(self, event: str, data: Any = _MISSING) -> None:
        """Send ``event`` with ``data`` to this client."""
        check_event_name(event)
        args = () if data is _MISSING else (data,)
        if not self._io.bridge.on_loop_thread():
            # Encoded once here too: data the parser cannot carry raises in the caller.
            self._io.namespace.server.parser.encode_event("/", event, args)
        self._call(_emit, event, args)

    def join(self, room: str) -> None:
        """Make this client join ``room``."""
        self._call(_join, _room(room))

    def leave(self, room: str) -> None:
        """Make this client leave ``room``."""
        self._call(_leave, _room(room))

    def disconnect(self, close: bool = False) -> None:
        """Disconnect this client from the namespace; ``close=True`` closes its connection."""
        self._call(_disconnect, bool(close))

    def _call(self, action: Callable[..., None], *args: Any) -> None:
        self._io.bridge.call(action, self._socket, *args)

    def __repr__(self) -> str:
        return f"<FetchedSocket {self.id} rooms={sorted(self.rooms)}>"


def _room(room: Any) -> str:
    if not isinstance(room, str):
        raise TypeError(f"a room name is a str, not {type(room).__name__}")
    return room


def _emit(socket: Socket, event: str, args: tuple[Any, ...]) -> None:
    socket.emit(event, *args)


def _join(socket: Socket, room: str) -> None:
    socket.join(room)


def _leave(socket: Socket, room: str) -> None:
    socket.leave(room)


def _disconnect(socket: Socket, close: bool) -> None:
    if socket.connected:
        socket.disconnect(close)
