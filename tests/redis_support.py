"""A private redis-server for tests: a free port, no persistence, stoppable on purpose.

```python
with redis_server() as redis:          # or RedisServer() + start()/stop()
    store = RedisStore(redis.url)
    redis.stop()                       # an outage, mid-test
    redis.start()                      # back on the same port, empty
```
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """One redis-server process bound to 127.0.0.1 on a port chosen once, kept across restarts."""

    def __init__(self, port: int | None = None) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = port if port is not None else free_port()
        self._directory = tempfile.TemporaryDirectory(prefix="expressio-redis-")
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = Path(self._directory.name) / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start it (again) on its port and wait until it answers PING."""
        if self.running:
            return
        assert REDIS_SERVER is not None
        argv = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._directory.name,
            "--logfile", str(self._log_path),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.log()}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop it now (its data is gone: nothing is persisted)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()  # an abrupt outage, like a crash; nothing to flush anyway
        process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._directory.cleanup()

    def ping(self) -> bool:
        """True when the server answers PING (a raw RESP exchange, no client library)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started private redis-server, stopped and cleaned up when the block ends."""
    with RedisServer() as server:
        yield server
