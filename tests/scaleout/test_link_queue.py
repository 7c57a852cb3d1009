"""A link's outgoing queue is bounded: while Redis cannot be reached, what comes beyond the
bound is dropped, counted and logged once, and ``flush()`` still returns."""

from __future__ import annotations

import logging

import pytest

from expressio.scaleout.stream_link import StreamLink
from tests.support import free_port


async def test_beyond_its_bound_the_queue_drops_counts_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = StreamLink(
        f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: the writer never connects
        "s",
        max_len=100,
        read_count=10,
        block_time=1.0,
        max_queued=2,
    )
    with caplog.at_level(logging.WARNING, logger="expressio.scaleout"):
        for number in range(5):  # no await in between: the writer has not run yet
            link.add({"uid": "u", "nsp": "/", "type": "3", "data": str(number)})
        assert (link.dropped, link.published) == (3, 0)
        await link.close()  # what is still queued is given up, and flush() has nothing to wait for
        await link.flush()
    assert link.dropped == 5
    full = [record for record in caplog.records if "queue full" in record.getMessage()]
    assert [record.getMessage() for record in full] == [
        "Redis stream queue full (2): new cross-process messages are dropped until it drains"
    ]
