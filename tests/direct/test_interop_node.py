"""The interop suite's official socket.io-client tests (tests/interop/test_node_client.py),
every transport mode, against the interop server on the direct websocket transport (the
``interop_url`` fixture of this folder's conftest)."""

from tests.interop.test_node_client import *  # noqa: F403
