"""One process's connection to Redis pub/sub: an ordered publish queue, the subscriptions, and
what happens when Redis goes away.

The link never blocks its callers: :meth:`RedisLink.publish` appends to a queue that one task
drains (many messages per round trip, in order), and received messages are handed to the
handler of their channel (or of the pattern they matched) on the loop thread, with the channel
they came on. When Redis is unreachable the link is *down*: messages
for other processes are dropped and counted (never replayed: a late broadcast is worse than a
missing one for realtime clients), the outage is logged once, and the link reconnects with a
backoff capped at :data:`MAX_RETRY_DELAY`; on recovery it logs how long the outage lasted and
how many messages were dropped.

A link belongs to one process and one event loop (see :mod:`.link_base`, which it shares with
the streams link): a forked child or another loop gets a new one, with a new node id. Channels
that name the node (:meth:`RedisLink.subscribe_per_node`) are subscribed under each new node id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from ..sessions.redaction import redacted, scrub
from .link_base import FIRST_RETRY_DELAY, MAX_BATCH, MAX_RETRY_DELAY, LinkBase

logger = logging.getLogger("expressio.scaleout")

MAX_QUEUED = 10_000  # messages waiting to be published; beyond, new ones are dropped

#: ``handler(channel, data)``
Handler = Callable[[bytes, bytes], None]


#: ``url`` without its password, for logs and messages (the helper every Redis user shares).
redact = redacted


class RedisLink(LinkBase[tuple[bytes, bytes]]):
    """Publishing and subscribing for one process. States: *connecting* (publishes are queued),
    *up* (queued and sent), *down* (dropped and counted)."""

    queue_name = "publish"

    def __init__(self, url: str, control_channel: bytes) -> None:
        super().__init__(url)
        self.node_id = ""  # set when the link starts, in the process that uses it
        # Always subscribed, so that the subscribing connection has a channel from the start.
        self._control_channel = control_channel
        self._handlers: dict[bytes, Handler] = {}
        self._pattern_handlers: dict[bytes, Handler] = {}
        self._per_node: list[tuple[Callable[[str], bytes], Handler]] = []
        self._node_channels: dict[bytes, Handler] = {}  # _per_node for the current node id
        self._publisher: redis.asyncio.Redis | None = None  # the publishing client, while up
        self._task: asyncio.Task[None] | None = None
        self._up = False
        self.down = False
        self._outage_started: float | None = None
        self._dropped_when_up = 0  # self.dropped when the link last came up

    @property
    def up(self) -> bool:
        return self._up

    # --- used by the adapter (loop thread) ---------------------------------------------------

    def subscribe(self, channel: bytes, handler: Handler) -> None:
        """Deliver every message of ``channel`` to ``handler(channel, data)``, now and after
        reconnects."""
        self._handlers[channel] = handler
        self._subscribe_later(channel)

    def psubscribe(self, pattern: bytes, handler: Handler) -> None:
        """Deliver every message of the channels matching the glob ``pattern`` to
        ``handler(channel, data)``."""
        self._pattern_handlers[pattern] = handler
        self._subscribe_later(pattern, pattern=True)

    def subscribe_per_node(self, channel_of: Callable[[str], bytes], handler: Handler) -> None:
        """Like :meth:`subscribe` for the channel ``channel_of(node_id)``, whatever the node
        id is now or becomes (a forked child gets its own)."""
        self._per_node.append((channel_of, handler))
        if self.node_id:
            channel = channel_of(self.node_id)
            self._node_channels[channel] = handler
            self._subscribe_later(channel)

    async def numsub(self, channel: bytes) -> int | None:
        """How many connections are subscribed to ``channel`` (``PUBSUB NUMSUB``); None while
        Redis is unreachable."""
        client = self._publisher
        if client is None or not self._up:
            return None
        try:
            counts = await client.pubsub_numsub(channel)
        except (RedisError, OSError):
            return None
        return int(counts[0][1]) if counts else 0

    def publish(self, channel: bytes, message: bytes) -> None:
        """Queue ``message`` for ``channel``; never blocks. Dropped (and counted) while down."""
        self.ensure_started()
        self._accepted += 1
        if self.down or self._loop is None:
            # Without a running loop there is no link (and no node id to tell our echo by).
            self._drop(1)
            return
        self._push((channel, message), MAX_QUEUED)

    async def close(self) -> None:
        """Stop the link (a later use starts it again)."""
        task, self._task = self._task, None
        self._loop = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._up = False
        self._settle_all_queued()

    # --- the connection's life ----------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        super()._start(loop)
        self.node_id = secrets.token_hex(8)
        self._node_channels = {
            channel_of(self.node_id): handler for channel_of, handler in self._per_node
        }
        self._up = False
        self.down = False
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        delay = FIRST_RETRY_DELAY
        while True:
            client = self._client()
            # Typed as Any: redis-py typed PubSub.aclose() only from 8.2 on, and the same code
            # must check cleanly against the locked and the newest release.
            pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
            try:
                await client.ping()
                await pubsub.subscribe(self._control_channel, *self._handlers, *self._node_channels)
                if self._pattern_handlers:
                    await pubsub.psubscribe(*self._pattern_handlers)
                self._pubsub = pubsub
                self._publisher = client
                self._went_up()
                delay = FIRST_RETRY_DELAY
                await self._pump(client, pubsub)
            except (RedisError, OSError) as error:
                self._went_down(error)
            except Exception as error:  # a bug must not end cross-process delivery for good
                logger.exception("unexpected error on the Redis link")
                self._went_down(error)
            finally:
                self._pubsub = None
                self._publisher = None
                self._up = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _pump(self, client: redis.asyncio.Redis, pubsub: Any) -> None:
        """Receive and publish until either fails; its error ends the connection."""
        receiving = asyncio.ensure_future(self._receive(pubsub))
        publishing = asyncio.ensure_future(self._publish(client))
        try:
            done, _ = await asyncio.wait(
                (receiving, publishing), return_when=asyncio.FIRST_EXCEPTION
            )
        finally:
            for task in (receiving, publishing):
                task.cancel()
            await asyncio.gather(receiving, publishing, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def _receive(self, pubsub: Any) -> None:
        handlers = self._handlers
        patterns = self._pattern_handlers
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"]
            if kind == "pmessage":
                handler = patterns.get(message["pattern"])
            elif kind == "message":
                handler = handlers.get(channel) or self._node_channels.get(channel)
            else:
                continue
            if handler is None:
                continue
            self.received += 1
            try:
                handler(channel, message["data"])
            except Exception:
                logger.exception("error handling a message from Redis")

    async def _publish(self, client: redis.asyncio.Redis) -> None:
        queue = self._queue
        wakeup = self._wakeup
        assert wakeup is not None
        while True:
            if not queue:
                wakeup.clear()
                await wakeup.wait()
                continue
            count = min(len(queue), MAX_BATCH)
            batch = [queue.popleft() for _ in range(count)]
            try:
                if count == 1:
                    await client.publish(*batch[0])
                else:
                    pipeline = client.pipeline(transaction=False)
                    for channel, message in batch:
                        pipeline.publish(channel, message)
                    await pipeline.execute()
            except BaseException:
                # Whether Redis took them is unknown: count them as dropped, never resend them
                # (a client must not get a broadcast twice).
                self._drop(count)
                raise
            self.published += count
            self._settle(count)

    def _went_up(self) -> None:
        self._up = True
        self.down = False
        self._overflow_logged = False
        if self._outage_started is not None:
            # every drop since the link was last up: queued, in flight, and refused while down
            logger.warning(
                "Redis at %s reachable again after %.1f s; %d cross-process messages were "
                "dropped during the outage",
                redact(self.url),
                time.monotonic() - self._outage_started,
                self.dropped - self._dropped_when_up,
            )
            self._outage_started = None
        else:
            logger.info("connected to Redis at %s (node %s)", redact(self.url), self.node_id)
        self._dropped_when_up = self.dropped

    def _went_down(self, error: BaseException) -> None:
        self.down = True
        self._settle_all_queued()
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            logger.warning(
                "Redis at %s unreachable (%s): each process keeps serving its own clients, "
                "cross-process messages are dropped until it is back; retrying every %.0f s "
                "at most",
                redact(self.url),
                scrub(str(error), self.url) or type(error).__name__,
                MAX_RETRY_DELAY,
            )
