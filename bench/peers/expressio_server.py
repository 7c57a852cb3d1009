"""expressio peer for the realtime benchmark: its realtime layer on uvicorn (uvloop, httptools).

Run: python expressio_server.py --port N [--transport direct|asgi] [--recovery]

``direct`` (the default) is how ``app.listen()`` serves:
``expressio.http.serving.build_config``, whose
websocket protocol hands engine websockets to the engine's own asyncio protocol. ``asgi`` serves
the same server as a plain ASGI app through uvicorn's standard websocket protocol.

Events (the same on every peer):
  ack     -> acknowledge with the same arguments
  join    -> join room "bench" (acknowledged, so the client knows the join is done)
  fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
  fanout_ack -> {"n": k}: the same, each broadcast asking every member for an ack and waiting
             for all of them; acknowledged with the number of answers to the last one
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn

from expressio.http.serving import build_config
from expressio.realtime import BroadcastOptions, RealtimeServer, Socket

ROOM = "bench"


def build_server(parser: str = "json", recovery: bool = False) -> RealtimeServer:
    server = RealtimeServer(transports=["websocket"], parser=parser, recovery=recovery)
    namespace = server.of("/")

    def ack(socket: Socket, *args: Any) -> tuple[Any, ...]:
        # The return value answers the ack; a tuple is spread into the ack's arguments.
        return args

    def join(socket: Socket, *args: Any) -> None:
        socket.join(ROOM)

    def fanout(socket: Socket, request: dict[str, int]) -> None:
        for index in range(request["n"]):
            namespace.emit("tick", index, to=ROOM)

    in_room = BroadcastOptions(rooms=frozenset((ROOM,)))

    async def broadcast_with_ack(index: int) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        expected: list[int] = []
        answers: list[Any] = []

        def on_count(count: int) -> None:
            expected.append(count)
            if count == 0 and not done.done():
                done.set_result(None)

        def on_ack(*answer: Any) -> None:
            answers.append(answer)
            if len(answers) == expected[0] and not done.done():
                done.set_result(None)

        namespace.adapter.broadcast_with_ack("tick", (index,), in_room, on_count, on_ack)
        await asyncio.wait_for(done, 10.0)
        return len(answers)

    async def fanout_ack(socket: Socket, request: dict[str, int]) -> int:
        answered = 0
        for index in range(request["n"]):
            answered = await broadcast_with_ack(index)
        return answered

    namespace.on("ack", ack)
    namespace.on("fanout_ack", fanout_ack)
    namespace.on("join", join)
    namespace.on("fanout", fanout)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=("direct", "asgi"), default="direct")
    parser.add_argument("--recovery", action="store_true", help="connection state recovery on")
    options = parser.parse_args()
    settings: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "log_level": "warning",
    }
    if options.transport == "asgi":
        settings["ws"] = "auto"  # uvicorn's own websocket protocol, the app sees ASGI messages
    server = build_server(recovery=options.recovery)
    config = build_config(server, host="127.0.0.1", port=options.port, **settings)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
