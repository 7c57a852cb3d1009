"""Socket.IO packets under generated input: the decoder, its fast path, binary reassembly.

The decoder's documented refusal is :class:`DecodeError`; any other exception escaping
``Decoder.feed`` is a bug. ``Decoder.default_event`` never raises: it answers for the common
packet or returns None, and whenever it answers, ``feed`` must give the same packet.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from expressio.protocol.socketio import (
    DEFAULT_NAMESPACE,
    MAX_ACK_ID,
    DecodeError,
    Decoder,
    Packet,
    PacketType,
    ack_text,
    encode_ack,
    encode_event,
    encode_packet,
)
from tests.fuzz.strategies import json_scalars, json_text, json_values, mangled

namespaces = st.one_of(
    st.just(DEFAULT_NAMESPACE),
    json_text.filter(lambda name: "," not in name).map(lambda name: "/" + name),
)
ack_ids = st.one_of(
    st.integers(0, 1000),
    st.integers(0, MAX_ACK_ID),
    st.integers(MAX_ACK_ID - 2, MAX_ACK_ID + 2),
    st.integers(0, 10**40),
)
placeholders = st.fixed_dictionaries(
    {
        "_placeholder": st.sampled_from([True, True, True, 1, "true"]),
        "num": st.one_of(st.integers(-2, 4), st.sampled_from(["0", 0.0, True, None])),
    }
)
wire_json = json_values(st.one_of(json_scalars, placeholders))


@st.composite
def well_formed_texts(draw: st.DrawFn) -> str:
    """A packet as a client would send it: its fields consistent with its type."""
    kind = draw(st.sampled_from(PacketType))
    text = str(int(kind))
    if kind in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        text += f"{draw(st.integers(0, 3))}-"
    namespace = draw(namespaces)
    if namespace != DEFAULT_NAMESPACE:
        text += namespace + ","
    args = st.lists(wire_json, max_size=3)
    if kind in (PacketType.EVENT, PacketType.BINARY_EVENT):
        text += draw(st.none() | ack_ids.map(str)) or ""
        payload: Any = [draw(json_text), *draw(args)]
    elif kind in (PacketType.ACK, PacketType.BINARY_ACK):
        text += str(draw(ack_ids))
        payload = draw(args)
    elif kind is PacketType.CONNECT:
        payload = draw(st.none() | st.dictionaries(json_text, wire_json, max_size=3))
    elif kind is PacketType.CONNECT_ERROR:
        payload = draw(json_text | st.fixed_dictionaries({"message": json_text}))
    else:
        payload = None
    if payload is not None:
        text += orjson.dumps(payload).decode()
    return text


@st.composite
def field_by_field_texts(draw: st.DrawFn) -> str:
    """A text message assembled from fields drawn independently (so often inconsistent)."""
    text = draw(st.sampled_from([*"0123456", "7", "", "a", "٣"]))
    if draw(st.booleans()):
        count = draw(
            st.one_of(st.integers(0, 4).map(str), st.sampled_from(["", "x", "²", "1" * 7]))
        )
        text += count + draw(st.sampled_from(["-", "-", ""]))
    if draw(st.booleans()):
        text += draw(namespaces) + draw(st.sampled_from([",", ",", ""]))
    if draw(st.booleans()):
        text += draw(st.one_of(ack_ids.map(str), st.sampled_from(["0" * 17, "٣", "+1", "-1"])))
    if draw(st.integers(0, 3)):
        text += orjson.dumps(draw(wire_json)).decode()
    return text


@st.composite
def default_event_texts(draw: st.DrawFn) -> str:
    """What the fast path is for (``2[...]``, ``2<ack id>[...]``), and its near misses."""
    ack = draw(
        st.one_of(
            st.just(""),
            ack_ids.map(str),
            st.integers(0, 20).map(lambda zeros: "0" * zeros + "1"),
            st.sampled_from(["٣", "²", " ", "-1", "/", "/,"]),
        )
    )
    payload = draw(
        st.one_of(
            st.builds(lambda name, args: [name, *args], json_text, st.lists(wire_json, max_size=3)),
            wire_json,
        )
    )
    space = draw(st.sampled_from(["", "", "", " ", "\n"]))
    return "2" + ack + space + orjson.dumps(payload).decode() + draw(st.sampled_from(["", "", " "]))


def as_ack(text: str) -> str:
    """The same text as a client's ACK (``3<ack id>[...]``) and its near misses."""
    return "3" + text[1:]


any_texts = st.one_of(
    default_event_texts(),
    default_event_texts().flatmap(mangled),
    default_event_texts().map(as_ack),
    default_event_texts().map(as_ack).flatmap(mangled),
    well_formed_texts(),
    well_formed_texts().flatmap(mangled),
    field_by_field_texts(),
    st.text(),
)


def check_packet(packet: Packet) -> None:
    """What any packet the decoder hands over satisfies (the Socket.IO v5 rules)."""
    assert isinstance(packet.type, PacketType)
    assert packet.namespace == DEFAULT_NAMESPACE or packet.namespace.startswith("/")
    assert "," not in packet.namespace
    assert packet.id is None or 0 <= packet.id <= MAX_ACK_ID
    if packet.type in (PacketType.EVENT, PacketType.BINARY_EVENT):
        assert type(packet.data) is list and packet.data and type(packet.data[0]) is str
    elif packet.type in (PacketType.ACK, PacketType.BINARY_ACK):
        assert type(packet.data) is list and packet.id is not None
    else:
        assert packet.id is None


@given(any_texts)
@example("5")
@example("51-")
@example('5²-["a"]')
@example("6٣-1[]")
@example("5999999-[]")
@example("2" + "[" * 2000)
@example("2/chat")
@example("0/chat")
@example("2" + "9" * 17 + '["a"]')
@example('2٣["a"]')
@example("3/nsp,")
def test_a_text_message_decodes_or_raises_decode_error(text: str) -> None:
    decoder = Decoder()
    try:
        packet = decoder.feed(text)
    except DecodeError:
        assert not decoder.reassembling
        return
    if packet is None:
        assert decoder.reassembling
        return
    check_packet(packet)


@given(any_texts)
@example('2["a"]')
@example('212["a",1]')
@example('2 ["a"]')
@example('2["a"] ')
@example(f'2{MAX_ACK_ID}["a"]')
@example(f'2{MAX_ACK_ID + 1}["a"]')
@example("2" + "0" * 16 + '["a"]')
@example("2" + "0" * 17 + '["a"]')
@example('2²["a"]')
@example("2[1]")
@example("2[]")
@example('20-["a"]')
def test_the_fast_path_agrees_with_feed(text: str) -> None:
    fast = Decoder().default_event(text)
    try:
        packet = Decoder().feed(text)
    except DecodeError:
        assert fast is None, f"the fast path accepted what feed refuses: {text!r}"
        return
    if fast is not None:
        data, ack_id = fast
        assert packet == Packet(PacketType.EVENT, DEFAULT_NAMESPACE, data, ack_id)


@given(any_texts)
@example("3[]")
@example("31[]")
@example("31{}")
@example('31["a",{"_placeholder":true,"num":0}]')
def test_the_ack_fast_path_agrees_with_feed(text: str) -> None:
    fast = Decoder().default_ack(text)
    try:
        packet = Decoder().feed(text)
    except DecodeError:
        assert fast is None, f"the ack fast path accepted what feed refuses: {text!r}"
        return
    if fast is not None:
        data, ack_id = fast
        assert packet == Packet(PacketType.ACK, DEFAULT_NAMESPACE, data, ack_id)


@given(any_texts)
def test_the_fast_path_steps_aside_while_attachments_are_awaited(text: str) -> None:
    decoder = Decoder()
    assert decoder.feed('51-["a",{"_placeholder":true,"num":0}]') is None
    assert decoder.default_event(text) is None
    assert decoder.default_ack(text) is None
    try:
        decoder.feed(text)
    except DecodeError:
        assert not decoder.reassembling
        return
    raise AssertionError("a text message was accepted while an attachment was awaited")


messages = st.one_of(any_texts, st.binary(max_size=64))


@given(st.lists(messages, max_size=5), st.integers(0, 5), st.integers(0, 200))
def test_any_message_sequence_decodes_or_raises_decode_error(
    sequence: list[str | bytes], max_attachments: int, max_bytes: int
) -> None:
    decoder = Decoder(max_attachments=max_attachments, max_attachment_bytes=max_bytes)
    for message in sequence:
        try:
            packet = decoder.feed(message)
        except DecodeError:
            assert not decoder.reassembling  # back to idle after any refusal
            continue
        if packet is not None:
            check_packet(packet)
            attachments = _attachments(packet.data)
            assert sum(len(data) for data in attachments) <= max_bytes
            assert len(attachments) <= max(max_attachments, 0) * 4 + 4  # placeholders may repeat


def _attachments(value: Any) -> list[bytes]:
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, list):
        return [data for item in value for data in _attachments(item)]
    if isinstance(value, dict):
        return [data for item in value.values() for data in _attachments(item)]
    return []


def _feed_all(messages: tuple[str | bytes, ...]) -> Packet:
    decoder = Decoder()
    *head, last = messages
    for message in head:
        assert decoder.feed(message) is None
    packet = decoder.feed(last)
    assert packet is not None
    assert not decoder.reassembling
    return packet


binary_json = json_values(st.one_of(json_scalars, st.binary(max_size=40)))


def _holds_bytes(value: Any) -> bool:
    return bool(_attachments(value))


@given(
    namespaces,
    json_text,
    st.lists(binary_json, max_size=4),
    st.none() | ack_ids.filter(lambda ack_id: ack_id <= MAX_ACK_ID),
)
def test_events_round_trip(namespace: str, name: str, args: list[Any], ack_id: int | None) -> None:
    packet = _feed_all(encode_event(namespace, name, args, ack_id).messages)
    binary = _holds_bytes(args)
    kind = PacketType.BINARY_EVENT if binary else PacketType.EVENT
    assert packet == Packet(kind, namespace, [name, *args], ack_id)
    fast = Decoder().default_event(encode_event(namespace, name, args, ack_id).text)
    if fast is not None:
        assert (namespace, binary) == (DEFAULT_NAMESPACE, False)
        assert fast == ([name, *args], ack_id)


@given(namespaces, st.integers(0, MAX_ACK_ID), st.lists(binary_json, max_size=4))
def test_acks_round_trip(namespace: str, ack_id: int, args: list[Any]) -> None:
    kind = PacketType.BINARY_ACK if _holds_bytes(args) else PacketType.ACK
    assert _feed_all(encode_ack(namespace, ack_id, args).messages) == Packet(
        kind, namespace, args, ack_id
    )
    text = ack_text(namespace, ack_id, args)
    if text is not None:
        assert kind is PacketType.ACK
        assert _feed_all((text,)) == Packet(kind, namespace, args, ack_id)


@given(
    namespaces,
    st.one_of(
        st.tuples(
            st.just(PacketType.CONNECT),
            st.none() | st.dictionaries(json_text, json_values(), max_size=3),
        ),
        st.tuples(st.just(PacketType.DISCONNECT), st.none()),
        st.tuples(
            st.just(PacketType.CONNECT_ERROR),
            json_text | st.dictionaries(json_text, json_values(), max_size=3),
        ),
    ),
)
def test_other_packets_round_trip(namespace: str, kind_and_data: tuple[PacketType, Any]) -> None:
    kind, data = kind_and_data
    if isinstance(data, dict):
        data.pop("_placeholder", None)
    assert _feed_all(encode_packet(kind, namespace, data).messages) == Packet(kind, namespace, data)
