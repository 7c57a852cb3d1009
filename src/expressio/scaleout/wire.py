"""The messages processes exchange over Redis pub/sub. Pure functions, no IO.

Every namespace of an app has one channel, ``<app channel>#<namespace>#`` (``expressio#/#``), so
two apps sharing a Redis never see each other's traffic and a process only hears about the
namespaces it serves. A message is a small JSON header, a newline, then the raw bytes it
carries::

    XIO1{"n":"<node id>","k":"b","r":["room"],"x":["sid"],"l":[12,4]}\n<packet text><attachment>...

- ``n``: the id of the sending process (each process ignores its own echo);
- ``k``: the kind: ``b`` broadcast, ``j`` join, ``v`` leave (a socket owned by another process),
  ``d`` disconnect that socket;
- broadcast: ``r`` the rooms (``null``: everyone), ``x`` the socket ids to skip (``null``: none),
  ``l`` the byte lengths of the Socket.IO packet text and of each binary attachment, which follow
  the header back to back; ``p``: ``"msgpack"`` when the packet is one msgpack message (the
  msgpack parser's), absent for the JSON parser's. The packet is the one the sender encoded:
  receivers whose server uses the same parser hand it to their clients as it is, with no
  re-encoding;
- join / leave / disconnect: ``s`` the socket id, ``r`` the room (join and leave).

orjson escapes control characters inside JSON strings, so the first newline ends the header.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import orjson

from ..protocol.socketio import DEFAULT_NAMESPACE, EncodedPacket

MAGIC: Final = b"XIO1"
MSGPACK: Final = "msgpack"
BROADCAST: Final = "b"
JOIN: Final = "j"
LEAVE: Final = "v"
DISCONNECT: Final = "d"
_SOCKET_KINDS: Final = frozenset({JOIN, LEAVE, DISCONNECT})


class MalformedMessage(ValueError):
    """Something on the channel that is not a message of this format."""


class Broadcast(NamedTuple):
    node: str
    packet: EncodedPacket
    rooms: set[str] | None
    skip: set[str] | None


class SocketRequest(NamedTuple):
    """Join, leave or disconnect a socket that may live on any process."""

    node: str
    kind: str
    sid: str
    room: str | None


def channel_name(app_channel: str, namespace: str) -> bytes:
    """The pub/sub channel of ``namespace`` in the app ``app_channel``."""
    return f"{app_channel}#{namespace}#".encode()


def encode_broadcast(
    node: str, packet: EncodedPacket, rooms: Iterable[str] | None, skip: Iterable[str] | None
) -> bytes:
    first = packet.text
    text = first.encode() if isinstance(first, str) else first
    attachments = packet.attachments
    header: dict[str, Any] = {
        "n": node,
        "k": BROADCAST,
        "r": None if rooms is None else list(rooms),
        "x": list(skip) if skip else None,
        "l": [len(text), *(len(attachment) for attachment in attachments)],
    }
    if type(first) is bytes:
        header["p"] = MSGPACK
    return b"".join((MAGIC, orjson.dumps(header), b"\n", text, *attachments))


def encode_socket_request(node: str, kind: str, sid: str, room: str | None = None) -> bytes:
    if kind not in _SOCKET_KINDS:
        raise ValueError(f"unknown socket request kind {kind!r}")
    header: dict[str, Any] = {"n": node, "k": kind, "s": sid}
    if room is not None:
        header["r"] = room
    return MAGIC + orjson.dumps(header) + b"\n"


def decode(data: bytes, namespace: str) -> Broadcast | SocketRequest:
    """Parse one message received on ``namespace``'s channel; :class:`MalformedMessage` if it
    is not one (wrong framing, bad header, lengths that do not add up, a packet that is not an
    event of ``namespace``)."""
    if not data.startswith(MAGIC):
        raise MalformedMessage("does not start with the message marker")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise MalformedMessage("no end of header")
    try:
        header = orjson.loads(data[len(MAGIC) : end])
    except orjson.JSONDecodeError as error:
        raise MalformedMessage(f"header is not JSON: {error}") from None
    if type(header) is not dict:
        raise MalformedMessage("header is not an object")
    node = header.get("n")
    kind = header.get("k")
    if type(node) is not str:
        raise MalformedMessage("header has no sender id")
    if kind == BROADCAST:
        return _decode_broadcast(node, header, data, end + 1, namespace)
    if kind in _SOCKET_KINDS:
        sid = header.get("s")
        room = header.get("r")
        if type(sid) is not str or (kind != DISCONNECT and type(room) is not str):
            raise MalformedMessage(f"{kind!r} request without a socket id and room")
        return SocketRequest(node, kind, sid, room if kind != DISCONNECT else None)
    raise MalformedMessage(f"unknown message kind {kind!r}")


def _string_set(value: Any, what: str) -> set[str] | None:
    if value is None:
        return None
    if type(value) is not list or not all(type(item) is str for item in value):
        raise MalformedMessage(f"{what} is not a list of strings")
    return set(value)


def _decode_broadcast(
    node: str, header: dict[str, Any], data: bytes, start: int, namespace: str
) -> Broadcast:
    lengths = header.get("l")
    if (
        type(lengths) is not list
        or not lengths
        or not all(type(length) is int and length >= 0 for length in lengths)
    ):
        raise MalformedMessage("broadcast without valid lengths")
    if start + sum(lengths) != len(data):
        raise MalformedMessage("lengths do not match the message size")
    rooms = _string_set(header.get("r"), "rooms")
    skip = _string_set(header.get("x"), "skip")
    text_end = start + lengths[0]
    parser = header.get("p")
    if parser is not None:
        if parser != MSGPACK or len(lengths) != 1:
            raise MalformedMessage("not a packet of a known parser")
        packed = data[start:text_end]
        _check_msgpack_event(packed, namespace)
        return Broadcast(node, EncodedPacket(packed), rooms, skip)
    try:
        text = data[start:text_end].decode()
    except UnicodeDecodeError:
        raise MalformedMessage("packet text is not UTF-8") from None
    attachments: list[bytes] = []
    position = text_end
    for length in lengths[1:]:
        attachments.append(data[position : position + length])
        position += length
    _check_event_packet(text, len(attachments), namespace)
    return Broadcast(node, EncodedPacket(text, tuple(attachments)), rooms, skip)


def _check_msgpack_event(packed: bytes, namespace: str) -> None:
    """The msgpack form of the check below: the first bytes of an event without an ack id."""
    try:
        from ..protocol.msgpack_parser import event_prefix
    except ImportError:
        raise MalformedMessage("a msgpack packet, and msgpack is not installed here") from None
    prefix = event_prefix(namespace)
    # then its payload: an array (fixarray, array 16 or array 32)
    if not packed.startswith(prefix) or packed[len(prefix) : len(prefix) + 1] not in _ARRAYS:
        raise MalformedMessage("not a msgpack event of this namespace")


_ARRAYS: Final = frozenset({bytes([marker]) for marker in (*range(0x90, 0xA0), 0xDC, 0xDD)})


def _check_event_packet(text: str, attachments: int, namespace: str) -> None:
    """A few string tests, not a decode: enough that nothing but an event packet of this
    namespace with the announced attachments ever reaches a client."""
    if text[:1] == "2":
        if attachments:
            raise MalformedMessage("an EVENT packet carries no attachments")
        rest = text[1:]
    elif text[:1] == "5":
        dash = text.find("-")
        if dash < 0 or text[1:dash] != str(attachments):
            raise MalformedMessage("BINARY_EVENT attachment count does not match")
        rest = text[dash + 1 :]
    else:
        raise MalformedMessage("not an EVENT or BINARY_EVENT packet")
    # A broadcast carries no ack id: the JSON array follows the namespace at once.
    prefix = "[" if namespace == DEFAULT_NAMESPACE else namespace + ",["
    if not rest.startswith(prefix):
        raise MalformedMessage("not an event of this namespace")
