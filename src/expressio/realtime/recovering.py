"""Connection state recovery on the socket's side: a CONNECT that asks for a socket back, the
CONNECT answer carrying the private id, and keeping the session of a socket that went away.

The state itself is the adapter's (``persist_session``/``restore_session``; in one process
:class:`~expressio.realtime.recovery.RecoveryStore`). The namespace calls in here at three
points: a CONNECT whose auth holds a ``pid`` and an ``offset`` (:func:`admit_recovering`), the
acceptance of a socket (:func:`announce`), and a socket closing (:func:`keep_session`).

Order of admission, so that the recovered socket misses nothing broadcast meanwhile: the
restore and the acceptance follow each other with no wait in between when the adapter answers
at once (the in-memory one does). With ``skip_middlewares`` the restore comes first and the
middleware runs only when it fails; without, the middleware runs first and the restore after it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..protocol.socketio import PacketType
from .recovery import RecoveryOptions, RestoredSession, SocketSession

if TYPE_CHECKING:
    from ..protocol.socketio import EncodedPacket
    from .connection import Connection
    from .namespace import Namespace
    from .socket import Socket

logger = logging.getLogger("expressio.realtime")

#: How long a ``pid`` or an ``offset`` sent by a client may be; longer ones are not looked up.
MAX_ID_LENGTH = 100


def wants_restore(auth: Mapping[str, Any]) -> bool:
    """Does this CONNECT auth ask for a socket back (``pid`` and ``offset``, both strings)?"""
    pid = auth.get("pid")
    offset = auth.get("offset")
    return (
        type(pid) is str
        and type(offset) is str
        and 0 < len(pid) <= MAX_ID_LENGTH
        and 0 < len(offset) <= MAX_ID_LENGTH
    )


async def admit_recovering(
    namespace: Namespace, connection: Connection, socket: Socket, options: RecoveryOptions
) -> None:
    """Admit ``socket``, whose auth asks for a socket back: recovered, or else a fresh one."""
    auth = socket._auth
    pid, offset = auth["pid"], auth["offset"]
    if options.skip_middlewares and await _restore(namespace, socket, pid, offset):
        namespace._accept(connection, socket)
        return
    try:
        await namespace._run_middlewares(socket, tuple(namespace._middlewares))
    except Exception as error:
        namespace._refuse(connection, error)
        return
    if not options.skip_middlewares and not connection.closed:
        await _restore(namespace, socket, pid, offset)
    namespace._accept(connection, socket)


async def _restore(namespace: Namespace, socket: Socket, pid: str, offset: str) -> bool:
    try:
        session = await namespace.adapter.restore_session(pid, offset)
    except Exception:
        logger.exception("restoring a session of %s failed; it starts afresh", namespace.name)
        return False
    if session is None:
        return False
    if session.sid in namespace.sockets:
        logger.warning("socket %s of %s is connected already", session.sid, namespace.name)
        return False
    if not _fits_send_buffer(namespace, session.missed_packets):
        logger.warning(
            "socket %s of %s missed %d broadcasts, more than its send buffer takes; "
            "it starts afresh",
            session.sid,
            namespace.name,
            len(session.missed_packets),
        )
        return False
    socket.id = session.sid
    socket.pid = session.pid
    socket._data = session.data if isinstance(session.data, dict) else None
    socket.recovered = True
    socket._restored = session
    return True


def _fits_send_buffer(namespace: Namespace, packets: list[EncodedPacket]) -> bool:
    """Could the missed packets and the CONNECT be queued at once without meeting the
    slow-client policy (which would close the connection, and keep the session again)?"""
    engine = namespace.server.engine
    messages = 1 + len(packets)
    size = 0
    for packet in packets:
        messages += len(packet.attachments)
        size += len(packet.text) + sum(len(attachment) for attachment in packet.attachments)
    return messages <= engine.max_send_buffer and size <= engine.max_send_buffer_bytes


def announce(namespace: Namespace, connection: Connection, socket: Socket) -> None:
    """Accepting ``socket`` with recovery on: its rooms back and the broadcasts it missed
    first (a recovered one), then the CONNECT answer with its private id. socket.io clients
    hold events that come before the CONNECT and hand them over right after it."""
    adapter = namespace.adapter
    adapter.add(socket.id, socket.id)
    restored: RestoredSession | None = socket._restored
    if restored is not None:
        socket._restored = None
        for room in restored.rooms:
            adapter.add(socket.id, room)
        for packet in restored.missed_packets:
            connection.send(packet)
    if socket.pid is None:
        socket.pid = secrets.token_urlsafe(15)
    # The CONNECT answer with recovery on: the socket id and the private id the client
    # presents again, with its last offset, to recover.
    answer = {"sid": socket.id, "pid": socket.pid}
    connection.send(connection.parser.encode_packet(PacketType.CONNECT, namespace.name, answer))


def keep_session(socket: Socket) -> None:
    """``socket`` went away for a recoverable reason: its adapter keeps its session."""
    adapter = socket.namespace.adapter
    assert socket.pid is not None
    session = SocketSession(
        socket.id, socket.pid, frozenset(adapter.rooms_of(socket.id)), socket._data
    )
    try:
        adapter.persist_session(session)
    except Exception:
        logger.exception("keeping the session of socket %s failed", socket.id)
