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
