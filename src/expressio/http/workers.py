"""Serving one app with several worker processes on one port.

The parent binds the listening socket once, then forks the workers; each runs uvicorn on the
inherited socket (the kernel hands every new connection to one of them). The parent only
supervises: a worker that dies is replaced, and SIGINT or SIGTERM stops them all. Forking the
already-built app keeps ``app.listen(workers=N)`` free of import strings; the app must therefore
not open connections or start threads before ``listen`` (expressio's Redis adapter and stores
connect lazily, in each worker).

Several processes share nothing in memory, so ``workers > 1`` is refused when a client could
notice: a realtime server whose rooms and broadcasts stay in one process, or sessions kept in
one process's memory (see :func:`check_shareable`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
import traceback
from types import FrameType
from typing import Any

import uvicorn

from ..realtime import InMemoryAdapter, RealtimeServer
from ..sessions import MemoryStore
from .serving import build_config

logger = logging.getLogger("uvicorn.error")  # the supervisor speaks in uvicorn's log

QUICK_EXIT = 1.0  # seconds: a worker dying sooner than this after its start failed to start
MAX_QUICK_EXITS = 5  # in a row: then the app cannot start, and the supervisor gives up
STOP_TIMEOUT = 30.0  # seconds given to workers to finish after SIGTERM, then SIGKILL


class WorkerConfigError(RuntimeError):
    """The app cannot be served by several processes as configured; the message says why."""


class WorkersFailed(RuntimeError):
    """The workers kept exiting right after starting."""


def realtime_servers(app: Any) -> list[RealtimeServer]:
    """The realtime servers an app serves: ``app.io``'s, or the app itself."""
    found: list[RealtimeServer] = []
    if isinstance(app, RealtimeServer):
        found.append(app)
    server = getattr(getattr(app, "io", None), "server", None)
    if isinstance(server, RealtimeServer):
        found.append(server)
    return found


def is_shared_adapter(adapter: object) -> bool:
    """Whether an adapter reaches other processes: a custom one is assumed to; the in-memory
    one does not, unless it says it does (``cross_process = True``, as the Redis adapter)."""
    if isinstance(adapter, InMemoryAdapter):
        return bool(getattr(adapter, "cross_process", False))
    return True


def check_shareable(app: Any, workers: int) -> None:
    """Raise :class:`WorkerConfigError` when ``app`` cannot run in ``workers`` processes."""
    if workers <= 1:
        return
    problems: list[str] = []
    for server in realtime_servers(app):
        local = [
            name
            for name, namespace in server.namespaces.items()
            if not is_shared_adapter(namespace.adapter)
        ]
        if local:
            problems.append(
                f"the realtime server keeps rooms and broadcasts in one process (namespaces "
                f"{', '.join(local)}): a broadcast would reach only the clients of the worker "
                "that sent it. Use app.io(adapter=expressio.RedisAdapter(url))"
            )
    manager = getattr(app, "session_manager", None)  # any ASGI app may be served
    if isinstance(getattr(manager, "store", None), MemoryStore):
        problems.append(
            "sessions are kept in one process's memory (MemoryStore): a user logged in on one "
            "worker would be unknown to the others. Use "
            "expressio.session(secret, store=expressio.RedisStore(url))"
        )
    if problems:
        raise WorkerConfigError(
            f"cannot serve with {workers} workers: " + "; and ".join(problems) + "."
        )


def serve_workers(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 7076,
    workers: int,
    tls: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` with ``workers`` forked processes on one socket until SIGINT/SIGTERM."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    check_shareable(app, workers)
    if not hasattr(os, "fork"):
        raise WorkerConfigError("several workers need os.fork (Linux, macOS)")
    config = build_config(app, host=host, port=port, tls=tls, **options)
    listening = config.bind_socket()
    try:
        code = WorkerSupervisor(config, listening, workers).run()
    finally:
        listening.close()
    if code:
        raise WorkersFailed(f"the workers exited {MAX_QUICK_EXITS} times in a row at start")


class WorkerSupervisor:
    """Forks the workers, replaces those that die, and stops them all on SIGINT/SIGTERM."""

    def __init__(self, config: uvicorn.Config, listening: socket.socket, count: int) -> None:
        self.config = config
        self.listening = listening
        self.count = count
        self.workers: dict[int, float] = {}  # pid -> start time (monotonic)
        self._stopping = False
        self._quick_exits = 0

    def run(self) -> int:
        """Supervise until told to stop; 0, or 1 when the workers could not start."""
        previous = {
            sig: signal.signal(sig, self._on_stop_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        code = 0
        try:
            scheme = "https" if self.config.ssl_certfile else "http"
            logger.info(
                "serving on %s://%s:%d with %d workers (supervisor pid %d)",
                scheme, self.config.host, self.config.port, self.count, os.getpid(),
            )  # fmt: skip
            for _ in range(self.count):
                self._spawn()
            while not self._stopping:
                if not self._reap():
                    code = 1
                    break
                time.sleep(0.1)  # a signal ends the wait early (its handler sets the flag)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                uvicorn.Server(self.config).run(sockets=[self.listening])
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)  # never run the parent's cleanup in the child
        self.workers[pid] = time.monotonic()

    def _reap(self) -> bool:
        """Replace every worker that exited; False when they keep failing at start."""
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            started = self.workers.pop(pid, None)
            if started is None or self._stopping:
                continue
            lifetime = time.monotonic() - started
            logger.warning(
                "worker %d exited (%s) after %.1f s; starting another",
                pid, _describe(status), lifetime,
            )  # fmt: skip
            if lifetime < QUICK_EXIT:
                self._quick_exits += 1
                if self._quick_exits >= MAX_QUICK_EXITS:
                    logger.error("workers keep exiting at start; stopping")
                    return False
                time.sleep(QUICK_EXIT)  # do not spin on an app that cannot start
            else:
                self._quick_exits = 0
            self._spawn()
        return True

    def _stop_all(self) -> None:
        for pid in self.workers:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.workers and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
            else:
                self.workers.pop(pid, None)
        for pid in self.workers:
            logger.warning("worker %d did not stop in %.0f s; killing it", pid, STOP_TIMEOUT)
            _signal(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.workers.clear()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
