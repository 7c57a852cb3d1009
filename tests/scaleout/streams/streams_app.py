"""An expressio app of a streams cluster, for the tests of this folder.

    python tests/scaleout/streams/streams_app.py --port N --redis URL [--stream S] [--recovery]
        [--block-time SECONDS]

``app.io(adapter=RedisStreamsAdapter(url, stream=S))``, connected at startup. Realtime routes
of "/":

- "whoami" → {"sid", "pid", "recovered", "server": "expressio"};
- "join" room → joins it, answers true;
- "broadcast" {"event", "data", "to": room or null, "skip_self": bool, "volatile": bool} →
  ``app.io`` / ``app.io.room(to)`` broadcast, or ``req.io``'s (the sender left out) with
  ``skip_self``; answers true;
- "server-count" → ``await app.io.server_count()`` of the adapter;
- "stats" → the stream link's counters once everything queued is written;
- "link" → whether its reader and writer are connected now;
- "ask-servers" x → ``server_side_emit_with_ack("ping", x)``, whose server-side route answers
  "pong x from expressio"; "ask-clients" x → ``broadcast_with_ack("question", x)``;
- "rooms-join" {"room", "other"} / "rooms-disconnect" room → ``app.io.room(room).join(other)``
  / ``.disconnect()``;
- "set-data" {...} → ``req.socket.data`` becomes it, answers true;
- "ask" {"event", "data", "to", "timeout"} → ``{"answers"}`` of ``broadcast_with_ack``;
- "fetch" {"to", "except"} / "fetch-act" {"to", "only", "action", "arg"} → the fetched
  clients described, or acted on (``tests/scaleout/fetched_routes.py``).

Logs go to stderr at INFO level (the tests read the outage and malformed-entry lines).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run as a script: the tests too

import expressio
from tests.scaleout.fetched_routes import add_fetch_routes


def build_app(
    redis_url: str,
    stream: str,
    recovery: bool,
    block_time: float = 5.0,
    requests_timeout: float = 5.0,
) -> expressio.Application:
    adapter = expressio.RedisStreamsAdapter(
        redis_url, stream=stream, block_time=block_time, requests_timeout=requests_timeout
    )
    app = expressio.express()
    options: dict[str, Any] = {"adapter": adapter}
    if recovery:
        options["recovery"] = {"max_disconnection": 30}
    app.io(**options)

    @app.on_startup
    async def connect() -> None:
        await adapter.start()

    @app.io.route("whoami")
    def whoami(req: Any) -> None:
        req.io.respond(
            {
                "sid": req.socket.id,
                "pid": os.getpid(),
                "recovered": req.socket.recovered,
                "rooms": sorted(req.socket.rooms),
                "server": "expressio",
            }
        )

    @app.io.route("join")
    def join(req: Any) -> None:
        req.io.join(req.data)
        req.io.respond(True)

    @app.io.route("broadcast")
    def broadcast(req: Any) -> None:
        spec = req.data
        base = req.io if spec.get("skip_self") else app.io
        target = base.room(spec["to"]) if spec.get("to") else base
        if spec.get("volatile"):
            target = target.volatile
        target.broadcast(spec["event"], spec.get("data"))
        req.io.respond(True)

    @app.io.route("server-count")
    async def server_count(req: Any) -> None:
        namespace = app.io.server.of("/")
        req.io.respond(await namespace.adapter.server_count())

    @app.io.route("stats")
    async def stats(req: Any) -> None:
        await adapter.flush()
        link = adapter.link
        req.io.respond(
            {
                "up": link.up,
                "published": link.published,
                "dropped": link.dropped,
                "received": link.received,
                "delivered_at_once": link.delivered_at_once,
            }
        )

    @app.io.server_side_route("ping")
    def ping(value: Any) -> str:
        return f"pong {value} from expressio"

    @app.io.route("ask-servers")
    async def ask_servers(req: Any) -> None:
        req.io.respond(await app.io.server_side_emit_with_ack("ping", req.data))

    @app.io.route("ask-clients")
    async def ask_clients(req: Any) -> None:
        req.io.respond(await app.io.broadcast_with_ack("question", req.data, timeout=5.0))

    @app.io.route("rooms-join")
    def rooms_join(req: Any) -> None:
        app.io.room(req.data["room"]).join(req.data["other"])
        req.io.respond(True)

    @app.io.route("rooms-disconnect")
    def rooms_disconnect(req: Any) -> None:
        app.io.room(req.data).disconnect()
        req.io.respond(True)

    def target(spec: dict[str, Any]) -> Any:
        chosen = app.io.room(spec["to"]) if spec.get("to") else app.io.of("/").target()
        return chosen.excluding(spec["except"]) if spec.get("except") else chosen

    @app.io.route("ask")
    async def ask(req: Any) -> None:
        spec = req.data
        answers = await target(spec).broadcast_with_ack(
            spec["event"], spec.get("data"), timeout=spec["timeout"]
        )
        req.io.respond({"answers": answers})

    add_fetch_routes(app, target)

    @app.io.route("link")
    def link_state(req: Any) -> None:
        link = adapter.link
        req.io.respond({"reader_up": link.reader_up, "writer_up": link.writer_up})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--stream", default="expressio")
    parser.add_argument("--recovery", action="store_true")
    parser.add_argument("--block-time", type=float, default=5.0)
    parser.add_argument("--requests-timeout", type=float, default=5.0)
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = build_app(
        options.redis,
        options.stream,
        options.recovery,
        options.block_time,
        options.requests_timeout,
    )
    app.set("env", "production")
    app.listen(options.port)


if __name__ == "__main__":
    main()
