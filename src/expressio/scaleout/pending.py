"""Requests to the other processes of an app that wait for their answers.

A cross-process adapter that asks its peers something (their sockets, their answer to a
server-side event) knows how many should answer (``server_count() - 1``) and gives them a
time limit. :class:`PendingRequests` keeps such requests by id until each is *settled*: every
expected answer arrived, or the time ran out (a process died, or a message was lost), in which
case it settles with the answers that did arrive, and says so in the log. It never hangs and
never raises::

    request = self.pending.open(expected=count - 1, timeout=5.0, what="fetch_sockets on /")
    publish(encode_fetch(uid, request.id, ...))
    answers = await request          # the answers, complete or not
    if not request.complete: ...     # some process did not answer in time

A broadcast with acks is a request of another kind: its answers are a client count from each
process and then one ack per client, and the layer above decides when it has them all.
:class:`AckRequests` routes them, by id, to that broadcast's callbacks until it stops waiting.

An answer for an unknown id (already settled, or another process's request) is ignored.
Independent of the transport: the pub/sub adapter and the streams adapter both use it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..realtime.adapter import AckCallback

logger = logging.getLogger("expressio.scaleout")


def new_request_id() -> str:
    """A request id unlikely to collide across the whole cluster."""
    return secrets.token_urlsafe(9)


class PendingRequest:
    """One request: its id, how many answers it waits for, and those received."""

    __slots__ = ("_future", "_registry", "_timer", "answers", "complete", "expected", "id", "what")

    def __init__(
        self, registry: PendingRequests, request_id: str, expected: int, what: str | None = None
    ) -> None:
        self._registry = registry
        self.id = request_id
        self.expected = expected
        #: what was asked, for the log line of a request that timed out ("fetch_sockets on /")
        self.what = what
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

    def _time_out(self, timeout: float) -> None:
        if self.what is not None:
            logger.warning(
                "%s: %d of %d other processes answered within %s s",
                self.what,
                len(self.answers),
                self.expected,
                timeout,
            )
        self.settle()

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

    def open(
        self,
        expected: int,
        timeout: float,
        request_id: str | None = None,
        what: str | None = None,
    ) -> PendingRequest:
        """A new request waiting for ``expected`` answers at most ``timeout`` seconds (needs
        a running loop), under ``request_id`` (a new one by default). With nothing to wait
        for it is settled at once. A request that times out logs a warning naming ``what``
        was asked and how many answered (nothing when ``what`` is None)."""
        request = PendingRequest(self, request_id or new_request_id(), expected, what)
        if expected <= 0:
            request.complete = True
            request.settle()
            return request
        self._requests[request.id] = request
        request._timer = asyncio.get_running_loop().call_later(
            timeout, request._time_out, timeout
        )
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


class AckRequests:
    """The broadcasts with acks this process sent, by request id: where the other processes'
    client counts and their clients' acks go, until the broadcast stops waiting."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[Callable[[int], None], AckCallback]] = {}

    def open(
        self,
        request_id: str,
        on_client_count: Callable[[int], None],
        on_ack: AckCallback,
        stop_local: Callable[[], None],
    ) -> Callable[[], None]:
        """Route the answers to ``request_id`` to the two callbacks. Returns what stops
        waiting: ``stop_local()`` (this process's own clients), and the answers of the other
        processes are ignored from then on."""
        self._waiting[request_id] = (on_client_count, on_ack)

        def stop_waiting() -> None:
            stop_local()
            self._waiting.pop(request_id, None)

        return stop_waiting

    def client_count(self, request_id: str, count: int) -> None:
        """A process said to how many of its clients it sent the broadcast."""
        waiting = self._waiting.get(request_id)
        if waiting is not None:
            waiting[0](count)

    def ack(self, request_id: str, answer: Any) -> None:
        """A client of another process answered (its first ack argument)."""
        waiting = self._waiting.get(request_id)
        if waiting is not None:
            waiting[1](answer)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)
