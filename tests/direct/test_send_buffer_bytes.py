"""The send buffer's byte bound on the direct websocket path, measured end to end: a client that
sends large messages to an echo and never reads is cut off near ``max_send_buffer_bytes``, the
server's memory stays bounded, and another client is still served."""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from typing import Any

from tests.direct.test_engine_direct import open_session, raw_upgrade, recv_message

MESSAGE_SIZE = 300_000
BOUND = 16 * 1024 * 1024
# Without a byte bound, this many echoes (120 MB) would all be queued: far within the default
# message bound, so only the byte bound can end the session.
MAX_MESSAGES = 400
# The server's growth allowed over the bound: its transport buffer, the client's frames in
# flight, the allocator's slack. A queue without a byte bound would grow by ~120 MB.
RSS_ALLOWANCE = 100 * 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.002)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def text_frame(index: int) -> bytes:
    """A masked client text frame (zero mask: the payload as it is) of one Engine.IO message
    of MESSAGE_SIZE characters, distinct per index so that no echo shares another's memory."""
    payload = b"4" + f"{index:08d}".encode() + b"x" * (MESSAGE_SIZE - 8)
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", len(payload)) + bytes(4) + payload


async def test_echo_to_a_client_that_stops_reading_is_bounded_in_bytes(
    make_direct: Any,
) -> None:
    with make_direct(max_send_buffer_bytes=BOUND, ping_interval=30, ping_timeout=30) as server:
        sock, head = await asyncio.to_thread(raw_upgrade, server, receive_buffer=4096)
        assert head.startswith(b"HTTP/1.1 101 "), head
        bystander, _ = await open_session(server)
        await asyncio.sleep(0.05)
        slow_sid = server.connected[0]  # the raw socket opened first

        def flood() -> int:
            sent = 0
            try:
                while sent < MAX_MESSAGES and slow_sid not in server.disconnected:
                    sock.sendall(text_frame(sent))
                    sent += 1
            except OSError:
                pass  # the server dropped the connection mid-send
            return sent

        with PeakRSS() as memory:
            sent = await asyncio.to_thread(flood)
            reason = await server.disconnect_reason(slow_sid, timeout=30)
        print(
            f"sent {sent} messages of {MESSAGE_SIZE} bytes; server+client RSS growth "
            f"{memory.growth / 2**20:.1f} MiB over a {BOUND / 2**20:.0f} MiB bound"
        )
        assert reason == "transport error"
        # Cut off near the bound: the outbox, plus what the kernel and the transport buffered.
        assert sent < MAX_MESSAGES
        assert memory.growth < BOUND + RSS_ALLOWANCE
        # The connection is dropped, not left to drain.
        await asyncio.sleep(0.1)
        assert server.direct_connections() == 1
        sock.close()
        await bystander.send("4still served")
        assert await recv_message(bystander) == "4still served"
        await bystander.close()


async def test_many_small_messages_within_the_byte_bound_are_delivered(
    make_direct: Any,
) -> None:
    with make_direct(max_send_buffer_bytes=64 * 1024, ping_interval=30, ping_timeout=30) as server:
        ws, sid = await open_session(server)
        for index in range(2000):
            await ws.send(f"4m{index}")
        for index in range(2000):
            assert await recv_message(ws) == f"4m{index}"
        assert sid not in server.disconnected
        await ws.close()


async def test_broadcasts_to_a_member_that_stops_reading_are_bounded_in_bytes(
    make_direct: Any,
) -> None:
    with make_direct(ping_interval=30, ping_timeout=30) as server:
        engine = server.realtime.engine
        # The fixture's realtime server takes no engine options: set the bound (read when a
        # session opens) before the client connects.
        server.call(lambda: setattr(engine, "max_send_buffer_bytes", BOUND))
        path = "/socket.io/?EIO=4&transport=websocket"
        sock, head = await asyncio.to_thread(raw_upgrade, server, path, receive_buffer=4096)
        assert head.startswith(b"HTTP/1.1 101 "), head
        sock.sendall(bytes([0x81, 0x82]) + bytes(4) + b"40")  # join the default namespace
        namespace = server.realtime.of("/")
        deadline = time.monotonic() + 5
        while not server.call(lambda: len(namespace.sockets)):
            assert time.monotonic() < deadline, "the client never joined"
            await asyncio.sleep(0.01)
        broadcasts = 0
        with PeakRSS() as memory:
            while server.call(lambda: len(engine.sockets)) and broadcasts < MAX_MESSAGES:
                text = f"{broadcasts:08d}" + "b" * (MESSAGE_SIZE - 8)
                server.call(lambda text=text: namespace.emit("big", text))
                broadcasts += 1
                await asyncio.sleep(0)
        print(
            f"{broadcasts} broadcasts of {MESSAGE_SIZE} bytes; RSS growth "
            f"{memory.growth / 2**20:.1f} MiB over a {BOUND / 2**20:.0f} MiB bound"
        )
        assert broadcasts < MAX_MESSAGES  # the member was dropped
        assert memory.growth < BOUND + RSS_ALLOWANCE
        sock.close()
