"""What the express.io layer keeps per connected client: its handshake, its per-client routes,
its running events, and its session.

The session is loaded lazily. An event whose route's code reads ``req.session`` gets it
brought up to date before the route runs (loaded at the first such event; re-read from the
store before an event that runs alone, so that a change made over HTTP after connecting is
visible). Any other event costs no store round trip and keeps working while the store is down;
if its route reads ``req.session`` after all (through code the route's text does not show), the
session is loaded right there: at once from an in-memory store or from a worker thread, else
the read raises :class:`~expressio.sessions.SessionNotLoaded`; either way the route is marked so
that its next events load the session first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from typing import TYPE_CHECKING, Any

from ..sessions.errors import SessionNotLoaded
from .routes import Route

if TYPE_CHECKING:
    from ..realtime import Socket
    from ..sessions import Session, SessionManager
    from .handshake import HandshakeData
    from .loop_bridge import LoopBridge

#: ``HAND_OVER_TIMEOUT``-like bound on a worker thread's wait for a lazy session load.
LAZY_LOAD_TIMEOUT = 30.0


class Client:
    """One connected socket, as the express.io layer sees it."""

    __slots__ = (
        "_loading",
        "awaiting",
        "dropped",
        "handshake",
        "listeners",
        "ready",
        "running",
        "session",
        "session_manager",
        "socket",
        "tasks",
    )

    def __init__(self, socket: Socket, handshake: HandshakeData) -> None:
        self.socket = socket
        self.handshake = handshake
        self.listeners: dict[str, list[Route]] = {}  # req.io.on(...)
        self.ready: asyncio.Future[None] | None = None  # the connect hook, while it runs
        self.running = 0  # events of this client started and not finished yet
        self.dropped = False  # gone: its events not started yet never start
        #: the tasks of its events and hooks: cancelled when it disconnects
        self.tasks: set[asyncio.Future[None]] = set()
        #: ``emit_with_ack`` answers it owes (future → event, timeout timer): failed when it goes
        self.awaiting: dict[concurrent.futures.Future[Any], tuple[str, asyncio.TimerHandle]] = {}
        self.session: Session | None = None  # loaded for an event, kept for the next ones
        self.session_manager: SessionManager | None = None
        self._loading: asyncio.Future[Session] | None = None

    def track(self, task: asyncio.Future[None]) -> None:
        """Count ``task`` (an event of this client) until it ends (then call
        :meth:`finished`, e.g. as ``TaskSet.spawn``'s ``when_done``)."""
        self.tasks.add(task)

    def finished(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        self.running -= 1

    def drop_events(self) -> None:
        """The client is gone: cancel its events still running, and fail the ``emit_with_ack``
        answers it still owes with ``ConnectionResetError`` (at once, not at their timeout). An
        ``async def`` route gets ``CancelledError`` at its next ``await``; a ``def`` route
        already in a worker thread runs to its end (a thread cannot be stopped)."""
        self.dropped = True
        for task in tuple(self.tasks):
            task.cancel()
        awaiting, self.awaiting = self.awaiting, {}
        for future, (event, timer) in awaiting.items():
            timer.cancel()
            if not future.done():
                future.set_exception(
                    ConnectionResetError(f"the client disconnected before answering {event!r}")
                )

    # -- the session ---------------------------------------------------------------------------

    async def session_for_event(self, manager: SessionManager) -> Session:
        """The connection's session, brought up to date for an event about to run.

        Re-read from the store only before an event that runs alone: while another event of
        this client is running it may change the session at any await, and a re-read would
        throw those changes away before they are saved. Unsaved changes are never thrown away
        either. Concurrent events of one client share one session object. :attr:`running`
        counts the calling event too."""
        if self.session is None or self.session_manager is not manager:
            if self._loading is None or self._loading.done():
                self._loading = asyncio.ensure_future(self._load(manager))
            return await asyncio.shield(self._loading)
        session = self.session
        if self._loading is not None and not self._loading.done():
            await asyncio.shield(self._loading)  # a re-read already under way: share it
        elif self.running <= 1 and not session.modified:
            self._loading = asyncio.ensure_future(self._reload(session))
            await asyncio.shield(self._loading)
        return session

    def session_now(self, manager: SessionManager, route: Route | None, bridge: LoopBridge) -> Any:
        """The session for a read of ``req.session`` in a route it was not loaded for."""
        if route is not None and not route.mentions_session:
            route.mentions_session = True  # its next events load the session first
        if self.session is not None and self.session_manager is manager:
            return self.session
        loop = bridge.loop
        if loop is not None and not bridge.on_loop_thread():
            loading = asyncio.run_coroutine_threadsafe(self.session_for_event(manager), loop)
            return loading.result(LAZY_LOAD_TIMEOUT)
        loaded = manager.load_now(self._load(manager))
        if loaded is None:
            name = route.name if route is not None else "this route"
            raise SessionNotLoaded(
                f"req.session was read in realtime route {name!r} on the event loop, where the "
                "session store cannot be waited for. Its next events load the session before "
                "running it; to load it for every call, read req.session in the route itself "
                "(not only in a function it calls) or make the route async def and "
                "'await req.session.reload()'"
            )
        return loaded

    async def _load(self, manager: SessionManager) -> Session:
        cookie = self.handshake["headers"].get("cookie")
        session = await manager.load_for_cookie_header(cookie)
        self.session, self.session_manager = session, manager
        return session

    @staticmethod
    async def _reload(session: Session) -> Session:
        try:
            await session.reload()
        except BaseException:
            # The session also keeps the failure for its next settle(); it is reported here.
            with contextlib.suppress(Exception):
                await session.settle()
            raise
        return session
