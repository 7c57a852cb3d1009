"""The app the TestClient tests drive, with real clients on a real server and with the
TestClient alike: one route per behaviour. ``RECORDS`` keeps what only the server sees."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import expressio

RECORDS: dict[str, list[Any]] = defaultdict(list)


def make_app(**io_options: Any) -> expressio.Application:
    RECORDS.clear()
    app = expressio.express()
    app.http().io(**io_options)
    app.use(expressio.json())
    app.use(expressio.session(secret="monkey"))
    io = app.io

    # -- HTTP, and HTTP forwarded into realtime routes ------------------------------------------

    @app.post("/login")
    def login(req, res):  # type: ignore[no-untyped-def]
        req.session.regenerate()
        req.session["user"] = req.body["user"]
        return {"logged_in": req.session["user"]}

    @app.get("/profile")
    def profile(req, res):  # type: ignore[no-untyped-def]
        return dict(req.session)

    @app.post("/announce")
    async def announce(req, res):  # type: ignore[no-untyped-def]
        await req.io.route("announce")

    @app.get("/http_boom")
    def http_boom(req, res):  # type: ignore[no-untyped-def]
        raise LookupError("boom in an HTTP handler")

    @io.route("announce")
    def announce_route(req):  # type: ignore[no-untyped-def]
        req.io.room("lobby").broadcast("announcement", req.data)
        req.io.respond({"announced": req.data, "by": req.session.get("user")})

    # -- handshake middleware and lifecycle ------------------------------------------------------

    def gatekeeper(handshake):  # type: ignore[no-untyped-def]
        if handshake.auth.get("deny"):
            raise ConnectionRefusedError("denied", {"why": "asked to"})
        if handshake.auth.get("crash"):
            raise KeyError("middleware crash")

    io.use(gatekeeper)

    @io.route("connect")
    def on_connect(req):  # type: ignore[no-untyped-def]
        RECORDS["connect"].append((req.socket.id, req.data))
        req.io.join("lobby")

    @io.route("disconnect")
    def on_disconnect(req):  # type: ignore[no-untyped-def]
        RECORDS["disconnect"].append((req.socket.id, req.data))

    # -- this client -----------------------------------------------------------------------------

    @io.route("echo")
    def echo(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data)

    @io.route("echo_async")
    async def echo_async(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data)

    @io.route("args")
    def all_args(req):  # type: ignore[no-untyped-def]
        req.io.respond(*req.args)

    @io.route("nothing_back")
    def nothing_back(req):  # type: ignore[no-untyped-def]
        req.io.respond()

    @io.route("emit_self")
    def emit_self(req):  # type: ignore[no-untyped-def]
        req.io.emit("to_self", req.data)
        req.io.emit("to_self_binary", {"raw": b"\x00\xff", "list": [b"a", b"b"]})

    @io.route("ask_client")
    async def ask_client(req):  # type: ignore[no-untyped-def]
        answer = await req.io.emit_with_ack("question", req.data, timeout=5)
        req.io.respond({"client_said": answer})

    @io.route("whoami")
    def whoami(req):  # type: ignore[no-untyped-def]
        req.io.respond(
            {
                "user": req.session.get("user"),
                "auth": req.handshake.auth,
                "header": req.headers.get("x-test"),
                "query": req.handshake.query.get("tag"),
                "rooms": sorted(req.socket.rooms - {req.socket.id}),
            }
        )

    @io.route("status")
    def status(req):  # type: ignore[no-untyped-def]
        req.session["status"] = req.data
        req.io.respond("saved")

    @io.route("boom")
    def boom(req):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in a realtime route")

    @io.route("boom_no_ack")
    async def boom_no_ack(req):  # type: ignore[no-untyped-def]
        raise ValueError("boom without an ack")

    @io.route("disconnect_me")
    def disconnect_me(req):  # type: ignore[no-untyped-def]
        req.io.disconnect()

    # -- rooms and broadcasts ----------------------------------------------------------------------

    @io.route("join")
    def join(req):  # type: ignore[no-untyped-def]
        req.io.join(req.data)
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    @io.route("leave")
    def leave(req):  # type: ignore[no-untyped-def]
        req.io.leave(req.data)
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    @io.route("shout")
    def shout(req):  # type: ignore[no-untyped-def]
        req.io.broadcast("shouted", req.data)  # everyone but the sender
        req.io.respond("done")

    @io.route("to_room")
    def to_room(req):  # type: ignore[no-untyped-def]
        req.io.room(req.data["room"]).broadcast("room_message", req.data["message"])
        req.io.respond("done")

    @io.route("everyone")
    def everyone(req):  # type: ignore[no-untyped-def]
        io.broadcast("to_everyone", req.data)  # the sender too
        req.io.respond("done")

    # -- another namespace -------------------------------------------------------------------------

    admin = io.of("/admin")

    @admin.route("whoami")
    def admin_whoami(req):  # type: ignore[no-untyped-def]
        req.io.respond({"namespace": req.socket.namespace.name})

    return app
