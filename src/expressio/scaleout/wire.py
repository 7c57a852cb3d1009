"""The messages of socket.io's Redis adapter (``@socket.io/redis-adapter``, the classic pub/sub
one) and of its emitter (``@socket.io/redis-emitter``). Pure functions, no IO.

Node processes and expressio processes that share a Redis and a *key* (our ``channel``) form
one cluster because they exchange exactly these messages. For the key ``K`` and a namespace
``N`` (``/``, ``/chat``), the channels are:

====================  ==============================================================================
``K#N#``              broadcasts to every client, or to several rooms
``K#N#room#``         broadcasts to exactly one room: a process without that room skips it
                      undecoded (everyone subscribes to the pattern ``K#N#*``)
``K-request#N#``      requests to every process; its number of subscribers is the number of
                      processes (``PUBSUB NUMSUB``: ``server_count``)
``K-response#N#``     answers to requests
``K-response#N#U#``   answers meant for the process whose id is ``U`` only
====================  ==============================================================================

A broadcast is the msgpack array ``[uid, packet, opts]``: the sender's id (``"emitter"`` for
emitters), the Socket.IO packet as an *object* (``{"type": 2, "data": [event, *args],
"nsp": N}``; each receiver encodes it for its own clients with its own parser) and
``{"rooms": [...], "except": [...], "flags": {"volatile": true, ...}}``.

Requests are JSON objects with a numeric ``type`` (:class:`RequestType`), except a broadcast
with acks (``BROADCAST``), which is msgpack since its packet may carry binary. Answers are JSON
too, except a client's ack to such a broadcast (``BROADCAST_ACK``, msgpack). A receiver tells
the two apart as Node does: JSON starts with ``{``.

msgpack values are those of notepack.io, Node's encoder: binary is msgpack *bin* both ways
(Python ``bytes``, a Node ``Buffer``); Node's ``undefined`` (extension 0, one zero byte) reads
as ``None``; a ``Date`` (extension 0, eight bytes) reads as the string ``Date.toJSON()`` gives,
as the JSON parser would have sent it to a client; another ``ArrayBuffer`` reads as ``bytes``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final, NamedTuple

import orjson

try:
    import msgpack  # type: ignore[import-untyped]  # ships no type information
except ModuleNotFoundError:  # pragma: no cover - a broken install; require_msgpack() says so
    msgpack = None

#: The sender id of every ``@socket.io/redis-emitter`` broadcast.
EMITTER_UID: Final = "emitter"

EVENT: Final = 2
BINARY_EVENT: Final = 5


class RequestType(IntEnum):
    """The ``type`` of a request or answer between processes (Node's numbering)."""

    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


class MalformedMessage(ValueError):
    """Something on the channels that is not a message of this format. ``kind`` is a short
    stable description, so that a receiver can log each kind once."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def require_msgpack() -> None:
    """``ModuleNotFoundError`` naming the package when msgpack is missing (a dependency of
    expressio: only a broken install lacks it, and then only the Redis adapter and the Emitter
    cannot work; HTTP and one-process realtime apps still import and run)."""
    if msgpack is None:
        raise ModuleNotFoundError(
            "the Redis adapter and the Emitter need the msgpack package: pip install msgpack",
            name="msgpack",
        )


# --- channels -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of one namespace of the app ``key``."""

    key: str
    namespace: str
    #: prefix of every broadcast channel: ``K#N#`` (then ``room#`` for a one-room broadcast)
    broadcast: bytes = field(init=False)
    #: what every process subscribes to for broadcasts, glob characters escaped
    pattern: bytes = field(init=False)
    request: bytes = field(init=False)
    response: bytes = field(init=False)

    def __post_init__(self) -> None:
        broadcast = f"{self.key}#{self.namespace}#"
        set_ = object.__setattr__
        set_(self, "broadcast", broadcast.encode())
        set_(self, "pattern", _glob_escape(broadcast).encode() + b"*")
        set_(self, "request", f"{self.key}-request#{self.namespace}#".encode())
        set_(self, "response", f"{self.key}-response#{self.namespace}#".encode())

    def response_for(self, uid: str) -> bytes:
        """The answers meant for the process ``uid`` only."""
        return self.response + uid.encode() + b"#"

    def broadcast_to(self, rooms: Collection[str]) -> bytes:
        """Where a broadcast to ``rooms`` goes: the room's own channel when there is one room
        (a process without it skips the message undecoded), else the namespace's."""
        if len(rooms) == 1:
            (room,) = rooms
            return self.broadcast + room.encode() + b"#"
        return self.broadcast

    def room_of(self, channel: bytes) -> str | None:
        """The room of a one-room broadcast channel; ``""`` for the namespace's own channel;
        None when ``channel`` is not a broadcast channel of this namespace."""
        prefix = self.broadcast
        if not channel.startswith(prefix):
            return None
        if len(channel) == len(prefix):
            return ""
        if not channel.endswith(b"#"):
            return None
        return channel[len(prefix) : -1].decode(errors="replace")


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob pattern."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def check_key(key: str) -> None:
    """An app key: a non-empty string without ``#`` (which separates the channel parts)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a channel name is a non-empty str, got {key!r}")
    if "#" in key:
        raise ValueError(f"a channel name cannot contain '#': {key!r}")


# --- values: notepack.io's msgpack and Node's JSON ------------------------------------------


def _node_extension(code: int, data: bytes) -> Any:
    if code != 0:
        raise ValueError(f"msgpack extension type {code}")
    if data == b"\x00":
        return None  # undefined
    if len(data) == 8:  # a Date, in milliseconds since the epoch
        milliseconds = int.from_bytes(data[:4], "big", signed=True) * 2**32 + int.from_bytes(
            data[4:], "big"
        )
        return _date_json(milliseconds)
    return data  # an ArrayBuffer


def _date_json(milliseconds: int) -> str:
    """``new Date(milliseconds).toJSON()``: ``2024-05-01T12:00:00.000Z``."""
    moment = datetime.fromtimestamp(milliseconds / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds % 1000:03d}Z"


def _msgpack_default(value: Any) -> Any:
    """A value msgpack has no type for: what JSON would carry of it (a ``datetime`` as its
    ISO string, a set as a list...), as the msgpack Socket.IO parser does."""
    if isinstance(value, set | frozenset):
        return list(value)
    return orjson.loads(orjson.dumps(value))


def _json_default(value: Any) -> Any:
    """What Node's ``JSON.stringify`` makes of a ``Buffer``: ``{"type": "Buffer", "data":
    [bytes...]}``; a set is a list."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def pack(value: Any) -> bytes:
    """msgpack as notepack.io reads it. ``TypeError`` for what neither msgpack nor JSON can
    carry."""
    try:
        packed: bytes = msgpack.packb(value, default=_msgpack_default)
    except (OverflowError, ValueError) as error:
        raise TypeError(f"cannot encode as msgpack: {error}") from None
    return packed


def unpack(data: bytes) -> Any:
    """notepack.io's msgpack; :class:`MalformedMessage` for anything else."""
    try:
        return msgpack.unpackb(data, ext_hook=_node_extension)
    except Exception as error:  # every msgpack error, a bad extension, deep nesting
        raise MalformedMessage("not msgpack", str(error)[:80]) from None


def dump_json(value: Any) -> bytes:
    """JSON as ``JSON.stringify`` would write it (see :func:`_json_default`)."""
    return orjson.dumps(value, default=_json_default)


def _load(data: bytes) -> Any:
    """A request or answer: JSON when it starts with ``{``, else msgpack (Node's rule)."""
    if data[:1] == b"{":
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise MalformedMessage("not JSON", str(error)[:80]) from None
    return unpack(data)


# --- broadcasts -----------------------------------------------------------------------------


class Broadcast(NamedTuple):
    """A broadcast received from any process or emitter."""

    uid: Any
    namespace: str
    #: ``[event, *args]``
    data: list[Any]
    rooms: frozenset[str]
    except_rooms: frozenset[str]
    volatile: bool


def event_packet(namespace: str, data: list[Any]) -> dict[str, Any]:
    """The Socket.IO EVENT packet object Node's adapters exchange."""
    return {"type": EVENT, "data": data, "nsp": namespace}


def target(
    rooms: Iterable[str], except_rooms: Iterable[str], flags: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``opts`` of a broadcast or request: whom it reaches."""
    opts: dict[str, Any] = {"rooms": list(rooms), "except": list(except_rooms)}
    if flags is not None:
        opts["flags"] = dict(flags)
    return opts


def encode_broadcast(
    uid: str,
    namespace: str,
    data: list[Any],
    rooms: Iterable[str],
    except_rooms: Iterable[str],
    flags: Mapping[str, Any],
) -> bytes:
    """``[uid, packet, opts]``, in msgpack. ``TypeError`` for data msgpack cannot carry."""
    return pack([uid, event_packet(namespace, data), target(rooms, except_rooms, flags)])


def echo_prefix(uid: str) -> bytes:
    """The first bytes of every broadcast ``uid`` sends: a process recognises its own echo
    without decoding it."""
    return b"\x93" + pack(uid)


def decode_broadcast(message: bytes) -> Broadcast:
    """One message of a broadcast channel; :class:`MalformedMessage` when it is not an EVENT
    broadcast (Node's adapter takes a packet without ``nsp`` as the default namespace's)."""
    decoded = unpack(message)
    if type(decoded) is not list or len(decoded) != 3:
        raise MalformedMessage("broadcast is not [uid, packet, opts]")
    uid, packet, opts = decoded
    namespace, data = _event(packet)
    if type(opts) is not dict:
        raise MalformedMessage("broadcast opts is not a map")
    rooms, except_rooms = _opts_rooms(opts)
    flags = opts.get("flags")
    volatile = type(flags) is dict and bool(flags.get("volatile"))
    return Broadcast(uid, namespace, data, rooms, except_rooms, volatile)


def _event(packet: Any) -> tuple[str, list[Any]]:
    """The namespace and ``[event, *args]`` of an EVENT packet object."""
    if type(packet) is not dict:
        raise MalformedMessage("packet is not a map")
    if packet.get("type") not in (EVENT, BINARY_EVENT):
        raise MalformedMessage("packet is not an EVENT")
    namespace = packet.get("nsp", "/")
    if namespace is None:
        namespace = "/"
    data = packet.get("data")
    if type(namespace) is not str:
        raise MalformedMessage("packet namespace is not a string")
    if type(data) is not list or not data or type(data[0]) is not str:
        raise MalformedMessage("packet data is not [event, ...]")
    return namespace, data


def _room_set(value: Any, what: str) -> frozenset[str]:
    """Rooms of a message: strings; numbers too (a Node app may use ``to(42)``), as their
    decimal form."""
    if value is None:
        return frozenset()
    if type(value) is not list:
        raise MalformedMessage(f"{what} is not a list")
    rooms = []
    for room in value:
        kind = type(room)
        if kind is str:
            rooms.append(room)
        elif kind is int or kind is float:
            rooms.append(_number_text(room))
        else:
            raise MalformedMessage(f"{what} holds something else than room names")
    return frozenset(rooms)


def _number_text(number: float) -> str:
    """A number as JavaScript's ``String(n)`` writes it (``42``, not ``42.0``)."""
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _opts_rooms(opts: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    return _room_set(opts.get("rooms"), "rooms"), _room_set(opts.get("except"), "except")


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A request from another process (or an emitter: no ``uid``). Which fields are set
    depends on ``type``."""

    type: RequestType
    uid: str | None = None
    request_id: str | None = None
    #: whom it targets (join, leave, disconnect, fetch, broadcast with acks)
    rooms: frozenset[str] = frozenset()
    except_rooms: frozenset[str] = frozenset()
    #: a by-opts operation (``True``) rather than one on the socket ``sid``
    by_opts: bool = True
    #: the rooms to join or leave
    new_rooms: tuple[str, ...] = ()
    sid: str | None = None
    room: str | None = None
    close: bool = False
    #: SERVER_SIDE_EMIT ``[event, *args]``; BROADCAST ``[event, *args]`` of its packet
    data: list[Any] = field(default_factory=list)
    #: BROADCAST: the flags of the broadcast (``volatile``, ``timeout`` in milliseconds)
    flags: dict[str, Any] = field(default_factory=dict)


def decode_request(message: bytes) -> Request:
    """One message of the request channel; :class:`MalformedMessage` when it is not a
    request this format knows, with the shape its type needs."""
    value = _load(message)
    if type(value) is not dict:
        raise MalformedMessage("request is not a map")
    try:
        kind = RequestType(value["type"])
    except (KeyError, TypeError, ValueError):
        raise MalformedMessage("unknown request type", repr(value.get("type"))[:40]) from None
    uid = value.get("uid")
    request_id = value.get("requestId")
    common: dict[str, Any] = {
        "uid": uid if type(uid) is str else None,
        "request_id": request_id if type(request_id) is str else None,
    }
    if kind in (RequestType.SOCKETS, RequestType.ALL_ROOMS):
        _need_request_id(kind, common)
        rooms = _room_set(value.get("rooms"), "rooms")
        return Request(kind, rooms=rooms, **common)
    if kind in (RequestType.REMOTE_JOIN, RequestType.REMOTE_LEAVE, RequestType.REMOTE_DISCONNECT):
        return _socket_request(kind, value, common)
    if kind is RequestType.REMOTE_FETCH:
        _need_request_id(kind, common)
        rooms, except_rooms = _target_of(value)
        return Request(kind, rooms=rooms, except_rooms=except_rooms, **common)
    if kind is RequestType.SERVER_SIDE_EMIT:
        data = value.get("data")
        if type(data) is not list or not data:
            raise MalformedMessage("server-side emit without [event, ...]")
        return Request(kind, data=data, **common)
    if kind is RequestType.BROADCAST:
        _need_request_id(kind, common)
        _namespace, data = _event(value.get("packet"))
        rooms, except_rooms = _target_of(value)
        flags = value["opts"].get("flags")
        return Request(
            kind,
            rooms=rooms,
            except_rooms=except_rooms,
            data=data,
            flags=flags if type(flags) is dict else {},
            **common,
        )
    raise MalformedMessage("not a request type", kind.name)  # an answer's type


def _need_request_id(kind: RequestType, common: dict[str, Any]) -> None:
    if common["request_id"] is None:
        raise MalformedMessage(f"{kind.name} request without a request id")


def _target_of(value: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    opts = value.get("opts")
    if type(opts) is not dict:
        raise MalformedMessage("request opts is not a map")
    return _opts_rooms(opts)


def _socket_request(kind: RequestType, value: dict[str, Any], common: dict[str, Any]) -> Request:
    close = bool(value.get("close"))
    if "opts" in value and value["opts"] is not None:
        rooms, except_rooms = _target_of(value)
        new_rooms: tuple[str, ...] = ()
        if kind is not RequestType.REMOTE_DISCONNECT:
            names = value.get("rooms")
            new_rooms = tuple(sorted(_room_set(names, "rooms"))) if names is not None else ()
            if not new_rooms:
                raise MalformedMessage(f"{kind.name} request without rooms")
        return Request(
            kind,
            rooms=rooms,
            except_rooms=except_rooms,
            new_rooms=new_rooms,
            close=close,
            **common,
        )
    # the older form: one socket by id (answered with {requestId})
    sid = value.get("sid")
    room = value.get("room")
    needs_room = kind is not RequestType.REMOTE_DISCONNECT
    if type(sid) is not str or (needs_room and type(room) is not str):
        raise MalformedMessage(f"{kind.name} request without opts, socket id or room")
    return Request(kind, by_opts=False, sid=sid, room=room, close=close, **common)


def _request(kind: RequestType, uid: str | None, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {} if uid is None else {"uid": uid}
    request["type"] = int(kind)
    request.update(fields)
    return request


def encode_fetch(
    uid: str, request_id: str, rooms: Iterable[str], except_rooms: Iterable[str]
) -> bytes:
    """``fetchSockets``: every process answers with its matching sockets."""
    opts = target(rooms, except_rooms)
    return dump_json(_request(RequestType.REMOTE_FETCH, uid, requestId=request_id, opts=opts))


def encode_sockets_operation(
    kind: RequestType,
    uid: str | None,
    rooms: Iterable[str],
    except_rooms: Iterable[str],
    new_rooms: Iterable[str] = (),
    close: bool = False,
) -> bytes:
    """``socketsJoin`` / ``socketsLeave`` (``new_rooms``) / ``disconnectSockets``
    (``close``): every process acts on its matching sockets; nobody answers."""
    opts = target(rooms, except_rooms)
    if kind is RequestType.REMOTE_DISCONNECT:
        return dump_json(_request(kind, uid, opts=opts, close=close))
    if kind not in (RequestType.REMOTE_JOIN, RequestType.REMOTE_LEAVE):
        raise ValueError(f"not a sockets operation: {kind!r}")
    return dump_json(_request(kind, uid, opts=opts, rooms=list(new_rooms)))


def encode_server_side_emit(uid: str, data: list[Any], request_id: str | None = None) -> bytes:
    """``serverSideEmit``: ``[event, *args]`` to the other processes; with ``request_id``
    each answers once. ``TypeError`` for data JSON cannot carry."""
    fields: dict[str, Any] = {"data": data}
    if request_id is not None:
        fields = {"requestId": request_id, **fields}
    return dump_json(_request(RequestType.SERVER_SIDE_EMIT, uid, **fields))


def encode_broadcast_with_ack(
    uid: str,
    request_id: str,
    namespace: str,
    data: list[Any],
    rooms: Iterable[str],
    except_rooms: Iterable[str],
    flags: Mapping[str, Any],
) -> bytes:
    """A broadcast each process delivers asking its clients for acks (msgpack)."""
    return pack(
        {
            "uid": uid,
            "requestId": request_id,
            "type": int(RequestType.BROADCAST),
            "packet": event_packet(namespace, data),
            "opts": target(rooms, except_rooms, flags),
        }
    )


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """An answer from another process to one of our requests. ``type`` is only set for the
    answers that carry one (server-side emit, broadcast client count and ack); ``value`` is
    what the answer carries: the sockets, rooms, server-side answer, client count or ack."""

    request_id: str
    type: RequestType | None
    value: Any = None


def decode_response(message: bytes) -> Response:
    """One message of a response channel; :class:`MalformedMessage` when it is not an answer
    with a request id."""
    value = _load(message)
    if type(value) is not dict:
        raise MalformedMessage("response is not a map")
    request_id = value.get("requestId")
    if type(request_id) is not str:
        raise MalformedMessage("response without a request id")
    raw_type = value.get("type")
    if raw_type is None:
        if "sockets" in value:
            return Response(request_id, None, value["sockets"])
        return Response(request_id, None, value.get("rooms"))
    try:
        kind = RequestType(raw_type)
    except ValueError:
        raise MalformedMessage("unknown response type", repr(raw_type)[:40]) from None
    if kind is RequestType.SERVER_SIDE_EMIT:
        return Response(request_id, kind, value.get("data"))
    if kind is RequestType.BROADCAST_CLIENT_COUNT:
        count = value.get("clientCount")
        if type(count) is not int or count < 0:
            raise MalformedMessage("client count is not a count")
        return Response(request_id, kind, count)
    if kind is RequestType.BROADCAST_ACK:
        return Response(request_id, kind, value.get("packet"))
    raise MalformedMessage("not a response type", kind.name)


def encode_fetch_response(request_id: str, sockets: list[dict[str, Any]]) -> bytes:
    return dump_json({"requestId": request_id, "sockets": sockets})


def encode_sockets_response(request_id: str, socket_ids: Iterable[str]) -> bytes:
    """The answer to ``allSockets`` (the ids of the matching sockets)."""
    return dump_json({"requestId": request_id, "sockets": list(socket_ids)})


def encode_rooms_response(request_id: str, rooms: Iterable[str]) -> bytes:
    """The answer to ``allRooms``."""
    return dump_json({"requestId": request_id, "rooms": list(rooms)})


def encode_done_response(request_id: str) -> bytes:
    """The answer to a join, leave or disconnect of one socket by id."""
    return dump_json({"requestId": request_id})


def encode_server_side_response(request_id: str, answer: Any) -> bytes:
    return dump_json(
        {"type": int(RequestType.SERVER_SIDE_EMIT), "requestId": request_id, "data": answer}
    )


def encode_client_count(request_id: str, count: int) -> bytes:
    return dump_json(
        {
            "type": int(RequestType.BROADCAST_CLIENT_COUNT),
            "requestId": request_id,
            "clientCount": count,
        }
    )


def encode_client_ack(request_id: str, answer: Any) -> bytes:
    """One client's ack to a broadcast with acks: its first argument (msgpack)."""
    return pack({"type": int(RequestType.BROADCAST_ACK), "requestId": request_id, "packet": answer})
