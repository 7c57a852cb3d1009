"""Every ``req`` member of API.md, plus the body parsers and trusted proxies."""

from __future__ import annotations

import httpx
import pytest

import expressio

from .conftest import OpenClient, asgi_client


def describe(req):
    """The request as JSON, for the assertions below."""
    return {
        "method": req.method,
        "path": req.path,
        "url": req.url,
        "query": req.query,
        "params": dict(req.params),
        "ip": req.ip,
        "hostname": req.hostname,
        "protocol": req.protocol,
        "secure": req.secure,
        "xhr": req.xhr,
        "session": req.session,
        "io": req.io,
        "agent": req.get("user-agent"),
        "header": req.headers.get("x-custom"),
        "referrer": req.get("Referrer"),
    }


async def test_basic_members(connect: OpenClient) -> None:
    app = expressio.express()
    app.all("/things/:id", describe)
    async with connect(app) as client:
        response = await client.put(
            "/things/7?tag=a&tag=b&one=1",
            headers={
                "User-Agent": "tester/1",
                "X-Custom": "yes",
                "Referer": "http://example.test/",
                "X-Requested-With": "XMLHttpRequest",
            },
        )
    body = response.json()
    assert body["method"] == "PUT"
    assert body["path"] == "/things/7"
    assert body["url"] == "/things/7?tag=a&tag=b&one=1"
    assert body["query"] == {"tag": ["a", "b"], "one": "1"}
    assert body["params"] == {"id": "7"}
    assert body["ip"] == "127.0.0.1"
    assert body["protocol"] == "http"
    assert body["secure"] is False
    assert body["xhr"] is True
    assert body["session"] is None
    assert body["io"] is None
    assert body["agent"] == "tester/1"
    assert body["header"] == "yes"
    assert body["referrer"] == "http://example.test/"
    assert body["hostname"] in ("127.0.0.1", "testserver")


async def test_xhr_is_false_without_the_header(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/", lambda req: {"xhr": req.xhr})
    async with connect(app) as client:
        assert (await client.get("/")).json() == {"xhr": False}


async def test_session_and_io_are_assignable_by_middleware(connect: OpenClient) -> None:
    app = expressio.express()

    def fake_session(req, res, next):
        req.session = {"user": "ann"}
        req.io = "realtime side"
        next()

    app.use(fake_session)
    app.get("/", lambda req: {"session": req.session, "io": req.io})
    async with connect(app) as client:
        assert (await client.get("/")).json() == {"session": {"user": "ann"}, "io": "realtime side"}


async def test_io_comes_from_the_app_factory_when_set() -> None:
    app = expressio.express()
    app.request_io_factory = lambda req: f"io for {req.path}"
    app.get("/x", lambda req: {"io": req.io})
    async with asgi_client(app) as client:
        assert (await client.get("/x")).json() == {"io": "io for /x"}


# -- trust proxy -------------------------------------------------------------------------------

FORWARDED = {
    "X-Forwarded-For": "203.0.113.9, 10.0.0.2",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "example.org:8443",
}


@pytest.mark.parametrize(
    ("setting", "ip", "protocol", "hostname"),
    [
        (False, "127.0.0.1", "http", None),
        (True, "203.0.113.9", "https", "example.org"),
        (1, "10.0.0.2", "https", "example.org"),
        ("loopback", "10.0.0.2", "https", "example.org"),
        (["loopback", "10.0.0.0/8"], "203.0.113.9", "https", "example.org"),
        ("10.0.0.0/8", "127.0.0.1", "http", None),
    ],
)
async def test_trust_proxy(
    connect: OpenClient, setting: object, ip: str, protocol: str, hostname: str | None
) -> None:
    app = expressio.express()
    app.set("trust proxy", setting)
    app.get("/", lambda req: {"ip": req.ip, "protocol": req.protocol, "host": req.hostname})
    async with connect(app) as client:
        body = (await client.get("/", headers=FORWARDED)).json()
    assert body["ip"] == ip
    assert body["protocol"] == protocol
    if hostname is not None:
        assert body["host"] == hostname
    else:
        assert body["host"] != "example.org"


# -- cookies -----------------------------------------------------------------------------------


async def test_plain_and_json_cookies(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/set", lambda req, res: res.cookie("plain", "a b").cookie("obj", {"n": 1}).end())
    app.get("/read", lambda req: req.cookies)
    async with connect(app) as client:
        await client.get("/set")
        assert (await client.get("/read")).json() == {"plain": "a b", "obj": {"n": 1}}


async def test_signed_cookies_with_cookie_parser(connect: OpenClient) -> None:
    app = expressio.express()
    app.use(expressio.cookie_parser("s3cret"))
    app.get("/set", lambda req, res: res.cookie("who", "ann", signed=True).end())
    app.get("/read", lambda req: {"signed": req.signed_cookies, "plain": req.cookies})
    async with connect(app) as client:
        await client.get("/set")
        raw = client.cookies["who"]
        assert raw.startswith("s%3Aann.") or raw.startswith("s:ann.")
        assert (await client.get("/read")).json() == {"signed": {"who": "ann"}, "plain": {}}
        # A tampered value reads False, as in Express; an unsigned one is not "signed".
        client.cookies.clear()
        tampered = raw.replace("ann", "bob")
        response = await client.get("/read", headers={"Cookie": f"who={tampered}; other=x"})
        assert response.json() == {"signed": {"who": False}, "plain": {"other": "x"}}


async def test_signed_cookies_with_the_secret_setting() -> None:
    app = expressio.express()
    app.set("secret", "from-settings")
    app.get("/set", lambda req, res: res.cookie("n", 5, signed=True).end())
    app.get("/read", lambda req: req.signed_cookies)
    async with asgi_client(app) as client:
        await client.get("/set")
        assert (await client.get("/read")).json() == {"n": 5}


async def test_signed_cookie_without_a_secret_is_a_clear_error() -> None:
    app = expressio.express()
    app.set("env", "production")
    app.get("/set", lambda req, res: res.cookie("n", "v", signed=True).end())
    async with asgi_client(app) as client:
        response = await client.get("/set")
    assert response.status_code == 500


# -- bodies ------------------------------------------------------------------------------------


def body_app() -> expressio.Application:
    app = expressio.express()
    app.use(expressio.json())
    app.use(expressio.urlencoded())
    app.use(expressio.multipart())

    @app.post("/echo")
    async def echo(req, res):
        files = {}
        for name, upload in req.files.items():
            files[name] = {"filename": upload.filename, "content": (await upload.read()).decode()}
        return {"body": req.body, "files": files}

    return app


async def test_json_body(connect: OpenClient) -> None:
    async with connect(body_app()) as client:
        response = await client.post("/echo", json={"a": [1, 2], "b": None})
        assert response.json() == {"body": {"a": [1, 2], "b": None}, "files": {}}
        vendor = await client.post(
            "/echo", content=b'{"v": 1}', headers={"Content-Type": "application/vnd.x+json"}
        )
        assert vendor.json()["body"] == {"v": 1}


async def test_malformed_json_is_a_400_with_a_message(connect: OpenClient) -> None:
    async with connect(body_app()) as client:
        response = await client.post(
            "/echo", content=b'{"a": ', headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert "Invalid JSON body" in response.text


async def test_json_body_over_the_limit_is_a_413() -> None:
    app = expressio.express()
    app.use(expressio.json(limit=10))
    app.post("/", lambda req: req.body)
    async with asgi_client(app) as client:
        response = await client.post("/", json={"long": "x" * 100})
    assert response.status_code == 413


async def test_urlencoded_body(connect: OpenClient) -> None:
    async with connect(body_app()) as client:
        response = await client.post("/echo", data={"name": "ann", "tag": ["a", "b"]})
    assert response.json()["body"] == {"name": "ann", "tag": ["a", "b"]}


async def test_multipart_body_and_files(connect: OpenClient) -> None:
    async with connect(body_app()) as client:
        response = await client.post(
            "/echo",
            data={"title": "report"},
            files={"upload": ("notes.txt", b"file content", "text/plain")},
        )
    assert response.json() == {
        "body": {"title": "report"},
        "files": {"upload": {"filename": "notes.txt", "content": "file content"}},
    }


async def test_body_is_empty_dict_for_other_types_and_none_without_parsers(
    connect: OpenClient,
) -> None:
    app = body_app()
    bare = expressio.express()
    bare.post("/", lambda req: {"body": req.body})
    async with connect(app) as client:
        response = await client.post("/echo", content=b"raw", headers={"Content-Type": "text/x"})
        assert response.json()["body"] == {}
    async with connect(bare) as client:
        assert (await client.post("/", json={"a": 1})).json() == {"body": None}


async def test_raw_body_is_readable_without_parsers() -> None:
    app = expressio.express()

    @app.post("/")
    async def raw(req, res):
        res.send((await req.read_body()).upper())

    async with asgi_client(app) as client:
        response = await client.post("/", content=b"bytes")
    assert response.content == b"BYTES"
    assert response.headers["content-type"] == "application/octet-stream"


async def test_starlette_request_is_reachable() -> None:
    app = expressio.express()
    app.get("/", lambda req: {"url": str(req.starlette.url)})
    async with asgi_client(app) as client:
        response = await client.get("/?a=1")
    assert response.json() == {"url": "http://testserver/?a=1"}


async def test_https_scheme_makes_req_secure() -> None:
    app = expressio.express()
    app.get("/", lambda req: {"protocol": req.protocol, "secure": req.secure})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        assert (await client.get("/")).json() == {"protocol": "https", "secure": True}
