"""examples/express_io_readme: the express.io README example runs as written, in its own
process, with the browser client served and the official client seeing ``talk``."""

from __future__ import annotations

import httpx

from tests.support import ROOT, free_port, python_server

from .conftest import run_node

EXAMPLE = ROOT / "examples" / "express_io_readme"


def test_readme_example_ready_then_talk() -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with python_server(EXAMPLE / "app.py", port):
        page = httpx.get(base_url + "/")
        assert page.status_code == 200
        assert page.text == (EXAMPLE / "client.html").read_text()
        bundle = httpx.get(base_url + "/socket.io/socket.io.js")
        assert bundle.status_code == 200
        assert "io" in bundle.text
        results = run_node("readme_client.mjs", base_url)
        assert "error" not in results["done"], results
        assert results["talk"]["data"] == {"message": "io event from an io route on the server"}
