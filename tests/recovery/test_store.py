"""The in-memory recovery state without a network: the packet log's offsets, bounds and
replays, the kept sessions' expiry, and the all-or-nothing rule of a restore."""

from __future__ import annotations

import orjson
import pytest

from expressio.protocol.socketio import (
    Decoder,
    PacketType,
    encode_event,
    encode_packet,
    with_offset,
)
from expressio.realtime.recovery import (
    RECOVERABLE_REASONS,
    RecoveryOptions,
    RecoveryStore,
    SocketSession,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_store(**options: object) -> tuple[RecoveryStore, Clock]:
    clock = Clock()
    return RecoveryStore(RecoveryOptions(**options), clock), clock  # type: ignore[arg-type]


def broadcast(store: RecoveryStore, item: object, rooms=None, skip=None) -> str:  # type: ignore[no-untyped-def]
    """Record one broadcast of ``news``; its offset, as a client reads it."""
    sent = store.record(encode_event("/", "news", [item]), rooms, skip)
    return str(orjson.loads(sent.text[1:])[-1])


def items(restored) -> list[object]:  # type: ignore[no-untyped-def]
    return [orjson.loads(packet.text[1:])[1] for packet in restored.missed_packets]


def session(sid: str = "sid-a", pid: str = "pid-a", rooms=("r",)) -> SocketSession:  # type: ignore[no-untyped-def]
    return SocketSession(sid, pid, frozenset((sid, *rooms)), {"user": 7})


def test_offset_is_the_last_argument_and_binary_keeps_its_attachments() -> None:
    packet = with_offset(encode_event("/chat", "news", [b"\x01", {"a": 1}]), "x1-0")
    decoder = Decoder()
    assert decoder.feed(packet.text) is None  # waits for its attachment
    decoded = decoder.feed(packet.attachments[0])
    assert decoded is not None
    assert decoded.type is PacketType.BINARY_EVENT and decoded.namespace == "/chat"
    assert decoded.data == ["news", b"\x01", {"a": 1}, "x1-0"]
    connect = encode_packet(PacketType.CONNECT, "/", {"sid": "s", "pid": "p"})
    assert connect.text == '0{"sid":"s","pid":"p"}'


def test_the_msgpack_parser_appends_the_offset_inside_its_map() -> None:
    from expressio.protocol import msgpack_parser

    parser = msgpack_parser.MSGPACK_PARSER
    store = RecoveryStore(RecoveryOptions(), Clock(), with_offset=parser.with_offset)
    sent = store.record(parser.encode_event("/", "news", [b"\x00\x01", {"a": 1}]), None, None)
    decoded = msgpack_parser.decode_packet(sent.text)
    offset = decoded.data[-1]
    assert decoded.type is PacketType.EVENT and decoded.data[:-1] == ["news", b"\x00\x01", {"a": 1}]
    assert isinstance(offset, str) and offset.endswith("-0")


def test_restore_replays_what_was_meant_for_the_socket_in_order() -> None:
    store, _ = make_store()
    offset = broadcast(store, 0, rooms={"r"})
    store.persist(session())
    broadcast(store, 1, rooms={"r"})
    broadcast(store, "other room", rooms={"elsewhere"})
    broadcast(store, 2)  # everyone
    broadcast(store, "left out", rooms={"r"}, skip={"sid-a"})
    broadcast(store, "left out by room", skip={"r"})
    broadcast(store, 3, rooms={"elsewhere", "r"})
    restored = store.restore("pid-a", offset)
    assert restored is not None
    assert (restored.sid, restored.pid, restored.data) == ("sid-a", "pid-a", {"user": 7})
    assert restored.rooms == {"sid-a", "r"}
    assert items(restored) == [1, 2, 3]


def test_a_session_is_given_back_once() -> None:
    store, _ = make_store()
    offset = broadcast(store, 0)
    store.persist(session())
    assert store.restore("pid-a", offset) is not None
    assert store.restore("pid-a", offset) is None
    assert store.session_count == 0


def test_unknown_foreign_or_future_offsets_get_nothing() -> None:
    store, _ = make_store()
    other, _ = make_store()
    offset = broadcast(store, 0)
    foreign = broadcast(other, 0)
    for bad in (foreign, "garbage", "", offset + "0" * 30, offset.replace("-", "-x")):
        store.persist(session())
        assert store.restore("pid-a", bad) is None, bad
    # An offset given out after the socket went away: it cannot have received it.
    store.persist(session())
    later = broadcast(store, 1)
    assert store.restore("pid-a", later) is None
    # The failed attempts took the session: the right offset no longer helps.
    assert store.restore("pid-a", offset) is None
    # Another client's pid with a valid offset is not a session either.
    store.persist(session())
    assert store.restore("sid-a", offset) is None


def test_the_log_keeps_at_most_max_packets_and_too_old_offsets_start_afresh() -> None:
    store, _ = make_store(max_packets=5)
    first = broadcast(store, 0, rooms={"r"})
    store.persist(session())
    offsets = [broadcast(store, index, rooms={"r"}) for index in range(1, 21)]
    assert len(store.log) == 5
    assert store.restore("pid-a", first) is None  # 15 broadcasts after it are gone
    store.persist(session())
    # The oldest kept packet's predecessor is still a complete starting point.
    restored = store.restore("pid-a", offsets[-6])
    assert restored is not None and items(restored) == [16, 17, 18, 19, 20]


def test_the_log_keeps_at_most_max_bytes() -> None:
    store, _ = make_store(max_bytes=1000)
    for index in range(100):
        broadcast(store, "x" * 90 + str(index))
    sizes = [len(kept.packet.text) for kept in store.log._entries]
    assert store.log.bytes == sum(sizes) <= 1000
    assert len(set(sizes)) == 1 and len(store.log) == 1000 // sizes[0]  # as many as fit


def test_packets_and_sessions_expire_after_max_disconnection() -> None:
    store, clock = make_store(max_disconnection=10)
    offset = broadcast(store, 0)
    store.persist(session())
    clock.now += 11
    assert store.restore("pid-a", offset) is None
    store.persist(session("sid-b", "pid-b"))
    clock.now += 5
    broadcast(store, 1)
    clock.now += 6  # pid-b went away 11 s ago
    store.persist(session("sid-c", "pid-c"))
    assert store.session_count == 1
    broadcast(store, 2)
    assert len(store.log) == 2  # the first broadcast is 22 s old, the second 6 s


def test_options_are_checked() -> None:
    assert RecoveryOptions.from_setting(None) is None
    assert RecoveryOptions.from_setting(False) is None
    assert RecoveryOptions.from_setting(True) == RecoveryOptions()
    assert RecoveryOptions.from_setting({"max_disconnection": 5}).max_disconnection == 5  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown recovery option"):
        RecoveryOptions.from_setting({"maxDisconnectionDuration": 5})
    with pytest.raises(ValueError, match="positive"):
        RecoveryOptions.from_setting({"max_packets": 0})
    with pytest.raises(ValueError, match="whole number"):
        RecoveryOptions.from_setting({"max_bytes": 1.5})
    with pytest.raises(ValueError, match="True or False"):
        RecoveryOptions.from_setting({"skip_middlewares": "yes"})
    with pytest.raises(TypeError):
        RecoveryOptions.from_setting("on")
    assert "transport close" in RECOVERABLE_REASONS
    assert "client namespace disconnect" not in RECOVERABLE_REASONS
    assert "server namespace disconnect" not in RECOVERABLE_REASONS
