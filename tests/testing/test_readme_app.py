"""The express.io README example's app (examples/express_io_readme/app.py), tested with the
TestClient: the page, and the ``ready`` → ``talk`` exchange."""

from __future__ import annotations

import importlib.util
from typing import Any

from expressio.testing import TestClient
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "express_io_readme"


def readme_app() -> Any:
    spec = importlib.util.spec_from_file_location("express_io_readme_app", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_page_then_ready_then_talk() -> None:
    with TestClient(readme_app()) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.text == (EXAMPLE / "client.html").read_text()
        with client.socket() as socket:
            socket.emit("ready")
            assert socket.wait_for("talk") == {"message": "io event from an io route on the server"}
            assert [item.event for item in socket.received()] == ["talk"]
