"""Requests to the other processes of an app that wait for their answers.

A cross-process adapter that asks its peers something (their sockets, their answer to a
server-side event) knows how many should answer (``server_count() - 1``) and gives them a
time limit. :class:`PendingRequests` keeps such requests by id until each is *settled*: every
expected answer arrived, or the time ran out (a process died, or a message was lost), in which
case it settles with the answers that did arrive. It never hangs and never raises::

    request = self.pending.open(expected=count - 1, timeout=5.0)
    publish(encode_fetch(uid, request.id, ...))
    answers = await request          # the answers, complete or not
    if not request.complete: ...     # some process did not answer in time

An answer for an unknown id (already settled, or another process's request) is ignored.
Independent of the transport: the pub/sub adapter and the streams adapter both use it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Generator
from typing import Any


def new_request_id() -> str:
    """A request id unlikely to collide across the whole cluster."""
    return secrets.token_urlsafe(9)


class PendingRequest:
    """One request: its id, how many answers it waits for, and those received."""

    __slots__ = ("_future", "_registry", "_timer", "answers", "complete", "expected", "id")

    def __init__(self, registry: PendingRequests, request_id: str, expected: int) -> None:
        self._registry = registry
        self.id = request_id
        self.expected = expected
        self.answers: list[Any] = []
        #: True when every expected answer arrived; False while waiting or after a timeout
        self.complete = False
        self._future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, answer: Any) -> None:
        """One more answer; settles the request when it was the last one expected."""
        if self._future.done():
            return
        self.answers.append(answer)
        if len(self.answers) >= self.expected:
            self.complete = True
            self.settle()

    def settle(self) -> None:
        """Stop waiting: the request resolves with the answers received so far."""
        if self._timer is not None:
            self._timer.cancel()
        self._registry._forget(self.id)
        if not self._future.done():
            self._future.set_result(self.answers)

    def add_done_callback(self, callback: Callable[[PendingRequest], None]) -> None:
        """``callback(request)`` once the request is settled."""
        self._future.add_done_callback(lambda _future: callback(self))

    @property
    def settled(self) -> bool:
        return self._future.done()

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self._future.__await__()

    def __repr__(self) -> str:
        return f"<PendingRequest {self.id} {len(self.answers)}/{self.expected}>"


class PendingRequests:
    """The requests one adapter waits on, by id. Used on the event loop's thread only."""

    def __init__(self) -> None:
        self._requests: dict[str, PendingRequest] = {}

    def open(self, expected: int, timeout: float, request_id: str | None = None) -> PendingRequest:
        """A new request waiting for ``expected`` answers at most ``timeout`` seconds (needs
        a running loop), under ``request_id`` (a new one by default). With nothing to wait
        for it is settled at once."""
        request = PendingRequest(self, request_id or new_request_id(), expected)
        if expected <= 0:
            request.complete = True
            request.settle()
            return request
        self._requests[request.id] = request
        request._timer = asyncio.get_running_loop().call_later(timeout, request.settle)
        return request

    def get(self, request_id: str) -> PendingRequest | None:
        return self._requests.get(request_id)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._requests

    def __len__(self) -> int:
        return len(self._requests)

    def settle_all(self) -> None:
        """Stop waiting for anything (the adapter is closing)."""
        for request in list(self._requests.values()):
            request.settle()

    def _forget(self, request_id: str) -> None:
        self._requests.pop(request_id, None)
