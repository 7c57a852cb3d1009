"""The interop suite's python-socketio client tests (tests/interop/test_python_client.py),
every transport mode, against the interop server on the direct websocket transport (the
``interop_url`` fixture of this folder's conftest)."""

from tests.interop.test_python_client import *  # noqa: F403
