"""The app object: settings, locals, app.io before app.io(), static files, serving (HTTP,
HTTPS, listen), ASGI mounts, websocket refusal and lifespan hooks."""

from __future__ import annotations

import re
import ssl
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import websockets
from websockets.asyncio.client import connect as ws_connect

import expressio
from tests.support import ROOT, free_port, printing_server, python_server, served, wait_for_port

from .conftest import OpenClient, asgi_client

# -- settings ----------------------------------------------------------------------------------


def test_settings_set_get_enable_disable() -> None:
    app = expressio.express()
    assert app.set("title", "My Site") is app
    assert app.get("title") == "My Site"
    assert app.get("missing") is None
    assert app.enable("feature") is app
    assert app.enabled("feature") and not app.disabled("feature")
    assert app.disable("feature") is app
    assert app.disabled("feature") and not app.enabled("feature")
    assert app.get("view engine") is None
    assert app.get("trust proxy") is False


def test_get_with_one_string_is_a_setting_unless_it_looks_like_a_path() -> None:
    app = expressio.express()
    app.set("env", "test")
    assert app.get("env") == "test"
    decorator = app.get("/path")
    assert callable(decorator)
    assert callable(app.get("*"))
    assert callable(app.get(re.compile("^/x")))


async def test_app_locals_reach_templates_and_handlers(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("{{ brand }} / {{ settings['env'] }}")
    app = expressio.express()
    app.set("views", str(tmp_path))
    app.locals["brand"] = "acme"
    app.get("/", lambda req, res: res.render("t.html"))
    app.get("/locals", lambda req: {"brand": req.app.locals["brand"]})
    async with asgi_client(app) as client:
        assert (await client.get("/")).text == "acme / development"
        assert (await client.get("/locals")).json() == {"brand": "acme"}


# -- app.io before app.io() -----------------------------------------------------------------


def test_app_io_exists_and_needs_to_be_called_first() -> None:
    app = expressio.express()
    assert app.io is not None
    members = ("route", "broadcast", "room", "set", "enable", "disable", "configure", "use", "of")
    for name in members:
        with pytest.raises(RuntimeError, match=rf"call app\.io\(\) before using app\.io\.{name}"):
            getattr(app.io, name)("anything")
    with pytest.raises(RuntimeError, match=r"app\.io\(\)"):

        @app.io.route("ready")
        def ready(req: Any) -> None:
            pass


def test_app_io_call_creates_the_server_once() -> None:
    app = expressio.express()
    assert app.io() is app
    assert app.io.started
    with pytest.raises(RuntimeError, match=r"already called"):
        app.io()


# -- static files ------------------------------------------------------------------------------


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "docs").mkdir(parents=True)
    (root / "app.js").write_text("console.log(1)")
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (tmp_path / "outside.txt").write_text("private")
    return root


async def test_static_files(connect: OpenClient, public: Path) -> None:
    app = expressio.express()
    app.use(expressio.static(public))
    app.use("/assets", expressio.static(public))
    app.get("/dynamic", lambda req: "from a route")
    async with connect(app) as client:
        script = await client.get("/app.js")
        assert script.text == "console.log(1)"
        assert "javascript" in script.headers["content-type"]
        assert (await client.get("/")).text == "<h1>home</h1>"
        assert (await client.get("/assets/app.js")).text == "console.log(1)"
        assert (await client.get("/docs/")).text == "<h1>docs</h1>"
        redirect = await client.get("/assets/docs")
        assert (redirect.status_code, redirect.headers["location"]) == (301, "/assets/docs/")
        # Missing files fall through to later routes, then to the 404.
        assert (await client.get("/dynamic")).text == "from a route"
        assert (await client.get("/missing.js")).status_code == 404
        assert (await client.get("/../outside.txt")).status_code == 404
        assert (await client.get("/%2e%2e/outside.txt")).status_code == 404
        assert (await client.post("/app.js")).status_code == 404
        etag = script.headers["etag"]
        cached = await client.get("/app.js", headers={"If-None-Match": etag})
        assert cached.status_code == 304


def test_static_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        expressio.static(tmp_path / "nope")


async def test_static_without_fallthrough_answers_404(public: Path) -> None:
    app = expressio.express()
    app.use(expressio.static(public, fallthrough=False))
    app.get("/route", lambda req: "unreachable")
    async with asgi_client(app) as client:
        response = await client.get("/route")
    assert (response.status_code, response.text) == (404, "Not Found")


# -- serving -----------------------------------------------------------------------------------


def test_http_and_https_return_the_app_in_any_order(tmp_path: Path) -> None:
    app = expressio.express()
    assert app.http() is app
    options = {"key": str(tmp_path / "k.pem"), "cert": str(tmp_path / "c.pem")}
    assert app.https(options) is app
    assert app.tls == options
    with pytest.raises(ValueError, match="cert"):
        app.https({"key": "k.pem"})
    with pytest.raises(ValueError, match="unknown"):
        app.https({"key": "k.pem", "cert": "c.pem", "pfx": "x"})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, dict[str, str]]:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    server_cert.private_key_pem.write_to_path(str(key))
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    return ca, {"key": str(key), "cert": str(cert)}


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_with_a_self_signed_certificate(
    certificate: tuple[trustme.CA, dict[str, str]],
) -> None:
    ca, files = certificate
    app = expressio.express()
    app.https(files)
    app.get("/", lambda req: {"protocol": req.protocol, "secure": req.secure})
    with served(app, tls=app.tls) as base_url:
        assert base_url.startswith("https://")
        async with httpx.AsyncClient(verify=_client_context(ca)) as client:
            response = await client.get(base_url + "/")
        async with httpx.AsyncClient(verify=ssl.create_default_context()) as untrusting:
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(base_url + "/")
    assert response.json() == {"protocol": "https", "secure": True}


LISTEN_SCRIPT = textwrap.dedent(
    """
    import argparse, json, sys
    import expressio

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls")
    args = parser.parse_args()
    app = expressio.express()
    if args.tls:
        app.https(json.loads(args.tls))
    else:
        app.http()
    app.get("/", lambda req: {"secure": req.secure, "listening": True})
    app.listen(args.port)
    """
)


async def test_listen_serves_http(tmp_path: Path) -> None:
    script = tmp_path / "listen_app.py"
    script.write_text(LISTEN_SCRIPT)
    port = free_port()
    with python_server(script, port):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.json() == {"secure": False, "listening": True}


async def test_listen_serves_https(
    tmp_path: Path, certificate: tuple[trustme.CA, dict[str, str]]
) -> None:
    import json

    ca, files = certificate
    script = tmp_path / "listen_app.py"
    script.write_text(LISTEN_SCRIPT)
    port = free_port()
    with python_server(script, port, "--tls", json.dumps(files)):
        async with httpx.AsyncClient(verify=_client_context(ca)) as client:
            response = await client.get(f"https://127.0.0.1:{port}/")
    assert response.json() == {"secure": True, "listening": True}


LOGGING_SCRIPT = textwrap.dedent(
    """
    import sys
    import expressio

    app = expressio.express()
    app.io()
    app.get("/hello", lambda req: "hi")
    app.listen(int(sys.argv[1]), log_level="warning")
    """
)


@pytest.mark.parametrize("env", ["development", "production"])
def test_listen_logs_requests_and_connections_in_development(tmp_path: Path, env: str) -> None:
    import socketio

    script = tmp_path / "logging_app.py"
    script.write_text(LOGGING_SCRIPT)
    port = free_port()
    argv = [sys.executable, str(script), str(port)]
    with printing_server(argv, tmp_path / "output.log", env={"EXPRESSIO_ENV": env}) as output:
        wait_for_port(port, process=output.process)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/hello?to=you").text == "hi"
        assert httpx.get(f"{base}/nowhere").status_code == 404
        client = socketio.Client()
        client.connect(base, transports=["websocket"])
        sid = client.get_sid()
        client.disconnect()
        printed = output.wait_for(r"^INFO: +disconnect ") if env == "development" else None
        text = output.stop()
    lines = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("INFO:")]
    if env == "production":
        assert printed is None and lines == [], text
        return
    # One line per request (method, path and query, status, milliseconds) and per connection;
    # the realtime server's own requests (/socket.io/) are not listed.
    assert re.fullmatch(r"GET /hello\?to=you 200 \d+\.\d ms", lines[0]), text
    assert re.fullmatch(r"GET /nowhere 404 \d+\.\d ms", lines[1]), text
    assert lines[2] == f"connect {sid}", text
    # python-socketio closes its websocket as it leaves, so either reason may come first
    assert lines[3] in (
        f"disconnect {sid}: client namespace disconnect",
        f"disconnect {sid}: transport close",
    ), text
    assert len(lines) == 4, text


async def test_example_app_runs() -> None:
    port = free_port()
    with python_server(ROOT / "examples" / "hello.py", port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/hello")).text == "Hello World"
            assert (await client.get("/users/7")).json() == {"id": "7", "query": {}}
            greeting = await client.post("/greet", data={"name": "Ann"})
            assert greeting.text == "Hello, Ann!"
            assert "<h1>" in (await client.get("/")).text


# -- ASGI mounts, websockets, lifespan -----------------------------------------------------


class EchoASGI:
    """A tiny ASGI app answering http with its scope paths and echoing websocket text."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            body = f"{scope['root_path']}|{scope['path']}".encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "echo:" + message.get("text", "")})


async def test_mount_asgi_takes_http_and_websocket_before_routing() -> None:
    app = expressio.express()
    app.mount_asgi("/socket.io/", EchoASGI())
    app.get("/socket.io-not", lambda req: "routed")
    app.get("/socket.io/x", lambda req: "never: the mount comes first")
    with served(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/socket.io/x")).text == "/socket.io|/socket.io/x"
            assert (await client.get("/socket.io")).text == "/socket.io|/socket.io"
            assert (await client.get("/socket.io-not")).text == "routed"
        ws_url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4"
        async with ws_connect(ws_url) as socket:
            await socket.send("hi")
            assert await socket.recv() == "echo:hi"


async def test_unmounted_websocket_is_refused_with_403() -> None:
    app = expressio.express()
    app.get("/ws", lambda req: "http only")
    with served(app) as base_url, pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with ws_connect(base_url.replace("http://", "ws://") + "/ws"):
            pass
    assert refused.value.response.status_code == 403


async def test_startup_and_shutdown_hooks_run_with_the_server() -> None:
    app = expressio.express()
    events: list[str] = []

    @app.on_startup
    def sync_start() -> None:
        events.append("sync start")

    @app.on_startup
    async def async_start() -> None:
        events.append("async start")

    app.on_shutdown(lambda: events.append("stop"))
    app.get("/", lambda req: {"events": list(events)})
    with served(app) as base_url:
        async with httpx.AsyncClient() as client:
            during = (await client.get(base_url + "/")).json()
    assert during == {"events": ["sync start", "async start"]}
    assert events == ["sync start", "async start", "stop"]
