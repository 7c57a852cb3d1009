"""What the forwarding and session-flow tests share: an app served by a real uvicorn in a
thread of the test process (so tests can read what handlers recorded), python-socketio clients
with an inbox, and a runner for the official socket.io-client driven by Node."""

from __future__ import annotations

from tests.socket_clients import WAIT, Client, Inbox, run_node
from tests.socket_clients import clients as socket_clients

__all__ = ["WAIT", "Client", "Inbox", "run_node", "socket_clients"]
