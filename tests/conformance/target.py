"""Which protocol server the conformance tests run against, and how it is served."""

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

#: expressio is served two ways, and each must conform: as ``app.listen()`` serves (engine
#: websockets on the direct transport), and through plain ASGI (uvicorn's own websockets).
#: The Node reference has one way.
SERVING_MODES: tuple[str, ...] = ("node",) if TARGET == "node" else ("direct", "asgi")


def protocol_server(port: int, mode: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    if mode == "node":
        return server_process(["node", str(NODE_REFERENCE_SERVER), "--port", str(port)], port)
    if not EXPRESSIO_SERVER.exists():
        pytest.fail(f"{EXPRESSIO_SERVER.relative_to(ROOT)} is missing: nothing to test against")
    extra = ("--asgi",) if mode == "asgi" else ()
    return python_server(EXPRESSIO_SERVER, port, *extra)


def beyond_node_reference(reason: str) -> pytest.MarkDecorator:
    """For a rule expressio promises that the Node reference server does not keep."""
    return pytest.mark.skipif(TARGET == "node", reason=f"the Node reference server {reason}")
