"""A stand-in for the Engine.IO layer that records what the realtime layer sends.

It follows the engine contract of docs/architecture.md: plain sync callbacks, ``send`` /
``send_prepared`` that queue, ``close`` that ends the connection and reports it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_sids = itertools.count()


@dataclass
class FakeRequest:
    headers: dict[str, str] = field(default_factory=lambda: {"user-agent": "fake"})
    query: dict[str, str] = field(default_factory=lambda: {"EIO": "4"})
    address: str = "127.0.0.1"
    secure: bool = False
    url: str = "/socket.io/?EIO=4&transport=websocket"
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class FakePrepared:
    data: str | bytes


class FakeEngineSocket:
    def __init__(self, server: FakeEngineServer) -> None:
        self.server = server
        self.sid = f"engine-{next(_sids)}"
        self.transport = "websocket"
        self.request = FakeRequest()
        self.state: object = None
        self.closed = False
        self.close_reason: str | None = None
        self.writable = True  # a test sets it to play a client that cannot take more now
        self.sent: list[str | bytes] = []
        self.prepared_received: list[FakePrepared] = []

    def send(self, data: str | bytes) -> None:
        if not self.closed:
            self.sent.append(data)

    def send_prepared(self, message: FakePrepared) -> None:
        if not self.closed:
            self.prepared_received.append(message)
            self.sent.append(message.data)

    def close(self, reason: str = "forced close") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.server.sockets.pop(self.sid, None)
        if self.server.on_disconnect is not None:
            self.server.on_disconnect(self, reason)

    # test helpers -------------------------------------------------------------------------
    def receive(self, *messages: str | bytes) -> None:
        """Deliver messages from the 'client', as the engine would."""
        assert self.server.on_message is not None
        for message in messages:
            self.server.on_message(self, message)

    def drop(self, reason: str = "transport close") -> None:
        """The transport went away underneath."""
        self.close(reason)

    def take(self) -> list[str | bytes]:
        sent, self.sent = self.sent, []
        return sent


class FakeEngineServer:
    def __init__(
        self,
        *,
        on_connect: Callable[[FakeEngineSocket], None] | None = None,
        on_message: Callable[[FakeEngineSocket, str | bytes], None] | None = None,
        on_disconnect: Callable[[FakeEngineSocket, str], None] | None = None,
        **options: Any,
    ) -> None:
        self.on_connect = on_connect
        self.on_message = on_message
        self.on_disconnect = on_disconnect
        self.options = options
        self.max_payload: int = options.get("max_payload", 1_000_000)
        self.sockets: dict[str, FakeEngineSocket] = {}
        self.prepared: list[FakePrepared] = []
        self.shut_down: str | None = None

    def prepare(self, data: str | bytes) -> FakePrepared:
        prepared = FakePrepared(data)
        self.prepared.append(prepared)
        return prepared

    async def shutdown(self, reason: str = "server shutting down") -> None:
        self.shut_down = reason
        for socket in list(self.sockets.values()):
            socket.close(reason)

    def connect(self) -> FakeEngineSocket:
        socket = FakeEngineSocket(self)
        self.sockets[socket.sid] = socket
        assert self.on_connect is not None
        self.on_connect(socket)
        return socket
