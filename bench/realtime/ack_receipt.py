"""The Python cost of a broadcast with acks, per client: sending it, and taking each answer.

    .venv/bin/python bench/realtime/ack_receipt.py [--clients K] [--repeat R] [--profile]

The benchmark's ``expressio_server.py`` peer serves K clients (default 1,000) through
``DirectWebSocketProtocol`` on fake transports (no sockets, as ``hotpath.py`` does), all in
its room. Each round broadcasts with acks to the room (``adapter.broadcast_with_ack``, then the
loop turn's flush: one framed write per client), then feeds every client's answer
(``43<id>[1]``, masked, as the load generator sends it) to its connection, then runs the
loop turn's flush (which finds nothing to write). It prints the best
µs per client over R rounds for each half. What the kernel and the event loop cost (a write and
a read per client, the loop's callback per read) is not in these figures: they are the Python
part of ``broadcast_ack``'s rounds in ``run.py``. ``--profile`` prints cProfile's top
functions of the answers' half instead.
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

from expressio.realtime import BroadcastOptions
from tests.direct.fakes import client_text, connect_client


class NoLoop:
    def call_soon(self, callback: Any, *args: Any) -> None:
        pass


async def run(options: argparse.Namespace) -> None:
    server = expressio_server.build_server()
    namespace = server.of("/")
    clients = [connect_client(server) for _ in range(options.clients)]
    for _ in range(5):
        await asyncio.sleep(0)
    join = client_text('42["join"]')
    for protocol, _ in clients:
        protocol.data_received(join)
    for _ in range(5):
        await asyncio.sleep(0)
    batch = clients[0][0]._batch
    batch._loop = NoLoop()  # type: ignore[assignment]
    flush = batch._run
    flush()
    in_room = BroadcastOptions(rooms=frozenset((expressio_server.ROOM,)))
    best_send = best_answers = float("inf")
    for round_number in range(options.repeat):
        answers: list[Any] = []
        start = time.perf_counter()
        namespace.adapter.broadcast_with_ack(
            "tick", (round_number,), in_room, lambda count: None, answers.append
        )
        flush()
        sent = time.perf_counter()
        # The ack id the broadcast asked for, from the frame the first client got: 42<id>[...]
        text = clients[0][1].writes[-1][2:].decode()
        answer = client_text("43" + text[2 : text.index("[")] + "[1]")
        last = options.profile and round_number == options.repeat - 1
        if last:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        taking = time.perf_counter()
        for protocol, _ in clients:
            protocol.data_received(answer)
        flush()  # the loop turn's writes after the reads, if any
        taken = time.perf_counter()
        if last:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        if len(answers) != len(clients):
            raise SystemExit(f"{len(answers)} answers from {len(clients)} clients")
        best_send = min(best_send, (sent - start) / len(clients) * 1e6)
        best_answers = min(best_answers, (taken - taking) / len(clients) * 1e6)
    print(
        f"{len(clients)} clients, best of {options.repeat}: sending {best_send:.2f} µs per client,"
        f" taking its answer {best_answers:.2f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
