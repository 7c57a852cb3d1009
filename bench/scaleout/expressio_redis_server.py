"""expressio peer for the scale-out benchmark: an app with ``app.io`` routes and a Redis adapter.

    python expressio_redis_server.py --port N --redis URL [--adapter pubsub|streams]
                                     [--channel socket.io]

``pubsub`` is ``RedisAdapter(url, channel=...)``, ``streams`` is
``RedisStreamsAdapter(url, stream=...)``; both on the same name, "socket.io" by default, which is
the key of Node's Redis adapters, so that Node and expressio processes can form one cluster.
What a user writes (``expressio.express()``, ``app.io(adapter=...)``, ``def`` routes), served as
``app.listen()`` serves it (``expressio.http.serving.build_config``: uvloop, httptools and the
direct websocket path); the app's startup waits for the adapter to subscribe, so the port opens
once the adapter is connected. Routes: "join" (answered) joins room "bench"; "fanout" {"n": k}
broadcasts "tick" k times to room "bench".

When this expressio has no ``RedisStreamsAdapter``, ``--adapter streams`` prints
``NOT AVAILABLE: <why>`` and exits with status 3 (the runner shows the row as not available).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn

import expressio
from expressio.http.serving import build_config

ROOM = "bench"
NOT_AVAILABLE = 3


def build_adapter(kind: str, redis_url: str, channel: str) -> Any:
    if kind == "pubsub":
        return expressio.RedisAdapter(redis_url, channel=channel)
    streams = getattr(expressio, "RedisStreamsAdapter", None)
    if streams is None:
        print("NOT AVAILABLE: expressio has no RedisStreamsAdapter", file=sys.stderr, flush=True)
        raise SystemExit(NOT_AVAILABLE)
    return streams(redis_url, stream=channel)


def build_app(adapter: Any) -> expressio.Application:
    app = expressio.express()
    app.io(adapter=adapter, transports=["websocket"])

    @app.io.route("join")
    def join(req: Any) -> None:
        req.io.join(ROOM)
        req.io.respond(True)

    @app.io.route("fanout")
    def fanout(req: Any) -> None:
        room = app.io.room(ROOM)
        for index in range(req.data["n"]):
            room.broadcast("tick", index)

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
