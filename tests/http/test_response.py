"""Every ``res`` member of API.md, returned values, and the on_headers hooks."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse

import expressio

from .conftest import OpenClient, asgi_client, http_client


async def test_status_is_chainable_and_set_get_headers(connect: OpenClient) -> None:
    app = expressio.express()

    def handler(req, res):
        res.status(201).set("X-One", "1").set({"X-Two": "2"})
        res.append("X-Two", "3")
        res.json({"one": res.get("x-one"), "two": res.get("X-TWO"), "none": res.get("x-none")})

    app.post("/", handler)
    async with connect(app) as client:
        response = await client.post("/")
    assert response.status_code == 201
    assert response.headers["x-one"] == "1"
    assert response.headers.get_list("x-two") == ["2", "3"]
    assert response.json() == {"one": "1", "two": ["2", "3"], "none": None}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("json", "application/json; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
        ("text", "text/plain; charset=utf-8"),
        (".png", "image/png"),
        ("application/x-custom", "application/x-custom"),
    ],
)
async def test_type(given: str, expected: str) -> None:
    app = expressio.express()
    app.get("/", lambda req, res: res.type(given).send("x"))
    async with asgi_client(app) as client:
        assert (await client.get("/")).headers["content-type"] == expected


async def test_send_by_body_type(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/str", lambda req, res: res.send("<b>hi</b>"))
    app.get("/bytes", lambda req, res: res.send(b"\x00\x01"))
    app.get("/dict", lambda req, res: res.send({"a": 1}))
    app.get("/list", lambda req, res: res.send([1, "two"]))
    app.get("/none", lambda req, res: res.send())
    app.get("/starlette", lambda req, res: res.set("X-Kept", "yes").send(PlainTextResponse("p")))
    async with connect(app) as client:
        html = await client.get("/str")
        assert (html.text, html.headers["content-type"]) == (
            "<b>hi</b>",
            "text/html; charset=utf-8",
        )
        binary = await client.get("/bytes")
        assert binary.content == b"\x00\x01"
        assert binary.headers["content-type"] == "application/octet-stream"
        assert (await client.get("/dict")).json() == {"a": 1}
        assert (await client.get("/list")).json() == [1, "two"]
        empty = await client.get("/none")
        assert (empty.status_code, empty.content) == (200, b"")
        wrapped = await client.get("/starlette")
        assert (wrapped.text, wrapped.headers["x-kept"]) == ("p", "yes")


async def test_json_uses_orjson_and_converts_sets_and_mappings(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/", lambda req, res: res.json({"set": {1}, "headers": req.headers, "n": None}))
    async with connect(app) as client:
        body = (await client.get("/", headers={"X-A": "b"})).json()
    assert body["set"] == [1]
    assert body["headers"]["x-a"] == "b"
    assert body["n"] is None


async def test_returned_values(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/str", lambda req: "<p>html</p>")
    app.get("/dict", lambda req: {"k": "v"})
    app.get("/list", lambda req: [1, 2])
    app.get("/bytes", lambda req: b"raw")
    app.get("/response", lambda req: PlainTextResponse("obj", status_code=202))
    app.get("/tuple", lambda req: ({"created": True}, 201, {"X-Id": "5"}))

    @app.get("/async")
    async def returned_async(req):
        await asyncio.sleep(0)
        return {"async": True}

    async with connect(app) as client:
        response = await client.get("/str")
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == "<p>html</p>"
        assert (await client.get("/dict")).json() == {"k": "v"}
        assert (await client.get("/list")).json() == [1, 2]
        assert (await client.get("/bytes")).content == b"raw"
        obj = await client.get("/response")
        assert (obj.status_code, obj.text) == (202, "obj")
        created = await client.get("/tuple")
        assert (created.status_code, created.headers["x-id"]) == (201, "5")
        assert (await client.get("/async")).json() == {"async": True}


async def test_end_and_send_status(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/end", lambda req, res: res.status(204).end())
    app.get("/end-data", lambda req, res: res.end("data"))
    app.get("/status", lambda req, res: res.send_status(403))
    async with connect(app) as client:
        assert (await client.get("/end")).status_code == 204
        data = await client.get("/end-data")
        assert data.text == "data"
        assert "content-type" not in data.headers
        forbidden = await client.get("/status")
        assert (forbidden.status_code, forbidden.text) == (403, "Forbidden")


async def test_redirect(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/old", lambda req, res: res.redirect("/new place"))
    app.get("/moved", lambda req, res: res.redirect(301, "/new"))
    app.get("/back", lambda req, res: res.redirect("back"))
    async with connect(app) as client:
        found = await client.get("/old")
        assert (found.status_code, found.headers["location"]) == (302, "/new%20place")
        assert "Redirecting to /new%20place" in found.text
        moved = await client.get("/moved")
        assert (moved.status_code, moved.headers["location"]) == (301, "/new")
        back = await client.get("/back", headers={"Referer": "/from"})
        assert back.headers["location"] == "/from"
        assert (await client.get("/back")).headers["location"] == "/"


# -- files -------------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "page.html").write_text("<h1>page</h1>")
    (tmp_path / "public" / "data.txt").write_text("0123456789")
    (tmp_path / "secret.txt").write_text("secret")
    return tmp_path


async def test_send_file_and_sendfile_alias(
    connect: OpenClient, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(site)
    app = expressio.express()
    app.get("/abs", lambda req, res: res.send_file(site / "public" / "page.html"))
    app.get("/rel", lambda req, res: res.sendfile("public/data.txt"))
    app.get("/rooted/:name", lambda req, res: res.send_file(req.params["name"], root="public"))
    app.get("/escape", lambda req, res: res.send_file("../secret.txt", root="public"))
    app.get("/missing", lambda req, res: res.send_file("nope.txt"))
    async with connect(app) as client:
        page = await client.get("/abs")
        assert (page.text, page.headers["content-type"]) == (
            "<h1>page</h1>",
            "text/html; charset=utf-8",
        )
        assert (await client.get("/rel")).text == "0123456789"
        ranged = await client.get("/rel", headers={"Range": "bytes=2-4"})
        assert (ranged.status_code, ranged.text) == (206, "234")
        assert (await client.get("/rooted/data.txt")).text == "0123456789"
        assert (await client.get("/escape")).status_code == 403
        assert (await client.get("/missing")).status_code == 404


async def test_send_file_beside_the_app_module(site: Path) -> None:
    app = expressio.Application(root=site)
    app.get("/", lambda req, res: res.send_file("secret.txt"))
    async with asgi_client(app) as client:
        assert (await client.get("/")).text == "secret"


async def test_download(connect: OpenClient, site: Path) -> None:
    app = expressio.express()
    app.get("/dl", lambda req, res: res.download(site / "public" / "data.txt"))
    app.get("/named", lambda req, res: res.download(site / "public" / "data.txt", "report.txt"))
    async with connect(app) as client:
        plain = await client.get("/dl")
        assert plain.text == "0123456789"
        assert plain.headers["content-disposition"].startswith("attachment")
        assert 'filename="data.txt"' in plain.headers["content-disposition"]
        named = await client.get("/named")
        assert 'filename="report.txt"' in named.headers["content-disposition"]


# -- views -------------------------------------------------------------------------------------


async def test_render_with_views_setting_and_locals(connect: OpenClient, tmp_path: Path) -> None:
    views = tmp_path / "templates"
    views.mkdir()
    (views / "page.html").write_text("{{ site }}|{{ user }}|{{ title }}|{{ html }}")
    app = expressio.express()
    app.set("views", views)
    app.set("view engine", "html")
    app.locals["site"] = "expressio"

    def page(req, res):
        res.locals["user"] = "ann"
        res.render("page", {"title": "Home", "html": "<script>"})

    app.get("/", page)
    async with connect(app) as client:
        response = await client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "expressio|ann|Home|&lt;script&gt;"


async def test_render_default_views_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "hello.html").write_text("Hello {{ name }}")
    monkeypatch.chdir(tmp_path)
    app = expressio.express()
    app.get("/", lambda req, res: res.render("hello.html", {"name": "cwd"}))
    beside = expressio.Application(root=tmp_path)
    beside.get("/", lambda req, res: res.render("hello.html", {"name": "module"}))
    async with asgi_client(app) as client:
        assert (await client.get("/")).text == "Hello cwd"
    monkeypatch.chdir(tmp_path.parent)
    async with asgi_client(beside) as client:
        assert (await client.get("/")).text == "Hello module"


# -- cookies -----------------------------------------------------------------------------------


async def test_cookie_options_and_clear_cookie(connect: OpenClient) -> None:
    app = expressio.express()

    def setter(req, res):
        res.cookie("a", "1", max_age=60, httponly=True, secure=True, samesite="lax")
        res.cookie("b", "2", path="/admin", domain="example.org")
        res.end()

    app.get("/set", setter)
    app.get("/clear", lambda req, res: res.clear_cookie("a").end())
    async with connect(app) as client:
        lines = (await client.get("/set")).headers.get_list("set-cookie")
        cleared = (await client.get("/clear")).headers["set-cookie"]
    first = next(line for line in lines if line.startswith("a="))
    assert "Max-Age=60" in first and "Expires=" in first
    assert "HttpOnly" in first and "Secure" in first and "SameSite=Lax" in first
    assert "Path=/" in first
    second = next(line for line in lines if line.startswith("b="))
    assert "Path=/admin" in second and "Domain=example.org" in second
    assert cleared.startswith("a=;") and "1970" in cleared


# -- hooks and life cycle ----------------------------------------------------------------------


async def test_on_headers_hooks_run_before_sending(connect: OpenClient) -> None:
    app = expressio.express()
    order: list[str] = []

    def hooks(req, res, next):
        def sync_hook():
            order.append("sync")
            res.set("X-Sync", "1")

        async def async_hook():
            await asyncio.sleep(0)
            order.append("async")
            res.cookie("late", "cookie")

        res.on_headers(sync_hook)
        res.on_headers(async_hook)
        next()

    app.use(hooks)
    app.get("/", lambda req, res: res.send("body"))
    app.get("/file", lambda req, res: res.send(PlainTextResponse("object")))
    async with connect(app) as client:
        response = await client.get("/")
        assert response.headers["x-sync"] == "1"
        assert "late=cookie" in response.headers["set-cookie"]
        other = await client.get("/file")
        assert other.headers["x-sync"] == "1" and other.text == "object"
    assert order == ["sync", "async", "sync", "async"]


async def test_failing_hook_turns_the_response_into_an_error(connect: OpenClient) -> None:
    app = expressio.express()

    def hook_fails(req, res, next):
        def hook():
            raise expressio.HTTPError(503, "store unavailable")

        res.on_headers(hook)
        next()

    app.use(hook_fails)
    app.get("/", lambda req, res: res.send("fine"))
    async with connect(app) as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (503, "store unavailable")


async def test_headers_sent_and_locals(connect: OpenClient) -> None:
    app = expressio.express()
    seen: dict[str, object] = {}

    @app.get("/")
    async def handler(req, res):
        res.locals["a"] = 1
        seen["before"] = res.headers_sent
        res.send("x")
        await asyncio.sleep(0.05)  # the loop transmits while the handler still runs
        seen["after"] = res.headers_sent
        seen["locals"] = dict(res.locals)

    async with connect(app) as client:
        assert (await client.get("/")).text == "x"
    assert seen == {"before": False, "after": True, "locals": {"a": 1}}


async def test_send_from_a_thread_goes_out_before_the_handler_returns() -> None:
    # Real HTTP only: httpx's ASGI transport hands over the response when the app returns.
    app = expressio.express()
    gate = threading.Event()
    outcome: dict[str, bool] = {}

    def slow_after_sending(req, res):
        res.send("early")
        # Waits for the client to have the response: only possible if it was sent already.
        outcome["released"] = gate.wait(timeout=10)

    app.get("/", slow_after_sending)
    async with http_client(app) as client:
        request = asyncio.ensure_future(client.get("/"))
        response = await asyncio.wait_for(asyncio.shield(request), timeout=10)
        gate.set()
    assert response.text == "early"
    assert outcome == {"released": True}


async def test_changing_a_sent_response_raises() -> None:
    app = expressio.express()
    errors: list[str] = []

    def twice(req, res):
        res.send("once")
        try:
            res.send("twice")
        except RuntimeError as exc:
            errors.append(str(exc))

    app.get("/", twice)
    async with asgi_client(app) as client:
        assert (await client.get("/")).text == "once"
    assert errors and "already sent" in errors[0]
