"""Apps served by the multi-worker tests, as ``tests.scaleout.apps:<name>`` for the CLI.

- ``http_app``: HTTP only; ``GET /pid`` answers the worker's pid. Fine with any number of workers.
- ``memory_rooms_app``: a realtime server with the in-memory adapter: refused with workers.
- ``memory_sessions_app``: sessions in a MemoryStore: refused with workers.
- ``shared_app`` (built on first access, from ``EXPRESSIO_TEST_REDIS``): the Redis adapter and
  RedisStore sessions. ``GET /login?user=x`` logs in; realtime routes "whoami" (responds the
  session's user and the worker's pid) and "shout" (``app.io.broadcast("shouted", data)``).
"""

from __future__ import annotations

import os
from typing import Any

import expressio

SECRET = "scale-out tests"


def _pid_route(app: expressio.Application) -> None:
    @app.get("/pid")
    def pid(req: Any, res: Any) -> dict[str, int]:
        return {"pid": os.getpid()}


http_app = expressio.express()
_pid_route(http_app)

memory_rooms_app = expressio.express()
memory_rooms_app.io()

memory_sessions_app = expressio.express()
memory_sessions_app.use(expressio.session(secret=SECRET))


def build_shared_app(redis_url: str) -> expressio.Application:
    app = expressio.express()
    app.io(adapter=expressio.RedisAdapter(redis_url))
    app.use(expressio.session(secret=SECRET, store=expressio.RedisStore(redis_url)))
    _pid_route(app)

    @app.get("/login")
    def login(req: Any, res: Any) -> dict[str, Any]:
        req.session["user"] = req.query["user"]
        return {"user": req.session["user"], "pid": os.getpid()}

    @app.io.route("whoami")
    def whoami(req: Any) -> None:
        req.io.respond({"user": req.session.get("user"), "pid": os.getpid()})

    @app.io.route("shout")
    def shout(req: Any) -> None:
        app.io.broadcast("shouted", req.data)
        req.io.respond(True)

    return app


def __getattr__(name: str) -> Any:
    if name == "shared_app":
        app = build_shared_app(os.environ["EXPRESSIO_TEST_REDIS"])
        globals()["shared_app"] = app
        return app
    raise AttributeError(name)
