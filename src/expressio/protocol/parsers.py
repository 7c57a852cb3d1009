"""Socket.IO parsers: how packets become Engine.IO messages and back. No IO.

Socket.IO lets server and clients agree on a *parser*, the codec of its packets. Two exist:

- ``"json"``: socket.io's default (``socket-io-parser``), JSON text packets with binary
  attachments (:mod:`expressio.protocol.socketio`);
- ``"msgpack"``: ``socket.io-msgpack-parser``, each packet one msgpack map in one binary
  message (:mod:`expressio.protocol.msgpack_parser`, needs the ``msgpack`` package).

Both clients and server must use the same one. A :class:`Parser` encodes (once per packet:
a broadcast hands the same :class:`EncodedPacket` to every recipient) and makes one
:class:`PacketDecoder` per connection; decoders raise :class:`DecodeError` for anything that is
not a valid packet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

from . import socketio
from .socketio import DEFAULT_NAMESPACE, Decoder, EncodedPacket, Packet, PacketType

__all__ = [
    "JSON_PARSER",
    "PARSER_NAMES",
    "JsonParser",
    "PacketDecoder",
    "Parser",
    "decode_event",
    "get_parser",
    "transcode_event",
]


class PacketDecoder(Protocol):
    """One connection's decoder (it may hold a binary packet waiting for its attachments)."""

    @property
    def reassembling(self) -> bool: ...

    def default_event(self, text: str) -> tuple[list[Any], int | None] | None:
        """A fast path for the common text packet; None means "use :meth:`feed`"."""

    def default_ack(self, text: str) -> tuple[list[Any], int] | None:
        """A fast path for a client's text ACK; None means "use :meth:`feed`"."""

    def feed(self, message: str | bytes) -> Packet | None:
        """One Engine.IO message in; the packet it completes, if any."""


class Parser(Protocol):
    """A Socket.IO packet codec. ``ack_message`` is the fast path of every ack a server sends:
    the ACK as its one Engine.IO message, or None when :meth:`encode_ack` is needed (which
    then raises for what the format cannot carry)."""

    @property
    def name(self) -> str: ...

    def encode_packet(
        self,
        packet_type: PacketType,
        namespace: str = DEFAULT_NAMESPACE,
        data: Any = None,
        ack_id: int | None = None,
    ) -> EncodedPacket: ...

    def encode_event(
        self, namespace: str, event: str, args: Sequence[Any], ack_id: int | None = None
    ) -> EncodedPacket: ...

    def encode_ack(self, namespace: str, ack_id: int, args: Sequence[Any]) -> EncodedPacket: ...

    def ack_message(
        self, namespace: str, ack_id: int, args: Sequence[Any]
    ) -> str | bytes | None: ...

    def encode_connect(self, namespace: str, sid: str) -> EncodedPacket: ...

    def encode_connect_error(
        self, namespace: str, message: str, data: Any = None
    ) -> EncodedPacket: ...

    def encode_disconnect(self, namespace: str) -> EncodedPacket: ...

    def with_offset(self, packet: EncodedPacket, offset: str) -> EncodedPacket:
        """The broadcast EVENT ``packet`` with the recovery ``offset`` as its last argument."""

    def decoder(self, max_attachment_bytes: int) -> PacketDecoder:
        """A new decoder for one connection; one packet's binary data may hold no more than
        ``max_attachment_bytes`` (the engine's ``max_payload``)."""


class JsonParser:
    """socket.io's default parser: the functions of :mod:`expressio.protocol.socketio`, as
    they are (no wrapper on the hot path)."""

    name: Final = "json"
    encode_packet = staticmethod(socketio.encode_packet)
    encode_event = staticmethod(socketio.encode_event)
    encode_ack = staticmethod(socketio.encode_ack)
    ack_message = staticmethod(socketio.ack_text)
    encode_connect = staticmethod(socketio.encode_connect)
    encode_connect_error = staticmethod(socketio.encode_connect_error)
    encode_disconnect = staticmethod(socketio.encode_disconnect)
    with_offset = staticmethod(socketio.with_offset)

    @staticmethod
    def decoder(max_attachment_bytes: int) -> Decoder:
        return Decoder(max_attachment_bytes=max_attachment_bytes)

    def __repr__(self) -> str:
        return "<Socket.IO parser 'json'>"


JSON_PARSER: Final = JsonParser()

#: The names :func:`get_parser` knows.
PARSER_NAMES: Final = ("json", "msgpack")


def get_parser(parser: str | Parser) -> Parser:
    """The parser called ``parser`` (a :class:`Parser` is returned as it is).

    ``ValueError`` for an unknown name (the message lists the known ones); ``ImportError``
    naming ``pip install 'expressio[msgpack]'`` when ``"msgpack"`` is asked without the
    ``msgpack`` package installed.
    """
    if not isinstance(parser, str):
        return parser
    if parser == "json":
        return JSON_PARSER
    if parser == "msgpack":
        # Imported on demand: the msgpack package is an optional dependency.
        from .msgpack_parser import MSGPACK_PARSER

        return MSGPACK_PARSER
    known = ", ".join(repr(name) for name in PARSER_NAMES)
    raise ValueError(f"unknown Socket.IO parser {parser!r}; known parsers: {known}")


def parser_of(packet: EncodedPacket) -> Parser:
    """The parser that encoded ``packet``: text first for JSON, one binary message for msgpack."""
    return JSON_PARSER if type(packet.text) is str else get_parser("msgpack")


def decode_event(packet: EncodedPacket) -> Packet:
    """An EVENT encoded by any parser, decoded (binary values back in place). Raises
    :class:`DecodeError` when it is not a valid EVENT."""
    decoder = parser_of(packet).decoder(max_attachment_bytes=sum(map(len, packet.attachments)))
    decoded: Packet | None = None
    for message in packet.messages:
        decoded = decoder.feed(message)
    if decoded is None or decoded.type not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise socketio.DecodeError("not a complete EVENT packet")
    return decoded


def transcode_event(packet: EncodedPacket, parser: Parser) -> EncodedPacket:
    """An EVENT encoded by any parser, re-encoded by ``parser`` (returned as it is when
    ``parser`` made it). Raises :class:`DecodeError` when it is not a valid EVENT."""
    if parser_of(packet).name == parser.name:
        return packet
    decoded = decode_event(packet)
    data = decoded.data
    return parser.encode_event(decoded.namespace, data[0], data[1:], decoded.id)
