"""Socket.IO v5 packets: encoding, strict decoding and binary reassembly. No IO.

A Socket.IO packet travels as one Engine.IO text message, followed by one Engine.IO
binary message per attachment when it carries binary data::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]

Binary values inside the payload are replaced by ``{"_placeholder":true,"num":n}`` and
sent as the n-th attachment. The Engine.IO ``4`` (message) prefix is the engine's business,
not this module's.

Decoding is strict: whatever a peer could send that is not a valid packet raises
:class:`DecodeError` and nothing else, so the server can close that one connection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, NamedTuple

import orjson

__all__ = [
    "DEFAULT_NAMESPACE",
    "DecodeError",
    "Decoder",
    "EncodedPacket",
    "Packet",
    "PacketType",
    "ack_text",
    "encode_ack",
    "encode_connect",
    "encode_connect_error",
    "encode_disconnect",
    "encode_event",
    "encode_packet",
    "validate_packet",
    "with_offset",
]

DEFAULT_NAMESPACE: Final = "/"

# JavaScript peers cannot represent larger integers exactly; socket.io clients count from 0.
MAX_ACK_ID: Final = 2**53 - 1
_MAX_ACK_ID_DIGITS: Final = len(str(MAX_ACK_ID))


class PacketType(IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


_TYPE_BY_DIGIT: Final = {str(int(t)): t for t in PacketType}
_TYPE_DIGITS: Final = "0123456"  # indexed by PacketType
# Module-level aliases: on Python 3.11 reading ``PacketType.X`` costs ten times a global
# lookup, and hashing a member runs Python code; the hot paths below compare identities.
_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT
_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_CONNECT_ERROR: Final = PacketType.CONNECT_ERROR
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK
_DIGITS: Final = re.compile(r"[0-9]*")


class DecodeError(ValueError):
    """The data received is not a valid Socket.IO v5 packet (or packet sequence)."""


@dataclass(slots=True)
class Packet:
    """One decoded Socket.IO packet. ``data`` has its attachments put back in place as bytes."""

    type: PacketType
    namespace: str = DEFAULT_NAMESPACE
    data: Any = None
    id: int | None = None


class EncodedPacket(NamedTuple):
    """A packet ready for the wire: its first Engine.IO message and the binary messages that
    follow it. This module's packets start with their text; a parser that puts the whole
    packet in one binary message (:mod:`expressio.protocol.msgpack_parser`) puts it in
    ``text`` and has no attachments.

    Encoding happens once per packet; a broadcast hands the same object to every recipient.
    (A named tuple: it is built on every emit and ack, and tuples are the cheapest to build.)
    """

    text: str | bytes
    attachments: tuple[bytes, ...] = ()

    @property
    def messages(self) -> tuple[str | bytes, ...]:
        """Every Engine.IO message of this packet, in sending order."""
        return (self.text, *self.attachments)


# --- encoding -------------------------------------------------------------------------------


def _dump(data: Any) -> tuple[str, tuple[bytes, ...]]:
    """JSON text of ``data`` plus the binary values pulled out of it, in placeholder order.

    The common case (no binary anywhere) is a single orjson call. Only when orjson refuses a
    value does a second call run, where orjson itself walks the payload and hands every value
    it cannot serialise to the hook below; orjson visits them depth first, in document order,
    which is exactly the placeholder numbering socket.io clients expect.
    """
    try:
        return orjson.dumps(data).decode(), ()
    except TypeError:
        pass
    attachments: list[bytes] = []

    def extract_binary(value: Any) -> dict[str, Any]:
        if isinstance(value, bytes | bytearray | memoryview):
            attachments.append(bytes(value))
            return {"_placeholder": True, "num": len(attachments) - 1}
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")

    text = orjson.dumps(data, default=extract_binary).decode()
    return text, tuple(attachments)


def _header(packet_type: PacketType, namespace: str, attachments: int, ack_id: int | None) -> str:
    header = _TYPE_DIGITS[packet_type]
    if attachments:
        header += f"{attachments}-"
    if namespace != DEFAULT_NAMESPACE:
        header += namespace + ","
    if ack_id is not None:
        header += str(ack_id)
    return header


def encode_packet(
    packet_type: PacketType,
    namespace: str = DEFAULT_NAMESPACE,
    data: Any = None,
    ack_id: int | None = None,
) -> EncodedPacket:
    """Encode any packet. EVENT and ACK become their BINARY_ kind when ``data`` holds bytes.

    Raises ``TypeError`` when ``data`` holds a value JSON cannot carry.
    """
    if "," in namespace:
        # The wire format has no escape for the separator.
        raise ValueError(f"a namespace cannot contain a comma: {namespace!r}")
    if data is None:
        return EncodedPacket(_header(packet_type, namespace, 0, ack_id))
    text, attachments = _dump(data)
    if attachments:
        if packet_type is _EVENT:
            binary_type = _BINARY_EVENT
        elif packet_type is _ACK:
            binary_type = _BINARY_ACK
        else:
            raise TypeError(f"{packet_type.name} packets cannot carry binary data")
        return EncodedPacket(
            _header(binary_type, namespace, len(attachments), ack_id) + text, attachments
        )
    return EncodedPacket(_header(packet_type, namespace, 0, ack_id) + text)


def encode_event(
    namespace: str, event: str, args: Sequence[Any], ack_id: int | None = None
) -> EncodedPacket:
    """EVENT (or BINARY_EVENT) ``[event, *args]``, asking for an ack when ``ack_id`` is set."""
    return encode_packet(_EVENT, namespace, [event, *args], ack_id)


def encode_ack(namespace: str, ack_id: int, args: Sequence[Any]) -> EncodedPacket:
    """ACK (or BINARY_ACK) answering ``ack_id`` with ``args``."""
    text = ack_text(namespace, ack_id, args)
    if text is not None:
        return EncodedPacket(text)
    # orjson writes a tuple as an array: no list copy needed
    return encode_packet(_ACK, namespace, tuple(args), ack_id)


def ack_text(namespace: str, ack_id: int, args: Sequence[Any]) -> str | None:
    """The ACK answering ``ack_id`` with ``args`` in the default namespace, as its one text
    message; None when it needs :func:`encode_ack` (another namespace, binary data in
    ``args``, or ``args`` neither a list nor a tuple), which also raises for what JSON cannot
    carry. The path of every ack a server sends."""
    if namespace != DEFAULT_NAMESPACE:
        return None
    kind = type(args)
    if kind is not tuple and kind is not list:
        return None
    try:
        return f"3{ack_id}{orjson.dumps(args).decode()}"
    except TypeError:
        return None


def encode_connect(namespace: str, sid: str) -> EncodedPacket:
    """The server's CONNECT answer, granting ``namespace`` with socket id ``sid``."""
    return encode_packet(PacketType.CONNECT, namespace, {"sid": sid})


def with_offset(packet: EncodedPacket, offset: str) -> EncodedPacket:
    """The EVENT ``packet`` (no ack id) with ``offset`` appended as its last argument, the way
    socket.io tells a client where it is in the stream of broadcasts. The JSON array is the
    end of the text, so this is one string operation, not a new encoding. ``offset`` must be
    characters JSON carries as they are (letters, digits, ``-``)."""
    text = packet.text
    assert isinstance(text, str), "a JSON packet is text"
    return EncodedPacket(f'{text[:-1]},"{offset}"]', packet.attachments)


def encode_connect_error(namespace: str, message: str, data: Any = None) -> EncodedPacket:
    """CONNECT_ERROR ``{"message": ..., "data": ...}`` (``data`` only when given)."""
    payload: dict[str, Any] = {"message": message}
    if data is not None:
        payload["data"] = data
    return encode_packet(PacketType.CONNECT_ERROR, namespace, payload)


def encode_disconnect(namespace: str) -> EncodedPacket:
    return encode_packet(PacketType.DISCONNECT, namespace)


# --- decoding -------------------------------------------------------------------------------


def _parse_text(text: str, max_attachments: int) -> tuple[Packet, int]:
    """Parse one text message into a packet (payload not yet validated) and its attachment count."""
    if not text:
        raise DecodeError("empty packet")
    packet_type = _TYPE_BY_DIGIT.get(text[0])
    if packet_type is None:
        raise DecodeError(f"unknown packet type {text[0]!r}")
    end = len(text)
    i = 1

    attachments = 0
    if packet_type is _BINARY_EVENT or packet_type is _BINARY_ACK:
        dash = text.find("-", i)
        count = text[i:dash]
        if dash < 0 or not count.isdigit() or not count.isascii() or len(count) > 6:
            raise DecodeError("a binary packet needs an attachment count followed by '-'")
        attachments = int(count)
        if attachments > max_attachments:
            raise DecodeError(f"too many attachments ({attachments} > {max_attachments})")
        i = dash + 1

    namespace = DEFAULT_NAMESPACE
    if i < end and text[i] == "/":
        comma = text.find(",", i)
        if comma < 0:
            namespace, i = text[i:], end
        else:
            namespace, i = text[i:comma], comma + 1

    ack_id: int | None = None
    digits_end = _DIGITS.match(text, i).end()  # type: ignore[union-attr]  # "*" always matches
    if digits_end > i:
        if digits_end - i > _MAX_ACK_ID_DIGITS or int(text[i:digits_end]) > MAX_ACK_ID:
            raise DecodeError("ack id out of range")
        ack_id = int(text[i:digits_end])
        i = digits_end

    data: Any = None
    if i < end:
        try:
            data = orjson.loads(text[i:])
        except orjson.JSONDecodeError as error:
            raise DecodeError(f"payload is not valid JSON: {error}") from None
    return Packet(packet_type, namespace, data, ack_id), attachments


def validate_packet(packet: Packet) -> None:
    """The payload rules of Socket.IO v5, per packet type (:class:`DecodeError` if broken)."""
    data = packet.data
    kind = packet.type
    if kind is _EVENT or kind is _BINARY_EVENT:
        if type(data) is not list or not data or type(data[0]) is not str:
            raise DecodeError("an EVENT payload must be a non-empty array starting with a name")
    elif kind is _ACK or kind is _BINARY_ACK:
        if packet.id is None:
            raise DecodeError("an ACK packet needs an ack id")
        if type(data) is not list:
            raise DecodeError("an ACK payload must be an array")
    elif packet.id is not None:
        raise DecodeError(f"a {kind.name} packet carries no ack id")
    elif kind is _CONNECT:
        if data is not None and type(data) is not dict:
            raise DecodeError("a CONNECT payload must be an object")
    elif kind is _DISCONNECT:
        if data is not None:
            raise DecodeError("a DISCONNECT packet carries no payload")
    elif kind is _CONNECT_ERROR and not isinstance(data, dict | str):
        raise DecodeError("a CONNECT_ERROR payload must be an object or a string")


def _is_placeholder(value: dict[str, Any]) -> bool:
    return value.get("_placeholder") is True and len(value) == 2 and "num" in value


def _reconstruct(value: Any, buffers: Sequence[bytes]) -> Any:
    """Put the attachments back where their placeholders are."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, list | dict):
                value[index] = _reconstruct(item, buffers)
        return value
    if isinstance(value, dict):
        if _is_placeholder(value):
            num = value["num"]
            if type(num) is not int or not 0 <= num < len(buffers):
                raise DecodeError(f"placeholder refers to a missing attachment: {num!r}")
            return buffers[num]
        for key, item in value.items():
            if isinstance(item, list | dict):
                value[key] = _reconstruct(item, buffers)
        return value
    return value


class Decoder:
    """Per-connection decoder: text messages are packets; binary messages complete them.

    States: idle (expects a text message) or reassembling (expects the announced number of
    binary attachments). Anything out of place raises :class:`DecodeError`; after an error the
    decoder is back to idle, though the connection is expected to be closed anyway.

    Limits, because attachments are held until the packet is complete: at most
    ``max_attachments`` per packet (the official parser allows 10) and at most
    ``max_attachment_bytes`` for all of one packet's attachments together (the server passes
    the engine's ``max_payload``, so one packet holds no more than one message could).
    """

    __slots__ = (
        "_buffered",
        "_buffers",
        "_expected",
        "_pending",
        "max_attachment_bytes",
        "max_attachments",
    )

    def __init__(
        self, max_attachments: int = 100, max_attachment_bytes: int = 1_000_000
    ) -> None:
        self.max_attachments = max_attachments
        self.max_attachment_bytes = max_attachment_bytes
        self._pending: Packet | None = None
        self._buffers: list[bytes] = []
        self._expected = 0
        self._buffered = 0

    @property
    def reassembling(self) -> bool:
        """True while a binary packet still waits for attachments."""
        return self._pending is not None

    def default_event(self, text: str) -> tuple[list[Any], int | None] | None:
        """``text`` as an EVENT of the default namespace without binary data (``2[...]`` or
        ``2<ack id>[...]``, the common packet): its payload (a non-empty array starting with
        the event name) and its ack id. None for anything else, valid or not, or while a
        binary packet waits for attachments: :meth:`feed` then decodes it, or refuses it.
        """
        if self._pending is not None:
            return None
        bracket = text.find("[")
        if bracket == 1:
            ack_id: int | None = None
        elif 1 < bracket <= _MAX_ACK_ID_DIGITS + 1:
            digits = text[1:bracket]
            if not (digits.isdigit() and digits.isascii()):
                return None
            ack_id = int(digits)
            if ack_id > MAX_ACK_ID:
                return None
        else:
            return None
        if text[0] != "2":
            return None
        try:
            data = orjson.loads(text[bracket:])
        except orjson.JSONDecodeError:
            return None
        if type(data) is list and data and type(data[0]) is str:
            return data, ack_id
        return None

    def default_ack(self, text: str) -> tuple[list[Any], int] | None:
        """``text`` as an ACK of the default namespace without binary data (``3<ack id>[...]``,
        what a client answers a server's ack request with): its arguments and ack id. None for
        anything else, valid or not, as :meth:`default_event`."""
        if self._pending is not None or text[:1] != "3":
            return None
        bracket = text.find("[")
        if not 1 < bracket <= _MAX_ACK_ID_DIGITS + 1:
            return None
        digits = text[1:bracket]
        if not (digits.isdigit() and digits.isascii()):
            return None
        ack_id = int(digits)
        if ack_id > MAX_ACK_ID:
            return None
        try:
            data = orjson.loads(text[bracket:])
        except orjson.JSONDecodeError:
            return None
        if type(data) is list:
            return data, ack_id
        return None

    def feed(self, message: str | bytes) -> Packet | None:
        """Feed one Engine.IO message; returns the packet it completes, if any."""
        if type(message) is str:
            return self.feed_text(message)
        return self.feed_binary(message)  # type: ignore[arg-type]

    def feed_text(self, text: str) -> Packet | None:
        if self._pending is not None:
            self._reset()
            raise DecodeError("text message while binary attachments were expected")
        packet, attachments = _parse_text(text, self.max_attachments)
        validate_packet(packet)
        kind = packet.type
        if kind is not _BINARY_EVENT and kind is not _BINARY_ACK:
            return packet
        if attachments == 0:
            return self._complete(packet, [])
        self._pending, self._expected = packet, attachments
        return None

    def feed_binary(self, data: bytes) -> Packet | None:
        pending = self._pending
        if pending is None:
            raise DecodeError("binary message without a binary packet announcing it")
        buffered = self._buffered + len(data)
        if buffered > self.max_attachment_bytes:
            self._reset()
            raise DecodeError(f"attachments of one packet exceed {self.max_attachment_bytes} bytes")
        self._buffered = buffered
        self._buffers.append(bytes(data))
        if len(self._buffers) < self._expected:
            return None
        buffers = self._buffers
        self._reset()
        return self._complete(pending, buffers)

    def _complete(self, packet: Packet, buffers: list[bytes]) -> Packet:
        try:
            packet.data = _reconstruct(packet.data, buffers)
        except RecursionError:
            raise DecodeError("payload nested too deeply") from None
        return packet

    def _reset(self) -> None:
        self._pending = None
        self._buffers = []
        self._expected = 0
        self._buffered = 0
