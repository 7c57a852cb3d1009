"""``expressio admin-ui``: where it finds the UI, what it prints, what it serves, and its errors."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from expressio.io.admin_ui import UI_DIR, AdminUINotFound, find_ui
from tests.support import ROOT, free_port, printing_server

COMMAND = [sys.executable, "-m", "expressio.cli", "admin-ui"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def fake_ui(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<title>Socket.IO Admin UI</title>")
    (folder / "js").mkdir()
    (folder / "js" / "app.js").write_text("console.log('ui')")
    return folder


def test_without_the_package_it_says_how_to_install_and_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere"
    completed = run(["--dir", str(missing)], cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert "npm install @socket.io/admin-ui" in completed.stderr
    for place in (missing, missing / UI_DIR, tmp_path / UI_DIR):
        assert f"    {place}\n" in completed.stderr + "\n"


def test_it_looks_in_dir_then_up_from_the_current_directory(tmp_path: Path) -> None:
    given = fake_ui(tmp_path / "given")
    assert find_ui(given, roots=[tmp_path]) == given
    beside = fake_ui(tmp_path / "project" / UI_DIR)
    nested = tmp_path / "project" / "app" / "static"
    nested.mkdir(parents=True)
    assert find_ui(None, roots=[nested]) == beside
    assert find_ui(tmp_path / "project", roots=[]) == beside  # a folder holding node_modules
    with pytest.raises(AdminUINotFound) as refused:
        find_ui(tmp_path / "nothing", roots=[tmp_path / "given"])
    assert tmp_path / "nothing" in refused.value.looked_in


def test_it_serves_the_ui_and_prints_the_url_and_what_to_type(tmp_path: Path) -> None:
    ui = fake_ui(tmp_path / "dist")
    port = free_port()
    with printing_server(
        [*COMMAND, "--port", str(port), "--dir", str(ui)], tmp_path / "out.log"
    ) as output:
        url = output.wait_for(r"^Socket\.IO Admin UI: (\S+)$")[1]
        assert url == f"http://127.0.0.1:{port}/"
        hint = output.wait_for(r"^In its form: .*$")[0]
        assert "username and password given to app.io.instrument()" in hint
        assert f'"http://127.0.0.1:{port}"' in hint  # the origin the app must allow
        page = httpx.get(url)
        assert page.status_code == 200
        assert "Socket.IO Admin UI" in page.text
        assert httpx.get(url + "js/app.js").text == "console.log('ui')"
        assert httpx.get(url + "../../etc/passwd").status_code == 404


def test_it_finds_the_npm_package_from_the_current_directory(tmp_path: Path) -> None:
    # scripts/setup.sh installs @socket.io/admin-ui with the other Node packages of the tests
    assert (ROOT / UI_DIR / "index.html").is_file(), "run scripts/setup.sh (npm ci)"
    port = free_port()
    with printing_server([*COMMAND, "--port", str(port)], tmp_path / "ui.log") as out:
        url = out.wait_for(r"^Socket\.IO Admin UI: (\S+)$")[1]
        page = httpx.get(url)
        assert "<title>Socket.IO Admin UI</title>" in page.text
        script = re.search(r'src="(js/app\.[0-9a-f]+\.js)"', page.text)
        assert script is not None
        assert httpx.get(url + script[1]).status_code == 200


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    ui = fake_ui(tmp_path / "dist")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = run(["--port", str(port), "--dir", str(ui)], cwd=tmp_path)
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert "Traceback" not in completed.stderr
