"""Requests waiting for the other processes' answers: complete, timed out, nothing to wait for;
broadcasts with acks routed by id; the rules of answering another process."""

from __future__ import annotations

import asyncio
import logging

import pytest

from expressio.scaleout.answering import answer_once, asker_wait
from expressio.scaleout.pending import AckRequests, PendingRequests


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


async def test_a_request_that_times_out_says_what_it_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pending = PendingRequests()
    quiet = pending.open(expected=1, timeout=0.01)
    told = pending.open(expected=2, timeout=0.01, what="fetch_sockets on /chat")
    told.add("one")
    with caplog.at_level(logging.WARNING, logger="expressio.scaleout"):
        assert await asyncio.wait_for(told, 5) == ["one"]
        assert await asyncio.wait_for(quiet, 5) == []
    assert [record.getMessage() for record in caplog.records] == [
        "fetch_sockets on /chat: 1 of 2 other processes answered within 0.01 s"
    ]


async def test_a_complete_request_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    pending = PendingRequests()
    request = pending.open(expected=1, timeout=0.01, what="server_side_emit on /")
    request.add("a")
    later = pending.open(expected=1, timeout=0.05)  # times out after the first one would have
    with caplog.at_level(logging.WARNING, logger="expressio.scaleout"):
        await request
        assert await later == []
    assert caplog.records == []


def test_broadcasts_with_acks_route_counts_and_acks_until_they_stop() -> None:
    acks = AckRequests()
    counts: list[int] = []
    answers: list[object] = []
    stopped: list[bool] = []
    stop = acks.open("r1", counts.append, answers.append, lambda: stopped.append(True))
    assert "r1" in acks and len(acks) == 1
    acks.client_count("r1", 2)
    acks.ack("r1", {"a": 1})
    acks.client_count("other", 5)  # another request's: nobody here waits for it
    acks.ack("other", "x")
    stop()
    assert stopped == [True] and "r1" not in acks
    acks.client_count("r1", 7)  # after the stop: ignored
    acks.ack("r1", "late")
    assert counts == [2] and answers == [{"a": 1}]


def test_one_answer_per_process() -> None:
    sent: list[object] = []
    answer = answer_once(sent.append)
    answer(1)
    answer(2)
    assert sent == [1]


@pytest.mark.parametrize(
    "flag,seconds",
    [(2500, 2.5), (1, 0.001), (None, 5.0), (0, 5.0), (-3, 5.0), (True, 5.0), ("100", 5.0)],
)
def test_how_long_an_asker_waits(flag: object, seconds: float) -> None:
    assert asker_wait(flag, 5.0) == seconds
