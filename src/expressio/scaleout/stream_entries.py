"""The entries of ``@socket.io/redis-streams-adapter``'s stream, and its pub/sub messages. No IO.

A cluster message (socket.io-adapter's ``ClusterMessage``) is ``{uid, nsp, type, data}``:
``uid`` names the sending process, ``nsp`` the namespace, ``type`` one of
:class:`MessageType`. On the stream it is an entry of four string fields::

    uid   "3f9c0e6d21a4b7c8"
    nsp   "/"
    type  "3"                      (the number, as text)
    data  '{"packet":{"type":2,"data":["news",1],"nsp":"/"},
           "opts":{"rooms":["r"],"except":[],"flags":{}}}'     (one line)

``data`` is JSON, unless it carries binary values: it is then base64 of its msgpack form (Node
tells them apart by the leading ``{``). Entries are what every process must see in order and
may replay: broadcasts (the stream ids are the offsets of connection state recovery) and room
operations. Requests that wait for answers (a broadcast with acks, ``server_side_emit``,
``fetch_sockets``) and their answers travel over pub/sub instead, as the whole message in
msgpack, on ``<prefix>#<nsp>#`` and ``<prefix>#<nsp>#<uid>#`` (the requester's own channel).

A recoverable session is stored under ``<session prefix><pid>`` as base64 of the msgpack of
``{sid, pid, rooms, data}``.

Everything read from Redis is checked here: a malformed or foreign entry raises
:class:`MalformedEntry` with a short *kind* (the reader logs each kind once), never anything else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

import orjson

from ..protocol.parsers import Parser, parser_of
from ..protocol.socketio import DEFAULT_NAMESPACE, DecodeError, EncodedPacket, PacketType

msgpack: Any
try:
    import msgpack  # type: ignore[import-untyped,no-redef]  # ships no type information
except ImportError:  # a dependency; without it, the adapter says so when it is made
    msgpack = None


def require_msgpack() -> None:
    """``ImportError`` naming the package when msgpack is missing."""
    if msgpack is None:
        raise ImportError("the Redis Streams adapter needs msgpack: pip install msgpack")


__all__ = [
    "EMITTER_UID",
    "STREAM_ID",
    "Broadcast",
    "ClusterMessage",
    "MalformedEntry",
    "MessageType",
    "RoomRequest",
    "Session",
    "broadcast_data",
    "decode_entry",
    "decode_pubsub",
    "decode_session",
    "encode_entry",
    "encode_pubsub",
    "encode_session",
    "event_data",
    "has_binary",
    "packet_of",
    "read_broadcast",
    "read_options",
    "read_room_request",
]

#: the ``uid`` of ``@socket.io/redis-emitter`` style publishers (not a server process)
EMITTER_UID: Final = "emitter"

#: a stream entry id, ``<milliseconds>-<sequence>`` (what Node's restoreSession accepts)
STREAM_ID: Final = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


class MessageType(IntEnum):
    """socket.io-adapter's ``MessageType``."""

    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


_KNOWN_TYPES: Final = frozenset(int(kind) for kind in MessageType)


class MalformedEntry(ValueError):
    """An entry or message that is not a cluster message this server can act on. ``kind`` is
    a short, fixed description (one log line per kind, whatever the number of entries)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(slots=True)
class ClusterMessage:
    uid: str
    nsp: str
    type: int
    data: Any = None


# --- binary values -------------------------------------------------------------------------


def has_binary(value: Any) -> bool:
    """Does ``value`` hold ``bytes`` anywhere (then it travels as msgpack, not JSON)?"""
    kind = type(value)
    if kind is bytes or kind is bytearray or kind is memoryview:
        return True
    if kind is list or kind is tuple:
        return any(map(has_binary, value))
    if kind is dict:
        return any(map(has_binary, value.values()))
    return False


def _msgpack(value: Any) -> bytes:
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
    except (TypeError, OverflowError, ValueError) as error:
        raise TypeError(f"cannot encode as msgpack: {error}") from None
    return packed


def _unmsgpack(data: bytes, kind: str) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_extension)
    except (msgpack.StackError, RecursionError):
        raise MalformedEntry(f"{kind} nested too deeply") from None
    except (ValueError, TypeError, msgpack.UnpackException):
        raise MalformedEntry(f"{kind} is not msgpack") from None


def _extension(code: int, data: bytes) -> Any:
    # @msgpack/msgpack writes a Date as the timestamp extension (-1); anything else is foreign
    if code == -1:
        return msgpack.Timestamp.from_bytes(data).to_datetime().isoformat()
    raise MalformedEntry(f"msgpack extension type {code}")


# --- stream entries --------------------------------------------------------------------------


def encode_entry(uid: str, nsp: str, kind: MessageType, data: Any = None) -> dict[str, str]:
    """The stream fields of a message; ``data`` is any JSON-able value with maybe ``bytes``,
    or a :class:`str` already holding its JSON text (a broadcast's, built without re-encoding)."""
    fields = {"uid": uid, "nsp": nsp, "type": str(int(kind))}
    if data is None:
        return fields
    if type(data) is str:
        fields["data"] = data
    elif has_binary(data):
        fields["data"] = base64.b64encode(_msgpack(data)).decode()
    else:
        fields["data"] = orjson.dumps(data).decode()
    return fields


def _text(value: Any, name: str) -> str:
    if type(value) is bytes:
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise MalformedEntry(f"{name} is not UTF-8") from None
    if type(value) is str:
        return value
    raise MalformedEntry(f"{name} missing")


def decode_entry(fields: Mapping[Any, Any]) -> ClusterMessage:
    """A stream entry's fields (``bytes`` or ``str`` keys and values) as a message."""
    get = fields.get
    uid = _text(get(b"uid", get("uid")), "uid")
    nsp = _text(get(b"nsp", get("nsp")), "nsp")
    kind_text = _text(get(b"type", get("type")), "type")
    if not (kind_text.isascii() and kind_text.isdigit() and len(kind_text) <= 3):
        raise MalformedEntry("type not a number")
    kind = int(kind_text)
    if kind not in _KNOWN_TYPES:
        raise MalformedEntry("unknown message type")
    raw = get(b"data", get("data"))
    data: Any = None
    if raw is not None and raw not in (b"", ""):
        text = _text(raw, "data")
        if text.startswith("{"):
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise MalformedEntry("data is not JSON") from None
        else:
            try:
                packed = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedEntry("data is neither JSON nor base64") from None
            data = _unmsgpack(packed, "data")
    return ClusterMessage(uid, nsp, kind, data)


# --- pub/sub messages ----------------------------------------------------------------------


def encode_pubsub(uid: str, nsp: str, kind: MessageType, data: Any = None) -> bytes:
    message: dict[str, Any] = {"uid": uid, "nsp": nsp, "type": int(kind)}
    if data is not None:
        message["data"] = data
    return _msgpack(message)


def decode_pubsub(payload: bytes) -> ClusterMessage:
    message = _unmsgpack(payload, "message")
    if type(message) is not dict:
        raise MalformedEntry("message is not a map")
    uid, nsp, kind = message.get("uid"), message.get("nsp"), message.get("type")
    if type(uid) is not str or type(nsp) is not str:
        raise MalformedEntry("uid or nsp missing")
    if type(kind) is not int or kind not in _KNOWN_TYPES:
        raise MalformedEntry("unknown message type")
    return ClusterMessage(uid, nsp, kind, message.get("data"))


# --- broadcasts --------------------------------------------------------------------------


@dataclass(slots=True)
class Broadcast:
    """A BROADCAST's ``data``: the event's arguments (``[event, *args]``) and whom it is for."""

    args: list[Any]
    rooms: frozenset[str]
    except_rooms: frozenset[str]
    volatile: bool = False
    ack_id: int | None = None
    request_id: str | None = None  # a broadcast with acks: where the answers go
    timeout: Any = None  # a broadcast with acks: its ``timeout`` flag, milliseconds, unchecked


def _options(rooms: Sequence[str], except_rooms: Sequence[str], volatile: bool) -> dict[str, Any]:
    return {
        "rooms": list(rooms),
        "except": list(except_rooms),
        "flags": {"volatile": True} if volatile else {},
    }


def event_data(packet: EncodedPacket) -> list[Any]:
    """``[event, *args]`` of an encoded EVENT of any parser (binary values as ``bytes``)."""
    decoder = parser_of(packet).decoder(max_attachment_bytes=sum(map(len, packet.attachments)))
    decoded = None
    for message in packet.messages:
        decoded = decoder.feed(message)
    if decoded is None or decoded.type not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise DecodeError("not a complete EVENT packet")
    data: list[Any] = decoded.data
    return data


def broadcast_data(
    packet: EncodedPacket,
    nsp: str,
    rooms: Sequence[str],
    except_rooms: Sequence[str],
    volatile: bool = False,
) -> str | dict[str, Any]:
    """A BROADCAST's ``data`` for :func:`encode_entry`. For a JSON EVENT without binary (the
    common case) its JSON text is put together around the packet's own payload text, which is
    the ``data`` array as it is: the broadcast is not encoded a second time."""
    text = packet.text
    if type(text) is str and not packet.attachments:
        head = "2" if nsp == DEFAULT_NAMESPACE else f"2{nsp},"
        if text.startswith(head) and text[len(head) : len(head) + 1] == "[":
            return (
                '{"packet":{"type":2,"data":'
                + text[len(head) :]
                + ',"nsp":'
                + orjson.dumps(nsp).decode()
                + '},"opts":'
                + orjson.dumps(_options(rooms, except_rooms, volatile)).decode()
                + "}"
            )
    return {
        "packet": {"type": 2, "data": event_data(packet), "nsp": nsp},
        "opts": _options(rooms, except_rooms, volatile),
    }


def _rooms(value: Any, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if type(value) is not list or not all(type(room) is str for room in value):
        raise MalformedEntry(f"{name} is not a list of room names")
    return frozenset(value)


def read_options(data: dict[str, Any]) -> tuple[frozenset[str], frozenset[str], dict[str, Any]]:
    """The ``opts`` of a message: rooms, rooms left out and flags, checked."""
    opts = data.get("opts")
    if type(opts) is not dict:
        raise MalformedEntry("opts missing")
    flags = opts.get("flags") or {}
    if type(flags) is not dict:
        raise MalformedEntry("flags is not a map")
    return _rooms(opts.get("rooms"), "rooms"), _rooms(opts.get("except"), "except"), flags


def read_broadcast(message: ClusterMessage) -> Broadcast:
    """The checked contents of a BROADCAST message."""
    data = message.data
    if type(data) is not dict:
        raise MalformedEntry("broadcast without data")
    packet = data.get("packet")
    if type(packet) is not dict:
        raise MalformedEntry("broadcast without packet")
    args = packet.get("data")
    if packet.get("type") not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise MalformedEntry("broadcast packet is not an EVENT")
    if type(args) is not list or not args or type(args[0]) is not str:
        raise MalformedEntry("broadcast packet has no event name")
    ack_id = packet.get("id")
    if ack_id is not None and (type(ack_id) is not int or ack_id < 0):
        raise MalformedEntry("broadcast packet has a bad ack id")
    rooms, except_rooms, flags = read_options(data)
    request_id = data.get("requestId")
    if request_id is not None and type(request_id) is not str:
        raise MalformedEntry("broadcast requestId is not a string")
    return Broadcast(
        args,
        rooms,
        except_rooms,
        bool(flags.get("volatile")),
        ack_id,
        request_id,
        flags.get("timeout"),
    )


def packet_of(
    broadcast_args: list[Any], nsp: str, parser: Parser, offset: str | None
) -> EncodedPacket:
    """The EVENT to send to clients, encoded once by this server's parser; with ``offset``
    appended as its last argument (connection state recovery), as socket.io does."""
    args = broadcast_args[1:]
    if offset is not None:
        args.append(offset)
    return parser.encode_event(nsp, broadcast_args[0], args)


@dataclass(slots=True)
class RoomRequest:
    """SOCKETS_JOIN / SOCKETS_LEAVE / DISCONNECT_SOCKETS: whom, and which rooms or ``close``."""

    rooms: frozenset[str]
    except_rooms: frozenset[str]
    target_rooms: tuple[str, ...] = ()
    close: bool = False


def room_request_data(
    rooms: Sequence[str],
    except_rooms: Sequence[str],
    target_rooms: Sequence[str] | None,
    close: bool | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"opts": _options(rooms, except_rooms, False)}
    if target_rooms is not None:
        data["rooms"] = list(target_rooms)
    if close is not None:
        data["close"] = close
    return data


def read_room_request(message: ClusterMessage) -> RoomRequest:
    data = message.data
    if type(data) is not dict:
        raise MalformedEntry("room operation without data")
    rooms, except_rooms, _ = read_options(data)
    if message.type == MessageType.DISCONNECT_SOCKETS:
        return RoomRequest(rooms, except_rooms, close=bool(data.get("close")))
    target = data.get("rooms")
    if type(target) is not list or not all(type(room) is str for room in target):
        raise MalformedEntry("room operation without rooms")
    return RoomRequest(rooms, except_rooms, tuple(target))


# --- sessions ----------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    sid: str
    pid: str
    rooms: list[str] = field(default_factory=list)
    data: Any = None


def encode_session(session: Session) -> str:
    return base64.b64encode(
        _msgpack(
            {"sid": session.sid, "pid": session.pid, "rooms": session.rooms, "data": session.data}
        )
    ).decode()


def decode_session(stored: bytes | str) -> Session:
    try:
        packed = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEntry("session is not base64") from None
    value = _unmsgpack(packed, "session")
    if type(value) is not dict:
        raise MalformedEntry("session is not a map")
    sid, pid, rooms = value.get("sid"), value.get("pid"), value.get("rooms")
    if type(sid) is not str or type(pid) is not str:
        raise MalformedEntry("session without sid or pid")
    if type(rooms) is not list or not all(type(room) is str for room in rooms):
        raise MalformedEntry("session rooms are not a list of names")
    return Session(sid, pid, rooms, value.get("data"))
