"""`Session`: the mutable mapping behind `req.session`, and its ordered store operations.

Changes to the data are found by comparing the session's JSON encoding with the one last loaded
or saved, so nested mutations (`session["cart"].append(item)`) count as changes with no
`modified = True` needed. Set `modified = True` to force a save anyway (it also refreshes the
expiry of a store that does not support `touch`).

`save()`, `regenerate()` and `destroy()` change the session at once (its id and what counts as
saved) and start the matching store write; writes for one session run one after another in the
order they were asked for. Each returns a `StoreOperation`: `await` it to wait for the store, or
ignore it. Calling them from a worker thread (a plain `def` handler run off the loop) is safe:
the write is handed to the event loop with `call_soon_threadsafe`, still in call order, and
`operation.result()` blocks that thread until the store has answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Generator, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .cookie import new_session_id
from .errors import SessionDataError
from .serialization import decode_session, encode_session

if TYPE_CHECKING:
    from .manager import SessionManager

_EMPTY_PAYLOAD = b"{}"


class StoreOperation:
    """A store write (or read, for `reload`) started by a session; awaitable from any loop."""

    __slots__ = ("_future",)

    def __init__(self, future: concurrent.futures.Future[None]) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, None]:
        return asyncio.wrap_future(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> None:
        """Block until the store has answered; raise what it raised. For worker threads only:
        on the event loop's thread this would wait forever, `await` the operation instead."""
        self._future.result(timeout)


class Session(MutableMapping[str, Any]):
    """One user's session: a `str -> JSON value` mapping with an id and store operations.

    Sessions are made by a `SessionManager` (the `session(...)` middleware owns one), never
    directly. `id` is None once the session is destroyed; a destroyed session that is written
    to again is saved under a brand new id.
    """

    def __init__(
        self,
        manager: SessionManager,
        session_id: str | None,
        data: dict[str, Any],
        saved_payload: bytes,
        *,
        persistent: bool = True,
        stored: bool = True,
    ) -> None:
        self._manager = manager
        self._id = session_id
        self._data = data
        # What the store holds for this id as far as we know: the change detector's baseline.
        # b"{}" for a new session: left empty and unmodified, it is never stored (nor its
        # cookie set), as express-session's saveUninitialized: false.
        self._saved_payload = saved_payload
        self._force_save = False
        self._persistent = persistent
        self._stored = stored
        self._loop = asyncio.get_running_loop()
        self._tail: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    # -- the mapping ----------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {self._id!r} {self._data!r}>"

    # -- state ----------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The session id (what the signed cookie carries); None once destroyed."""
        return self._id

    @property
    def persistent(self) -> bool:
        """False for a realtime connection's cookieless session: it lives in memory only, as
        long as the connection, and store operations on it do nothing."""
        return self._persistent

    @property
    def stored(self) -> bool:
        """True when the store holds this session's id (it was loaded from the store, or a
        write of it was started); False for a new session nothing was saved in yet, which
        HTTP neither stores nor gives a cookie."""
        return self._stored and self._id is not None

    @property
    def modified(self) -> bool:
        """True when the data differs from what was last loaded or saved (or a save is forced)."""
        if self._force_save:
            return True
        try:
            return encode_session(self._data) != self._saved_payload
        except SessionDataError:
            return True  # the store only ever holds encodable data, so this differs from it

    @modified.setter
    def modified(self, value: bool) -> None:
        self._force_save = value

    # -- store operations -----------------------------------------------------------------

    def save(self) -> StoreOperation:
        """Store the session now (even unchanged). Raises `SessionDataError` at once when the
        data cannot be stored."""
        payload = encode_session(self._data, self._manager.max_session_bytes)
        return self._save_payload(payload)

    def save_if_changed(self) -> StoreOperation | None:
        """Store the session if its data changed since it was loaded or saved (or it is new,
        or `modified` was set); None when there was nothing to save."""
        payload = encode_session(self._data, self._manager.max_session_bytes)
        if payload == self._saved_payload and not self._force_save:
            return None
        return self._save_payload(payload)

    def regenerate(self) -> StoreOperation:
        """Give the session a new id, keeping its data, and drop the old id from the store.

        Call it at login: an id an attacker planted before login stops working."""
        payload = encode_session(self._data, self._manager.max_session_bytes)
        old_id, self._id = self._id, new_session_id()
        return self._write(payload, drop=old_id)

    def destroy(self) -> StoreOperation:
        """Empty the session and drop its id (the store forgets it; HTTP clears the cookie)."""
        old_id, self._id = self._id, None
        self._data = {}
        self._saved_payload = _EMPTY_PAYLOAD
        self._force_save = False
        self._stored = False
        store = self._manager.store

        async def forget() -> None:
            if old_id is not None:
                await store.destroy(old_id)

        return self._enqueue(forget)

    def reload(self) -> StoreOperation:
        """Re-read the session from the store (after any pending writes); await it.

        If the store no longer has it (expired, destroyed elsewhere, or never stored) it reads
        as empty, and counts as new: stored again only once something is put in it."""
        manager = self._manager
        store = manager.store

        async def read() -> None:
            session_id = self._id
            if session_id is None or not self._persistent:
                return
            payload = await store.load(session_id)
            if payload is not None:
                self._data = decode_session(payload)
                self._saved_payload = payload
                self._stored = True
            else:
                self._data = {}
                self._saved_payload = b"" if manager.save_uninitialized else _EMPTY_PAYLOAD
                self._stored = False
            self._force_save = False

        return self._enqueue(read)

    def touch(self) -> StoreOperation:
        """Push the store expiry of an unchanged session forward."""
        session_id, store, ttl = self._id, self._manager.store, self._manager.store_ttl

        async def refresh() -> None:
            if session_id is not None:
                await store.touch(session_id, ttl)

        return self._enqueue(refresh)

    async def settle(self) -> None:
        """Wait for every store operation started so far; raise the first error any of them
        raised since the last `settle()` (e.g. `SessionStoreUnavailable`)."""
        while self._tail is not None and not self._tail.done():
            await asyncio.wait([self._tail])
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _save_payload(self, payload: bytes) -> StoreOperation:
        if self._id is None:
            self._id = new_session_id()
        return self._write(payload, drop=None)

    def _write(self, payload: bytes, drop: str | None) -> StoreOperation:
        session_id, store, ttl = self._id, self._manager.store, self._manager.store_ttl
        assert session_id is not None
        # A compact copy: orjson's bytes keep a ~4 KB buffer however short the JSON, and a
        # realtime connection keeps its session (and this baseline) as long as it lives.
        payload = bytes(memoryview(payload))
        self._saved_payload = payload
        self._force_save = False
        self._stored = True

        async def write() -> None:
            if drop is not None:
                await store.destroy(drop)
            await store.save(session_id, payload, ttl)

        return self._enqueue(write)

    def _enqueue(self, operation: Callable[[], Awaitable[None]]) -> StoreOperation:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if not self._persistent:
            future.set_result(None)
            return StoreOperation(future)
        try:
            on_loop_thread = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop_thread = False
        if on_loop_thread:
            self._chain(operation, future)
        else:
            self._loop.call_soon_threadsafe(self._chain, operation, future)
        return StoreOperation(future)

    def _chain(
        self, operation: Callable[[], Awaitable[None]], future: concurrent.futures.Future[None]
    ) -> None:
        self._tail = self._loop.create_task(self._run_after(self._tail, operation, future))

    async def _run_after(
        self,
        previous: asyncio.Task[None] | None,
        operation: Callable[[], Awaitable[None]],
        future: concurrent.futures.Future[None],
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        try:
            await operation()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            if self._failure is None:
                self._failure = error
            future.set_exception(error)
        else:
            future.set_result(None)
