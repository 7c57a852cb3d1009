"""An expressio process of a mixed Node/Python cluster, through the express.io API. Its realtime
routes mirror ``node_server.mjs``'s events, so that a test drives either language the same way.

    python tests/scaleout/node_cluster/expressio_server.py --port N --redis URL --key socket.io
        [--requests-timeout SECONDS] [--parser json|msgpack]

Routes (namespace "/", each answers with req.io.respond):

- ``whoami`` → {sid, pid, lang: "python"}; ``join`` / ``leave`` room → true;
  ``set-data`` {...} → true (``req.socket.data``);
- ``broadcast`` {event, args, to, except, skip_self, volatile} → true;
- ``room-broadcast`` {room, event, args} → true (``req.io.room(room).broadcast``: the sender
  excluded); ``room-broadcast-late`` {room, event, args, late}: the same, with ``late``
  only once the route's next call has begun (or after 50 ms); ``echo`` value → value;
- ``ask`` {event, args, to, timeout} → {answers} (``broadcast_with_ack``);
- ``fetch`` {to, except} → [{id, rooms, data, auth, address, remote}] (``fetch_sockets``);
- ``fetch-act`` {to, only, action, arg} → true: emit/join/leave/disconnect on fetched clients;
- ``sockets-join`` {to, room} / ``sockets-leave`` {to, room} / ``sockets-disconnect`` {to};
- ``server-emit`` {event, args} → true; ``server-emit-ack`` {event, args} → {answers};
- ``server-notes`` → the server-side events this process received; ``server-count``.

Server-side route ``hello-servers`` answers {lang: "python", pid, got}; ``note`` is noted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run as a script: the tests too

import expressio
from expressio.io.targets import Target
from tests.scaleout.fetched_routes import add_fetch_routes


def build_app(
    redis_url: str, key: str, requests_timeout: float, parser: str = "json"
) -> expressio.Application:
    app = expressio.express()
    adapter = expressio.RedisAdapter(redis_url, channel=key, requests_timeout=requests_timeout)
    app.io(adapter=adapter, parser=parser)
    # These tests check the order of a client's events, not how def routes are timed: on a
    # loaded machine a quick route's first call (in a thread) could take past the default
    # 0.1 s, and the events waiting for it would then run beside it, as a blocking route's do.
    app.io.set("blocking threshold", 5.0)
    app.on_startup(adapter.start)  # subscribed before the first client
    notes: list[list[Any]] = []

    def target(spec: dict[str, Any], base: Target | None = None) -> Target:
        chosen = base if base is not None else app.io.of("/").target()
        if spec.get("to"):
            to = spec["to"]
            chosen = chosen.room(*([to] if isinstance(to, str) else to))
        if spec.get("except"):
            excluded = spec["except"]
            chosen = chosen.excluding(*([excluded] if isinstance(excluded, str) else excluded))
        return chosen

    app.io.of("/chat").route("whoami", lambda req: req.io.respond({"sid": req.socket.id}))

    @app.io.route("whoami")
    def whoami(req: Any) -> None:
        req.io.respond({"sid": req.socket.id, "pid": os.getpid(), "lang": "python"})

    @app.io.route("join")
    def join(req: Any) -> None:
        req.io.join(req.data)
        req.io.respond(True)

    @app.io.route("leave")
    def leave(req: Any) -> None:
        req.io.leave(req.data)
        req.io.respond(True)

    @app.io.route("broadcast")
    def broadcast(req: Any) -> None:
        spec = req.data
        base = app.io.of("/").target()
        if spec.get("skip_self"):
            base = base.excluding(req.socket.id)
        chosen = target(spec, base)
        if spec.get("volatile"):
            chosen = chosen.volatile
        args = spec.get("args", [])
        if args:
            chosen.broadcast(spec["event"], *args[:1])
        else:
            chosen.broadcast(spec["event"])
        req.io.respond(True)

    @app.io.route("room-broadcast")
    def room_broadcast(req: Any) -> None:
        spec = req.data
        req.io.room(spec["room"]).broadcast(spec["event"], *spec.get("args", [])[:1])
        req.io.respond(True)

    late_calls: list[None] = []

    @app.io.route("room-broadcast-late")
    def room_broadcast_late(req: Any) -> None:
        late_calls.append(None)
        if req.data.get("late"):
            # busy, not asleep: a route whose code sleeps or waits starts in worker threads
            # by design; this one is an ordinary quick route when its calls run in turn
            # (well within the 0.1 s blocking threshold: a quick route's first call)
            seen, give_up = len(late_calls), time.perf_counter() + 0.05
            while len(late_calls) == seen and time.perf_counter() < give_up:
                pass
        room_broadcast(req)

    @app.io.route("echo")
    def echo(req: Any) -> None:
        req.io.respond(req.data)

    @app.io.route("ask")
    async def ask(req: Any) -> None:
        spec = req.data
        args = spec.get("args", [])
        answers = await target(spec).broadcast_with_ack(
            spec["event"], *args[:1], timeout=spec.get("timeout", 5000) / 1000
        )
        req.io.respond({"answers": answers})

    add_fetch_routes(app, target)

    @app.io.route("sockets-join")
    def sockets_join(req: Any) -> None:
        target(req.data).join(req.data["room"])
        req.io.respond(True)

    @app.io.route("sockets-leave")
    def sockets_leave(req: Any) -> None:
        target(req.data).leave(req.data["room"])
        req.io.respond(True)

    @app.io.route("sockets-disconnect")
    def sockets_disconnect(req: Any) -> None:
        target(req.data).disconnect(bool(req.data.get("close")))
        req.io.respond(True)

    @app.io.route("server-emit")
    def server_emit(req: Any) -> None:
        app.io.server_side_emit(req.data["event"], *req.data.get("args", []))
        req.io.respond(True)

    @app.io.route("server-emit-ack")
    async def server_emit_ack(req: Any) -> None:
        spec = req.data
        answers = await app.io.server_side_emit_with_ack(spec["event"], *spec.get("args", []))
        req.io.respond({"answers": answers})

    @app.io.route("server-notes")
    def server_notes(req: Any) -> None:
        req.io.respond(notes)

    @app.io.route("server-count")
    async def server_count(req: Any) -> None:
        req.io.respond(await app.io.of("/").namespace.adapter.server_count())

    @app.io.server_side_route("hello-servers")
    def hello_servers(got: Any = None, *rest: Any) -> dict[str, Any]:
        notes.append(["hello-servers", got, *rest])
        return {"lang": "python", "pid": os.getpid(), "got": got}

    @app.io.server_side_route("note")
    def note(*args: Any) -> None:
        notes.append(["note", *args])

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--key", default="socket.io")
    parser.add_argument("--requests-timeout", type=float, default=5.0)
    parser.add_argument("--parser", choices=("json", "msgpack"), default="json")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = build_app(options.redis, options.key, options.requests_timeout, options.parser)
    app.listen(options.port, host="127.0.0.1")


if __name__ == "__main__":
    main()
