"""The Python cost of a broadcast delivery with connection state recovery on and off.

    .venv/bin/python bench/realtime/recovery_cost.py [--rooms 1,10,1000] [--deliveries N]
        [--repeat R]

A realtime server (the benchmark's ``expressio_server.py`` peer, with and without
``--recovery``) serves K clients through ``DirectWebSocketProtocol`` on fake transports (no
sockets, as ``hotpath.py`` does), all in one room; then ``Namespace.emit`` broadcasts to the
room, each broadcast followed by the loop turn's flush (one framed write per client). The
figure is the best µs per delivery over R runs, on and off (their runs interleaved), and their
ratio; first, what keeping one broadcast costs alone. With recovery on,
each broadcast also gets its offset and is kept in the log (bounded by its caps, so a long
run measures a full log dropping its oldest packet at each new one).
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

import expressio_server

from tests.direct.fakes import client_text, connect_client


class NoLoop:
    def call_soon(self, callback: Any, *args: Any) -> None:
        pass


class Room:
    """A server with ``room_size`` clients in its room, ready to broadcast and flush."""

    def __init__(self, recovery: bool, room_size: int) -> None:
        self.server = expressio_server.build_server(recovery=recovery)
        self.namespace = self.server.of("/")
        self.clients = [connect_client(self.server) for _ in range(room_size)]
        self.room_size = room_size

    async def join(self) -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        join = client_text('42["join"]')
        for protocol, _ in self.clients:
            protocol.data_received(join)
        for _ in range(5):
            await asyncio.sleep(0)
        members = self.namespace.adapter.sockets_in([expressio_server.ROOM])
        if len(members) != self.room_size:
            raise SystemExit(f"{len(members)} of {self.room_size} clients joined the room")

    def run(self, count: int) -> float:
        """µs per delivery of ``count`` broadcasts to the room."""
        batch = self.clients[0][0]._batch
        batch._loop = NoLoop()  # type: ignore[assignment]
        flush = batch._run
        flush()
        emit = self.namespace.emit
        room = expressio_server.ROOM
        writes = sum(transport.count for _, transport in self.clients)
        start = time.perf_counter()
        for index in range(count):
            emit("tick", index, to=room)
            flush()
        elapsed = time.perf_counter() - start
        written = sum(transport.count for _, transport in self.clients) - writes
        if written != count * self.room_size:
            raise SystemExit(f"{written} writes for {count * self.room_size} deliveries")
        return elapsed / (count * self.room_size) * 1e6


async def compare(room_size: int, count: int, repeat: int) -> tuple[float, float]:
    """Best µs per delivery (off, on), the two servers' runs interleaved so that a change in
    the machine's load touches both alike."""
    off, on = Room(False, room_size), Room(True, room_size)
    await off.join()
    await on.join()
    best_off = best_on = float("inf")
    for _ in range(repeat):
        best_off = min(best_off, off.run(count))
        best_on = min(best_on, on.run(count))
        await asyncio.sleep(0)
    return best_off, best_on


def record_cost(count: int = 200_000) -> float:
    """µs the log adds per broadcast: offset, entry, trimming a full log."""
    from expressio.protocol.socketio import encode_event
    from expressio.realtime.recovery import RecoveryOptions, RecoveryStore

    store = RecoveryStore(RecoveryOptions())
    packet = encode_event("/", "tick", [1])
    rooms = frozenset({"bench"})
    record = store.record
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(count):
            record(packet, rooms, None)
        best = min(best, (time.perf_counter() - start) / count * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="1,10,1000", help="room sizes (clients)")
    parser.add_argument("--deliveries", type=int, default=200_000, help="per run and room size")
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    print(f"keeping one broadcast in the log: {record_cost():.2f} µs")
    header = ("clients in room", "off µs/delivery", "on µs/delivery", "on/off")
    print(f"{header[0]:>15}  {header[1]:>15}  {header[2]:>14}  {header[3]:>6}")
    for room_size in (int(value) for value in options.rooms.split(",")):
        count = max(options.deliveries // room_size, 20)
        off, on = uvloop.run(compare(room_size, count, options.repeat))
        print(f"{room_size:>15,}  {off:>15.3f}  {on:>14.3f}  {on / off:>6.2f}")


if __name__ == "__main__":
    main()
