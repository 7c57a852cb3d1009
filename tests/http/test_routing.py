"""Express routing: methods, path patterns, handler chains, middleware, mounting, routers."""

from __future__ import annotations

import asyncio
import re

import pytest

import expressio
from expressio.http.pathpattern import PathPattern

from .conftest import OpenClient

# -- path patterns (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "params"),
    [
        ("/users/:id", "/users/5", {"id": "5"}),
        ("/users/:id", "/users/5/", {"id": "5"}),
        ("/users/:id", "/USERS/5", {"id": "5"}),
        ("/users/:id?", "/users", {}),
        ("/users/:id?", "/users/7", {"id": "7"}),
        ("/ab?cd", "/acd", {}),
        ("/ab?cd", "/abcd", {}),
        ("/ab+cd", "/abbbcd", {}),
        ("/files/*", "/files/a/b.txt", {"0": "a/b.txt"}),
        ("/n/:id(\\d+)", "/n/12", {"id": "12"}),
        ("/:from-:to", "/a-b", {"from": "a", "to": "b"}),
        ("/hello", "/hello", {}),
    ],
)
def test_path_patterns_match_like_express(pattern: str, path: str, params: dict[str, str]) -> None:
    found = PathPattern(pattern).match(path)
    assert found is not None
    assert dict(found[0]) == params


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/users/:id", "/users"),
        ("/users/:id", "/users/5/6"),
        ("/n/:id(\\d+)", "/n/ab"),
        ("/a.b", "/aXb"),
        ("/ab?cd", "/abbcd"),
        ("/hello", "/hello/x"),
    ],
)
def test_path_patterns_reject(pattern: str, path: str) -> None:
    assert PathPattern(pattern).match(path) is None


def test_compiled_regex_is_searched_and_groups_become_params() -> None:
    assert PathPattern(re.compile(r"fly$")).match("/butterfly") is not None
    found = PathPattern(re.compile(r"^/post/(?P<slug>\w+)/(\d+)$")).match("/post/intro/3")
    assert found is not None
    assert found[0]["slug"] == "intro"
    assert found[0][1] == "3"


def test_mount_prefix_matches_whole_segments_only() -> None:
    mount = PathPattern("/static", end=False)
    assert mount.match("/static/x") == ({}, 7)
    assert mount.match("/static") == ({}, 7)
    assert mount.match("/staticx") is None


def test_strict_and_case_sensitive_options() -> None:
    assert PathPattern("/Hello", case_sensitive=True).match("/hello") is None
    assert PathPattern("/hello", strict=True).match("/hello/") is None


# -- routes over HTTP --------------------------------------------------------------------------


async def test_every_method_helper_routes_its_method(connect: OpenClient) -> None:
    app = expressio.express()

    def answer_with(name: str):
        return lambda req, res: res.send(name)

    for method in ("get", "post", "put", "patch", "delete"):
        getattr(app, method)("/thing", answer_with(method))
    async with connect(app) as client:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            response = await client.request(method, "/thing")
            assert response.status_code == 200
            assert response.text == method.lower()
        assert (await client.request("OPTIONS", "/thing")).status_code == 404


async def test_all_matches_any_method(connect: OpenClient) -> None:
    app = expressio.express()
    app.all("/any", lambda req, res: res.send(req.method))
    async with connect(app) as client:
        assert (await client.put("/any")).text == "PUT"
        assert (await client.delete("/any")).text == "DELETE"


async def test_call_and_decorator_forms(connect: OpenClient) -> None:
    app = expressio.express()

    def by_call(req, res):
        res.send("call")

    assert app.get("/call", by_call) is app

    @app.post("/decorated")
    async def decorated(req, res):
        res.send("decorator")

    assert callable(decorated) and decorated.__name__ == "decorated"
    async with connect(app) as client:
        assert (await client.get("/call")).text == "call"
        assert (await client.post("/decorated")).text == "decorator"


async def test_params_from_named_optional_wildcard_and_regex_routes(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/users/:id", lambda req: {"id": req.params["id"]})
    app.get("/posts/:year/:slug?", lambda req: dict(req.params))
    app.get("/files/*", lambda req: {"rest": req.params[0]})
    app.get(re.compile(r"^/items/(\d+)$"), lambda req: {"n": req.params[0]})
    async with connect(app) as client:
        assert (await client.get("/users/42")).json() == {"id": "42"}
        assert (await client.get("/posts/2024")).json() == {"year": "2024"}
        assert (await client.get("/posts/2024/hi")).json() == {"year": "2024", "slug": "hi"}
        assert (await client.get("/files/a/b/c.txt")).json() == {"rest": "a/b/c.txt"}
        assert (await client.get("/items/7")).json() == {"n": "7"}
        assert (await client.get("/items/x")).status_code == 404
        # Parameters arrive percent-decoded.
        assert (await client.get("/users/a%20b")).json() == {"id": "a b"}


async def test_handlers_chain_with_next(connect: OpenClient) -> None:
    app = expressio.express()
    seen: list[str] = []

    def first(req, res, next):
        seen.append("first")
        req.trail = ["first"]
        next()

    async def second(req, res, next):
        await asyncio.sleep(0)
        req.trail.append("second")
        next()

    def third(req, res):
        req.trail.append("third")
        res.json(req.trail)

    app.get("/chain", first, second, third)
    async with connect(app) as client:
        assert (await client.get("/chain")).json() == ["first", "second", "third"]


async def test_next_route_skips_the_rest_of_the_route(connect: OpenClient) -> None:
    app = expressio.express()

    def maybe_skip(req, res, next):
        next("route" if req.query.get("skip") else None)

    app.get("/r", maybe_skip, lambda req, res: res.send("same route"))
    app.get("/r", lambda req, res: res.send("next route"))
    async with connect(app) as client:
        assert (await client.get("/r")).text == "same route"
        assert (await client.get("/r?skip=1")).text == "next route"


async def test_route_chaining_per_method(connect: OpenClient) -> None:
    app = expressio.express()
    app.route("/book").get(lambda req, res: res.send("read")).post(
        lambda req, res: res.send("write")
    )
    async with connect(app) as client:
        assert (await client.get("/book")).text == "read"
        assert (await client.post("/book")).text == "write"


async def test_head_is_answered_by_get_routes_without_a_body(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/page", lambda req, res: res.send("twelve bytes"))
    async with connect(app) as client:
        response = await client.head("/page")
        assert response.status_code == 200
        assert response.headers["content-length"] == "12"
        assert response.content == b""


# -- middleware --------------------------------------------------------------------------------


async def test_middleware_runs_in_order_for_every_request(connect: OpenClient) -> None:
    app = expressio.express()

    @app.use
    def stamp(req, res, next):
        req.stamps = ["sync"]
        next()

    async def async_stamp(req, res, next):
        req.stamps.append("async")
        next()

    assert app.use(async_stamp) is async_stamp
    app.get("/", lambda req: req.stamps)
    async with connect(app) as client:
        assert (await client.get("/")).json() == ["sync", "async"]


async def test_middleware_under_a_path_sees_the_path_stripped(connect: OpenClient) -> None:
    app = expressio.express()

    def report(req, res):
        return {"path": req.path, "url": req.url, "base": req.base_url, "orig": req.original_url}

    app.use("/api", report)
    app.get("/apixyz", lambda req, res: res.send("not mounted"))
    async with connect(app) as client:
        body = (await client.get("/api/users/1?x=2")).json()
        assert body == {
            "path": "/users/1",
            "url": "/users/1?x=2",
            "base": "/api",
            "orig": "/api/users/1?x=2",
        }
        assert (await client.get("/api")).json()["path"] == "/"
        assert (await client.get("/apixyz")).text == "not mounted"


async def test_error_middleware_receives_the_error_first(connect: OpenClient) -> None:
    app = expressio.express()

    def fails(req, res):
        raise LookupError("no such thing")

    def passes_error(req, res, next):
        next(PermissionError("denied"))

    def never_runs_for_errors(req, res, next):
        res.send("wrong: a plain middleware ran while an error was pending")

    def error_handler(err, req, res, next):
        res.status(418).json({"type": type(err).__name__, "message": str(err)})

    app.get("/raise", fails)
    app.get("/next", passes_error)
    app.use(never_runs_for_errors)
    app.use(error_handler)
    async with connect(app) as client:
        response = await client.get("/raise")
        assert response.status_code == 418
        assert response.json() == {"type": "LookupError", "message": "no such thing"}
        assert (await client.get("/next")).json()["type"] == "PermissionError"


async def test_error_handler_can_recover_and_pass_on(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/x", lambda req: 1 / 0)

    def recover(err, req, res, next):
        req.recovered = type(err).__name__
        next()

    app.use(recover)
    app.use(lambda req, res: res.send(f"recovered from {req.recovered}"))
    async with connect(app) as client:
        assert (await client.get("/x")).text == "recovered from ZeroDivisionError"


# -- routers -----------------------------------------------------------------------------------


async def test_router_mounted_under_a_prefix(connect: OpenClient) -> None:
    app = expressio.express()
    users = expressio.Router()

    @users.use
    def tag(req, res, next):
        req.via_router = True
        next()

    @users.get("/")
    def listing(req, res):
        return {"all": True, "base": req.base_url, "path": req.path}

    @users.get("/:id")
    async def one(req, res):
        return {"id": req.params["id"], "via": req.via_router, "orig": req.original_url}

    app.use("/users", users)
    app.get("/after", lambda req: {"via": getattr(req, "via_router", False), "path": req.path})
    async with connect(app) as client:
        assert (await client.get("/users")).json() == {"all": True, "base": "/users", "path": "/"}
        assert (await client.get("/users/9")).json() == {
            "id": "9",
            "via": True,
            "orig": "/users/9",
        }
        # Outside the mount nothing of the router applies and the path is whole again.
        assert (await client.get("/after")).json() == {"via": False, "path": "/after"}


async def test_nested_routers_and_merge_params(connect: OpenClient) -> None:
    app = expressio.express()
    outer = expressio.Router()
    inner = expressio.Router(merge_params=True)
    inner.get("/:item", lambda req: dict(req.params))
    outer.use("/lists/:list", inner)
    app.use("/v1", outer)
    async with connect(app) as client:
        assert (await client.get("/v1/lists/l1/i2")).json() == {"list": "l1", "item": "i2"}


async def test_next_router_leaves_the_router(connect: OpenClient) -> None:
    app = expressio.express()
    gate = expressio.Router()
    gate.use(lambda req, res, next: next("router"))
    gate.get("/", lambda req, res: res.send("inside"))
    app.use("/gated", gate)
    app.get("/gated", lambda req, res: res.send("outside"))
    async with connect(app) as client:
        assert (await client.get("/gated")).text == "outside"


async def test_sub_app_mounted_uses_its_own_settings(connect: OpenClient) -> None:
    app = expressio.express()
    admin = expressio.express()
    admin.set("title", "admin")
    app.set("title", "main")
    admin.get("/", lambda req: {"title": req.app.get("title"), "base": req.base_url})
    app.use("/admin", admin)
    app.get("/", lambda req: {"title": req.app.get("title")})
    async with connect(app) as client:
        assert (await client.get("/admin")).json() == {"title": "admin", "base": "/admin"}
        assert (await client.get("/")).json() == {"title": "main"}
