"""Which protocol server the conformance tests run against."""

from __future__ import annotations

import os
import subprocess
from contextlib import AbstractContextManager

import pytest

from tests.support import ROOT, python_server, server_process

TARGET_VARIABLE = "EXPRESSIO_CONFORMANCE_TARGET"
TARGET = os.environ.get(TARGET_VARIABLE, "expressio")
if TARGET not in ("expressio", "node"):
    raise RuntimeError(f"{TARGET_VARIABLE} must be 'expressio' or 'node', not {TARGET!r}")

EXPRESSIO_SERVER = ROOT / "examples" / "protocol_server.py"
NODE_REFERENCE_SERVER = ROOT / "tests" / "reference" / "protocol_server.js"


def protocol_server(port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
    if TARGET == "node":
        return server_process(["node", str(NODE_REFERENCE_SERVER), "--port", str(port)], port)
    if not EXPRESSIO_SERVER.exists():
        pytest.fail(f"{EXPRESSIO_SERVER.relative_to(ROOT)} is missing: nothing to test against")
    return python_server(EXPRESSIO_SERVER, port)


def beyond_node_reference(reason: str) -> pytest.MarkDecorator:
    """For a rule expressio promises that the Node reference server does not keep."""
    return pytest.mark.skipif(TARGET == "node", reason=f"the Node reference server {reason}")
