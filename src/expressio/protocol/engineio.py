"""Engine.IO v4 packets: encoding and strict decoding for both transports. No IO.

A packet is a type digit followed by its data::

    0 open   1 close   2 ping   3 pong   4 message   5 upgrade   6 noop

Over a websocket each packet is one frame: text frames carry ``<type><data>``, binary frames
carry a binary message as is. Over HTTP long-polling several packets travel in one payload,
separated by the record separator ``\\x1e``; a binary message becomes ``b`` + base64.

Decoding is strict: anything a peer could send that is not a valid packet raises
:class:`DecodeError` and nothing else, so the engine can close that one connection.

:class:`PreparedMessage` is the unit the engine queues: a message encoded once, whose
encodings are shared by every recipient of a broadcast.
"""

from __future__ import annotations

import base64
import binascii
from enum import IntEnum
from typing import Final, NamedTuple

__all__ = [
    "PAYLOAD_SEPARATOR",
    "DecodeError",
    "Packet",
    "PacketType",
    "PreparedMessage",
    "decode_frame",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "encode_polling_packet",
]

PAYLOAD_SEPARATOR: Final = "\x1e"


class PacketType(IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


# Indexed by the code point of the type digit: the decoder's hot path is one lookup.
_TYPE_BY_DIGIT: Final[dict[str, PacketType]] = {str(int(t)): t for t in PacketType}


class DecodeError(ValueError):
    """What a peer sent is not a valid Engine.IO packet or payload."""


class Packet(NamedTuple):
    """One decoded packet. ``data`` is ``bytes`` only for a binary message."""

    type: PacketType
    data: str | bytes = ""


def encode_frame(packet: Packet) -> str | bytes:
    """The websocket frame for ``packet``: text, or the raw bytes of a binary message."""
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise ValueError("only message packets carry binary data")
        return packet.data
    return f"{int(packet.type)}{packet.data}"


def decode_frame(frame: str | bytes | bytearray | memoryview) -> Packet:
    """Decode one websocket frame: a text packet, or a binary frame (a binary message)."""
    if isinstance(frame, str):
        return _decode_text_packet(frame)
    if isinstance(frame, bytes | bytearray | memoryview):
        return Packet(PacketType.MESSAGE, bytes(frame))
    raise DecodeError(f"a frame is text or bytes, not {type(frame).__name__}")


def encode_polling_packet(packet: Packet) -> str:
    """One packet as it appears inside a polling payload."""
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise ValueError("only message packets carry binary data")
        return "b" + base64.b64encode(packet.data).decode("ascii")
    return f"{int(packet.type)}{packet.data}"


def encode_payload(packets: list[Packet]) -> str:
    """Several packets as one polling payload."""
    return PAYLOAD_SEPARATOR.join(encode_polling_packet(packet) for packet in packets)


def decode_payload(payload: str | bytes) -> list[Packet]:
    """Decode a whole polling payload; one bad packet makes the whole payload invalid."""
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("payload is not valid UTF-8") from exc
    if not isinstance(payload, str):
        raise DecodeError(f"a payload is text, not {type(payload).__name__}")
    packets: list[Packet] = []
    for segment in payload.split(PAYLOAD_SEPARATOR):
        if segment[:1] == "b":
            packets.append(Packet(PacketType.MESSAGE, _decode_base64(segment[1:])))
        else:
            packets.append(_decode_text_packet(segment))
    return packets


def _decode_text_packet(text: str) -> Packet:
    packet_type = _TYPE_BY_DIGIT.get(text[:1])
    if packet_type is None:
        if not text:
            raise DecodeError("empty packet")
        raise DecodeError(f"unknown packet type {text[:1]!r}")
    return Packet(packet_type, text[1:])


def _decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("invalid base64 in binary packet") from exc


class PreparedMessage:
    """A message encoded once, then queued for any number of connections.

    ``websocket`` is the frame content (``"4" + text`` or the raw bytes); the polling form is
    computed on first use and cached. ``frame`` is a free slot where a transport that writes
    its own websocket framing may cache the framed bytes, so a broadcast frames once too.
    Instances are treated as immutable once queued.
    """

    __slots__ = ("_polling", "frame", "websocket")

    websocket: str | bytes
    frame: bytes | None

    def __init__(self, data: str | bytes | bytearray | memoryview) -> None:
        if isinstance(data, str):
            self.websocket = "4" + data
        elif isinstance(data, bytes | bytearray | memoryview):
            # bytes(b) of an exact bytes object is that object: no copy for the common case.
            self.websocket = bytes(data)
        else:
            raise TypeError(f"a message is str or bytes, not {type(data).__name__}")
        self._polling: str | None = None
        self.frame = None

    @classmethod
    def control(cls, packet_type: PacketType, data: str = "") -> PreparedMessage:
        """A non-message packet (ping, pong, noop, close) in prepared form."""
        prepared = cls.__new__(cls)
        prepared.websocket = f"{int(packet_type)}{data}"
        prepared._polling = None
        prepared.frame = None
        return prepared

    @property
    def is_binary(self) -> bool:
        return isinstance(self.websocket, bytes)

    @property
    def polling(self) -> str:
        """This packet as it appears inside a polling payload."""
        encoded = self._polling
        if encoded is None:
            websocket = self.websocket
            if isinstance(websocket, bytes):
                encoded = "b" + base64.b64encode(websocket).decode("ascii")
            else:
                encoded = websocket
            self._polling = encoded
        return encoded

    def __repr__(self) -> str:
        return f"PreparedMessage({self.websocket!r})"
