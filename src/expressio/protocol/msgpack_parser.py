"""Socket.IO packets in the format of ``socket.io-msgpack-parser`` (npm). No IO.

Each packet is one msgpack map, sent as one binary Engine.IO message and never followed by
attachments::

    {"type": 2, "nsp": "/chat", "data": ["event", "arg", b"bytes"], "id": 7}

- ``type``: CONNECT 0, DISCONNECT 1, EVENT 2, ACK 3, CONNECT_ERROR 4. Binary values travel as
  msgpack ``bin`` inside ``data``, so the BINARY_ types of the text format do not exist here;
  decoded packets say EVENT and ACK.
- ``nsp``: always there; ``data``: absent from a DISCONNECT (the Node parser refuses one with
  any), a map for CONNECT, an array for EVENT and ACK; ``id``: only when an ack is asked or
  answered. Other keys are ignored (socket.io-client sends ``options``).

JavaScript peers encode with ``notepack.io``, whose extension type 0 carries what msgpack has
no type for: ``undefined`` arrives as None, an ``ArrayBuffer`` or typed array (a browser's
binary data) as bytes. A one-byte buffer holding 0 is indistinguishable from ``undefined``
there and arrives as None; a ``Date`` arrives as its 8 bytes (send dates as strings, as the
JSON parser's ``toJSON`` does). Other extension types are refused; msgpack timestamps
arrive as ``datetime``.

Encoding takes what the JSON parser takes: values msgpack has no type for (``datetime``,
dataclasses, UUIDs...) are sent as their JSON form; anything else raises ``TypeError``.
Decoding is strict: what is not a valid packet raises :class:`DecodeError`, as the JSON
decoder does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

try:
    import msgpack  # type: ignore[import-untyped]  # ships no type information
except ModuleNotFoundError as missing:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        "the msgpack Socket.IO parser needs the msgpack package: pip install 'expressio[msgpack]'",
        name="msgpack",
    ) from missing

from .socketio import (
    DEFAULT_NAMESPACE,
    MAX_ACK_ID,
    DecodeError,
    EncodedPacket,
    Packet,
    PacketType,
    validate_packet,
)

__all__ = [
    "MSGPACK_PARSER",
    "MsgpackDecoder",
    "MsgpackParser",
    "decode_packet",
    "event_prefix",
]

_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT
_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_CONNECT_ERROR: Final = PacketType.CONNECT_ERROR
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK

#: The wire number of each packet type: the BINARY_ kinds are plain EVENT and ACK here.
_WIRE_TYPE: Final = {
    _CONNECT: 0,
    _DISCONNECT: 1,
    _EVENT: 2,
    _ACK: 3,
    _CONNECT_ERROR: 4,
    _BINARY_EVENT: 2,
    _BINARY_ACK: 3,
}
_TYPE_BY_NUMBER: Final = (_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR)

#: notepack.io's ``undefined``: extension type 0 holding one zero byte.
_UNDEFINED: Final = b"\x00"


# --- encoding -------------------------------------------------------------------------------


def _json_form(value: Any) -> Any:
    """What the JSON parser would send for a value msgpack cannot carry (a ``datetime`` as
    its ISO string, a dataclass as a map...); ``TypeError`` when JSON cannot carry it either."""
    return orjson.loads(orjson.dumps(value))


def _pack(fields: dict[str, Any]) -> bytes:
    try:
        packed: bytes = msgpack.packb(fields, default=_json_form)
    except (OverflowError, ValueError) as error:
        # an int beyond 64 bits, or data nested deeper than the packer goes: TypeError, as
        # the JSON parser raises for what it cannot carry
        raise TypeError(f"cannot encode as msgpack: {error}") from None
    return packed


def encode_packet(
    packet_type: PacketType,
    namespace: str = DEFAULT_NAMESPACE,
    data: Any = None,
    ack_id: int | None = None,
) -> EncodedPacket:
    """Encode any packet (no ``data`` key when ``data`` is None, no ``id`` without an ack id).

    Raises ``TypeError`` when ``data`` holds a value msgpack and JSON cannot carry."""
    fields: dict[str, Any] = {"type": _WIRE_TYPE[packet_type], "nsp": namespace}
    if data is not None:
        fields["data"] = data
    if ack_id is not None:
        fields["id"] = ack_id
    return EncodedPacket(_pack(fields))


def encode_event(
    namespace: str, event: str, args: Sequence[Any], ack_id: int | None = None
) -> EncodedPacket:
    """EVENT ``[event, *args]``, asking for an ack when ``ack_id`` is set.

    The key order (``type``, ``nsp``, ``data``, then ``id``) is fixed: :func:`event_prefix`
    relies on it."""
    fields: dict[str, Any] = {"type": 2, "nsp": namespace, "data": [event, *args]}
    if ack_id is not None:
        fields["id"] = ack_id
    return EncodedPacket(_pack(fields))


def ack_message(namespace: str, ack_id: int, args: Sequence[Any]) -> bytes | None:
    """The ACK answering ``ack_id`` with ``args`` as its one binary message; None when
    :func:`encode_ack` must say why it cannot be encoded."""
    try:
        return _pack({"type": 3, "nsp": namespace, "data": _array(args), "id": ack_id})
    except TypeError:
        return None


def encode_ack(namespace: str, ack_id: int, args: Sequence[Any]) -> EncodedPacket:
    """ACK answering ``ack_id`` with ``args``."""
    return EncodedPacket(_pack({"type": 3, "nsp": namespace, "data": _array(args), "id": ack_id}))


def _array(args: Sequence[Any]) -> list[Any] | tuple[Any, ...]:
    kind = type(args)
    return args if kind is list or kind is tuple else list(args)  # type: ignore[return-value]


def encode_connect(namespace: str, sid: str) -> EncodedPacket:
    """The server's CONNECT answer, granting ``namespace`` with socket id ``sid``."""
    return EncodedPacket(_pack({"type": 0, "nsp": namespace, "data": {"sid": sid}}))


def encode_connect_error(namespace: str, message: str, data: Any = None) -> EncodedPacket:
    """CONNECT_ERROR ``{"message": ..., "data": ...}`` (``data`` only when given)."""
    payload: dict[str, Any] = {"message": message}
    if data is not None:
        payload["data"] = data
    return EncodedPacket(_pack({"type": 4, "nsp": namespace, "data": payload}))


def encode_disconnect(namespace: str) -> EncodedPacket:
    return EncodedPacket(_pack({"type": 1, "nsp": namespace}))


def event_prefix(namespace: str) -> bytes:
    """The first bytes of every EVENT of ``namespace`` without an ack id that
    :func:`encode_event` makes (a three-key map up to its ``data`` key): a check that needs
    no decoding, for broadcasts relayed between processes."""
    return b"\x83" + b"".join(msgpack.packb(part) for part in ("type", 2, "nsp", namespace, "data"))


# --- decoding -------------------------------------------------------------------------------


def _javascript_value(code: int, data: bytes) -> Any:
    """notepack.io's extension type 0: ``undefined``, or an ArrayBuffer / typed array."""
    if code != 0:
        raise DecodeError(f"unsupported msgpack extension type {code}")
    return None if data == _UNDEFINED else data


def decode_packet(message: bytes) -> Packet:
    """One binary message as a packet; :class:`DecodeError` for anything else.

    Lengths announced inside the message cannot exceed the message itself, and nesting is
    bounded by the msgpack decoder (1024 levels, as the JSON decoder), so a message never
    costs more than its own size."""
    try:
        fields = msgpack.unpackb(message, ext_hook=_javascript_value, timestamp=3)
    except (msgpack.StackError, RecursionError):  # the latter from msgpack's pure-Python build
        raise DecodeError("not a msgpack packet: nested too deeply") from None
    except (ValueError, TypeError, msgpack.UnpackException) as error:
        # ValueError covers the other msgpack errors (format, extra data, limits, bad UTF-8)
        raise DecodeError(f"not a msgpack packet: {error}") from None
    if type(fields) is not dict:
        raise DecodeError("a msgpack packet is a map")
    number = fields.get("type")
    if type(number) is not int or not 0 <= number < len(_TYPE_BY_NUMBER):
        raise DecodeError(f"unknown packet type {number!r}")
    namespace = fields.get("nsp")
    if type(namespace) is not str:
        raise DecodeError("a packet needs its namespace as a string")
    ack_id = fields.get("id")
    if ack_id is not None and (type(ack_id) is not int or not 0 <= ack_id <= MAX_ACK_ID):
        raise DecodeError(f"invalid ack id {ack_id!r}")
    packet = Packet(_TYPE_BY_NUMBER[number], namespace, fields.get("data"), ack_id)
    validate_packet(packet)
    return packet


class MsgpackDecoder:
    """A connection's decoder. Every packet is one binary message, so it keeps no state; a
    text message is refused (:class:`DecodeError`)."""

    __slots__ = ()

    reassembling: Final = False

    def default_event(self, text: str) -> None:
        """No text fast path: a text message is not a msgpack packet (:meth:`feed` says so)."""
        return None

    def default_ack(self, text: str) -> None:
        """No text fast path (see :meth:`default_event`)."""
        return None

    def feed(self, message: str | bytes) -> Packet:
        if type(message) is str:
            raise DecodeError("a text message where a msgpack packet (binary) was expected")
        return decode_packet(message)  # type: ignore[arg-type]


def with_offset(packet: EncodedPacket, offset: str) -> EncodedPacket:
    """The broadcast EVENT ``packet`` with ``offset`` appended to its arguments (connection
    state recovery). Unpacked and packed again: once per broadcast, not per recipient."""
    fields = msgpack.unpackb(packet.text, raw=False, strict_map_key=False)
    fields["data"].append(offset)
    return EncodedPacket(_pack(fields))


class MsgpackParser:
    """``socket.io-msgpack-parser``'s format (see the module's documentation)."""

    name: Final = "msgpack"
    encode_packet = staticmethod(encode_packet)
    encode_event = staticmethod(encode_event)
    encode_ack = staticmethod(encode_ack)
    ack_message = staticmethod(ack_message)
    encode_connect = staticmethod(encode_connect)
    encode_connect_error = staticmethod(encode_connect_error)
    encode_disconnect = staticmethod(encode_disconnect)
    with_offset = staticmethod(with_offset)

    @staticmethod
    def decoder(max_attachment_bytes: int) -> MsgpackDecoder:
        # One message is one packet: the engine's max_payload already bounds it.
        return MsgpackDecoder()

    def __repr__(self) -> str:
        return "<Socket.IO parser 'msgpack'>"


MSGPACK_PARSER: Final = MsgpackParser()
