"""``expressio.route_forward()``: method + URL → ``resource:action`` realtime routes, ``:id`` in
``req.params``, and ``next()`` for everything it does not map."""

from __future__ import annotations

import httpx
import pytest

import expressio
from expressio.http.route_forward import RouteForward


@pytest.mark.parametrize(
    ("method", "path", "action", "item"),
    [
        ("GET", "/api/users", "list", None),
        ("GET", "/api/users/", "list", None),
        ("GET", "/api/users/1", "read", "1"),
        ("POST", "/api/users", "create", None),
        ("PUT", "/api/users/1", "update", "1"),
        ("PATCH", "/api/users/1", "update", "1"),
        ("DELETE", "/api/users/7", "delete", "7"),
        ("GET", "/rails/users", "index", None),
        ("GET", "/rails/users/3", "show", "3"),
        ("DELETE", "/rails/users/3", "destroy", "3"),
        ("GET", "/custom/users", "search", None),
    ],
)
async def test_rest_requests_reach_resource_action_routes(
    http: httpx.AsyncClient, method: str, path: str, action: str, item: str | None
) -> None:
    response = await http.request(method, path)
    assert response.status_code == 200
    assert response.json()["action"] == action
    assert response.json()["id"] == item


async def test_the_body_or_query_is_the_data(http: httpx.AsyncClient) -> None:
    created = (await http.post("/api/users", json={"name": "grace"})).json()
    assert created == {"action": "create", "id": None, "data": {"name": "grace"}}
    listed = (await http.get("/api/users?page=2")).json()
    assert listed["data"] == {"page": "2"}


async def test_an_id_with_url_escapes_arrives_decoded(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/users/a%20b")).json()["id"] == "a b"


async def test_head_is_mapped_as_get(http: httpx.AsyncClient) -> None:
    response = await http.head("/api/users/1")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users/1/friends"),  # deeper than resource/id
        ("POST", "/api/users/1"),  # no action for POST with an id
        ("PUT", "/api/users"),  # no action for PUT without one
        ("OPTIONS", "/api/users"),
        ("GET", "/api/cats"),  # a resource with no such route
        ("GET", "/api/cats/1"),
        ("GET", "/api"),
        ("DELETE", "/custom/users/1"),  # the custom config maps only search
    ],
)
async def test_unmapped_urls_pass_on_with_next(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path)
    if path.startswith("/api/"):
        assert response.status_code == 200
        assert response.json() == {"passed_on": path}
    else:
        assert response.status_code == 404
        assert response.text == f"Cannot {method} {path}"


def test_the_mapping_tables() -> None:
    backbone = expressio.route_forward("backbone")
    assert backbone.action_for("GET", "/users") == ("users:read", None)
    assert backbone.action_for("GET", "/users/9") == ("users:read", "9")
    assert backbone.action_for("PATCH", "/users/9") == ("users:update", "9")
    assert backbone.action_for("POST", "/users/9") is None
    assert backbone.action_for("GET", "//users") is None
    explicit_patch = expressio.route_forward({"update": ("PUT", True), "patch": ("PATCH", True)})
    assert explicit_patch.action_for("PATCH", "/x/1") == ("x:patch", "1")
    assert isinstance(backbone, RouteForward)


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"no route_forward config 'ember'.*angular"):
        expressio.route_forward("ember")
    with pytest.raises(TypeError, match=r"must be \(method, has_id\)"):
        expressio.route_forward({"list": "GET"})  # type: ignore[dict-item]


async def test_without_app_io_it_says_to_call_it() -> None:
    app = expressio.express()
    app.use(expressio.route_forward())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/users")
    assert response.status_code == 500
    assert "call app.io() first" in response.text


async def test_a_namespace_option_uses_that_namespace_routes() -> None:
    app = expressio.express()
    app.io()
    app.io.of("/shop").route("items:list", lambda req: req.io.respond(req.io.namespace.name))
    app.use("/shop", expressio.route_forward(namespace="/shop"))
    app.use("/root", expressio.route_forward())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/shop/items")).json() == "/shop"
        assert (await c.get("/root/items")).status_code == 404
