"""expressio peer for the scale-out benchmark: the realtime layer with the Redis adapter.

    python expressio_redis_server.py --port N --redis URL

Served like ``app.listen()`` (``expressio.http.serving.build_config``). Events: "join" (acked) joins
room "bench"; "fanout" {"n": k} broadcasts "tick" k times to room "bench".
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket
from expressio.scaleout import RedisAdapter

ROOM = "bench"


def build_app(redis_url: str) -> Any:
    adapter = RedisAdapter(redis_url)
    server = RealtimeServer(transports=["websocket"], adapter_factory=adapter)
    namespace = server.of("/")

    def join(socket: Socket, *args: Any) -> None:
        socket.join(ROOM)

    def fanout(socket: Socket, request: dict[str, int]) -> None:
        for index in range(request["n"]):
            namespace.emit("tick", index, to=ROOM)

    namespace.on("join", join)
    namespace.on("fanout", fanout)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await adapter.start()
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await server(scope, receive, send)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    options = parser.parse_args()
    config = build_config(
        build_app(options.redis), host="127.0.0.1", port=options.port, log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
