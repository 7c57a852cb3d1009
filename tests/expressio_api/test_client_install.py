"""``expressio client install``: the browser client without Node, from a registry served here.

No network: each test builds a real npm-style tarball, serves it from a local ``http.server``
and runs the command with that tarball's integrity in place of the pinned one. The install
goes where ``EXPRESSIO_CLIENT_DIR`` says (a temporary directory), never into the real home.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import expressio
from expressio import cli
from expressio.io.client_install import (
    CLIENT_INTEGRITY,
    CLIENT_VERSION,
    DIR_VARIABLE,
    parse_integrity,
    tarball_url,
)
from tests.support import NODE_MODULES, ROOT

NAME = f"socket.io-client-{CLIENT_VERSION}.tgz"
TARBALL_PATH = f"/socket.io-client/-/{NAME}"
CLIENT_JS = b"/* socket.io-client, a test build */\nwindow.io = function () {};\n"
FILES = {
    "package/package.json": json.dumps({"name": "socket.io-client", "version": CLIENT_VERSION}),
    "package/README.md": "# socket.io-client\n",
    "package/build/cjs/index.js": "module.exports = {};\n",
    "package/dist/socket.io.js": CLIENT_JS,
    "package/dist/socket.io.js.map": '{"version":3}',
    "package/dist/socket.io.min.js": "window.io=function(){};\n",
    "package/dist/socket.io.min.js.map": '{"version":3}',
}
DIST_FILES = {"socket.io.js", "socket.io.js.map", "socket.io.min.js", "socket.io.min.js.map"}


def tarball(files: dict[str, str | bytes], *special: tarfile.TarInfo) -> bytes:
    """A gzip-compressed tar of ``files`` (name -> content), then ``special`` entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        for info in special:
            tar.addfile(info)
    return buffer.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


GOOD = tarball(FILES)


@dataclass
class Served:
    body: bytes
    status: int = 200
    announced: int | None = None  # the Content-Length sent, when not len(body): cut short


@dataclass
class Registry:
    url: str
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def serve(self, body: bytes, **options: int) -> None:
        self.files[TARBALL_PATH] = Served(body, **options)


@pytest.fixture
def registry() -> Iterator[Registry]:
    """An npm registry on a free local port that serves ``registry.files``, else 404."""
    served: Registry

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            answer = served.files.get(self.path)
            if answer is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/octet-stream")
            length = len(answer.body) if answer.announced is None else answer.announced
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served = Registry(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="test-registry", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory standing for the user's data directory; nothing in it yet."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "xdg"))
    monkeypatch.setenv("NO_PROXY", "*")  # the registry is local, whatever proxy is configured
    monkeypatch.setenv("no_proxy", "*")
    return folder


@pytest.fixture
def client_dir(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the command installs and apps look: ``$EXPRESSIO_CLIENT_DIR`` (not created)."""
    folder = home / "expressio" / "dist"
    monkeypatch.setenv(DIR_VARIABLE, str(folder))
    return folder


def install(
    registry: Registry, *args: str, integrity: str = sri(GOOD)
) -> tuple[int, list[str], list[str]]:
    """Run the command in this process: (exit code, stdout lines, stderr lines)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(
            ["client", "install", "--registry", registry.url, "--pin-integrity", integrity, *args]
        )
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


def refused(result: tuple[int, list[str], list[str]]) -> str:
    """The one-line error of a refused install."""
    code, out, err = result
    assert code == 1
    assert out == []
    assert len(err) == 1, err
    assert err[0].startswith("expressio: error: ")
    assert err[0].endswith("; nothing was installed")
    return err[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def fetch(app: expressio.Application, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.get(path)


@pytest.fixture
def app_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> expressio.Application:
    """An app whose directory (and the current one) has no node_modules anywhere above it."""
    folder = tmp_path / "app"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert not any((parent / "node_modules").exists() for parent in (folder, *folder.parents))
    app = expressio.Application(root=folder)
    app.http().io()
    return app


def test_the_pin_is_what_package_lock_records() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    recorded = lock["packages"]["node_modules/socket.io-client"]
    assert (recorded["version"], recorded["integrity"]) == (CLIENT_VERSION, CLIENT_INTEGRITY)
    assert parse_integrity(CLIENT_INTEGRITY)[0] == "sha512"
    assert tarball_url() == (
        f"https://registry.npmjs.org/socket.io-client/-/socket.io-client-{CLIENT_VERSION}.tgz"
    )


async def test_install_then_an_app_serves_it(
    registry: Registry, client_dir: Path, app_elsewhere: expressio.Application
) -> None:
    registry.serve(GOOD)
    code, out, err = install(registry)
    assert (code, err) == (0, [])
    assert registry.requests == [TARBALL_PATH]
    assert out == [
        f"installed socket.io-client {CLIENT_VERSION} in {client_dir}",
        "apps serve it at /socket.io/socket.io.js",
    ]
    assert {path.name for path in client_dir.iterdir()} == DIST_FILES  # dist only
    assert [path.name for path in client_dir.parent.iterdir()] == ["dist"]  # no leftovers

    answer = await fetch(app_elsewhere, "/socket.io/socket.io.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert answer.content == CLIENT_JS

    again = install(registry)
    assert again[0] == 0
    assert "already installed" in again[1][0]
    assert registry.requests == [TARBALL_PATH]  # nothing downloaded the second time


async def test_default_location_is_the_user_data_directory(
    registry: Registry, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DIR_VARIABLE, raising=False)
    registry.serve(GOOD)
    code, out, _ = install(registry)
    expected = home / "xdg" / "expressio" / f"socket.io-client-{CLIENT_VERSION}" / "dist"
    assert code == 0
    assert out[0] == f"installed socket.io-client {CLIENT_VERSION} in {expected}"
    assert (expected / "socket.io.js").read_bytes() == CLIENT_JS


def test_the_command_installs_into_a_chosen_directory(registry: Registry, client_dir: Path) -> None:
    registry.serve(GOOD)
    target = client_dir.parent / "static" / "socket.io"
    command = [str(Path(sys.executable).parent / "expressio"), "client", "install"]
    finished = subprocess.run(
        [*command, "--dir", str(target), "--registry", registry.url, "--pin-integrity", sri(GOOD)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert f'app.io.set("browser client path", "{target}")' in finished.stdout
    assert {path.name for path in target.iterdir()} == DIST_FILES
    assert not client_dir.exists()


def test_a_tampered_tarball_is_refused(registry: Registry, client_dir: Path) -> None:
    tampered = bytearray(GOOD)
    tampered[len(tampered) // 2] ^= 0x01
    registry.serve(bytes(tampered))
    error = refused(install(registry))
    assert error == (
        f"expressio: error: {NAME} failed its integrity check (expected {sri(GOOD)}, "
        f"got {sri(bytes(tampered))}); nothing was installed"
    )
    assert not client_dir.parent.exists()


def test_a_failed_reinstall_leaves_the_earlier_install_as_it_was(
    registry: Registry, client_dir: Path
) -> None:
    registry.serve(GOOD)
    assert install(registry)[0] == 0
    before = snapshot(client_dir.parent)
    registry.serve(GOOD[:-1] + bytes([GOOD[-1] ^ 0xFF]))
    assert "failed its integrity check" in refused(install(registry, "--force"))
    registry.serve(GOOD[: len(GOOD) // 2], announced=len(GOOD))
    assert "cut short" in refused(install(registry, "--force"))
    unsafe = tarball(FILES, symlink("package/dist/socket.io.min.js", "/etc/passwd"))
    registry.serve(unsafe)
    assert "unsafe entry" in refused(install(registry, "--force", integrity=sri(unsafe)))
    assert snapshot(client_dir.parent) == before  # same files, no temporary directory left

    newer = tarball({**FILES, "package/dist/socket.io.js": b"/* newer */"})
    registry.serve(newer)
    code, out, _ = install(registry, "--force", integrity=sri(newer))
    assert code == 0 and out[0].startswith("installed")
    assert (client_dir / "socket.io.js").read_bytes() == b"/* newer */"
    assert [path.name for path in client_dir.parent.iterdir()] == ["dist"]


def test_a_cut_short_download_is_refused(registry: Registry, client_dir: Path) -> None:
    registry.serve(GOOD[: len(GOOD) // 2], announced=len(GOOD))
    error = refused(install(registry))
    assert f"was cut short ({len(GOOD) // 2} of {len(GOOD)} bytes)" in error
    assert not client_dir.parent.exists()


def test_a_truncated_archive_is_refused_even_when_its_checksum_matches(
    registry: Registry, client_dir: Path
) -> None:
    truncated = GOOD[: len(GOOD) // 2]
    registry.serve(truncated)
    error = refused(install(registry, integrity=sri(truncated)))
    assert f"{NAME} is not a valid gzip-compressed tar archive" in error
    assert not client_dir.parent.exists()


def test_an_http_error_is_refused(registry: Registry, client_dir: Path) -> None:
    error = refused(install(registry))
    assert error == (
        f"expressio: error: could not download {registry.url}{TARBALL_PATH}: "
        "HTTP 404 Not Found; nothing was installed"
    )
    assert not client_dir.parent.exists()


def test_an_unreachable_registry_is_refused(client_dir: Path) -> None:
    closed = Registry(url="http://127.0.0.1:9")  # discard: nothing listens there
    assert "could not download" in refused(install(closed))


def symlink(name: str, to: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, to
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


def entry(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 0
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (entry("../evil"), "a '..' path"),
        (entry("package/dist/../../../evil"), "a '..' path"),
        (entry("/tmp/evil"), "an absolute path"),
        (symlink("package/dist/socket.io.msgpack.min.js", "/etc/passwd"), "a link"),
        (symlink("package/dist/evil.js", "package/package.json", tarfile.LNKTYPE), "a link"),
        (device("package/dist/null"), "a device, pipe or other special file"),
    ],
    ids=["dotdot", "dotdot-in-dist", "absolute", "symlink", "hardlink", "device"],
)
def test_an_entry_escaping_dist_is_refused(
    registry: Registry, client_dir: Path, tmp_path: Path, member: tarfile.TarInfo, reason: str
) -> None:
    unsafe = tarball(FILES, member)
    registry.serve(unsafe)
    error = refused(install(registry, integrity=sri(unsafe)))
    assert error == (
        f"expressio: error: {NAME} holds an unsafe entry {member.name!r} ({reason}); "
        "nothing was installed"
    )
    assert not client_dir.parent.exists()
    assert not (tmp_path / "evil").exists()


def test_a_tarball_without_the_client_is_refused(registry: Registry, client_dir: Path) -> None:
    empty = tarball({"package/package.json": "{}"})
    registry.serve(empty)
    assert "has no package/dist/socket.io.js" in refused(install(registry, integrity=sri(empty)))
    assert not client_dir.parent.exists()


def test_a_directory_holding_other_files_is_not_replaced(
    registry: Registry, client_dir: Path
) -> None:
    static = client_dir.parent / "static"
    static.mkdir(parents=True)
    (static / "socket.io.js").write_bytes(b"/* vendored */")
    (static / "index.html").write_text("<h1>mine</h1>")
    registry.serve(GOOD)
    assert "already installed" in install(registry, "--dir", str(static))[1][0]
    error = refused(install(registry, "--dir", str(static), "--force"))
    assert "holds other files ('index.html')" in error
    assert snapshot(static) == {"index.html": b"<h1>mine</h1>", "socket.io.js": b"/* vendored */"}
    assert registry.requests == []


async def test_a_missing_bundle_names_the_command(
    client_dir: Path, app_elsewhere: expressio.Application
) -> None:
    answer = await fetch(app_elsewhere, "/socket.io/socket.io.js")
    assert answer.status_code == 404
    assert "expressio client install" in answer.text
    assert answer.text.index("expressio client install") < answer.text.index("npm install")


@pytest.mark.skipif(
    not (NODE_MODULES / "socket.io-client" / "dist" / "socket.io.js").is_file(),
    reason="socket.io-client is not installed in node_modules (run npm install)",
)
async def test_node_modules_comes_before_the_installed_client(
    registry: Registry, client_dir: Path
) -> None:
    registry.serve(GOOD)
    assert install(registry)[0] == 0
    app = expressio.express()  # in the repository: its node_modules is found first
    app.http().io()
    answer = await fetch(app, "/socket.io/socket.io.js")
    assert answer.content == (NODE_MODULES / "socket.io-client/dist/socket.io.js").read_bytes()
    app.io.set("browser client path", str(client_dir))  # and the setting before both
    assert (await fetch(app, "/socket.io/socket.io.js")).content == CLIENT_JS
