"""Hostile input never becomes a 500, a traceback or a broken reply.

File names with a NUL or too long for the file system answer 400 or 404; header values and
names that would split or corrupt the response head are refused with a ``ValueError`` in the
handler (the usual 500 page); cookie names, values and attributes are checked like Express's
``cookie`` module does; duplicate cookies resolve to the first one, as in Express.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import expressio

from .conftest import OpenClient, asgi_client

LONG_NAME = "a" * 5000


# -- 1. file names: NUL bytes and names too long ----------------------------------------------


def file_app(root: Path, *, fallthrough: bool = True) -> expressio.Application:
    (root / "hello.txt").write_text("hello")
    app = expressio.express()
    app.set("env", "development")  # a 500 would carry a traceback: the tests would show it
    app.use("/static", expressio.static(root, fallthrough=fallthrough))

    @app.get("/sendfile/:name")
    def sendfile(req: Any, res: Any) -> None:
        res.sendfile(req.params["name"], root=str(root))

    @app.get("/send_file")
    def send_file(req: Any, res: Any) -> None:
        res.send_file(req.query["name"], root=root)

    @app.get("/absolute")
    def absolute(req: Any, res: Any) -> None:
        res.send_file(str(root / req.query["name"]))

    @app.get("/relative")
    def relative(req: Any, res: Any) -> None:
        res.send_file(req.query["name"])

    @app.get("/download")
    def download(req: Any, res: Any) -> None:
        res.download(str(root / req.query["name"]))

    return app


BAD_FILE_URLS = [
    "/static/%00",
    "/static/hello.txt%00.png",
    "/static/hello.txt%00",
    "/static/" + LONG_NAME,
    "/static/dir/" + LONG_NAME + "/x",
    "/sendfile/a%00b",
    "/sendfile/hello.txt%00.png",
    "/sendfile/" + LONG_NAME,
    "/send_file?name=hello.txt%00.png",
    "/send_file?name=" + LONG_NAME,
    "/absolute?name=%00",
    "/absolute?name=" + LONG_NAME,
    "/relative?name=%00",
    "/relative?name=" + LONG_NAME,
    "/download?name=x%00",
    "/download?name=" + LONG_NAME,
]


@pytest.mark.parametrize("url", BAD_FILE_URLS, ids=lambda url: url[:30])
async def test_bad_file_names_answer_400_or_404_never_500(
    url: str, tmp_path: Path, connect: OpenClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A NUL in a file name (400) or a name too long for the file system (404) used to raise
    ValueError/OSError from the file lookup: a 500 with a traceback."""
    app = file_app(tmp_path)
    with caplog.at_level(logging.ERROR, logger="expressio"):
        async with connect(app) as client:
            response = await client.get(url)
            assert (await client.get("/static/hello.txt")).text == "hello"
    assert response.status_code in (400, 404), response.text[:300]
    assert "Traceback" not in response.text
    assert "\0" not in response.text or url.startswith("/static/")  # 404 of the final handler
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_static_without_fallthrough_answers_400_for_nul_and_404_for_long_names(
    tmp_path: Path,
) -> None:
    """Express's serve-static with ``fallthrough: false``: NUL → 400, too long → 404."""
    app = file_app(tmp_path, fallthrough=False)
    async with asgi_client(app) as client:
        assert (await client.get("/static/hello.txt%00.png")).status_code == 400
        assert (await client.get("/static/" + LONG_NAME)).status_code == 404
        assert (await client.get("/static/missing.txt")).status_code == 404
        assert (await client.get("/static/hello.txt")).text == "hello"


async def test_send_file_messages_do_not_echo_unprintable_or_huge_names(tmp_path: Path) -> None:
    """The 400/404 bodies do not repeat a NUL or 5,000 characters back to the client."""
    app = file_app(tmp_path)
    async with asgi_client(app) as client:
        nul = await client.get("/send_file?name=x%00y")
        long = await client.get("/send_file?name=" + LONG_NAME)
        missing = await client.get("/send_file?name=missing.txt")
    assert (nul.status_code, nul.text) == (400, "Bad file name")
    assert (long.status_code, long.text) == (404, "File not found")
    assert (missing.status_code, missing.text) == (404, "File not found: missing.txt")


# -- 2. header values and names that would split the response head ----------------------------


def header_app() -> expressio.Application:
    app = expressio.express()
    app.set("env", "production")
    app.get("/value", lambda req, res: res.set("X-Echo", "a\r\nX: 1").send("ok"))
    app.get("/lf", lambda req, res: res.set("X-Echo", "a\nX: 1").send("ok"))
    app.get("/nul", lambda req, res: res.set("X-Echo", "a\0b").send("ok"))
    app.get("/dict", lambda req, res: res.set({"X-Ok": "1", "X-Echo": "a\rb"}).send("ok"))
    app.get("/list", lambda req, res: res.set("X-Echo", ["ok", "a\r\nb"]).send("ok"))
    app.get("/append", lambda req, res: res.append("X-Echo", "a\r\nb").send("ok"))
    app.get("/beyond-latin-1", lambda req, res: res.set("X-Echo", "€").send("ok"))
    app.get("/name", lambda req, res: res.set("X Bad", "1").send("ok"))
    app.get("/name-crlf", lambda req, res: res.set("X-A\r\nX-B", "1").send("ok"))
    app.get("/name-colon", lambda req, res: res.set("X-A:", "1").send("ok"))
    app.get("/type", lambda req, res: res.type("text/html\r\nX: 1").send("ok"))
    app.get("/set-cookie", lambda req, res: res.set("Set-Cookie", "a=1\r\nX: 1").send("ok"))
    app.get("/returned", lambda req, res: ("ok", 200, {"X-Echo": "a\r\nX: 1"}))
    return app


@pytest.mark.parametrize(
    "path",
    [
        "/value", "/lf", "/nul", "/dict", "/list", "/append", "/beyond-latin-1", "/name",
        "/name-crlf", "/name-colon", "/type", "/set-cookie", "/returned",
    ],
)  # fmt: skip
async def test_bad_header_raises_value_error_in_the_handler(
    path: str, connect: OpenClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A CR/LF in a header value (or an invalid name) used to reach the server, which dropped
    the connection: the client got an empty reply. Now ``res.set`` raises ValueError in the
    handler and the client gets the usual 500 page, with no injected header."""
    app = header_app()
    with caplog.at_level(logging.ERROR, logger="expressio"):
        async with connect(app) as client:
            response = await client.get(path)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "x" not in response.headers and "x-echo" not in response.headers
    errors = [record for record in caplog.records if record.exc_info]
    error = errors[0].exc_info[1] if errors and errors[0].exc_info else None
    assert isinstance(error, ValueError) and "header" in str(error)


async def test_valid_headers_still_pass(connect: OpenClient) -> None:
    """Tabs, latin-1 text and every token character stay allowed."""
    app = expressio.express()
    name = "X-!#$%&'*+-.^_`|~09az"
    app.get("/", lambda req, res: res.set(name, "a\tb é").set("X-Num", 5).send("ok"))
    async with connect(app) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers[name] == "a\tb é"  # sent as latin-1
    assert response.headers["x-num"] == "5"


async def test_redirect_percent_encodes_cr_lf_instead_of_injecting(connect: OpenClient) -> None:
    """``res.redirect`` encodes its URL as Express does (encodeurl): CR/LF become %0D%0A."""
    app = expressio.express()
    app.get("/", lambda req, res: res.redirect("/next\r\nX-Injected: 1"))
    async with connect(app) as client:
        response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/next%0D%0AX-Injected:%201"
    assert "x-injected" not in response.headers


# -- 3. cookie names, values and attributes ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a; Domain=evil.example", "a=b", "a b", "a,b", "", "a\r\nX: 1", 'a"', "a\0", "é", "a(b)"],
)
async def test_cookie_refuses_names_that_are_not_tokens(name: str, connect: OpenClient) -> None:
    """``res.cookie("a; Domain=evil.example", "1")`` used to send
    ``set-cookie: a; Domain=evil.example=1``: the name chose the cookie's attributes."""
    app = expressio.express()
    app.set("env", "production")
    app.get("/set", lambda req, res: res.cookie(name, "1").send("ok"))
    app.get("/clear", lambda req, res: res.clear_cookie(name).send("ok"))
    async with connect(app) as client:
        for path in ("/set", "/clear"):
            response = await client.get(path)
            assert response.status_code == 500
            assert "set-cookie" not in response.headers
    with pytest.raises(ValueError, match="invalid cookie name"):
        expressio.http.cookies.set_cookie_line(name, "1")


@pytest.mark.parametrize(
    "options",
    [
        {"domain": "evil.example; Secure"},
        {"domain": "x\r\nX: 1"},
        {"domain": "example.com:8080"},
        {"path": "/; Domain=evil.example"},
        {"path": "/\r\nX: 1"},
        {"expires": "Thu, 01 Jan 2099 00:00:00 GMT; Domain=evil.example"},
        {"max_age": float("inf")},
        {"max_age": "60; Domain=evil.example"},
        {"samesite": "lax; Domain=evil.example"},
    ],
    ids=lambda options: next(iter(options)),
)
async def test_cookie_refuses_attribute_values_that_would_add_attributes(
    options: dict[str, Any],
) -> None:
    """Domain, path, expires, max_age and samesite are checked as Express's cookie module does;
    for ``res.cookie`` and ``res.clear_cookie`` alike."""
    app = expressio.express()
    app.set("env", "production")
    app.get("/set", lambda req, res: res.cookie("a", "1", **options).send("ok"))
    app.get("/clear", lambda req, res: res.clear_cookie("a", **options).send("ok"))
    async with asgi_client(app) as client:
        # clear_cookie sets its own max_age and expires
        cleared = "max_age" not in options and "expires" not in options
        for path in ("/set", "/clear") if cleared else ("/set",):
            response = await client.get(path)
            assert response.status_code == 500, path
            assert "set-cookie" not in response.headers
    with pytest.raises(ValueError, match="invalid cookie"):
        expressio.http.cookies.set_cookie_line("a", "1", **options)


@pytest.mark.parametrize("value", ["a b", 'a"b', "a;b", "a,b", "a\\b", "a\r\nb", "é"])
def test_set_cookie_line_refuses_values_that_are_not_cookie_octets(value: str) -> None:
    """``res.cookie`` percent-encodes its values; the raw line builder refuses unencoded ones."""
    with pytest.raises(ValueError, match="invalid cookie value"):
        expressio.http.cookies.set_cookie_line("a", value)


async def test_cookie_values_with_cr_lf_are_percent_encoded(connect: OpenClient) -> None:
    """``res.cookie`` values are encoded (as Express's encodeURIComponent): nothing injected,
    and the value reads back as it was."""
    app = expressio.express()
    app.get("/set", lambda req, res: res.cookie("a", "x\r\nX: 1; Domain=evil").send("ok"))
    app.get("/get", lambda req, res: res.json(req.cookies))
    async with connect(app) as client:
        response = await client.get("/set")
        assert response.headers["set-cookie"] == "a=x%0D%0AX:%201%3B%20Domain=evil; Path=/"
        assert "x" not in response.headers
        got = await client.get("/get", headers={"Cookie": "a=x%0D%0AX:%201%3B%20Domain=evil"})
    assert got.json() == {"a": "x\r\nX: 1; Domain=evil"}


def test_valid_cookies_still_serialise() -> None:
    line = expressio.http.cookies.set_cookie_line(
        "sid.v2",
        '"quoted"',
        domain=".example.com",
        path="/app/x-y",
        max_age=60,
        expires="Thu, 01 Jan 2099 00:00:00 GMT",
        samesite="strict",
    )
    assert line.startswith('sid.v2="quoted"; Max-Age=60; Expires=Thu, 01 Jan 2099 00:00:00 GMT')
    assert "; Path=/app/x-y; Domain=.example.com; SameSite=Strict" in line


@pytest.mark.parametrize(
    ("name", "cookie"),
    [("a; Domain=evil", None), ("sid", {"domain": "evil; x"}), ("sid", {"path": "/\n"})],
)
def test_session_refuses_a_bad_cookie_name_or_attribute_at_setup(
    name: str, cookie: dict[str, Any] | None
) -> None:
    """The session cookie's name and attributes are checked when the middleware is made."""
    with pytest.raises(ValueError, match="invalid cookie"):
        expressio.session(secret="s", name=name, cookie=cookie)


# -- 4. duplicate cookie names: the first one, everywhere ----------------------------------------


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("a=1; a=2", "1"),
        ("a=2; b=x; a=1", "2"),
        ('a="quoted"; a=plain', "quoted"),
        ("a=; a=2", ""),
    ],
)
async def test_req_cookies_take_the_first_of_duplicate_names(header: str, first: str) -> None:
    """Express's cookie parser keeps the first value of a repeated name (browsers send the
    cookie of the most specific path first); ``req.cookies`` used to keep the last."""
    app = expressio.express()
    app.get("/", lambda req, res: res.json(req.cookies))
    async with asgi_client(app) as client:
        cookies = (await client.get("/", headers={"Cookie": header})).json()
    assert cookies["a"] == first
    assert cookies["a"] == expressio.sessions.cookie.parse_cookie_header(header)["a"]


async def test_http_and_realtime_pick_the_same_session_from_duplicate_cookies() -> None:
    """With ``Cookie: expressio.sid=BAD; expressio.sid=GOOD`` HTTP used the last value (GOOD)
    and the realtime handshake the first (BAD): one browser, two sessions. Both now take the
    first, as Express does; the realtime side is checked through the manager's own loader."""
    middleware = expressio.session(secret="monkey")
    manager = middleware.manager
    app = expressio.express()
    app.use(middleware)

    @app.post("/login")
    def login(req: Any, res: Any) -> Any:
        req.session["user"] = "ada"
        return {"id": req.session.id}

    @app.get("/whoami")
    def whoami(req: Any, res: Any) -> Any:
        return {"id": req.session.id, "user": req.session.get("user")}

    async with asgi_client(app) as client:
        login_response = await client.post("/login")
        good = client.cookies["expressio.sid"]
        session_id = login_response.json()["id"]
        client.cookies.clear()
        bad = manager.signer.sign("not-a-stored-session")
        for header, expected_user in (
            (f"expressio.sid={bad}; expressio.sid={good}", None),
            (f"expressio.sid={good}; expressio.sid={bad}", "ada"),
            (f"expressio.sid=garbage; expressio.sid={good}", None),
        ):
            http_side = (await client.get("/whoami", headers={"Cookie": header})).json()
            realtime_side = await manager.load_for_cookie_header(header)
            assert http_side["user"] == realtime_side.get("user") == expected_user, header
            if expected_user is not None:
                assert http_side["id"] == realtime_side.id == session_id
