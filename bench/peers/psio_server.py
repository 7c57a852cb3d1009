"""python-socketio peer for the realtime benchmark: ASGI app on uvicorn (uvloop, httptools).

Run: python psio_server.py --port N

Events (the same on every peer):
  ack     -> acknowledge with the same arguments
  join    -> join room "bench" (acknowledged, so the client knows the join is done)
  fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn

ROOM = "bench"


def build_app() -> socketio.ASGIApp:
    sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"], cors_allowed_origins=[])

    @sio.on("ack")
    async def ack(sid: str, *args: Any) -> tuple[Any, ...]:
        # A tuple is sent back as the acknowledgement's argument list.
        return args

    @sio.on("join")
    async def join(sid: str, *args: Any) -> None:
        await sio.enter_room(sid, ROOM)

    @sio.on("fanout")
    async def fanout(sid: str, request: dict[str, int]) -> None:
        for index in range(request["n"]):
            await sio.emit("tick", index, room=ROOM)

    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws", default="auto", help="uvicorn websocket implementation")
    options = parser.parse_args()
    uvicorn.run(
        build_app(),
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        ws=options.ws,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
