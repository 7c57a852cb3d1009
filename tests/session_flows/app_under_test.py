"""The app the session-flow tests serve: login over HTTP, the same session read and changed in
realtime routes, and routes that put bad data in the session."""

from __future__ import annotations

from typing import Any

import expressio
from expressio.sessions import MemoryStore, SessionStore

SECRET = "session flows"
COOKIE = "expressio.sid"


class CountingStore(MemoryStore):
    """A MemoryStore that counts reads, to prove that refused handshakes never touch it."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, session_id: str) -> bytes | None:
        self.loads += 1
        return await super().load(session_id)


def make_app(store: SessionStore | None = None, **io_options: Any) -> expressio.Application:
    app = expressio.express()
    app.http().io(**io_options)
    app.use(expressio.session(secret=SECRET, store=store, save_uninitialized=True))
    app.use(expressio.json())

    # -- HTTP ------------------------------------------------------------------------------

    # Routes that never read the session: they need no store, so a store outage is nothing to
    # them (the session is loaded only for code that reads req.session).
    @app.get("/health")
    def health(req: Any, res: Any) -> Any:
        return {"ok": True}

    @app.io.route("ping")
    def socket_ping(req: Any) -> None:
        req.io.respond("pong")

    @app.io.route("shout")
    async def socket_shout(req: Any) -> None:
        req.io.broadcast("shouted", req.data)
        req.io.respond(True)

    @app.post("/login")
    def login(req: Any, res: Any) -> Any:
        old_id = req.session.id
        req.session.regenerate()  # a new id at login: a planted id stops working
        req.session["nick"] = req.body["nick"]
        return {"old_id": old_id, "id": req.session.id}

    @app.get("/me")
    async def me(req: Any, res: Any) -> Any:
        return {"id": req.session.id, "data": dict(req.session)}

    @app.post("/set")
    def set_value(req: Any, res: Any) -> Any:
        req.session[req.body["key"]] = req.body["value"]
        return {"ok": True}

    @app.post("/huge")
    def huge(req: Any, res: Any) -> Any:
        req.session["blob"] = "x" * 300_000
        return {"stored": "maybe"}

    @app.post("/unserialisable")
    def unserialisable(req: Any, res: Any) -> Any:
        req.session["bad"] = {1, 2, 3}
        return {"stored": "maybe"}

    @app.post("/fw/:route")
    def forward(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])  # the realtime route answers, with the HTTP session

    # -- realtime ------------------------------------------------------------------------

    @app.io.route("me")
    def socket_me(req: Any) -> None:
        req.io.respond(
            {"id": req.session.id, "data": dict(req.session), "stored": req.session.persistent}
        )

    @app.io.route("set")
    async def socket_set(req: Any) -> None:
        req.session[req.data["key"]] = req.data["value"]
        req.io.respond(True)

    @app.io.route("append")
    async def socket_append(req: Any) -> None:
        items = req.session.setdefault("items", [])
        items.append(req.data)
        req.io.respond(len(items))

    @app.io.route("huge")
    def socket_huge(req: Any) -> None:
        req.session["blob"] = "x" * 300_000
        req.io.respond("stored?")

    @app.io.route("unserialisable")
    def socket_unserialisable(req: Any) -> None:
        req.session["bad"] = {1, 2, 3}
        req.io.respond("stored?")

    return app
