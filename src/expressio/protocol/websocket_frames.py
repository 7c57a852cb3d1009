"""RFC 6455 websocket framing for a server, sans-IO: the opening handshake's accept key, a
parser for client frames and the encoders for server frames. No asyncio.

:class:`FrameParser` is fed whatever bytes arrived and returns what they meant, in order, as
typed events (wsproto's model): :class:`TextMessage` and :class:`BinaryMessage` for complete
messages (all fragments joined); :class:`Ping`, :class:`Pong` and :class:`Close` for control
frames; :class:`ProtocolError` when the peer broke the protocol: the parser then ignores all
input and the server should send ``close_frame(error.code)`` and drop the connection. A reader
dispatches on ``type(event)``.

Rules it enforces (each a :class:`ProtocolError` with the RFC's close code):

* client frames must be masked; reserved bits must be zero (no extension is negotiated);
  opcodes are 0, 1, 2, 8, 9 and 10 only (1002);
* control frames are final and carry at most 125 bytes; a continuation needs a message in
  progress and a new message needs none; a close payload is empty or a valid code plus a
  UTF-8 reason (1002, 1007);
* a message (all its fragments) larger than ``max_message_size`` is refused as soon as a
  frame header announces it (1009), so an oversized message is never buffered;
* a message in more than :data:`MAX_FRAGMENTS` frames is refused at the header of the one too
  many (1009: the message, counted in frames, is too big), so empty continuation frames cannot
  grow a message's bookkeeping without bound;
* text messages must be valid UTF-8 (1007).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "GOING_AWAY",
    "INVALID_PAYLOAD",
    "MAX_FRAGMENTS",
    "MESSAGE_TOO_BIG",
    "NORMAL_CLOSURE",
    "PING",
    "POLICY_VIOLATION",
    "PONG",
    "PROTOCOL_ERROR",
    "TEXT",
    "BinaryMessage",
    "Close",
    "FrameEvent",
    "FrameParser",
    "Ping",
    "Pong",
    "ProtocolError",
    "TextMessage",
    "accept_key",
    "apply_mask",
    "binary_frame",
    "close_frame",
    "encode_frame",
    "text_frame",
]

CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA

NORMAL_CLOSURE: Final = 1000
GOING_AWAY: Final = 1001
PROTOCOL_ERROR: Final = 1002
NO_STATUS_RECEIVED: Final = 1005
INVALID_PAYLOAD: Final = 1007
POLICY_VIOLATION: Final = 1008
MESSAGE_TOO_BIG: Final = 1009

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_KNOWN_OPCODES: Final = frozenset({CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG})
# Codes a peer may put in a close frame (RFC 6455 section 7.4): 1004-1006 and 1015 are
# reserved for local use; 3000-4999 belong to libraries and applications.
_SENDABLE_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})
_MAX_CONTROL_PAYLOAD: Final = 125
# The most frames one message may come in (its first frame and its continuations). Browsers
# and client libraries send a message in one frame, or a few for a large one; without a bound
# a peer could keep a message open with endless zero-length continuations, each costing the
# parser memory while the message's size stays at zero. One more closes with 1009.
MAX_FRAGMENTS: Final = 1000


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` answer to a client's ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def _apply_mask_python(payload: bytes, mask: bytes) -> bytes:
    size = len(payload)
    if not size:
        return b""
    # XOR as one big integer: a handful of C-level operations instead of a loop per byte.
    key = (mask * ((size >> 2) + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little"
    )


def _c_masking() -> Callable[[bytes, bytes], bytes] | None:
    # The websockets package (installed with uvicorn[standard]) ships masking in C, about
    # 6x faster for small frames and 300x for large ones; same result as the fallback.
    try:
        from websockets.speedups import apply_mask as c_apply_mask
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return c_apply_mask


_unmask: Final[Callable[[bytes, bytes], bytes]] = _c_masking() or _apply_mask_python


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the 4-byte ``mask`` repeated (masking and unmasking are the same)."""
    return _unmask(payload, mask)


# -- encoding (server frames are never masked) ---------------------------------------------

_pack_short: Final = struct.Struct("!BBH").pack
_pack_long: Final = struct.Struct("!BBQ").pack


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame."""
    size = len(payload)
    first = 0x80 | opcode
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return _pack_short(first, 126, size) + payload
    return _pack_long(first, 127, size) + payload


def text_frame(text: str) -> bytes:
    return encode_frame(TEXT, text.encode("utf-8"))


def binary_frame(data: bytes) -> bytes:
    return encode_frame(BINARY, data)


def close_frame(code: int = NORMAL_CLOSURE, reason: str = "") -> bytes:
    """A close frame; ``code`` 1005 (no status) sends an empty payload, as the RFC requires."""
    if code == NO_STATUS_RECEIVED:
        return encode_frame(CLOSE, b"")
    # A reason too long for a control frame is cut at a character boundary: a reason cut
    # inside a UTF-8 sequence is invalid, and the peer would answer it with 1007.
    room = _MAX_CONTROL_PAYLOAD - 2
    encoded = reason.encode("utf-8")
    if len(encoded) > room:
        encoded = encoded[:room].decode("utf-8", "ignore").encode("utf-8")
    return encode_frame(CLOSE, code.to_bytes(2, "big") + encoded)


# -- decoding -------------------------------------------------------------------------------


# Slotted, non-frozen dataclasses: the cheapest typed objects to build (a frozen dataclass or
# a NamedTuple costs about twice as much), and one is built per message received.


@dataclass(slots=True)
class TextMessage:
    """A complete text message, decoded from UTF-8."""

    data: str


@dataclass(slots=True)
class BinaryMessage:
    """A complete binary message."""

    data: bytes


@dataclass(slots=True)
class Ping:
    payload: bytes


@dataclass(slots=True)
class Pong:
    payload: bytes


@dataclass(slots=True)
class Close:
    """The peer's close frame; ``code`` is 1005 when it carried none."""

    code: int
    reason: str


@dataclass(slots=True)
class ProtocolError:
    """The peer broke the protocol: close with ``code``; ``reason`` says why (for logs)."""

    code: int
    reason: str


FrameEvent = TextMessage | BinaryMessage | Ping | Pong | Close | ProtocolError


class FrameParser:
    """Client-to-server frames in, messages and control events out (see the module doc)."""

    __slots__ = (
        "_failed",
        "_fragment_count",
        "_fragments",
        "_fragments_size",
        "_message_opcode",
        "_needed",
        "_pending",
        "max",
    )

    def __init__(self, max_message_size: int) -> None:
        self.max = max_message_size
        # An incomplete frame: its bytes so far, and how many make it worth parsing again
        # (so a large frame arriving in many reads is copied once, not once per read).
        self._pending: bytearray | None = None
        self._needed = 0
        self._failed = False
        # A fragmented message in progress: its opcode and the payloads received so far.
        self._message_opcode = 0
        self._fragments: list[bytes] | None = None
        self._fragments_size = 0
        self._fragment_count = 0

    @property
    def failed(self) -> bool:
        """True once a protocol error was reported; all later input is ignored."""
        return self._failed

    def single_text(self, data: bytes) -> str | None:
        """The text of ``data`` when it is exactly one whole, final, masked text frame of up to
        65535 bytes, arriving while no frame or message is in progress; None otherwise, and
        nothing is consumed: :meth:`feed` then parses ``data`` (and reports what is wrong
        with it, invalid UTF-8 included).

        The common case of a realtime connection (one small message per read), without the
        event list and the event object: the checks are :meth:`feed`'s for that shape.
        """
        if self._pending is not None or self._fragments is not None or self._failed:
            return None
        # FIN and TEXT, no reserved bit; then the mask bit and a 7-bit or 16-bit length.
        size = len(data)
        if size < 6 or data[0] != 0x81:
            return None
        length = data[1] - 0x80
        if length < 126:
            if length < 0 or size != length + 6:
                return None
            mask = data[2:6]
            payload = data[6:]
        elif length == 126 and size >= 8:
            length = (data[2] << 8) | data[3]
            if size != length + 8:
                return None
            mask = data[4:8]
            payload = data[8:]
        else:
            return None
        if length > self.max:
            return None
        try:
            return _unmask(payload, mask).decode("utf-8") if length else ""
        except UnicodeDecodeError:
            return None

    def feed(self, data: bytes) -> list[FrameEvent]:
        """Parse what arrived; an incomplete frame waits for the next call."""
        if self._failed:
            return []
        pending = self._pending
        if pending is not None:
            pending += data
            if len(pending) < self._needed:
                return []
            buffer = bytes(pending)
            self._pending = None
        else:
            buffer = data
        events: list[FrameEvent] = []
        size = len(buffer)
        position = 0
        needed = 2
        while size - position >= 2:
            first = buffer[position]
            second = buffer[position + 1]
            length = second & 0x7F
            header = 6  # two bytes plus the mask
            if length == 126:
                header = 8
                if size - position < header:
                    needed = header
                    break
                length = (buffer[position + 2] << 8) | buffer[position + 3]
            elif length == 127:
                header = 14
                if size - position < header:
                    needed = header
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
            opcode = first & 0x0F
            error = self._check_header(first, second, opcode, length)
            if error is not None:
                events.append(error)
                return self._fail(events)
            end = position + header + length
            if end > size:
                needed = header + length
                break
            mask = buffer[position + header - 4 : position + header]
            payload = _unmask(buffer[position + header : end], mask) if length else b""
            position = end
            needed = 2
            event = self._frame(first & 0x80, opcode, payload)
            if event is not None:
                events.append(event)
                if type(event) is ProtocolError:
                    return self._fail(events)
        if position < size:
            self._pending = bytearray(buffer[position:])
            self._needed = needed
        return events

    def _check_header(
        self, first: int, second: int, opcode: int, length: int
    ) -> ProtocolError | None:
        if first & 0x70:
            return ProtocolError(PROTOCOL_ERROR, "reserved bits set without an extension")
        if not second & 0x80:
            return ProtocolError(PROTOCOL_ERROR, "client frames must be masked")
        if opcode not in _KNOWN_OPCODES:
            return ProtocolError(PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if opcode >= CLOSE:
            if not first & 0x80:
                return ProtocolError(PROTOCOL_ERROR, "fragmented control frame")
            if length > _MAX_CONTROL_PAYLOAD:
                return ProtocolError(PROTOCOL_ERROR, "control frame over 125 bytes")
            return None
        if opcode == CONTINUATION:
            if self._fragments is None:
                return ProtocolError(PROTOCOL_ERROR, "continuation without a message")
            if self._fragment_count >= MAX_FRAGMENTS:
                return ProtocolError(MESSAGE_TOO_BIG, f"message in over {MAX_FRAGMENTS} frames")
            if self._fragments_size + length > self.max:
                return ProtocolError(MESSAGE_TOO_BIG, "message over the size limit")
            return None
        if self._fragments is not None:
            return ProtocolError(PROTOCOL_ERROR, "new message before the last one ended")
        if length > self.max:
            return ProtocolError(MESSAGE_TOO_BIG, "message over the size limit")
        return None

    def _frame(self, final: int, opcode: int, payload: bytes) -> FrameEvent | None:
        if opcode in (TEXT, BINARY):
            if not final:
                self._message_opcode = opcode
                self._fragments = [payload]
                self._fragments_size = len(payload)
                self._fragment_count = 1
                return None
            return _message(opcode, payload)
        if opcode == CONTINUATION:
            fragments = self._fragments
            assert fragments is not None  # checked with the header
            if payload:
                fragments.append(payload)
                self._fragments_size += len(payload)
            self._fragment_count += 1
            if not final:
                return None
            self._fragments = None
            self._fragments_size = 0
            return _message(self._message_opcode, b"".join(fragments))
        if opcode == PING:
            return Ping(payload)
        if opcode == PONG:
            return Pong(payload)
        return _close(payload)

    def _fail(self, events: list[FrameEvent]) -> list[FrameEvent]:
        self._failed = True
        self._pending = None
        self._fragments = None
        return events


def _message(opcode: int, payload: bytes) -> TextMessage | BinaryMessage | ProtocolError:
    if opcode == BINARY:
        return BinaryMessage(payload)
    try:
        return TextMessage(payload.decode("utf-8"))
    except UnicodeDecodeError:
        return ProtocolError(INVALID_PAYLOAD, "text message is not valid UTF-8")


def _close(payload: bytes) -> Close | ProtocolError:
    if not payload:
        return Close(NO_STATUS_RECEIVED, "")
    if len(payload) == 1:
        return ProtocolError(PROTOCOL_ERROR, "close payload of one byte")
    code = int.from_bytes(payload[:2], "big")
    if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
        return ProtocolError(PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return ProtocolError(INVALID_PAYLOAD, "close reason is not valid UTF-8")
    return Close(code, reason)
