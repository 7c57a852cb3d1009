"""What a process does for another process's request, in whichever wire format it came: the
rules socket.io's adapters follow, shared by the pub/sub adapter and the streams adapter.

- A server-side event with an ack gets **one answer per process**: a handler that calls its
  answer twice sends the first one only (:func:`answer_once`), as Node's adapters do.
- A broadcast with acks is sent to this process's matching clients, which then says to how
  many, and forwards each client's ack, **until the asker stops waiting**: its ``timeout``
  flag (milliseconds, socket.io's ``io.timeout(ms)``), else the requests' own time limit
  (:func:`acks_for_another`). No ack callback outlives the request it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from ..realtime.adapter import AckCallback, BroadcastOptions, InMemoryAdapter


def answer_once(send: Callable[[Any], None]) -> Callable[[Any], None]:
    """``send(value)`` the first time the returned function is called; later calls do nothing."""
    answered = False

    def answer(value: Any) -> None:
        nonlocal answered
        if answered:
            return
        answered = True
        send(value)

    return answer


def asker_wait(timeout_flag: Any, default: float) -> float:
    """Seconds the asker of a broadcast with acks waits: its ``timeout`` flag, in
    milliseconds, when it is a positive number; ``default`` otherwise."""
    is_number = isinstance(timeout_flag, int | float) and not isinstance(timeout_flag, bool)
    return timeout_flag / 1000 if is_number and timeout_flag > 0 else default


def acks_for_another(
    adapter: InMemoryAdapter,
    event: str,
    args: Sequence[Any],
    opts: BroadcastOptions,
    on_client_count: Callable[[int], None],
    on_ack: AckCallback,
    wait: float,
) -> None:
    """Send another process's broadcast with acks to this process's clients that ``opts``
    targets; ``on_client_count`` and ``on_ack`` answer the asker, for ``wait`` seconds."""
    stop_waiting = InMemoryAdapter.broadcast_with_ack(
        adapter, event, args, opts, on_client_count, on_ack
    )
    asyncio.get_running_loop().call_later(wait, stop_waiting)
