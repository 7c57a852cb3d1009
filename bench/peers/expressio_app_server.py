"""expressio peer for the realtime benchmark, through the express.io API: ``app.io`` routes,
``req.io.respond``, ``req.io.join`` and ``app.io.room(...).broadcast``, served as
``app.listen()`` serves (``expressio.http.serving.build_config``: the direct websocket path).

Run: python expressio_app_server.py --port N

It answers the same events as the other peers (see ``expressio_server.py``); the difference is
the layer: this one pays for the route table, the SocketRequest and the RequestIO of each event.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

import expressio
from expressio.http.serving import build_config

ROOM = "bench"


def build_app() -> expressio.Application:
    app = expressio.express()
    app.http().io(transports=["websocket"])

    @app.io.route("ack")
    async def ack(req: Any) -> None:
        req.io.respond(req.data)

    @app.io.route("join")
    async def join(req: Any) -> None:
        req.io.join(ROOM)
        req.io.respond()

    @app.io.route("fanout")
    async def fanout(req: Any) -> None:
        room = app.io.room(ROOM)
        for index in range(req.data["n"]):
            room.broadcast("tick", index)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    config = build_config(
        build_app(), host="127.0.0.1", port=port, loop="uvloop", log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
