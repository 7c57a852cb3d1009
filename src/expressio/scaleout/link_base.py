"""What every link of a process to Redis shares, whatever it carries (pub/sub messages,
stream entries): who owns it, its outgoing queue's accounting, and its Redis clients.

- **One owner.** A link belongs to one process and one event loop. It starts on first use on
  the running loop (:meth:`LinkBase.ensure_started`) and starts afresh in a forked child or on
  another loop: a worker must not share its parent's connections, nor its id in the cluster.
- **Every message is accounted for.** What the adapters hand over is queued, then either sent
  (``published``) or given up (``dropped``); :meth:`LinkBase.flush` waits until everything
  handed over so far is one or the other.
- **Reconnection is ours.** Redis clients are made without redis-py's own retries, so that each
  link reconnects with its backoff (:data:`FIRST_RETRY_DELAY` doubling up to
  :data:`MAX_RETRY_DELAY`) and says so in its logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from typing import Any, Generic, TypeVar

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..sessions.redaction import redacted

logger = logging.getLogger("expressio.scaleout")

FIRST_RETRY_DELAY = 0.1  # seconds
MAX_RETRY_DELAY = 2.0  # seconds: reconnection is tried at least this often
CONNECT_TIMEOUT = 2.0  # seconds to open a connection
MAX_BATCH = 500  # queued commands per pipeline round trip

Item = TypeVar("Item")


class LinkBase(Generic[Item]):
    """The shared part of a link; ``Item`` is what its outgoing queue holds. A subclass
    extends :meth:`_start` (calling it first) and says when it is :attr:`up`."""

    #: what the queue holds, for its log line when full ("publish", "stream")
    queue_name = "outgoing"

    def __init__(self, url: str) -> None:
        self.url = url
        self._queue: deque[Item] = deque()
        self._overflow_logged = False  # until the link next comes up
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: set when the queue gets its first item: the sending loop wakes up
        self._wakeup: asyncio.Event | None = None
        self._pubsub: Any = None  # the subscribing connection, while subscribed
        self.published = 0  # messages sent
        self.dropped = 0  # messages given up
        self.received = 0  # messages of other processes handed to the adapters
        # flush(): how many messages were handed over and how many were sent or dropped
        self._accepted = 0
        self._settled = 0
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def up(self) -> bool:
        """Connected: what is handed over now is sent."""
        raise NotImplementedError

    def ensure_started(self) -> None:
        """Start the link on the running loop if it is not running there yet (cheap when it is).
        Without a running loop nothing happens: the link starts at its first use on one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._loop is loop and self._pid == os.getpid():
            return
        self._start(loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A forked child or a new loop: nothing of the previous life is usable here.
        self._pid = os.getpid()
        self._loop = loop
        self._settle_all_queued()  # queued under another id: they would not be ours
        self._flush_waiters = []
        self._wakeup = asyncio.Event()
        self._pubsub = None

    async def flush(self) -> None:
        """Wait until every message handed over so far was sent (or dropped)."""
        target = self._accepted
        if self._settled >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((target, future))
        await future

    async def wait_up(self, timeout: float) -> None:
        """Wait until the link is connected; ``TimeoutError`` after ``timeout`` seconds."""
        self.ensure_started()
        deadline = time.monotonic() + timeout
        while not self.up:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Redis at {redacted(self.url)} not reachable in {timeout} s")
            await asyncio.sleep(0.02)

    def _client(self, socket_timeout: float | None = None) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),  # reconnection is ours, with our backoff and logs
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=socket_timeout,
        )

    def _subscribe_later(self, channel: bytes, pattern: bool = False) -> None:
        """Subscribe now if the subscribing connection is there (``_pubsub`` is set only
        while it is subscribed); else its next (re)connection subscribes every channel it
        knows."""
        pubsub = self._pubsub
        if pubsub is not None:
            task = asyncio.ensure_future(_subscribe_now(pubsub, channel, pattern))
            task.add_done_callback(_log_failure)

    # --- accounting ---------------------------------------------------------------------------

    def _push(self, item: Item, limit: int) -> None:
        """Queue ``item`` (counted in ``_accepted`` already) and wake the sending loop; with
        ``limit`` items queued already it is dropped instead, the first time with a warning."""
        queue = self._queue
        if len(queue) >= limit:
            if not self._overflow_logged:
                self._overflow_logged = True
                logger.warning(
                    "Redis %s queue full (%d): new cross-process messages are dropped until it "
                    "drains",
                    self.queue_name,
                    limit,
                )
            self._drop(1)
            return
        queue.append(item)
        wakeup = self._wakeup
        if wakeup is not None and len(queue) == 1:
            wakeup.set()

    def _drop(self, count: int) -> None:
        self.dropped += count
        self._settle(count)

    def _settle_all_queued(self) -> None:
        if self._queue:
            count = len(self._queue)
            self._queue.clear()
            self._drop(count)

    def _settle(self, count: int) -> None:
        self._settled += count
        waiters = self._flush_waiters
        if waiters:
            settled = self._settled
            remaining = []
            for target, future in waiters:
                if target <= settled:
                    if not future.done():
                        future.set_result(None)
                else:
                    remaining.append((target, future))
            self._flush_waiters = remaining


async def _subscribe_now(pubsub: Any, channel: bytes, pattern: bool) -> None:
    with contextlib.suppress(RedisError, OSError):  # a reconnect subscribes it anyway
        if pattern:
            await pubsub.psubscribe(channel)
        else:
            await pubsub.subscribe(channel)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("subscribing failed", exc_info=task.exception())
