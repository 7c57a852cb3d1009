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

``rooms`` is a snapshot taken when the sockets were fetched. For a client of this process,
``data`` is its own ``req.socket.data`` dict and ``handshake`` the same object as its
``req.handshake``; for a client of another process (with a cross-process adapter, Node socket.io
processes included) they are copies made when it was fetched, and the methods go through the
adapter to whichever process owns it (``emit`` is a broadcast to the room of its id, ``join``
and the others ``room(id).join(...)``...). The methods act at once and in call order, from any
thread, like the other IO methods; a client that has disconnected since is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..realtime import BroadcastOptions, Socket, check_event_name
from .handshake import HandshakeData

if TYPE_CHECKING:
    from ..protocol.socketio import EncodedPacket
    from ..realtime import Namespace
    from ..realtime.adapter import SocketView
    from .namespace import IONamespace

_MISSING: Any = object()


class FetchedSocket:
    """One client matched by ``fetch_sockets()``."""

    __slots__ = ("_io", "_socket", "handshake", "id", "remote", "rooms")

    def __init__(self, io: IONamespace, socket: SocketView) -> None:
        self._io = io
        self._socket = socket
        self.id: str = socket.id
        #: the rooms it was in when fetched, its own id included
        self.rooms: set[str] = set(socket.rooms)
        #: True for a client of another process
        self.remote = not isinstance(socket, Socket)
        self.handshake: HandshakeData = (
            io.handshake_of(socket)
            if isinstance(socket, Socket)
            else HandshakeData(socket.handshake)
        )

    @property
    def data(self) -> dict[str, Any]:
        """The client's ``req.socket.data``: the same dict, not a copy (a copy for a client
        of another process)."""
        return self._socket.data

    def emit(self, event: str, data: Any = _MISSING) -> None:
        """Send ``event`` with ``data`` to this client."""
        check_event_name(event)
        args = () if data is _MISSING else (data,)
        namespace = self._io.namespace
        if self.remote:
            packet = namespace.server.parser.encode_event(namespace.name, event, args)
            self._io.bridge.call(_emit_remote, namespace, packet, self._only_this_one())
            return
        if not self._io.bridge.on_loop_thread():
            # Encoded once here too: data the parser cannot carry raises in the caller.
            namespace.server.parser.encode_event("/", event, args)
        self._call(_emit, event, args)

    def join(self, room: str) -> None:
        """Make this client join ``room``."""
        if self.remote:
            self._io.bridge.call(
                _join_remote, self._io.namespace, self._only_this_one(), _room(room)
            )
            return
        self._call(_join, _room(room))

    def leave(self, room: str) -> None:
        """Make this client leave ``room``."""
        if self.remote:
            self._io.bridge.call(
                _leave_remote, self._io.namespace, self._only_this_one(), _room(room)
            )
            return
        self._call(_leave, _room(room))

    def disconnect(self, close: bool = False) -> None:
        """Disconnect this client from the namespace; ``close=True`` closes its connection."""
        if self.remote:
            opts = self._only_this_one()
            self._io.bridge.call(_disconnect_remote, self._io.namespace, opts, bool(close))
            return
        self._call(_disconnect, bool(close))

    def _only_this_one(self) -> BroadcastOptions:
        return BroadcastOptions(frozenset((self.id,)))

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


# a client of another process: through the adapter, to the room of its id


def _emit_remote(namespace: Namespace, packet: EncodedPacket, opts: BroadcastOptions) -> None:
    namespace.adapter.broadcast(packet, opts)


def _join_remote(namespace: Namespace, opts: BroadcastOptions, room: str) -> None:
    namespace.adapter.add_sockets(opts, (room,))


def _leave_remote(namespace: Namespace, opts: BroadcastOptions, room: str) -> None:
    namespace.adapter.del_sockets(opts, (room,))


def _disconnect_remote(namespace: Namespace, opts: BroadcastOptions, close: bool) -> None:
    namespace.adapter.disconnect_sockets(opts, close)
