"""The Session mapping, its ordered store operations and the SessionManager, on real stores."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from expressio.sessions import (
    DEFAULT_IDLE_TTL,
    MemoryStore,
    SessionDataError,
    SessionManager,
    SessionStore,
    SessionStoreUnavailable,
)


class RecordingStore(MemoryStore):
    """A MemoryStore that logs every call, optionally slowly, to check order and arguments."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []
        self.delay = delay

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        self.calls.append(("save", session_id, payload, ttl))
        await asyncio.sleep(self.delay)
        await super().save(session_id, payload, ttl)

    async def destroy(self, session_id: str) -> None:
        self.calls.append(("destroy", session_id))
        await asyncio.sleep(self.delay)
        await super().destroy(session_id)

    async def touch(self, session_id: str, ttl: float) -> None:
        self.calls.append(("touch", session_id, ttl))
        await super().touch(session_id, ttl)


class DownStore(SessionStore):
    async def load(self, session_id: str) -> bytes | None:
        raise SessionStoreUnavailable("down")

    async def save(self, session_id: str, payload: bytes, ttl: float) -> None:
        raise SessionStoreUnavailable("down")

    async def destroy(self, session_id: str) -> None:
        raise SessionStoreUnavailable("down")

    async def touch(self, session_id: str, ttl: float) -> None:
        raise SessionStoreUnavailable("down")


async def test_new_session_is_saved_with_default_idle_ttl_and_loads_back() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    assert session.id and len(session) == 0 and not session.modified and not session.stored
    session["a"] = 1
    assert session.modified
    assert await manager.save_if_changed(session) is True
    assert session.stored
    assert store.calls == [("save", session.id, b'{"a":1}', DEFAULT_IDLE_TTL)]

    loaded = await manager.load(manager.cookie_value(session))
    assert loaded.id == session.id and dict(loaded) == {"a": 1} and not loaded.modified
    assert loaded.stored


async def test_new_empty_session_is_neither_saved_nor_touched() -> None:
    """express-session's ``saveUninitialized: false``: an empty new session costs no write."""
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    assert await manager.save_if_changed(session) is False
    assert store.calls == [] and not session.stored
    session["a"] = 1
    del session["a"]  # changed and changed back: still nothing to store
    assert await manager.save_if_changed(session) is False
    assert store.calls == []
    session.modified = True  # a forced save stores even an empty session
    assert await manager.save_if_changed(session) is True
    assert store.calls == [("save", session.id, b"{}", DEFAULT_IDLE_TTL)] and session.stored


async def test_save_uninitialized_saves_an_empty_new_session() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store, save_uninitialized=True)
    session = manager.new_session()
    assert session.modified
    assert await manager.save_if_changed(session) is True
    assert store.calls == [("save", session.id, b"{}", DEFAULT_IDLE_TTL)]


async def test_unchanged_session_is_touched_not_saved() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store, max_age=60)
    session = manager.new_session()
    session["a"] = 1
    await manager.save_if_changed(session)
    loaded = await manager.load(manager.cookie_value(session))
    store.calls.clear()
    assert await manager.save_if_changed(loaded) is False
    assert store.calls == [("touch", session.id, 60)]


async def test_nested_mutation_counts_as_a_change() -> None:
    manager = SessionManager("s")
    session = manager.new_session()
    session["cart"] = {"items": []}
    await manager.save_if_changed(session)
    loaded = await manager.load(manager.cookie_value(session))
    loaded["cart"]["items"].append("apple")
    assert loaded.modified
    assert await manager.save_if_changed(loaded) is True
    again = await manager.load(manager.cookie_value(session))
    assert again["cart"] == {"items": ["apple"]}


async def test_modified_flag_forces_a_save() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    await manager.save_if_changed(session)
    session.modified = True
    store.calls.clear()
    assert await manager.save_if_changed(session) is True
    assert [call[0] for call in store.calls] == ["save"]


async def test_mapping_behaviour() -> None:
    session = SessionManager("s").new_session()
    session.update(a=1, b=2)
    session.setdefault("c", 3)
    del session["a"]
    assert session.pop("b") == 2
    assert dict(session) == {"c": 3} and "c" in session and session.get("zz") is None
    with pytest.raises(KeyError):
        session["missing"]
    assert "'c': 3" in repr(session)


async def test_unknown_tampered_or_missing_cookie_gives_a_fresh_session() -> None:
    manager = SessionManager("s")
    original = manager.new_session()
    original["user"] = "ann"
    await manager.save_if_changed(original)
    signed = manager.cookie_value(original)
    for value in [None, "", original.id, signed + "x", "A" + signed[1:],
                  SessionManager("other").cookie_value(original),
                  manager.signer.sign("never-issued")]:  # fmt: skip
        fresh = await manager.load(value)
        assert fresh.id not in (None, original.id) and dict(fresh) == {}, value


async def test_expired_session_gives_a_fresh_one() -> None:
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    manager = SessionManager("s", store, max_age=30)
    session = manager.new_session()
    session["user"] = "ann"
    await manager.save_if_changed(session)
    now[0] += 29
    assert (await manager.load(manager.cookie_value(session)))["user"] == "ann"
    now[0] += 2
    fresh = await manager.load(manager.cookie_value(session))
    assert fresh.id != session.id and dict(fresh) == {}


async def test_regenerate_keeps_data_under_a_new_id_and_drops_the_old() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    session["cart"] = [1]
    await manager.save_if_changed(session)
    old_id = session.id
    operation = session.regenerate()
    assert session.id != old_id  # at once, before the store answers
    session["user"] = "ann"
    await operation
    assert await store.load(old_id) is None  # type: ignore[arg-type]
    await manager.save_if_changed(session)
    loaded = await manager.load(manager.cookie_value(session))
    assert dict(loaded) == {"cart": [1], "user": "ann"}


async def test_destroy_empties_drops_id_and_forgets_in_store() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    session["user"] = "ann"
    await manager.save_if_changed(session)
    old_id = session.id
    await session.destroy()
    assert session.id is None and len(session) == 0
    assert await store.load(old_id) is None  # type: ignore[arg-type]
    assert await manager.save_if_changed(session) is False  # nothing to keep
    with pytest.raises(ValueError, match="destroyed"):
        manager.cookie_value(session)
    session["again"] = 1  # written to after destroy: a brand new session
    assert await manager.save_if_changed(session) is True
    assert session.id not in (None, old_id)


async def test_operations_reach_the_store_in_call_order() -> None:
    store = RecordingStore(delay=0.01)
    manager = SessionManager("s", store)
    session = manager.new_session()
    session["step"] = 1
    first = session.save()
    session["step"] = 2
    old_id = session.id
    second = session.regenerate()
    new_id = session.id
    third = session.destroy()
    assert not first.done()
    await asyncio.gather(third, second, first)
    assert [call[:2] for call in store.calls] == [
        ("save", old_id), ("destroy", old_id), ("save", new_id), ("destroy", new_id),
    ]  # fmt: skip
    assert store.calls[0][2] == b'{"step":1}' and store.calls[2][2] == b'{"step":2}'
    assert len(store) == 0


async def test_save_raises_data_errors_at_once() -> None:
    manager = SessionManager("s", max_session_bytes=100)
    session = manager.new_session()
    session["bad"] = {1, 2}
    with pytest.raises(SessionDataError, match="key 'bad'"):
        session.save()
    with pytest.raises(SessionDataError):
        await manager.save_if_changed(session)
    session["bad"] = "x" * 200
    with pytest.raises(SessionDataError, match="too large"):
        session.regenerate()


async def test_reload_rereads_after_pending_writes() -> None:
    manager = SessionManager("s")
    mine = manager.new_session()
    mine["n"] = 1
    await manager.save_if_changed(mine)
    theirs = await manager.load(manager.cookie_value(mine))
    theirs["n"] = 2
    await theirs.save()
    mine["local"] = True
    assert mine["n"] == 1
    await mine.reload()
    assert dict(mine) == {"n": 2} and not mine.modified
    await theirs.destroy()
    await mine.reload()
    assert dict(mine) == {}


async def test_store_failures_reach_the_awaiter_and_settle() -> None:
    manager = SessionManager("s", DownStore())
    with pytest.raises(SessionStoreUnavailable):
        await manager.load(manager.signer.sign("abc"))
    session = manager.new_session()
    operation = session.save()
    with pytest.raises(SessionStoreUnavailable):
        await operation
    with pytest.raises(SessionStoreUnavailable):
        await session.settle()
    await session.settle()  # reported once
    with pytest.raises(SessionStoreUnavailable):
        await manager.save_if_changed(session)  # unchanged: touch fails


async def test_operations_from_a_worker_thread_keep_order() -> None:
    store = RecordingStore(delay=0.005)
    manager = SessionManager("s", store)
    session = manager.new_session()
    await manager.save_if_changed(session)
    store.calls.clear()
    ids: list[str | None] = []

    def handler() -> None:  # a plain `def` handler, run off the loop
        session["user"] = "ann"
        session.save()
        ids.append(session.id)
        session.regenerate().result(timeout=5)
        ids.append(session.id)
        session["more"] = 1
        session.save().result(timeout=5)

    await asyncio.to_thread(handler)
    await session.settle()
    assert [call[:2] for call in store.calls] == [
        ("save", ids[0]), ("destroy", ids[0]), ("save", ids[1]), ("save", ids[1]),
    ]  # fmt: skip
    loaded = await manager.load(manager.cookie_value(session))
    assert dict(loaded) == {"user": "ann", "more": 1}


async def test_realtime_seam_shares_stored_sessions_and_keeps_cookieless_ones_in_memory() -> None:
    store = RecordingStore()
    manager = SessionManager("s", store, name="sid")
    http_session = manager.new_session()
    http_session["user"] = "ann"
    await manager.save_if_changed(http_session)
    header = f"theme=dark; sid={manager.cookie_value(http_session)}"

    realtime = await manager.load_for_cookie_header(header)
    assert realtime.persistent and realtime.id == http_session.id and realtime["user"] == "ann"
    realtime["seen"] = True
    assert await manager.save_if_changed(realtime) is True
    assert (await manager.load(manager.cookie_value(http_session)))["seen"] is True

    for bad_header in [None, "", "sid=forged.value", f"sid={http_session.id}"]:
        store.calls.clear()
        transient = await manager.load_for_cookie_header(bad_header)
        assert not transient.persistent and dict(transient) == {}
        transient["x"] = 1
        await transient.save()
        await transient.reload()
        assert await manager.save_if_changed(transient) is False
        assert transient["x"] == 1 and store.calls == []


def test_manager_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="max_age"):
        SessionManager("s", max_age=0)
    with pytest.raises(ValueError, match="unknown session cookie option"):
        SessionManager("s", cookie={"http_only": True})


def test_cookie_attributes() -> None:
    manager = SessionManager("s")
    assert manager.cookie_attributes(secure_request=False) == {
        "path": "/", "domain": None, "secure": False, "samesite": "lax", "httponly": True,
        "max_age": None,
    }  # fmt: skip
    assert manager.cookie_attributes(secure_request=True)["secure"] is True
    custom = SessionManager("s", max_age=90.5, cookie={"secure": True, "samesite": "strict"})
    attributes = custom.cookie_attributes(secure_request=False)
    assert attributes["secure"] is True and attributes["samesite"] == "strict"
    assert attributes["max_age"] == 91


async def test_reloading_a_session_the_store_lacks_leaves_it_new_and_unstored() -> None:
    """A new session (or one expired or destroyed elsewhere) reads as empty after reload()
    and, left empty, is not stored again: it used to count as changed and be re-stored."""
    store = RecordingStore()
    manager = SessionManager("s", store)
    session = manager.new_session()
    await session.reload()
    assert dict(session) == {} and not session.modified and not session.stored
    assert await manager.save_if_changed(session) is False
    assert store.calls == []  # neither saved nor touched
