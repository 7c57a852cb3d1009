"""expressio peer for the realtime benchmark, through the express.io API: ``app.io`` routes,
``req.io.respond``, ``req.io.join`` and ``app.io.room(...).broadcast``, served as
``app.listen()`` serves (``expressio.http.serving.build_config``: the direct websocket path).

Run: python expressio_app_server.py --port N [--routes def|async] [--no-sessions] [--recovery]

It answers the same events as the other peers (see ``expressio_server.py``); the difference is
the layer: this one pays for the route table, the SocketRequest and the RequestIO of each event.
The routes are written as a user writes them: ``def`` (the seed's idiom) or ``async def``, with
``expressio.session`` in use (as the README's app has it; the routes do not read the session).
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

import expressio
from expressio.http.serving import build_config

ROOM = "bench"


def build_app(
    routes: str = "def", sessions: bool = True, recovery: bool = False
) -> expressio.Application:
    app = expressio.express()
    app.http().io(transports=["websocket"], recovery=recovery)
    if sessions:
        app.use(expressio.session(secret="bench"))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--routes", choices=("def", "async"), default="def")
    parser.add_argument("--no-sessions", action="store_true")
    parser.add_argument("--recovery", action="store_true", help="connection state recovery on")
    options = parser.parse_args()
    app = build_app(options.routes, sessions=not options.no_sessions, recovery=options.recovery)
    config = build_config(
        app, host="127.0.0.1", port=options.port, loop="uvloop", log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
