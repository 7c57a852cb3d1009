"""Requests waiting for the other processes' answers: complete, timed out, nothing to wait for."""

from __future__ import annotations

import asyncio

from expressio.scaleout.pending import PendingRequests


async def test_a_request_settles_when_every_expected_answer_came() -> None:
    pending = PendingRequests()
    request = pending.open(expected=2, timeout=30)
    assert request.id in pending
    pending.get(request.id).add("a")  # type: ignore[union-attr]
    assert not request.settled
    request.add("b")
    assert await request == ["a", "b"] and request.complete
    assert request.id not in pending and len(pending) == 0
    request.add("late")  # ignored once settled
    assert request.answers == ["a", "b"]


async def test_a_request_settles_at_its_timeout_with_what_came() -> None:
    pending = PendingRequests()
    request = pending.open(expected=3, timeout=0.05)
    request.add(1)
    assert await asyncio.wait_for(request, 5) == [1]
    assert not request.complete and request.id not in pending


async def test_nothing_to_wait_for_and_closing() -> None:
    pending = PendingRequests()
    assert await pending.open(expected=0, timeout=30) == []
    named = pending.open(expected=1, timeout=30, request_id="mine")
    assert named.id == "mine" and pending.get("unknown") is None
    done: list[list[object]] = []
    named.add_done_callback(lambda request: done.append(request.answers))
    pending.settle_all()
    assert await named == [] and not named.complete
    await asyncio.sleep(0)
    assert done == [[]]
