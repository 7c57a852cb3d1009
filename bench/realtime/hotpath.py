"""The Python cost of one ack round trip on the direct websocket path, without sockets.

Run: python bench/realtime/hotpath.py [--peer raw|app|app-async] [--parser json|msgpack]
     [--count N] [--repeat R] [--profile]

It serves a benchmark peer's app (``bench/peers``: ``raw`` is ``expressio_server.py``, ``app``
is ``expressio_app_server.py`` with ``def`` routes, ``app-async`` the same with ``async def``
routes) through ``DirectWebSocketProtocol`` on a
fake transport, opens one Socket.IO session, then feeds the loadgen's ack frame
(``421["ack",{"seq":1,"text":"hello"}]``, masked) N times and reports the best µs per frame
over R runs. ``--parser msgpack`` (``raw`` peer) serves with the msgpack parser and feeds the
same event as a msgpack binary frame. What the kernel and the event loop cost (reads, writes,
wake-ups) is not in the figure: it is the part of "server CPU µs per ack" that the Python
layers add, measured without the noise of a shared machine.

An ``async def`` route's events run on the next loop turn (in one task for that turn's
events), so for ``app-async`` the frames are fed in batches of ``BATCH`` (as from 50 clients in
one loop turn) and the loop then runs once for them: that figure includes the event loop's cost
of running that task, not its wake-ups.
``--profile`` prints cProfile's top functions instead. Times are CPU time of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "peers"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from expressio.engine.direct import DirectWebSocketProtocol
from tests.direct.fakes import RecordingTransport, client_binary, client_text, connect_client

ACK_FRAME = client_text('421["ack",{"seq":1,"text":"hello"}]')
BATCH = 50


def msgpack_frames() -> tuple[bytes, bytes]:
    """The CONNECT and the ack event above, as socket.io-msgpack-parser clients send them."""
    import msgpack

    connect = client_binary(msgpack.packb({"type": 0, "nsp": "/"}))
    event = {"type": 2, "nsp": "/", "data": ["ack", {"seq": 1, "text": "hello"}], "id": 1}
    return connect, client_binary(msgpack.packb(event))


class NoLoop:
    def call_soon(self, callback: Any, *args: Any) -> None:
        pass


def build_app(peer: str, parser: str = "json") -> Any:
    if peer == "raw":
        import expressio_server

        return expressio_server.build_server(parser)
    if parser != "json":
        raise SystemExit("--parser msgpack is for the raw peer")
    import expressio_app_server

    return expressio_app_server.build_app("async" if peer == "app-async" else "def")


async def open_session(
    peer: str, parser: str = "json"
) -> tuple[DirectWebSocketProtocol, RecordingTransport, bytes]:
    """The connection, its transport and the ack frame to feed it."""
    if parser == "msgpack":
        connect_frame, frame = msgpack_frames()
    else:
        connect_frame, frame = client_text("40"), ACK_FRAME
    protocol, transport = connect_client(build_app(peer, parser), connect_frame)
    for _ in range(5):
        await asyncio.sleep(0)
    # Two acks before measuring: a def route's first call runs in a worker thread (then, being
    # quick, on the loop), so wait for each answer.
    for _ in range(2):
        answered = transport.count + 1
        protocol.data_received(frame)
        for _ in range(500):
            if transport.count >= answered:
                break
            await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    last = transport.writes[-1]
    if (b"43" not in last and parser == "json") or b"hello" not in last:
        raise SystemExit(f"unexpected answer to the ack frame: {transport.writes!r}")
    return protocol, transport, frame


async def run(options: argparse.Namespace) -> None:
    protocol, transport, frame = await open_session(options.peer, options.parser)
    feed = protocol.data_received
    # The direct transport writes in one callback per loop turn (its flush batch): run it
    # after each frame, as the loop would (its scheduling, once per turn, is the loop's cost).
    batch = protocol._batch
    batch._loop = NoLoop()  # type: ignore[assignment]
    flush = batch._run
    count = options.count
    in_tasks = options.peer == "app-async"

    async def feed_all() -> None:
        if not in_tasks:
            for _ in range(count):
                feed(frame)
                flush()
            return
        for _ in range(count // BATCH):
            for _ in range(BATCH):
                feed(frame)
            await asyncio.sleep(0)  # the routes run: one loop turn for the batch
            flush()

    if in_tasks:
        count -= count % BATCH
    if options.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        await feed_all()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    best = float("inf")
    for _ in range(options.repeat):
        writes = transport.count
        start = time.process_time()
        await feed_all()
        elapsed = time.process_time() - start
        if transport.count - writes != (count // BATCH if in_tasks else count):
            raise SystemExit(f"{transport.count - writes} writes for {count} frames")
        best = min(best, elapsed / count * 1e6)
        await asyncio.sleep(0)
    label = options.peer if options.parser == "json" else f"{options.peer} ({options.parser})"
    print(f"{label}: {best:.2f} µs per ack frame (best of {options.repeat} x {count})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=("raw", "app", "app-async"), default="raw")
    parser.add_argument("--parser", choices=("json", "msgpack"), default="json")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    uvloop.run(run(options))


if __name__ == "__main__":
    main()
