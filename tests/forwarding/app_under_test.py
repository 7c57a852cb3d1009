"""The app the forwarding tests serve: realtime routes used from HTTP handlers, route_forward
mounts, and a few socket-side routes to put clients in rooms."""

from __future__ import annotations

import threading
from typing import Any

import expressio

RECORDS: dict[str, Any] = {}
RELEASE = threading.Event()  # lets the "respond_then_work" route finish
HOLD_LIMIT = 10.0  # seconds that route waits at most for RELEASE


def make_app() -> expressio.Application:
    app = expressio.express()
    app.http().io()
    app.use(expressio.session(secret="forwarding tests", save_uninitialized=True))
    app.use("/parsed", expressio.json(), expressio.urlencoded())
    users: dict[str, dict[str, Any]] = {"1": {"id": "1", "name": "ada"}}

    # -- realtime routes -------------------------------------------------------------------

    @app.io.route("echo")
    def echo(req: Any) -> None:
        req.io.respond(
            {
                "data": req.data,
                "params": dict(req.params),
                "query": req.query,
                "header": req.headers.get("x-test"),
                "nick": req.session.get("nick"),
                "method": req.method,
                "socket": req.socket,
                "event": req.event,
            }
        )

    @app.io.route("two_args")
    async def two_args(req: Any) -> None:
        req.io.respond("a", 2, {"c": 3})

    @app.io.route("respond_nothing")
    def respond_nothing(req: Any) -> None:
        req.io.respond()

    @app.io.route("quiet")
    async def quiet(req: Any) -> None:
        RECORDS["quiet_ran"] = True

    @app.io.route("quiet_sync")
    def quiet_sync(req: Any) -> None:
        RECORDS["quiet_sync_ran"] = True

    @app.io.route("boom")
    def boom(req: Any) -> None:
        raise RuntimeError("this route fails on purpose")

    @app.io.route("announce")
    def announce(req: Any) -> None:
        req.io.broadcast("news", req.data)

    @app.io.route("to_room")
    async def to_room(req: Any) -> None:
        req.io.room(req.data["room"]).broadcast("room_news", req.data["text"])

    @app.io.route("join_room")
    def join_room(req: Any) -> None:
        req.io.join(req.data)
        req.io.respond(sorted(req.socket.rooms))

    @app.io.route("socket_only")
    def socket_only(req: Any) -> None:
        errors = {}
        attempts = {
            "emit": lambda: req.io.emit("x", 1),
            "emit_with_ack": lambda: req.io.emit_with_ack("x", 1),
            "join": lambda: req.io.join("r"),
            "leave": lambda: req.io.leave("r"),
            "disconnect": lambda: req.io.disconnect(),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
            except expressio.NoSocketError as error:
                errors[name] = str(error)
        req.io.respond(errors)

    @app.io.route("first")
    async def first(req: Any) -> None:
        req.mark = "set by first"
        await req.io.route("second")

    @app.io.route("second")
    def second(req: Any) -> None:
        req.io.respond({"from": "second", "mark": req.mark})

    @app.io.route("forward_unknown")
    async def forward_unknown(req: Any) -> None:
        await req.io.route("no_such_route")

    @app.io.route("set_nick")
    def set_nick(req: Any) -> None:
        req.session["nick"] = req.data["nick"]

    @app.io.route("respond_then_work")
    def respond_then_work(req: Any) -> None:
        RECORDS["late_done"] = False
        req.io.respond("early")
        RELEASE.wait(HOLD_LIMIT)
        req.session["late"] = "saved after the response"
        RECORDS["late_done"] = True

    @app.io.route("unserialisable")
    def unserialisable(req: Any) -> None:
        req.io.respond({"a set is not JSON": object()})

    app.io.of("/admin").route("ping", lambda req: req.io.respond({"ns": req.io.namespace.name}))

    def route_action(action: str) -> Any:
        def handler(req: Any) -> None:
            item = req.params.get("id")
            if action == "create":
                users[str(len(users) + 1)] = {"id": str(len(users) + 1), **req.data}
            req.io.respond({"action": action, "id": item, "data": req.data})

        return handler

    app.io.route(
        "users",
        {
            action: route_action(action)
            for action in ("list", "read", "create", "update", "delete", "index", "show",
                           "destroy", "search")
        },
    )  # fmt: skip

    # -- HTTP handlers ---------------------------------------------------------------------

    @app.all("/fw/:route")
    async def forward_async(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])  # not awaited: the route answers

    @app.all("/fw/:route/:id")
    async def forward_async_with_id(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])

    @app.all("/parsed/fw/:route")
    async def forward_parsed(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])

    @app.all("/fw-def/:route")
    def forward_def(req: Any, res: Any) -> None:
        req.io.route(req.params["route"])

    @app.get("/fw-await/:route")
    async def forward_await(req: Any, res: Any) -> None:
        await req.io.route(req.params["route"])
        RECORDS["awaited_after_route"] = RECORDS.get("quiet_ran", False)

    @app.get("/fw-def-wait/:route")
    def forward_def_wait(req: Any, res: Any) -> None:
        req.io.route(req.params["route"]).result(10)
        RECORDS["def_waited_after_route"] = RECORDS.get("quiet_sync_ran", False)

    @app.get("/with-header")
    def with_header(req: Any, res: Any) -> None:
        res.set("X-Kept", "yes")
        req.io.route("two_args")

    @app.get("/direct-respond")
    def direct_respond(req: Any, res: Any) -> None:
        req.io.respond({"direct": True})

    @app.get("/direct-respond-many")
    async def direct_respond_many(req: Any, res: Any) -> None:
        req.io.respond(1, "two")

    @app.get("/answered-then-forward")
    def answered_then_forward(req: Any, res: Any) -> None:
        res.send("the handler answered")
        req.io.route("announce")

    @app.get("/broadcast-from-handler")
    def broadcast_from_handler(req: Any, res: Any) -> None:
        req.io.broadcast("news", {"from": "handler"})
        req.io.room("lobby").broadcast("room_news", "handler to lobby")
        res.send("ok")

    @app.get("/emit-from-handler")
    async def emit_from_handler(req: Any, res: Any) -> Any:
        try:
            req.io.emit("x", 1)
        except expressio.NoSocketError as error:
            return {"error": str(error), "type": type(error).__name__}
        return {"error": None}

    @app.get("/admin-ping")
    def admin_ping(req: Any, res: Any) -> None:
        req.io.of("/admin").route("ping")

    @app.get("/table-size")
    def table_size(req: Any, res: Any) -> Any:
        return {"routes": len(app.io.routes), "admin": len(app.io.of("/admin").routes)}

    @app.get("/session")
    def session(req: Any, res: Any) -> Any:
        return dict(req.session)

    app.use("/api", expressio.route_forward())
    app.use("/rails", expressio.route_forward("rails"))
    app.use("/custom", expressio.route_forward({"search": ("GET", False)}))

    @app.all("/api/*")
    def after_api(req: Any, res: Any) -> Any:
        return {"passed_on": req.path}

    return app
