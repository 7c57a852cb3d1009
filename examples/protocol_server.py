"""The protocol conformance target: Socket.IO v5 at /socket.io/ and raw Engine.IO v4 at /engine.io/.

    python examples/protocol_server.py --port 3000
    python examples/protocol_server.py --port 3000 --asgi

By default it is served the way ``app.listen()`` serves (``expressio.http.serving.build_config``):
engine websockets take expressio's direct transport. ``--asgi`` serves the same app through
plain ASGI instead, websockets included, on uvicorn's own websocket implementation
(``ws="auto"``): what any other ASGI server would see.

- ``/socket.io/``: namespaces ``/`` and ``/custom``. On connect, each emits ``auth`` with the
  client's auth payload (``{}`` when none). On ``/``, ``message`` is answered by
  ``message-back`` with the same arguments and ``message-with-ack`` by an ack with the same
  arguments.
- ``/engine.io/``: every message is echoed back, text as text and binary as binary.

Both use pingInterval 300 ms, pingTimeout 200 ms and maxPayload 1,000,000 bytes, and accept
any origin, which is what the official Socket.IO and Engine.IO test suites expect.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from expressio.engine import EngineServer, EngineSocket
from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket

TIMINGS: dict[str, Any] = {
    "ping_interval": 0.3,
    "ping_timeout": 0.2,
    "max_payload": 1_000_000,
    "origins": "*",
}


def build_socketio(connect_timeout: float) -> RealtimeServer:
    server = RealtimeServer(connect_timeout=connect_timeout, **TIMINGS)

    def greet(socket: Socket, auth: Any) -> None:
        socket.emit("auth", auth)

    root = server.of("/")
    root.on_connect = greet
    root.on("message", lambda socket, *args: socket.emit("message-back", *args))
    # the handler's return value answers the ack; a tuple spreads into several arguments
    root.on("message-with-ack", lambda socket, *args: args)
    server.of("/custom").on_connect = greet
    return server


def build_echo_engine() -> EngineServer:
    def echo(engine_socket: EngineSocket, message: str | bytes) -> None:
        engine_socket.send(message)

    return EngineServer(on_message=echo, **TIMINGS)


class ProtocolApp:
    """A tiny ASGI router: each engine is path-agnostic, so the prefix picks one."""

    def __init__(self, connect_timeout: float) -> None:
        self.socketio = build_socketio(connect_timeout)
        self.engineio = build_echo_engine()

    def direct_websocket_route(self, path: str) -> EngineServer | None:
        """Which engine serves websockets at ``path`` (for the direct websocket transport)."""
        if path.startswith("/socket.io/") or path == "/socket.io":
            return self.socketio.engine
        if path.startswith("/engine.io/") or path == "/engine.io":
            return self.engineio
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith("/socket.io/") or path == "/socket.io":
            await self.socketio(scope, receive, send)
        elif path.startswith("/engine.io/") or path == "/engine.io":
            await self.engineio(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"Not Found"})
        else:
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.socketio.shutdown()
                await self.engineio.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=1.0,
        help="seconds a client has to join a namespace (the test suites' reference uses 1 s)",
    )
    parser.add_argument(
        "--asgi",
        action="store_true",
        help="serve websockets through plain ASGI (uvicorn's own implementation), not directly",
    )
    options = parser.parse_args()
    app = ProtocolApp(options.connect_timeout)
    # build_config: what app.listen() uses, websockets on the direct transport included,
    # unless --asgi hands them to uvicorn's own websocket protocol, as plain ASGI.
    plain_asgi = {"ws": "auto"} if options.asgi else {}
    config = build_config(
        app, host=options.host, port=options.port, log_level="warning", **plain_asgi
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
