"""Fixtures for the realtime layer: a RealtimeServer on a recording fake engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .fake_engine import FakeEngineServer, FakeEngineSocket

try:
    from expressio.engine import EngineServer  # noqa: F401
except ImportError:  # TEMPORARY: the engine package is still being written
    import expressio.engine as _engine

    _engine.EngineServer = FakeEngineServer  # type: ignore[attr-defined]
    _engine.EngineSocket = FakeEngineSocket  # type: ignore[attr-defined]

from expressio.realtime import RealtimeServer
from expressio.realtime import server as server_module


@pytest.fixture
def make_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(server_module, "EngineServer", FakeEngineServer)

    def make(**options: Any) -> tuple[RealtimeServer, FakeEngineServer]:
        server = RealtimeServer(**options)
        assert isinstance(server.engine, FakeEngineServer)
        return server, server.engine

    yield make
