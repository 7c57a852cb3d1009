"""The pytest plugin, as a user turns it on: pytest run in a subprocess on a small test
file, with ``-p expressio.testing`` or ``pytest_plugins``, with and without an ``app`` fixture."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

APP = """
import pytest
import expressio

@pytest.fixture
def app():
    app = expressio.express()
    app.http().io()

    @app.get("/")
    def home(req, res):
        return {"hello": "world"}

    @app.io.route("ping")
    def ping(req):
        req.io.respond("pong")

    return app
"""

TESTS = """
def test_http(client):
    assert client.get("/").json() == {"hello": "world"}

def test_realtime(client):
    with client.socket() as socket:
        assert socket.call("ping") == "pong"

async def test_async(async_client):
    async with async_client.socket() as socket:
        assert await socket.call("ping") == "pong"
"""


def run_pytest(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PYTEST_ADDOPTS", None)
    # Only the plugins these tests use: loading every installed one costs seconds per run.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "pytest_asyncio.plugin",
            *options,
            str(directory),
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_fixtures_with_dash_p(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(APP + TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    finished = run_pytest(tmp_path, "-p", "expressio.testing")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "3 passed" in finished.stdout


def test_the_fixtures_with_pytest_plugins_in_conftest(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["expressio.testing"]\n' + APP)
    (tmp_path / "test_app.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    finished = run_pytest(tmp_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "3 passed" in finished.stdout


def test_without_an_app_fixture_the_error_says_what_to_write(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    finished = run_pytest(tmp_path, "-p", "expressio.testing")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "3 errors" in finished.stdout
    assert "an 'app' fixture" in finished.stdout
    assert "def app():" in finished.stdout


def test_an_app_error_fails_the_test_that_caused_it(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(
        APP.replace('return {"hello": "world"}', 'raise KeyError("missing")')
        + "\ndef test_http(client):\n    client.get('/')\n"
    )
    finished = run_pytest(tmp_path, "-p", "expressio.testing")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "1 failed" in finished.stdout
    assert "KeyError: 'missing'" in finished.stdout
