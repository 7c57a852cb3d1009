"""expressio peer for the realtime benchmark, through the express.io API: ``app.io`` routes,
``req.io.respond``, ``req.io.join`` and ``app.io.room(...).broadcast``, served as
``app.listen()`` serves (``expressio.http.serving.build_config``: the direct websocket path).

Run: python expressio_app_server.py --port N [--routes def|async] [--no-sessions] [--recovery]
         [--transports websocket,polling] [--middleware none|def|async]

It answers the same events as the other peers (see ``expressio_server.py``); the difference is
the layer: this one pays for the route table, the SocketRequest and the RequestIO of each event.
The routes are written as a user writes them: ``def`` (the seed's idiom) or ``async def``, with
``expressio.session`` in use (as the README's app has it; the routes do not read the session).

For the soak benchmark (``bench/soak``) it also has, as the other peers do:

- ``blast`` ``{"n": k, "size": s}`` -> broadcast ``big`` with a payload of ``s`` characters to
  room ``bench``, k times (acknowledged once done);
- ``stats`` -> acknowledged with ``{"engine_sessions": open Engine.IO sessions, "sockets":
  connected clients of the default namespace}``;
- HTTP ``GET /anon`` (never touches the session), ``GET /login`` (stores a value in it) and
  ``GET /debug/stats`` (the open sessions above and the MemoryStore's entry count, as JSON);
- ``--middleware def|async``: an ``app.io.use`` handshake middleware that accepts every client
  after reading its handshake, as an app's authentication would.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

import expressio
from expressio.http.serving import build_config

ROOM = "bench"


def build_app(
    routes: str = "def",
    sessions: bool = True,
    transports: tuple[str, ...] = ("websocket",),
    middleware: str = "none",
    recovery: bool = False,
) -> expressio.Application:
    app = expressio.express()
    app.http().io(transports=list(transports), recovery=recovery)
    store = expressio.MemoryStore()
    if sessions:
        app.use(expressio.session(secret="bench", store=store))
    add_soak_handlers(app, store, middleware)

    if routes == "def":

        @app.io.route("ack")
        def ack(req: Any) -> None:
            req.io.respond(req.data)

        @app.io.route("join")
        def join(req: Any) -> None:
            req.io.join(ROOM)
            req.io.respond()

        @app.io.route("fanout")
        def fanout(req: Any) -> None:
            room = app.io.room(ROOM)
            for index in range(req.data["n"]):
                room.broadcast("tick", index)

    else:

        @app.io.route("ack")
        async def ack_async(req: Any) -> None:
            req.io.respond(req.data)

        @app.io.route("join")
        async def join_async(req: Any) -> None:
            req.io.join(ROOM)
            req.io.respond()

        @app.io.route("fanout")
        async def fanout_async(req: Any) -> None:
            room = app.io.room(ROOM)
            for index in range(req.data["n"]):
                room.broadcast("tick", index)

    @app.io.route("fanout_ack")
    async def fanout_ack(req: Any) -> None:
        # Awaited, so async def whatever the other routes are: n broadcasts asking every
        # member for an ack; the trigger's ack carries how many answered the last one.
        room = app.io.room(ROOM)
        answers: list[Any] = []
        for index in range(req.data["n"]):
            answers = await room.broadcast_with_ack("tick", index, timeout=10.0)
        req.io.respond(len(answers))

    return app


def add_soak_handlers(
    app: expressio.Application, store: expressio.MemoryStore, middleware: str
) -> None:
    payloads: dict[int, str] = {}

    def server_stats() -> dict[str, int]:
        server = app.io.server
        assert server is not None
        return {
            "engine_sessions": len(server.engine.sockets),
            "sockets": len(server.namespaces["/"].sockets),
        }

    @app.io.route("blast")
    def blast(req: Any) -> None:
        size = req.data["size"]
        payload = payloads.get(size)
        if payload is None:
            payload = payloads[size] = "x" * size
        room = app.io.room(ROOM)
        for index in range(req.data["n"]):
            room.broadcast("big", {"i": index, "pad": payload})
        req.io.respond()

    @app.io.route("stats")
    def stats(req: Any) -> None:
        req.io.respond(server_stats())

    @app.get("/anon")
    async def anonymous(req: Any, res: Any) -> None:
        res.send("ok")

    @app.get("/login")
    async def login(req: Any, res: Any) -> None:
        req.session["user"] = "someone"
        res.send("ok")

    @app.get("/debug/stats")
    async def debug_stats(req: Any, res: Any) -> None:
        res.json({**server_stats(), "store_sessions": len(store)})

    if middleware == "def":

        @app.io.use
        def authenticate(handshake: Any, next: Any) -> None:
            # express.io's form; an app would look a user up from the cookie or the auth payload.
            if handshake.address:
                next()
            else:
                next(ConnectionRefusedError("no address"))

    elif middleware == "async":

        @app.io.use
        async def authenticate_async(handshake: Any) -> None:
            if not handshake.address:
                raise ConnectionRefusedError("no address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--routes", choices=("def", "async"), default="def")
    parser.add_argument("--no-sessions", action="store_true")
    parser.add_argument("--recovery", action="store_true", help="connection state recovery on")
    parser.add_argument("--transports", default="websocket", help="comma-separated")
    parser.add_argument("--middleware", choices=("none", "def", "async"), default="none")
    options = parser.parse_args()
    app = build_app(
        options.routes,
        sessions=not options.no_sessions,
        transports=tuple(options.transports.split(",")),
        middleware=options.middleware,
        recovery=options.recovery,
    )
    config = build_config(
        app, host="127.0.0.1", port=options.port, loop="uvloop", log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
