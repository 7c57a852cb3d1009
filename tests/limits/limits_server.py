"""An app served by ``app.listen()`` with small limits, for the connection-limit tests.

    python tests/limits/limits_server.py --port N [--header-timeout S] [--max-connections N]
        [--max-clients N] [--first-contact-timeout S] [--max-rooms N] [--gate sync|async]

- HTTP: ``GET /`` answers "hello"; ``GET /stats`` the number of open Engine.IO sessions
  (``{"clients": n}``).
- realtime: "echo" answers its data; "join" joins the rooms ``{"prefix": p, "count": n}``
  names (``p0`` ... ``p{n-1}``) and answers the socket's rooms then.
- ``--gate``: ``allow_request`` as a ``def`` or an ``async def``: it refuses a handshake whose
  query has ``deny``, raises for one with ``boom``, accepts any other.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import expressio
from expressio.engine import HandshakeRequest


def decide(request: HandshakeRequest) -> bool:
    if "boom" in request.query:
        raise RuntimeError("the gate failed")
    return "deny" not in request.query


async def decide_later(request: HandshakeRequest) -> bool:
    await asyncio.sleep(0.01)
    return decide(request)


def build_app(options: argparse.Namespace) -> Any:
    app = expressio.express()
    io_options: dict[str, Any] = {}
    if options.max_clients is not None:
        io_options["max_clients"] = options.max_clients
    if options.first_contact_timeout is not None:
        io_options["first_contact_timeout"] = options.first_contact_timeout
    if options.max_rooms is not None:
        io_options["max_rooms_per_socket"] = options.max_rooms
    if options.gate == "sync":
        io_options["allow_request"] = decide
    elif options.gate == "async":
        io_options["allow_request"] = decide_later
    app.http().io(**io_options)

    @app.get("/")
    def index(req: Any, res: Any) -> None:
        res.send("hello")

    @app.get("/stats")
    def stats(req: Any, res: Any) -> None:
        res.json({"clients": len(app.io.server.engine.sockets)})

    @app.io.route("echo")
    def echo(req: Any) -> None:
        req.io.respond(req.data)

    @app.io.route("join")
    def join(req: Any) -> None:
        for index in range(req.data["count"]):
            req.io.join(f"{req.data['prefix']}{index}")
        req.io.respond(len(req.socket.rooms))

    @app.io.route("rooms")
    def rooms(req: Any) -> None:
        req.io.respond(len(req.socket.rooms))

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--header-timeout", type=float, default=None)
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--max-clients", type=int, default=None)
    parser.add_argument("--first-contact-timeout", type=float, default=None)
    parser.add_argument("--max-rooms", type=int, default=None)
    parser.add_argument("--gate", choices=("sync", "async"), default=None)
    options = parser.parse_args()
    app = build_app(options)
    listen: dict[str, Any] = {"log_level": "warning"}
    if options.header_timeout is not None:
        listen["header_timeout"] = options.header_timeout
    if options.max_connections is not None:
        listen["max_connections"] = options.max_connections
    app.set("env", "production")
    app.listen(options.port, **listen)


if __name__ == "__main__":
    main()
