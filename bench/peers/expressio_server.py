"""expressio peer for the realtime benchmark: its realtime layer on uvicorn (uvloop, httptools).

Run: python expressio_server.py --port N [--transport direct|asgi]

``direct`` (the default) is how ``app.listen()`` serves:
``expressio.http.serving.build_config``, whose
websocket protocol hands engine websockets to the engine's own asyncio protocol. ``asgi`` serves
the same server as a plain ASGI app through uvicorn's standard websocket protocol.

Events (the same on every peer):
  ack     -> acknowledge with the same arguments
  join    -> join room "bench" (acknowledged, so the client knows the join is done)
  fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket

ROOM = "bench"


def build_server(parser: str = "json") -> RealtimeServer:
    server = RealtimeServer(transports=["websocket"], parser=parser)
    namespace = server.of("/")

    def ack(socket: Socket, *args: Any) -> tuple[Any, ...]:
        # The return value answers the ack; a tuple is spread into the ack's arguments.
        return args

    def join(socket: Socket, *args: Any) -> None:
        socket.join(ROOM)

    def fanout(socket: Socket, request: dict[str, int]) -> None:
        for index in range(request["n"]):
            namespace.emit("tick", index, to=ROOM)

    namespace.on("ack", ack)
    namespace.on("join", join)
    namespace.on("fanout", fanout)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=("direct", "asgi"), default="direct")
    options = parser.parse_args()
    settings: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "log_level": "warning",
    }
    if options.transport == "asgi":
        settings["ws"] = "auto"  # uvicorn's own websocket protocol, the app sees ASGI messages
    config = build_config(build_server(), host="127.0.0.1", port=options.port, **settings)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
