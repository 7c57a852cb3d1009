"""expressio peer for the scale-out benchmark: the realtime layer with a Redis adapter.

    python expressio_redis_server.py --port N --redis URL [--adapter pubsub|streams]
                                     [--channel socket.io]

``pubsub`` is ``RedisAdapter(url, channel=...)``, ``streams`` is
``RedisStreamsAdapter(url, stream=...)``; both on the same name, "socket.io" by default, which is
the key of Node's Redis adapters, so that Node and expressio processes can form one cluster.
Served like ``app.listen()`` (``expressio.http.serving.build_config``); the port opens once the
adapter is connected. Events: "join" (acked) joins room "bench"; "fanout" {"n": k} broadcasts
"tick" k times to room "bench".

When this expressio has no ``RedisStreamsAdapter``, ``--adapter streams`` prints
``NOT AVAILABLE: <why>`` and exits with status 3 (the runner shows the row as not available).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Any

import uvicorn

from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket

ROOM = "bench"
NOT_AVAILABLE = 3


def build_adapter(kind: str, redis_url: str, channel: str) -> Any:
    if kind == "pubsub":
        from expressio import RedisAdapter

        return RedisAdapter(redis_url, channel=channel)
    try:
        from expressio import RedisStreamsAdapter
    except ImportError as error:
        print(f"NOT AVAILABLE: {error}", file=sys.stderr, flush=True)
        raise SystemExit(NOT_AVAILABLE) from None
    return RedisStreamsAdapter(redis_url, stream=channel)


def build_app(adapter: Any) -> Any:
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
                    # Connected (and listening) before the port opens: the runner takes an
                    # open port as ready. An adapter without start() connects lazily.
                    start = getattr(adapter, "start", None)
                    if start is not None:
                        started = start()
                        if inspect.isawaitable(started):
                            await started
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
    parser.add_argument("--adapter", choices=("pubsub", "streams"), default="pubsub")
    parser.add_argument("--channel", default="socket.io")
    options = parser.parse_args()
    adapter = build_adapter(options.adapter, options.redis, options.channel)
    config = build_config(
        build_app(adapter), host="127.0.0.1", port=options.port, log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
