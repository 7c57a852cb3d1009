"""Coverage-guided fuzzing of expressio's parsers with atheris, for long local runs.

Not part of the test suite (atheris ships wheels for Linux only): ``scripts/fuzz-atheris.sh``
installs it into an environment of its own and runs one target, e.g.::

    scripts/fuzz-atheris.sh socketio -max_total_time=600

Each target checks, on whatever bytes libFuzzer makes up, what the hypothesis suite beside
this file checks: only the documented refusal comes out, the event fast path agrees with the
decoder, and where bytes are split does not change what they mean.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["expressio"]):
    from expressio.engine.connection import Closed, Connection, MessageReceived
    from expressio.engine.upgrade_request import (
        handshake_problem,
        parse_upgrade_request,
        switching_protocols,
    )
    from expressio.http.cookies import split_cookies
    from expressio.protocol import engineio, socketio
    from expressio.protocol.websocket_frames import FrameParser, ProtocolError, TextMessage
    from expressio.sessions.cookie import SessionIdSigner, parse_cookie_header


def fuzz_engineio(data: bytes) -> None:
    with contextlib.suppress(engineio.DecodeError):
        engineio.decode_payload(data)
    with contextlib.suppress(engineio.DecodeError):
        engineio.decode_frame(data.decode("utf-8", "replace"))


def fuzz_socketio(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    decoder = socketio.Decoder(max_attachments=provider.ConsumeIntInRange(0, 5))
    for _ in range(provider.ConsumeIntInRange(1, 6)):
        size = provider.ConsumeIntInRange(0, 200)
        message: str | bytes
        if provider.ConsumeBool():
            message = provider.ConsumeBytes(size)
        else:
            message = provider.ConsumeUnicodeNoSurrogates(size)
            fast = socketio.Decoder().default_event(message)
            try:
                alone = socketio.Decoder().feed(message)
            except socketio.DecodeError:
                assert fast is None, message
            else:
                if fast is not None:
                    assert alone == socketio.Packet(socketio.PacketType.EVENT, "/", *fast)
        try:
            decoder.feed(message)
        except socketio.DecodeError:
            assert not decoder.reassembling


def fuzz_frames(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    max_size = provider.ConsumeIntInRange(0, 70_000)
    cuts = sorted(provider.ConsumeIntInRange(0, 1 << 16) for _ in range(3))
    stream = provider.ConsumeBytes(1 << 20)
    whole = FrameParser(max_size).feed(stream)
    for index, event in enumerate(whole):
        if type(event) is ProtocolError:
            assert index == len(whole) - 1
    pieces, parser, start = [], FrameParser(max_size), 0
    for cut in [*(cut % (len(stream) + 1) for cut in cuts), len(stream)]:
        pieces += parser.feed(stream[start:cut])
        start = max(start, cut)
    assert pieces == whole
    text = FrameParser(max_size).single_text(stream)
    if text is not None:
        assert whole == [TextMessage(text)]


def fuzz_polling(data: bytes) -> None:
    connection = Connection(
        "polling",
        now=0.0,
        ping_interval=25.0,
        ping_timeout=20.0,
        max_payload=1000,
        max_send_buffer=8,
    )
    events = connection.receive_payload(data, 1.0)
    closes = [event for event in events if type(event) is Closed]
    assert closes in ([], events[-1:])
    assert all(type(event) in (Closed, MessageReceived) for event in events)
    assert connection.is_open == (not closes)


def fuzz_upgrade(data: bytes) -> None:
    request = parse_upgrade_request(data, "")
    if request is not None and handshake_problem(request) is None:
        key = request.header(b"sec-websocket-key")
        assert key is not None
        switching_protocols(key, [])


def fuzz_cookies(data: bytes) -> None:
    raw = parse_cookie_header(data.decode("latin-1"))
    split_cookies(raw, "secret")
    assert SessionIdSigner("secret").unsign(raw.get("expressio.sid")) is None


TARGETS: dict[str, Callable[[bytes], None]] = {
    "engineio": fuzz_engineio,
    "socketio": fuzz_socketio,
    "frames": fuzz_frames,
    "polling": fuzz_polling,
    "upgrade": fuzz_upgrade,
    "cookies": fuzz_cookies,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
