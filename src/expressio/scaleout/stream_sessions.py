"""Connection state recovery across the processes of a streams cluster, as
``@socket.io/redis-streams-adapter`` does it.

A broadcast's offset is its stream id, for every client of every process. A socket that goes
away for a recoverable reason keeps its session in Redis, under
``<session_key_prefix><pid>`` (base64 msgpack ``{sid, pid, rooms, data}``, expiring after
``max_disconnection``), written in order with the stream entries. The client may come back to
ANY process of the cluster: that process takes the session out of Redis (once: a second
restore finds nothing) and replays the stream's broadcasts after the client's offset that the
client's rooms would have received.

The replay stops where this process's stream reader is, and the socket is accepted right after
it with no wait in between: what comes later reaches the socket through the reader, once it is
back in its rooms. So nothing is missed and nothing is given twice. A client coming from a
faster process may be ahead of this process's reader: the restore waits for the reader
(:data:`READER_CATCH_UP` seconds at most) before it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..protocol.parsers import Parser
from ..protocol.socketio import EncodedPacket
from ..realtime.recovery import RecoveryOptions, RestoredSession, SocketSession
from . import stream_entries as entries
from .stream_entries import MalformedEntry
from .stream_link import RESTORE_COUNT, StreamLink, next_id, parse_id

if TYPE_CHECKING:
    from ..realtime.namespace import Namespace

logger = logging.getLogger("expressio.scaleout")

READER_CATCH_UP = 2.0  # seconds a restore waits for this process's reader to reach the offset


class StreamSessions:
    """The kept sessions of one namespace, in Redis, and their replay from the stream."""

    def __init__(
        self,
        namespace: Namespace,
        link: StreamLink,
        options: RecoveryOptions,
        key_prefix: str,
    ) -> None:
        self.namespace = namespace
        self.options = options
        self.key_prefix = key_prefix
        self._link = link
        self._nsp = namespace.name

    def persist(self, session: SocketSession) -> None:
        """Keep the session of a socket that went away (queued in order with the entries)."""
        stored = entries.Session(
            session.sid,
            session.pid,
            sorted(session.rooms),
            session.data if session.data is not None else {},
        )
        try:
            value = entries.encode_session(stored)
        except TypeError as error:
            logger.warning("the session of socket %s cannot be kept (%s)", session.sid, error)
            return
        self._link.set_later(
            self.key_prefix + session.pid,
            value,
            int(self.options.max_disconnection * 1000),
        )

    async def restore(self, pid: str, offset: str) -> RestoredSession | None:
        """The session kept for ``pid`` and the broadcasts it missed after ``offset``; None
        when there is none, or when the stream no longer holds the offset."""
        link = self._link
        if not entries.STREAM_ID.fullmatch(offset):
            return None
        if not await self._reader_reached(offset):
            return None  # the reader would hand this client again what it already has
        client = link.commands
        stream = link.stream_key
        key = self.key_prefix + pid
        pipeline = client.pipeline(transaction=True)
        pipeline.get(key)
        pipeline.delete(key)
        pipeline.xrange(stream, offset, offset, count=1)
        stored, _, found = await pipeline.execute()
        if not stored or not found:
            return None
        try:
            session = entries.decode_session(stored)
        except MalformedEntry as error:
            link.log_once(
                "session " + error.kind, "ignored a malformed kept session (%s)", error.kind
            )
            return None
        if session.pid != pid:
            return None
        rooms = frozenset(session.rooms)
        missed: list[EncodedPacket] = []
        parser = self.namespace.server.parser
        cursor = offset
        # Up to where this process's reader is, and no further (see the module).
        while True:
            target = link.last_id
            if target is None or parse_id(cursor) >= parse_id(target):
                break
            batch: Any = await client.xrange(stream, next_id(cursor), target, count=RESTORE_COUNT)
            if not batch:
                cursor = target
                continue
            for raw_id, fields in batch:
                cursor = raw_id.decode()
                packet = self._missed_packet(fields, cursor, rooms, parser)
                if packet is not None:
                    missed.append(packet)
            if len(missed) > self.options.max_packets:
                return None  # more than this server would keep: a fresh session
        data = session.data
        return RestoredSession(
            session.sid, session.pid, rooms, data if isinstance(data, dict) else None, missed
        )

    async def _reader_reached(self, offset: str) -> bool:
        """Wait (a little) until this process's reader has handed over the entry ``offset``."""
        link = self._link
        wanted = parse_id(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READER_CATCH_UP
        while link.last_id is None or parse_id(link.last_id) < wanted:
            if loop.time() >= deadline or not link.reader_up:
                return False
            await asyncio.sleep(0.01)
        return True

    def _missed_packet(
        self,
        fields: Mapping[bytes, bytes],
        entry_id: str,
        rooms: frozenset[str],
        parser: Parser,
    ) -> EncodedPacket | None:
        if fields.get(b"nsp") != self._nsp.encode() or fields.get(b"type") != b"3":
            return None
        try:
            broadcast = entries.read_broadcast(entries.decode_entry(fields))
            if broadcast.volatile or broadcast.request_id is not None:
                return None  # never promised to arrive, or not an offset-carrying broadcast
            if broadcast.rooms and broadcast.rooms.isdisjoint(rooms):
                return None
            if not broadcast.except_rooms.isdisjoint(rooms):
                return None
            return entries.packet_of(broadcast.args, self._nsp, parser, entry_id)
        except (MalformedEntry, TypeError, ValueError):
            return None
