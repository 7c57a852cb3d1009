"""Memory of connection state recovery's packet log: N broadcasts of M bytes, kept.

    .venv/bin/python bench/realtime/recovery_memory.py [--counts 1000,10000] [--sizes 100,1000]

Each broadcast goes through the realtime server's own path (``Namespace.emit`` → the
adapter's ``broadcast``: offset appended, packet kept, delivered to nobody), with the default
caps of ``RecoveryOptions`` (10,000 packets, 16 MiB per namespace). Python's allocations are
measured with ``tracemalloc`` around the broadcasts; the figure is what the log holds after
them (the packets dropped by a cap are freed). The overhead column is what each kept packet
costs beyond its own payload bytes (the offset, the packet object, the log entry).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc

from expressio.realtime import InMemoryAdapter, RealtimeServer


async def kept_bytes(count: int, size: int) -> tuple[int, int, int]:
    """(bytes allocated and still held, packets kept, the log's own size count)."""
    server = RealtimeServer(recovery=True)
    namespace = server.of("/")
    adapter = namespace.adapter
    assert isinstance(adapter, InMemoryAdapter) and adapter.recovery is not None
    payload = "x" * size
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(count):
        namespace.emit("news", payload, index, to="room")
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    log = adapter.recovery.log
    return held, len(log), log.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,10000,100000")
    parser.add_argument("--sizes", default="100,1000")
    options = parser.parse_args()
    counts = [int(value) for value in options.counts.split(",")]
    sizes = [int(value) for value in options.sizes.split(",")]
    header = (
        f"{'broadcasts':>10}  {'bytes each':>10}  {'kept':>6}  {'log size':>10}  "
        f"{'memory held':>12}  {'per packet':>10}  {'overhead':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        for count in counts:
            held, kept, counted = asyncio.run(kept_bytes(count, size))
            per_packet = held / kept if kept else 0.0
            print(
                f"{count:>10,}  {size:>10,}  {kept:>6,}  {counted / 2**20:>8.2f} MiB  "
                f"{held / 2**20:>8.2f} MiB  {per_packet:>8.0f} B  {per_packet - size:>6.0f} B"
            )


if __name__ == "__main__":
    main()
