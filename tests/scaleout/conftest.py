"""Fixtures for the scale-out suite: a private redis-server, clusters of real server processes
(each with its own log file, read by the tests), and python-socketio clients that record what
they receive.

Nothing here waits for a fixed time: readiness is Redis's own count of subscribers on a
channel, and "nothing else arrived" is proved with a fence broadcast sent after the one under
test by the same process (Redis keeps one publisher's order, and so does each local queue).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import socketio

from tests.redis_support import RedisServer
from tests.support import ROOT, free_port, stop_process, wait_for_port

HERE = Path(__file__).resolve().parent
CLUSTER_SERVER = HERE / "cluster_server.py"
WAIT = 15.0  # seconds: an upper bound for things that happen in milliseconds


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def subscribers(redis_url: str, channel: str) -> int:
    with redis.Redis.from_url(redis_url, socket_timeout=2) as client:
        counts = client.pubsub_numsub(channel)
    return int(counts[0][1])


def wait_subscribers(redis_url: str, channel: str, count: int, timeout: float = WAIT) -> None:
    """Until ``count`` connections listen on ``channel`` (server processes are subscribed)."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        try:
            seen = subscribers(redis_url, channel)
        except redis.exceptions.ConnectionError:
            seen = -1
        if seen >= count:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{seen} subscribers on {channel!r}, expected {count}")


async def wait_subscribers_async(redis_url: str, channel: str, count: int) -> None:
    await asyncio.to_thread(wait_subscribers, redis_url, channel, count)


class ServerProcess:
    """One server process, its port and its log file."""

    def __init__(
        self, argv: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class Cluster:
    """Server processes started on demand, all stopped at the end of the test; on failure the
    tail of every log is printed."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.servers: list[ServerProcess] = []

    def start(
        self, argv: list[str], port: int | None = None, env: dict[str, str] | None = None
    ) -> ServerProcess:
        """Run ``argv --port N`` and wait until N accepts connections."""
        port = port if port is not None else free_port()
        log_path = self.tmp_path / f"server-{len(self.servers)}-{port}.log"
        server = ServerProcess([*argv, "--port", str(port)], port, log_path, env)
        self.servers.append(server)
        wait_for_port(port, timeout=WAIT, process=server.process)
        return server

    def start_realtime(
        self, redis_url: str, channel: str = "expressio", *extra: str
    ) -> ServerProcess:
        argv = [sys.executable, str(CLUSTER_SERVER), "--redis", redis_url, "--channel", channel]
        return self.start([*argv, *extra])

    def close(self) -> None:
        for server in self.servers:
            server.stop()

    def dump_logs(self) -> None:
        for server in self.servers:
            sys.stderr.write(f"--- server on port {server.port} ---\n{server.log()[-3000:]}\n")


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    group = Cluster(tmp_path)
    try:
        yield group
    finally:
        group.close()
        group.dump_logs()  # shown by pytest for failing tests only


class Client:
    """A python-socketio AsyncClient that records every event it receives, per namespace."""

    def __init__(self, url: str, namespaces: tuple[str, ...] = ("/",), **options: Any) -> None:
        self.url = url
        self.namespaces = namespaces
        self.sio = socketio.AsyncClient(reconnection=options.pop("reconnection", False), **options)
        self.received: list[tuple[str, str, tuple[Any, ...]]] = []  # namespace, event, args
        self._changed = asyncio.Event()
        for namespace in namespaces:
            self.sio.on("*", self._recorder(namespace), namespace=namespace)

    def _recorder(self, namespace: str) -> Callable[..., None]:
        def record(event: str, *args: Any) -> None:
            self.received.append((namespace, event, args))
            self._changed.set()

        return record

    async def connect(
        self, transports: list[str] | None = None, headers: Any = None, auth: Any = None
    ) -> Client:
        await self.sio.connect(
            self.url,
            headers=headers or {},
            auth=auth,
            namespaces=list(self.namespaces),
            transports=transports or ["websocket"],
            wait_timeout=WAIT,
        )
        return self

    def sid(self, namespace: str = "/") -> str:
        sid = self.sio.get_sid(namespace)
        assert sid is not None
        return sid

    async def call(self, event: str, data: Any = None, namespace: str = "/") -> Any:
        return await self.sio.call(event, data, namespace=namespace, timeout=WAIT)

    def events(self, event: str, namespace: str = "/") -> list[tuple[Any, ...]]:
        return [args for ns, name, args in self.received if name == event and ns == namespace]

    async def wait_for(self, event: str, count: int = 1, namespace: str = "/") -> None:
        async def reached() -> None:
            while len(self.events(event, namespace)) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(reached(), WAIT)
        except TimeoutError:
            raise AssertionError(
                f"{self.url}: {event!r} x{count} on {namespace} never came; got {self.received}"
            ) from None

    async def disconnect(self) -> None:
        await self.sio.disconnect()


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisServer]:
    """One redis-server for a whole module whose tests do not stop it."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def trio(
    shared_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    """Three realtime server processes on ``shared_redis``, subscribed, for a whole module."""
    group = Cluster(tmp_path_factory.mktemp("trio"))
    try:
        servers = [group.start_realtime(shared_redis.url) for _ in range(3)]
        wait_subscribers(shared_redis.url, "expressio-request#/#", 3)
        yield servers
    finally:
        group.close()


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    """``await clients(url, namespaces=("/",), transports=None, headers=None, auth=None,
    **client_options)`` → a connected Client (``reconnection`` is off unless asked for)."""
    made: list[Client] = []

    async def connect(
        url: str,
        namespaces: tuple[str, ...] = ("/",),
        transports: list[str] | None = None,
        headers: Any = None,
        auth: Any = None,
        **options: Any,
    ) -> Client:
        client = Client(url, namespaces, **options)
        made.append(client)
        return await client.connect(transports, headers, auth)

    yield connect
    await asyncio.gather(*(client.disconnect() for client in made), return_exceptions=True)
