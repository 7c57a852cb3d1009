"""The app the recovery tests serve: connection state recovery on, with routes that let a
client broadcast to rooms, join them, and see what the server saw."""

from __future__ import annotations

from collections import Counter
from typing import Any

import expressio
from expressio.realtime import InMemoryAdapter, RecoveryOptions


def make_app(**recovery: Any) -> expressio.Application:
    app = expressio.express()
    app.http().io(recovery=recovery or True, ping_interval=5, ping_timeout=5)
    middleware_runs: Counter[str] = Counter()
    app.locals["middleware_runs"] = middleware_runs
    app.locals["disconnects"] = disconnects = []

    def count_runs(handshake):  # type: ignore[no-untyped-def]
        name = handshake.auth.get("name", "?")
        middleware_runs[name] += 1
        handshake["runs"] = middleware_runs[name]

    app.io.use(count_runs)

    @app.io.route("connect")
    def connected(req):  # type: ignore[no-untyped-def]
        name = req.handshake.auth.get("name", "?")
        req.io.emit(
            "welcome",
            {
                "recovered": req.recovered,
                "middleware_runs": middleware_runs[name],
                # what the middleware stored on this connection's handshake, if it ran
                "handshake_runs": req.handshake.get("runs"),
            },
        )

    @app.io.route("disconnect")
    def disconnected(req):  # type: ignore[no-untyped-def]
        disconnects.append(req.data)
        if req.handshake.auth.get("name") == "auto" and req.data == "transport close":
            # Broadcast while the client is away: its recovery must bring these back.
            app.io.room("r").broadcast("news", "while away 1")
            app.io.room("r").broadcast("news", "while away 2")

    @app.io.route("join")
    def join(req):  # type: ignore[no-untyped-def]
        req.io.join(req.data)
        req.io.respond(sorted(req.socket.rooms))

    @app.io.route("remember")
    def remember(req):  # type: ignore[no-untyped-def]
        req.socket.data["remembered"] = req.data
        req.io.respond(True)

    @app.io.route("recall")
    def recall(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.socket.data.get("remembered"))

    @app.io.route("rooms")
    def rooms(req):  # type: ignore[no-untyped-def]
        req.io.respond(sorted(req.socket.rooms))

    @app.io.route("shout")
    async def shout(req):  # type: ignore[no-untyped-def]
        """``{"room": r or None, "items": [...], "except": socket id or None}``: one
        broadcast of ``news`` per item."""
        room, items, left_out = req.data["room"], req.data["items"], req.data.get("except")
        namespace = app.io.server.namespaces["/"]
        for item in items:
            if left_out is not None:
                namespace.emit("news", item, to=room, skip=left_out)
            elif room is None:
                app.io.broadcast("news", item)
            else:
                app.io.room(room).broadcast("news", item)
        req.io.respond(True)

    @app.io.route("is_connected")
    def is_connected(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data in app.io.server.namespaces["/"].sockets)

    @app.io.route("log")
    def log(req):  # type: ignore[no-untyped-def]
        req.io.respond(log_size(app))

    return app


def store_of(app: expressio.Application) -> Any:
    adapter = app.io.server.namespaces["/"].adapter
    assert isinstance(adapter, InMemoryAdapter)
    return adapter.recovery


def log_size(app: expressio.Application) -> dict[str, int]:
    store = store_of(app)
    return {"packets": len(store.log), "bytes": store.log.bytes, "sessions": store.session_count}


__all__ = ["RecoveryOptions", "log_size", "make_app", "store_of"]
