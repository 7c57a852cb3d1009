"""python-socketio peer for the realtime benchmark: ASGI app on uvicorn (uvloop, httptools).

Run: python psio_server.py --port N [--transports websocket,polling] [--connect-handler]

Events (the same on every peer):
  ack     -> acknowledge with the same arguments
  join    -> join room "bench" (acknowledged, so the client knows the join is done)
  fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
  blast   -> {"n": k, "size": s}: broadcast "big" with a payload of s characters to room "bench"
             k times (acknowledged once done)
  stats   -> acknowledged with {"engine_sessions": open Engine.IO sessions, "sockets": connected
             clients of the default namespace}

--connect-handler adds a "connect" handler that reads the handshake and accepts: python-socketio's
place for what handshake middleware does elsewhere.
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn

ROOM = "bench"


def build_app(
    transports: tuple[str, ...] = ("websocket",), connect_handler: bool = False
) -> socketio.ASGIApp:
    sio = socketio.AsyncServer(
        async_mode="asgi", transports=list(transports), cors_allowed_origins=[]
    )
    payloads: dict[int, str] = {}

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

    @sio.on("blast")
    async def blast(sid: str, request: dict[str, int]) -> None:
        size = request["size"]
        payload = payloads.get(size)
        if payload is None:
            payload = payloads[size] = "x" * size
        for index in range(request["n"]):
            await sio.emit("big", {"i": index, "pad": payload}, room=ROOM)

    @sio.on("stats")
    async def stats(sid: str, *args: Any) -> dict[str, int]:
        return {
            "engine_sessions": len(sio.eio.sockets),
            "sockets": sum(1 for _ in sio.manager.get_participants("/", None)),
        }

    if connect_handler:

        @sio.on("connect")
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            return bool(environ.get("REMOTE_ADDR") or environ.get("asgi.scope"))

    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws", default="auto", help="uvicorn websocket implementation")
    parser.add_argument("--transports", default="websocket", help="comma-separated")
    parser.add_argument("--connect-handler", action="store_true")
    options = parser.parse_args()
    uvicorn.run(
        build_app(tuple(options.transports.split(",")), options.connect_handler),
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
