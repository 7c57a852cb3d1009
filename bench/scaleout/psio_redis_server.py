"""python-socketio peer for the scale-out benchmark: AsyncServer with AsyncRedisManager.

    python psio_redis_server.py --port N --redis URL [--channel socket.io]

The same events as the expressio peer, on uvicorn (uvloop, httptools). The channel is
"socket.io" by default, like every scale-out peer (python-socketio's own default is "socketio");
python-socketio's messages are its own, so it never forms one cluster with the other peers.
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn

ROOM = "bench"


def build_app(redis_url: str, channel: str) -> Any:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        transports=["websocket"],
        client_manager=socketio.AsyncRedisManager(redis_url, channel=channel),
    )

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
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", default="socket.io")
    options = parser.parse_args()
    uvicorn.run(
        build_app(options.redis, options.channel), host="127.0.0.1", port=options.port,
        loop="uvloop", http="httptools", log_level="warning", lifespan="off",
    )  # fmt: skip


if __name__ == "__main__":
    main()
