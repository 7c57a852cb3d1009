"""``/socket.io/socket.io.js``: the official client bundle served from an npm install, with
socket.io 0.9's ``browser client*`` settings, through a real uvicorn (``expressio client
install``'s location: test_client_install.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import expressio
from tests.support import NODE_MODULES

from .conftest import served

DIST = NODE_MODULES / "socket.io-client" / "dist"

pytestmark = pytest.mark.skipif(
    not (DIST / "socket.io.js").is_file(),
    reason="socket.io-client is not installed in node_modules (run npm install)",
)


@pytest.fixture(scope="module")
def app() -> expressio.Application:
    return expressio.express().io()  # found from the app's root upwards: the repository's


@pytest.fixture
async def http(app: expressio.Application) -> AsyncIterator[httpx.AsyncClient]:
    with served(app) as base_url:
        # no automatic decompression: the test looks at the bytes on the wire
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Accept-Encoding": "identity"}
        ) as client:
            yield client
    for name in ("minification", "gzip", "etag"):
        app.io.disable(f"browser client {name}")
    app.io.enable("browser client")
    app.io.set("browser client path", None)


async def test_serves_the_official_bundle(http: httpx.AsyncClient) -> None:
    answer = await http.get("/socket.io/socket.io.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert answer.content == (DIST / "socket.io.js").read_bytes()
    assert "etag" not in answer.headers
    source_map = await http.get("/socket.io/socket.io.js.map")
    assert source_map.status_code == 200
    assert source_map.content == (DIST / "socket.io.js.map").read_bytes()
    assert (await http.get("/socket.io/socket.io.min.js")).content == (
        DIST / "socket.io.min.js"
    ).read_bytes()


async def test_serves_the_msgpack_bundle(http: httpx.AsyncClient) -> None:
    """The build of the client with socket.io-msgpack-parser in it, for app.io(parser="msgpack"),
    ships in the same dist folder."""
    answer = await http.get("/socket.io/socket.io.msgpack.min.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert answer.content == (DIST / "socket.io.msgpack.min.js").read_bytes()
    source_map = await http.get("/socket.io/socket.io.msgpack.min.js.map")
    assert source_map.status_code == 200
    assert source_map.headers["content-type"].startswith("application/json")


async def test_minification_serves_the_minified_file(
    app: expressio.Application, http: httpx.AsyncClient
) -> None:
    app.io.enable("browser client minification")
    answer = await http.get("/socket.io/socket.io.js")
    assert answer.content == (DIST / "socket.io.min.js").read_bytes()


async def test_gzip_for_clients_that_accept_it(
    app: expressio.Application, http: httpx.AsyncClient
) -> None:
    app.io.enable("browser client gzip")
    zipped = await http.get("/socket.io/socket.io.js", headers={"Accept-Encoding": "gzip"})
    original = (DIST / "socket.io.js").read_bytes()
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(original) // 2
    assert zipped.content == original  # httpx decompressed it
    plain = await http.get("/socket.io/socket.io.js")
    assert "content-encoding" not in plain.headers
    assert plain.content == (DIST / "socket.io.js").read_bytes()


async def test_etag_and_not_modified(app: expressio.Application, http: httpx.AsyncClient) -> None:
    app.io.enable("browser client etag")
    first = await http.get("/socket.io/socket.io.js")
    etag = first.headers["etag"]
    again = await http.get("/socket.io/socket.io.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = await http.get("/socket.io/socket.io.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


async def test_disabled_browser_client_is_not_served(
    app: expressio.Application, http: httpx.AsyncClient
) -> None:
    app.io.disable("browser client")
    answer = await http.get("/socket.io/socket.io.js")
    assert answer.status_code == 404
    assert "disabled" in answer.text


async def test_missing_bundle_says_how_to_install_it(
    app: expressio.Application, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    app.io.set("browser client path", str(tmp_path))
    answer = await http.get("/socket.io/socket.io.js")
    assert answer.status_code == 404
    assert "expressio client install" in answer.text
    assert "npm install socket.io-client" in answer.text


async def test_configured_path_is_used(
    app: expressio.Application, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "socket.io.js").write_text("/* a vendored client */")
    app.io.set("browser client path", str(tmp_path / "socket.io.js"))
    assert (await http.get("/socket.io/socket.io.js")).text == "/* a vendored client */"
    assert (await http.get("/socket.io/socket.io.min.js")).status_code == 404


async def test_engine_requests_still_reach_the_engine(http: httpx.AsyncClient) -> None:
    answer = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert answer.status_code == 200
    assert answer.text.startswith("0{")
    assert (await http.get("/socket.io/../etc/passwd.js")).status_code != 200
