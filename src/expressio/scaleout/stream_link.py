"""One process's connection to a Redis stream: the XADD queue, the XREAD loop, the pub/sub
channels of requests and answers, and what happens when Redis goes away.

Three loops, each on its own connection and each reconnecting on its own (a blocked read must
not cancel a write in flight, nor the other way round), at least every
:data:`MAX_RETRY_DELAY` seconds:

- the **writer** drains one ordered queue of commands (XADD of entries, PUBLISH of requests,
  SET of sessions), many per round trip. While Redis is unreachable the queue is *kept*
  (bounded by ``max_queued``; beyond, new entries are dropped, counted and logged once) and
  sent when Redis is back: a broadcast made during an outage reaches the other processes
  afterwards. Requests waiting for answers (pub/sub) are dropped while Redis is down: their
  caller's timeout applies. A batch whose fate is unknown (the connection broke while it was
  in flight) is not sent again: a client must never get a broadcast twice.
- the **reader** runs ``XREAD BLOCK`` from the last entry id it handed over, ``read_count``
  entries at a time, for every namespace; after an outage it resumes from that id, so nothing
  still kept by the stream (``max_len``) is lost. It hands each entry to the namespace's
  handler, except this process's own.
- the **subscriber** listens on the pub/sub channels (requests and answers between processes).

An entry this process added and wants to deliver to its own clients when it is read back (a
broadcast with connection state recovery on: its stream id is the offset its clients get) is
*delivered at once* instead, without an offset, when it has waited :data:`LOCAL_DELIVERY_WAIT`
seconds (Redis paused or gone): the process keeps serving its own clients during an outage.
Each own entry carries a ``seq`` field (Node's adapter ignores fields it does not know) that
tells the reader which ones were delivered already.

A link belongs to one process and one event loop (see :mod:`.link_base`, which it shares with
the pub/sub link): a forked child or another loop gets a new one, with a new ``uid``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from ..sessions.redaction import redacted, scrub
from .link_base import CONNECT_TIMEOUT, FIRST_RETRY_DELAY, MAX_BATCH, MAX_RETRY_DELAY, LinkBase

logger = logging.getLogger("expressio.scaleout")

COMMAND_TIMEOUT = 10.0  # seconds a batch in flight may take before its fate counts as unknown
LOCAL_DELIVERY_WAIT = 1.0  # seconds an own entry waits to be read back before local delivery
RESTORE_COUNT = 1000  # entries per XRANGE of a session restore

#: ``handler(fields, entry_id)`` for the entries of one namespace (other processes' entries)
EntryHandler = Callable[[Mapping[bytes, bytes], str], None]
#: ``handler(payload)`` for one pub/sub channel
MessageHandler = Callable[[bytes], None]
#: an own entry read back: ``deliver(entry_id)``, or ``deliver(None)`` when delivered at once
ReadBack = Callable[[str | None], None]


class _Outgoing:
    """One queued command: an XADD (``fields``), a PUBLISH or a SET."""

    __slots__ = ("args", "kind")

    def __init__(self, kind: str, args: tuple[Any, ...]) -> None:
        self.kind = kind
        self.args = args


def parse_id(entry_id: str | bytes) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


def next_id(entry_id: str) -> str:
    """The smallest id after ``entry_id`` (XRANGE's exclusive start, as Redis < 6.2 needs)."""
    milliseconds, sequence = parse_id(entry_id)
    return f"{milliseconds}-{sequence + 1}"


class StreamLink(LinkBase[_Outgoing]):
    """The Redis side of :class:`~expressio.scaleout.streams_adapter.RedisStreamsAdapter`."""

    queue_name = "stream"

    def __init__(
        self,
        url: str,
        stream: str,
        *,
        max_len: int,
        read_count: int,
        block_time: float,
        max_queued: int,
    ) -> None:
        super().__init__(url)
        self.stream = stream
        self.stream_key = stream.encode()
        self.max_len = max_len
        self.read_count = read_count
        self.block_time = block_time
        self.max_queued = max_queued
        self.uid = ""  # set when the link starts, in the process that uses it
        self._uid_bytes = b""
        self._entry_handlers: dict[bytes, EntryHandler] = {}
        self._channel_handlers: dict[bytes, MessageHandler] = {}
        self._private_prefixes: dict[str, MessageHandler] = {}
        self._seq = 0
        self._read_backs: dict[bytes, tuple[float, ReadBack]] = {}
        self._read_back_timer: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._commands: redis.asyncio.Redis | None = None
        #: the id of the last entry the reader handed over (None until it first connected)
        self.last_id: str | None = None
        self.writer_up = False
        self.reader_up = False
        self.subscribed = False
        self.down = False
        self._outage_started: float | None = None
        self._logged_kinds: set[str] = set()
        self.delivered_at_once = 0  # own entries delivered before being read back

    # --- used by the adapters (loop thread) ----------------------------------------------------

    @property
    def up(self) -> bool:
        return self.writer_up and self.reader_up and self.subscribed

    def on_entries(self, namespace: str, handler: EntryHandler) -> None:
        self._entry_handlers[namespace.encode()] = handler

    def subscribe(self, channel: bytes, handler: MessageHandler) -> None:
        """Deliver every message of ``channel`` to ``handler(payload)``, also after reconnects."""
        self._channel_handlers[channel] = handler
        self._subscribe_later(channel)

    def subscribe_private(self, prefix: str, handler: MessageHandler) -> None:
        """Deliver the messages of ``<prefix><uid>#`` (this process's own channel, which
        changes with the uid) to ``handler``, from the moment the link is subscribed."""
        self._private_prefixes[prefix] = handler
        if self.uid:
            self.subscribe(f"{prefix}{self.uid}#".encode(), handler)

    def add(self, fields: dict[str, str], read_back: ReadBack | None = None) -> None:
        """Queue an XADD of ``fields`` (which get this process's ``seq``). With ``read_back``,
        the entry is for this process's clients too: ``read_back(entry_id)`` when the reader
        reads it back, or ``read_back(None)`` at once when Redis is too slow or away."""
        self.ensure_started()
        self._seq += 1
        seq = str(self._seq)
        fields["seq"] = seq
        if read_back is not None:
            if self.down or self._loop is None:
                self.delivered_at_once += 1
                read_back(None)
            else:
                self._read_backs[seq.encode()] = (time.monotonic(), read_back)
                if self._read_back_timer is None:
                    self._arm_read_back_timer()
        self._enqueue(_Outgoing("xadd", (fields,)), keep_while_down=True)

    def publish(self, channel: bytes, payload: bytes) -> None:
        """Queue a PUBLISH (a request or an answer); dropped while Redis is down."""
        self.ensure_started()
        self._enqueue(_Outgoing("publish", (channel, payload)), keep_while_down=False)

    def set_later(self, key: str, value: str, ttl_ms: int) -> None:
        """Queue a SET with an expiry, in order with the entries (a kept session)."""
        self.ensure_started()
        self._enqueue(_Outgoing("set", (key, value, ttl_ms)), keep_while_down=True)

    @property
    def commands(self) -> redis.asyncio.Redis:
        """A client for one-off commands (session restore, server count)."""
        self.ensure_started()
        if self._commands is None:
            self._commands = self._client(socket_timeout=CONNECT_TIMEOUT)
        return self._commands

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        self._loop = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._deliver_read_backs_now()
        if self._read_back_timer is not None:
            self._read_back_timer.cancel()
            self._read_back_timer = None
        commands, self._commands = self._commands, None
        if commands is not None:
            with contextlib.suppress(Exception):
                await commands.aclose()
        self.writer_up = self.reader_up = self.subscribed = False
        self._settle_all_queued()

    def log_once(self, kind: str, message: str, *args: Any) -> None:
        """A warning logged the first time only for each ``kind`` (bad input from the stream)."""
        if kind in self._logged_kinds:
            return
        self._logged_kinds.add(kind)
        logger.warning(message + " (logged once)", *args)

    # --- life ----------------------------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        super()._start(loop)
        old_uid, self.uid = self.uid, secrets.token_hex(8)
        self._uid_bytes = self.uid.encode()
        for prefix, handler in self._private_prefixes.items():
            self._channel_handlers.pop(f"{prefix}{old_uid}#".encode(), None)
            self._channel_handlers[f"{prefix}{self.uid}#".encode()] = handler
        self._read_backs = {}
        self._read_back_timer = None
        self._commands = None
        self.writer_up = self.reader_up = self.subscribed = False
        self.down = False
        self._tasks = [
            loop.create_task(self._forever(self._write, "writer")),
            loop.create_task(self._forever(self._read, "reader")),
            loop.create_task(self._forever(self._subscribe, "subscriber")),
        ]

    async def _forever(self, connection: Callable[[], Any], name: str) -> None:
        """Run one connection's loop; reconnect after an error, with a capped backoff."""
        delay = FIRST_RETRY_DELAY
        while True:
            started = time.monotonic()
            try:
                await connection()
            except (RedisError, OSError) as error:
                if name == "writer":
                    self._writer_down(error)
            except Exception as error:  # a bug must not end cross-process delivery for good
                logger.exception("unexpected error on the Redis stream %s", name)
                if name == "writer":
                    self._writer_down(error)
            if time.monotonic() - started > 5 * MAX_RETRY_DELAY:
                delay = FIRST_RETRY_DELAY  # it had been up for a while: retry quickly
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    # --- writer ----------------------------------------------------------------------------------

    async def _write(self) -> None:
        client = self._client(socket_timeout=COMMAND_TIMEOUT)
        try:
            await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT)
            self._writer_up()
            await self._drain(client)
        finally:
            self.writer_up = False
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _drain(self, client: redis.asyncio.Redis) -> None:
        queue = self._queue
        wakeup = self._wakeup
        assert wakeup is not None
        stream = self.stream_key
        while True:
            if not queue:
                wakeup.clear()
                await wakeup.wait()
                continue
            count = min(len(queue), MAX_BATCH)
            batch = [queue.popleft() for _ in range(count)]
            pipeline = client.pipeline(transaction=False)
            for item in batch:
                if item.kind == "xadd":
                    pipeline.xadd(stream, item.args[0], maxlen=self.max_len, approximate=True)
                elif item.kind == "publish":
                    pipeline.publish(*item.args)
                else:
                    key, value, ttl_ms = item.args
                    pipeline.set(key, value, px=ttl_ms)
            try:
                await pipeline.execute(raise_on_error=False)
            except BaseException as error:
                if _never_sent(error):
                    # the connection could not even be opened: send them when it can be
                    queue.extendleft(reversed(batch))
                else:
                    # Whether Redis took them is unknown: count them as dropped, never send
                    # them again (a client must not get a broadcast twice).
                    self._drop(count)
                raise
            self.published += count
            self._settle(count)

    def _enqueue(self, item: _Outgoing, keep_while_down: bool) -> None:
        self._accepted += 1
        if self._loop is None or (self.down and not keep_while_down):
            self._drop(1)
            return
        self._push(item, self.max_queued)

    def _writer_up(self) -> None:
        self.writer_up = True
        self.down = False
        self._overflow_logged = False
        if self._outage_started is not None:
            logger.warning(
                "Redis at %s reachable again after %.1f s; %d queued commands follow; "
                "%d were dropped in all so far",
                redacted(self.url),
                time.monotonic() - self._outage_started,
                len(self._queue),
                self.dropped,
            )
            self._outage_started = None
        else:
            logger.info(
                "connected to Redis at %s (stream %r, uid %s)",
                redacted(self.url),
                self.stream,
                self.uid,
            )

    def _writer_down(self, error: BaseException) -> None:
        self.down = True
        self._deliver_read_backs_now()
        # requests waiting for answers are of no use later: their caller times out
        kept = deque(item for item in self._queue if item.kind != "publish")
        self._drop(len(self._queue) - len(kept))
        self._queue = kept
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            logger.warning(
                "Redis at %s unreachable (%s): each process keeps serving its own clients; "
                "broadcasts are queued (up to %d) and published when it is back; retrying "
                "every %.0f s at most",
                redacted(self.url),
                scrub(str(error), self.url) or type(error).__name__,
                self.max_queued,
                MAX_RETRY_DELAY,
            )

    # --- reading back own entries ----------------------------------------------------------

    def _arm_read_back_timer(self) -> None:
        loop = self._loop
        if loop is not None:
            self._read_back_timer = loop.call_later(LOCAL_DELIVERY_WAIT, self._check_read_backs)

    def _check_read_backs(self) -> None:
        self._read_back_timer = None
        read_backs = self._read_backs
        if not read_backs:
            return
        oldest, _ = next(iter(read_backs.values()))
        if time.monotonic() - oldest >= LOCAL_DELIVERY_WAIT:
            self._deliver_read_backs_now()
        else:
            self._arm_read_back_timer()

    def _deliver_read_backs_now(self) -> None:
        """Redis is too slow or away: own entries waiting to be read back go to this process's
        clients now, in their order (without an offset); the reader skips them later."""
        read_backs, self._read_backs = self._read_backs, {}
        for _, read_back in read_backs.values():
            self.delivered_at_once += 1
            try:
                read_back(None)
            except Exception:
                logger.exception("delivering a broadcast to this process's clients failed")

    # --- reader ----------------------------------------------------------------------------------

    async def _read(self) -> None:
        block_ms = max(1, int(self.block_time * 1000))
        client = self._client(socket_timeout=self.block_time + CONNECT_TIMEOUT)
        try:
            await self._resume_point(client)
            self.reader_up = True
            stream = self.stream_key
            count = self.read_count
            while True:
                assert self.last_id is not None
                response: Any = await client.xread(
                    {stream: self.last_id}, count=count, block=block_ms
                )
                for _, entries in response or ():
                    self._hand_over(entries)
        finally:
            self.reader_up = False
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _resume_point(self, client: redis.asyncio.Redis) -> None:
        """Where to read from: the stream's end the first time; else the last id handed over,
        after checking that the stream still holds what came after it."""
        if self.last_id is None:
            last: Any = await asyncio.wait_for(
                client.xrevrange(self.stream_key, count=1), CONNECT_TIMEOUT
            )
            self.last_id = last[0][0].decode() if last else "0-0"
            return
        first: Any = await asyncio.wait_for(
            client.xrange(self.stream_key, count=1), CONNECT_TIMEOUT
        )
        if first and parse_id(first[0][0]) > parse_id(self.last_id):
            still_there = await client.xrange(self.stream_key, self.last_id, self.last_id)
            if not still_there and parse_id(self.last_id) != (0, 0):
                logger.warning(
                    "Redis stream %r no longer holds the entries after %s (trimmed at "
                    "max_len=%d, or Redis restarted without its data): broadcasts made "
                    "meanwhile by other processes may be lost",
                    self.stream,
                    self.last_id,
                    self.max_len,
                )

    def _hand_over(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Hand a batch of entries to their namespaces, in order (no await in between)."""
        own = self._uid_bytes
        handlers = self._entry_handlers
        read_backs = self._read_backs
        for raw_id, fields in entries:
            entry_id = raw_id.decode()
            self.last_id = entry_id
            if fields.get(b"uid") == own:
                if read_backs:
                    waiting = read_backs.pop(fields.get(b"seq", b""), None)
                    if waiting is not None:
                        self._run(waiting[1], entry_id)
                continue
            nsp = fields.get(b"nsp")
            if nsp is None:
                continue  # not a cluster message (Node's reader skips these too)
            handler = handlers.get(nsp)
            if handler is None:
                continue  # a namespace this process does not have
            self.received += 1
            try:
                handler(fields, entry_id)
            except Exception:
                logger.exception("error handling an entry of Redis stream %r", self.stream)

    @staticmethod
    def _run(read_back: ReadBack, entry_id: str) -> None:
        try:
            read_back(entry_id)
        except Exception:
            logger.exception("delivering a broadcast to this process's clients failed")

    # --- subscriber ---------------------------------------------------------------------------

    async def _subscribe(self) -> None:
        client = self._client()
        # Typed as Any: redis-py typed PubSub.aclose() only from 8.2 on
        pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
        try:
            await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT)
            channels = list(self._channel_handlers)
            if channels:
                await pubsub.subscribe(*channels)
            self._pubsub = pubsub
            self.subscribed = True
            # channels added while subscribing
            missing = [channel for channel in self._channel_handlers if channel not in channels]
            if missing:
                await pubsub.subscribe(*missing)
            handlers = self._channel_handlers
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is None or message["type"] != "message":
                    continue
                handler = handlers.get(message["channel"])
                if handler is None:
                    continue
                try:
                    handler(message["data"])
                except Exception:
                    logger.exception("error handling a message from Redis")
        finally:
            self._pubsub = None
            self.subscribed = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()


def _never_sent(error: BaseException) -> bool:
    """Did ``error`` happen while (re)connecting, before any command could be written?"""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "connecting to" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
