"""Fixtures for the docs harness: a working directory laid out as the docs promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tests.support import NODE_MODULES

CLIENT_HTML = """<!doctype html>
<title>client</title>
<script src="/socket.io/socket.io.js"></script>
<script>const socket = io(); socket.emit("ready");</script>
"""


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local CA and a certificate for 127.0.0.1 / localhost signed by it."""
    directory = tmp_path_factory.mktemp("docs-certificates")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    authority.cert_pem.write_to_path(str(directory / "ca.pem"))
    certificate.private_key_pem.write_to_path(str(directory / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    return directory


@pytest.fixture
def workdir(tmp_path: Path, certificates: Path) -> Path:
    """A fresh directory per block: key.pem, cert.pem, ca.pem, client.html, node_modules."""
    for name in ("ca.pem", "key.pem", "cert.pem"):
        (tmp_path / name).write_bytes((certificates / name).read_bytes())
    (tmp_path / "client.html").write_text(CLIENT_HTML, encoding="utf-8")
    if NODE_MODULES.is_dir():
        (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return tmp_path
