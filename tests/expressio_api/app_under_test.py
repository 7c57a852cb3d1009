"""The express.io app the API tests talk to: one route per behaviour under test.

Also runnable on its own (``python app_under_test.py --port N``) for the Node client tests.
Handlers record what only the server can see (hook arguments, thread names) in ``RECORDS``.
"""

from __future__ import annotations

import argparse
import threading
from collections import defaultdict
from typing import Any

import expressio

RECORDS: dict[str, list[Any]] = defaultdict(list)


def make_app(*, sessions: bool = False) -> expressio.Application:
    app = expressio.express()
    app.http().io(ping_interval=5, ping_timeout=5)
    io = app.io
    if sessions:
        app.use(expressio.json())
        app.use(expressio.session(secret="monkey"))

        @app.post("/session")
        async def set_over_http(req, res):  # type: ignore[no-untyped-def]
            req.session.update(req.body)
            return {"id": req.session.id}

        @app.get("/session")
        async def read_over_http(req, res):  # type: ignore[no-untyped-def]
            return dict(req.session)

    # -- handshake middleware: both forms ----------------------------------------------------

    def by_next(handshake, next):  # type: ignore[no-untyped-def]
        if "deny" in handshake.query:
            next(Exception("denied by next"))
            return
        handshake["user"] = handshake.query.get("user", "anonymous")
        next()

    async def by_raising(handshake):  # type: ignore[no-untyped-def]
        if handshake.auth.get("deny"):
            raise ConnectionRefusedError("denied by raise")

    io.use(by_next)
    io.use(by_raising)

    # -- lifecycle hooks ---------------------------------------------------------------------

    @io.route("connect")
    def on_connect(req):  # type: ignore[no-untyped-def]
        RECORDS["connect"].append((req.socket.id, req.data))
        req.io.join("lobby")

    @io.route("disconnect")
    async def on_disconnect(req):  # type: ignore[no-untyped-def]
        RECORDS["disconnect"].append((req.socket.id, req.data))

    # -- this client -------------------------------------------------------------------------

    @io.route("echo")
    def echo(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data)

    @io.route("echo_async")
    async def echo_async(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.data)

    @io.route("args")
    def all_args(req):  # type: ignore[no-untyped-def]
        req.io.respond(*req.args)

    @io.route("respond_twice")
    def respond_twice(req):  # type: ignore[no-untyped-def]
        req.io.respond("first")
        req.io.respond("second")

    @io.route("no_ack_respond")
    def respond_without_ack(req):  # type: ignore[no-untyped-def]
        req.io.respond("nobody asked")
        req.io.emit("after_respond", req.data)

    @io.route("emit_self")
    def emit_self(req):  # type: ignore[no-untyped-def]
        req.io.emit("to_self", req.data)
        req.io.emit("to_self_empty")
        req.io.respond("sent")

    @io.route("emit_callback")
    def emit_callback(req):  # type: ignore[no-untyped-def]
        req.io.emit("question", req.data, lambda *answer: req.io.emit("answer", list(answer)))

    @io.route("emit_with_ack")
    async def emit_with_ack(req):  # type: ignore[no-untyped-def]
        try:
            answer = await req.io.emit_with_ack("question", req.data, timeout=req.data["timeout"])
        except TimeoutError:
            req.io.respond({"timeout": True})
            return
        req.io.respond({"answer": list(answer) if isinstance(answer, tuple) else answer})

    @io.route("pending_acks")
    def pending_acks(req):  # type: ignore[no-untyped-def]
        req.io.respond(req.socket.pending_acks)

    @io.route("emit_with_ack_sync")
    def emit_with_ack_from_thread(req):  # type: ignore[no-untyped-def]
        answer = req.io.emit_with_ack("question", req.data, timeout=5).result(timeout=10)
        req.io.respond({"answer": answer})

    @io.route("whoami")
    def whoami(req):  # type: ignore[no-untyped-def]
        handshake = req.handshake
        req.io.respond(
            {
                "id": req.socket.id,
                "rooms": sorted(req.socket.rooms),
                "namespace": req.socket.namespace.name,
                "header": req.headers.get("X-Test-Header"),
                "header_lower": req.headers.get("x-test-header"),
                "address": handshake.address,
                "query_user": handshake.query.get("user"),
                "user": handshake["user"],
                "auth": handshake["auth"],
                "secure": handshake.secure,
                "issued": handshake.issued,
                "time": handshake.time.timestamp(),
                "url": handshake.url,
                "data": req.data,
                "thread": threading.current_thread() is not threading.main_thread(),
            }
        )

    @io.route("session")
    def session_route(req):  # type: ignore[no-untyped-def]
        session = req.session
        if session is None:
            req.io.respond(None)
            return
        if req.data:
            session.update(req.data)
        req.io.respond({"data": dict(session), "persistent": session.persistent})

    # -- rooms and broadcasts ----------------------------------------------------------------

    @io.route("join")
    def join(req):  # type: ignore[no-untyped-def]
        req.io.join(req.data)
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    @io.route("leave")
    def leave(req):  # type: ignore[no-untyped-def]
        req.io.leave(req.data)
        req.io.respond(sorted(req.socket.rooms - {req.socket.id}))

    @io.route("broadcast")
    def broadcast(req):  # type: ignore[no-untyped-def]
        req.io.broadcast("shout", req.data)
        io.broadcast("fence", "broadcast")  # everyone, sender included, after the shout
        req.io.respond("done")

    @io.route("room_broadcast")
    async def room_broadcast(req):  # type: ignore[no-untyped-def]
        req.io.room(req.data["room"]).broadcast("room_message", req.data["message"])
        io.broadcast("fence", "room_broadcast")
        req.io.respond("done")

    @io.route("app_broadcast")
    def app_broadcast(req):  # type: ignore[no-untyped-def]
        io.broadcast("everyone", req.data)
        req.io.respond("done")

    @io.route("app_room_broadcast")
    def app_room_broadcast(req):  # type: ignore[no-untyped-def]
        io.room(req.data["room"]).broadcast("app_room_message", req.data["message"])
        io.broadcast("fence", "app_room_broadcast")
        req.io.respond("done")

    # -- forwarding --------------------------------------------------------------------------

    @io.route("chain_a")
    async def chain_a(req):  # type: ignore[no-untyped-def]
        req.io.emit("step", "a")
        await req.io.route("chain_b")
        req.io.emit("step", "a after b")
        req.io.respond("chain done")

    @io.route("chain_b")
    def chain_b(req):  # type: ignore[no-untyped-def]
        req.io.emit("step", "b")
        req.io.route("chain_c").result(timeout=10)  # a def route waits from its thread

    @io.route("chain_c")
    async def chain_c(req):  # type: ignore[no-untyped-def]
        req.io.emit("step", f"c with {req.data}")

    @io.route("forward_unknown")
    def forward_unknown(req):  # type: ignore[no-untyped-def]
        req.io.route("no-such-route")

    @io.route("forward_to_failing")
    async def forward_to_failing(req):  # type: ignore[no-untyped-def]
        await req.io.route("boom")
        req.io.emit("after_failed_forward", "still running")

    @io.route("route_count")
    def route_count(req):  # type: ignore[no-untyped-def]
        req.io.respond(len(io.routes))

    io.route(
        "todo",
        {
            "create": lambda req: req.io.respond(["created", req.data]),
            "update": lambda req: req.io.respond(["updated", req.data]),
        },
    )

    # -- threads, failures, disconnects, per-client routes ---------------------------------

    @io.route("thread_emits")
    def thread_emits(req):  # type: ignore[no-untyped-def]
        for number in range(50):
            req.io.emit("number", number)
        req.io.respond(threading.current_thread().name)

    @io.route("background_thread")
    def background_thread(req):  # type: ignore[no-untyped-def]
        def work() -> None:
            for number in range(20):
                req.io.emit("background", number)
            req.io.emit("background_done")

        threading.Thread(target=work).start()

    @io.route("boom")
    def boom(req):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in a def route")

    @io.route("boom_async")
    async def boom_async(req):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in an async route")

    @io.route("bad_payload")
    def bad_payload(req):  # type: ignore[no-untyped-def]
        req.io.respond({1, 2, 3})  # a set: JSON cannot carry it

    @io.route("emit_reserved")
    def emit_reserved(req):  # type: ignore[no-untyped-def]
        refused = []
        for name in ("connect", "disconnect", "error", "message", "reconnect", "newListener"):
            try:
                req.io.emit(name, "x")
            except ValueError:
                refused.append(name)
        req.io.respond(refused)

    @io.route("disconnect_me")
    def disconnect_me(req):  # type: ignore[no-untyped-def]
        req.io.disconnect()

    @io.route("listen")
    def listen(req):  # type: ignore[no-untyped-def]
        req.io.on("private", lambda r: r.io.respond(f"private {r.data}"))
        req.io.respond("listening")

    # -- another namespace -------------------------------------------------------------------

    admin = io.of("/admin")

    def admin_only(handshake):  # type: ignore[no-untyped-def]
        if handshake.auth.get("token") != "secret":
            raise ConnectionRefusedError("admins only")

    admin.use(admin_only)

    @admin.route("connect")
    def admin_connect(req):  # type: ignore[no-untyped-def]
        RECORDS["admin_connect"].append((req.socket.id, req.data))

    @admin.route("whoami")
    def admin_whoami(req):  # type: ignore[no-untyped-def]
        req.io.respond({"namespace": req.socket.namespace.name, "rooms": sorted(req.socket.rooms)})

    @admin.route("broadcast")
    def admin_broadcast(req):  # type: ignore[no-untyped-def]
        admin.broadcast("admin_news", req.data)
        req.io.broadcast("admin_shout", req.data)
        req.io.respond("done")

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sessions", action="store_true")
    options = parser.parse_args()
    make_app(sessions=options.sessions).listen(options.port, log_level="warning")


if __name__ == "__main__":
    main()
