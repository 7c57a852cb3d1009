"""An app served as ``app.listen()`` serves it (``serving.build_config``: uvicorn, httptools,
the direct websocket transport), in a thread of the test process.

The app (an ``Application``) mounts:

- ``/engine.io``: a raw Engine.IO echo (text as text, binary as binary) with a few commands:
  ``cmd:close`` (the server closes the session), ``cmd:raise`` (the callback raises),
  ``cmd:stream:SIZE`` (a background task sends SIZE-byte messages, one per loop turn, until
  the session closes — what a client that stops reading meets);
- ``/socket.io``: a ``RealtimeServer`` (``echo`` acks its arguments, ``ask`` asks the client
  for an ack and reports it as ``answer``, ``binary`` sends bytes nested in an object,
  ``bye`` disconnects the client's whole connection);
- ``/plain``: a plain ASGI websocket echo, which must keep working beside the direct path.

Running in-process lets tests read what the engine reported (disconnect reasons) and which
protocol object carries each connection.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import uvloop

from expressio.engine import EngineServer, EngineSocket
from expressio.engine.direct import DirectWebSocketProtocol
from expressio.http.application import Application
from expressio.http.serving import build_config
from expressio.realtime import RealtimeServer, Socket
from tests.support import free_port, python_server

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
# Bounds a background stream: a client that reads everything still ends the test.
STREAM_LIMIT = 5000


@dataclass
class DirectUnderTest:
    port: int
    engine: EngineServer
    realtime: RealtimeServer
    server: uvicorn.Server
    connected: list[str] = field(default_factory=list)
    messages: list[tuple[str, str | bytes]] = field(default_factory=list)
    disconnected: dict[str, str] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None

    def engine_url(self, sid: str | None = None, **extra: str) -> str:
        query = {"EIO": "4", "transport": "websocket", **extra}
        if sid is not None:
            query["sid"] = sid
        encoded = "&".join(f"{name}={value}" for name, value in query.items())
        return f"ws://127.0.0.1:{self.port}/engine.io/?{encoded}"

    def polling_url(self, sid: str | None = None) -> str:
        url = f"http://127.0.0.1:{self.port}/engine.io/?EIO=4&transport=polling"
        return url if sid is None else f"{url}&sid={sid}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the server's loop and return its result."""
        assert self.loop is not None
        done = threading.Event()
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append(function())
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(5), "the server loop did not run the call"
        return outcome[0] if outcome else None

    def protocol_kinds(self) -> list[str]:
        """Class names of the protocols carrying the server's open websocket connections."""
        return sorted(
            type(connection).__name__
            for connection in self.call(lambda: list(self.server.server_state.connections))
        )

    def direct_connections(self) -> int:
        return self.protocol_kinds().count(DirectWebSocketProtocol.__name__)

    async def disconnect_reason(self, sid: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while sid not in self.disconnected:
            if time.monotonic() > deadline:
                raise AssertionError(f"no disconnect reported for {sid}: {self.disconnected}")
            await asyncio.sleep(0.01)
        return self.disconnected[sid]


def build_app(holder: list[DirectUnderTest], **engine_options: Any) -> Application:
    streams: set[asyncio.Task[None]] = set()

    async def stream(socket: EngineSocket, size: int) -> None:
        payload = b"s" * size
        for _ in range(STREAM_LIMIT):
            if socket.closed:
                return
            socket.send(payload)
            await asyncio.sleep(0)

    def on_connect(socket: EngineSocket) -> None:
        holder[0].connected.append(socket.sid)

    def on_message(socket: EngineSocket, data: str | bytes) -> None:
        holder[0].messages.append((socket.sid, data))
        if isinstance(data, str) and data.startswith("cmd:"):
            command = data[4:]
            if command == "close":
                socket.send("closing")
                socket.close()
            elif command == "raise":
                raise RuntimeError("callback failure on purpose")
            elif command.startswith("stream:"):
                task = asyncio.ensure_future(stream(socket, int(command[7:])))
                streams.add(task)
                task.add_done_callback(streams.discard)
            return
        socket.send(data)

    def on_disconnect(socket: EngineSocket, reason: str) -> None:
        holder[0].disconnected[socket.sid] = reason

    engine_options.setdefault("ping_interval", PING_INTERVAL)
    engine_options.setdefault("ping_timeout", PING_TIMEOUT)
    engine = EngineServer(
        on_connect=on_connect,
        on_message=on_message,
        on_disconnect=on_disconnect,
        **engine_options,
    )

    realtime = RealtimeServer()
    root = realtime.of("/")

    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async def ask(socket: Socket, *args: Any) -> None:
        answer = await socket.emit_with_ack("question", *args, timeout=5.0)
        socket.emit("answer", answer)

    def binary(socket: Socket) -> None:
        socket.emit("binary", {"buf": bytes([0, 1, 2, 255]), "nested": [{"deep": b"\x10"}]})

    root.on("echo", echo)
    root.on("ask", ask)
    root.on("binary", binary)
    root.on("bye", lambda socket: socket.disconnect(close=True))

    async def plain_echo(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            reply = {"type": "websocket.send"}
            if message.get("text") is not None:
                reply["text"] = "plain:" + message["text"]
            else:
                reply["bytes"] = b"plain:" + message["bytes"]
            await send(reply)

    app = Application()
    app.mount_asgi("/engine.io", engine)
    app.mount_asgi("/socket.io", realtime)
    app.mount_asgi("/plain", plain_echo)
    app.on_shutdown(realtime.shutdown)
    app.on_shutdown(engine.shutdown)
    return app


@contextmanager
def running(config: uvicorn.Config) -> Iterator[tuple[uvicorn.Server, list[Any]]]:
    """Run ``config`` in a thread on uvloop (as app.listen() does); yields the server and a
    list that holds its loop once it runs."""
    server = uvicorn.Server(config)
    loops: list[Any] = []

    def run() -> None:
        loop = uvloop.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=run, name=f"uvicorn-direct-{config.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield server, loops
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_direct(
    tls: dict[str, Any] | None = None, **engine_options: Any
) -> Iterator[DirectUnderTest]:
    holder: list[DirectUnderTest] = []
    app = build_app(holder, **engine_options)
    port = free_port()
    config = build_config(
        app, port=port, tls=tls, log_level="warning", timeout_graceful_shutdown=3
    )
    assert config.ws is DirectWebSocketProtocol
    mounts = app._mounts
    engine = next(target for prefix, _, target in mounts if prefix == "/engine.io")
    realtime = next(target for prefix, _, target in mounts if prefix == "/socket.io")
    with running(config) as (server, loops):
        under_test = DirectUnderTest(port=port, engine=engine, realtime=realtime, server=server)
        under_test.loop = loops[0]
        holder.append(under_test)
        yield under_test


@pytest.fixture
def direct() -> Iterator[DirectUnderTest]:
    with serve_direct() as running:
        yield running


@pytest.fixture
def make_direct() -> Callable[..., Any]:
    """``with make_direct(max_payload=...) as server:`` for other engine options."""
    return serve_direct


@pytest.fixture(scope="module")
def interop_url() -> Iterator[str]:
    """The interop suite's server on the direct transport, in its own process."""
    port = free_port()
    with python_server(Path(__file__).parent / "interop_direct_server.py", port):
        yield f"http://127.0.0.1:{port}"
