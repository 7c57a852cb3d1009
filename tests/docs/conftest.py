"""Fixtures for the docs harness: the working directory each block runs in."""

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


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local CA and a certificate for 127.0.0.1 / localhost signed by it."""
    directory = tmp_path_factory.mktemp("docs-certificates")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    authority.cert_pem.write_to_path(str(directory / "ca.pem"))
    certificate.private_key_pem.write_to_path(str(directory / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    return directory


def lay_out(directory: Path, certificates: Path) -> Path:
    """What the docs promise a block finds in its working directory: key.pem, cert.pem,
    ca.pem, client.html, node_modules."""
    for name in ("ca.pem", "key.pem", "cert.pem"):
        (directory / name).write_bytes((certificates / name).read_bytes())
    (directory / "client.html").write_text(CLIENT_HTML, encoding="utf-8")
    if NODE_MODULES.is_dir():
        (directory / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return directory
