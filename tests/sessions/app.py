"""The app the HTTP session tests run: routes that read, change and manage `req.session`."""

from __future__ import annotations

from typing import Any

import expressio
from expressio import session
from expressio.sessions import MAX_SESSION_BYTES


def make_app(secret: str = "monkey", **session_options: Any) -> expressio.Application:
    app = expressio.express()
    app.use(expressio.json())
    middleware = session(secret, **session_options)
    app.use(middleware)

    @app.get("/whoami")
    async def whoami(req, res):  # type: ignore[no-untyped-def]
        return {"id": req.session.id, "data": dict(req.session)}

    @app.post("/set")
    async def set_values(req, res):  # type: ignore[no-untyped-def]
        req.session.update(req.body)
        return {"id": req.session.id}

    @app.get("/cart/add")
    async def add_to_cart(req, res):  # type: ignore[no-untyped-def]
        # A nested change: no reassignment, no `modified = True`.
        req.session.setdefault("cart", {"items": []})["items"].append(req.query["item"])
        return {"id": req.session.id}

    @app.post("/login")
    async def login(req, res):  # type: ignore[no-untyped-def]
        old_id = req.session.id
        req.session.regenerate()
        req.session["user"] = req.body["user"]
        return {"old": old_id, "new": req.session.id}

    @app.post("/logout")
    async def logout(req, res):  # type: ignore[no-untyped-def]
        await req.session.destroy()
        return {"id": req.session.id}

    @app.get("/thread")
    def in_a_worker_thread(req, res):  # type: ignore[no-untyped-def]
        req.session["thread"] = True
        req.session.save().result(timeout=5)  # waits for the store from the worker thread
        return {"id": req.session.id}

    @app.get("/bad")
    async def not_json(req, res):  # type: ignore[no-untyped-def]
        req.session["tags"] = {"a", "b"}
        return "should not arrive"

    @app.get("/huge")
    async def huge(req, res):  # type: ignore[no-untyped-def]
        req.session["blob"] = "x" * MAX_SESSION_BYTES
        return "should not arrive"

    @app.get("/manager")
    async def manager(req, res):  # type: ignore[no-untyped-def]
        return {"published": app.session_manager is middleware.manager}  # type: ignore[attr-defined]

    return app
