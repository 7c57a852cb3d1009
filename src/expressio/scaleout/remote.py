"""A socket of another process, as ``fetch_sockets`` returns it (socket.io's ``RemoteSocket``).

Cross-process adapters ask every process for its matching sockets; each answers with one
object per socket, in socket.io's shape (the same for every socket.io adapter)::

    {"id": "...", "rooms": ["...", ...], "data": {...},
     "handshake": {"headers": {...}, "time": "...", "address": "...", "xdomain": false,
                   "secure": false, "issued": 1700000000000, "url": "/socket.io/?...",
                   "query": {...}, "auth": {...}}}

:func:`socket_details` writes that object for a socket of this process
(:func:`encode_details`: the answer's encoding, also when some socket's ``data`` does not fit
the wire format) and :meth:`RemoteSocket.from_details` reads one from any process, Node's or
ours (:func:`remote_sockets`: every socket of every answer). A
:class:`RemoteSocket` is a snapshot: its ``rooms`` and ``data`` are those of the moment it was
fetched; acting on it (emit, join, leave, disconnect) goes through the adapter, to whichever
process owns the socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..realtime.handshake import Handshake

if TYPE_CHECKING:
    from ..realtime.socket import Socket


@dataclass(frozen=True, slots=True)
class RemoteSocket:
    """A socket that lives on another process of the app."""

    id: str
    #: its rooms when it was fetched, its own id included
    rooms: frozenset[str]
    #: its ``socket.data`` when it was fetched (a copy: changing it changes nothing there)
    data: dict[str, Any]
    handshake: Handshake

    @classmethod
    def from_details(cls, details: Any) -> RemoteSocket:
        """Read one socket of a ``fetch_sockets`` answer; ``ValueError`` when it is not one."""
        if not isinstance(details, Mapping):
            raise ValueError("a socket is a map")
        sid = details.get("id")
        rooms = details.get("rooms", [])
        if not isinstance(sid, str) or not isinstance(rooms, list):
            raise ValueError("a socket needs an id and a list of rooms")
        data = details.get("data")
        return cls(
            id=sid,
            rooms=frozenset(str(room) for room in rooms),
            data=data if isinstance(data, dict) else {},
            handshake=_handshake(details.get("handshake")),
        )

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.id} rooms={sorted(self.rooms)}>"


def socket_details(socket: Socket) -> dict[str, Any]:
    """A socket of this process as every process reads it (see the module's documentation)."""
    handshake = socket.handshake
    headers = {name.lower(): value for name, value in handshake.headers.items()}
    return {
        "id": socket.id,
        "handshake": {
            "headers": headers,
            "time": _date_string(handshake.time),
            "address": handshake.address,
            "xdomain": "origin" in headers,
            "secure": handshake.secure,
            "issued": handshake.issued,
            "url": handshake.url,
            "query": dict(handshake.query),
            "auth": handshake.auth,
        },
        "rooms": list(socket.rooms),
        "data": socket.data,
    }


Encoded = TypeVar("Encoded")


def encode_details(
    sockets: Iterable[Socket], encode: Callable[[list[dict[str, Any]]], Encoded]
) -> tuple[Encoded, int]:
    """``encode(details)`` of the ``sockets`` (the answer to a fetch, in some wire format), and
    how many sockets had to be changed for it: a ``data`` the format cannot carry (``encode``
    raises ``TypeError``) is sent as ``{}``, and a socket that still cannot be sent (its
    handshake then) is left out. The other sockets' answer gets through either way."""
    details = [socket_details(socket) for socket in sockets]
    try:
        return encode(details), 0
    except TypeError:
        pass
    kept: list[dict[str, Any]] = []
    changed = 0
    for item in details:
        if not _fits(encode, item):
            changed += 1
            item["data"] = {}
            if not _fits(encode, item):
                continue
        kept.append(item)
    return encode(kept), changed


def _fits(encode: Callable[[list[dict[str, Any]]], object], item: dict[str, Any]) -> bool:
    try:
        encode([item])
    except TypeError:
        return False
    return True


def remote_sockets(
    answers: Iterable[Any], on_bad: Callable[[ValueError], None]
) -> list[RemoteSocket]:
    """The sockets of the other processes' answers to a fetch (each answer a list of
    sockets); ``on_bad(error)`` for each item that is not a socket (it is left out)."""
    found: list[RemoteSocket] = []
    for answer in answers:
        for details in answer if isinstance(answer, list) else ():
            try:
                found.append(RemoteSocket.from_details(details))
            except ValueError as error:
                on_bad(error)
    return found


def _date_string(moment: datetime) -> str:
    """JavaScript's ``Date.toString()`` in UTC, the form of socket.io's ``handshake.time``."""
    return moment.astimezone(UTC).strftime(_DATE_STRING)


_DATE_STRING = "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"


def _handshake(value: Any) -> Handshake:
    """A handshake of another process; what is missing or of the wrong type is left empty."""
    fields = value if isinstance(value, Mapping) else {}
    issued = fields.get("issued")
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        issued = 0
    return Handshake(
        headers=_strings(fields.get("headers"), join=", "),
        address=str(fields.get("address") or ""),
        time=datetime.fromtimestamp(issued / 1000, UTC),
        query=_strings(fields.get("query"), join=None),
        url=str(fields.get("url") or ""),
        secure=bool(fields.get("secure")),
        issued=int(issued),
        auth=dict(fields["auth"]) if isinstance(fields.get("auth"), Mapping) else {},
    )


def _strings(value: Any, join: str | None) -> dict[str, str]:
    """Name → text. A repeated value (a list) is joined for headers, its first kept for the
    query (``handshake.query`` keeps first values)."""
    if not isinstance(value, Mapping):
        return {}
    result: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, list):
            if not item:
                continue
            item = join.join(map(str, item)) if join is not None else item[0]
        result[str(name)] = item if isinstance(item, str) else str(item)
    return result
