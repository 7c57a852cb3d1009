"""The scale-out Redis users (adapter, link, emitter) never show a Redis password: not in their
log lines, their error messages nor their reprs."""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest
import redis

import expressio
from tests.support import free_port

PASSWORD = "Hunter2-Very-Secret"


def down_url() -> str:
    """A Redis URL with a password, on a port nothing listens on: Redis is down."""
    return f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        [caplog.text]
        + [record.getMessage() for record in caplog.records]
        + [
            "".join(traceback.format_exception(record.exc_info[1]))
            for record in caplog.records
            if record.exc_info and record.exc_info[1] is not None
        ]
    )


async def test_adapter_link_logs_and_errors_mask_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = down_url()
    adapter = expressio.RedisAdapter(url)
    assert PASSWORD not in repr(adapter)  # the repr used to show the URL as given
    assert "redis://:***@127.0.0.1:" in repr(adapter)
    with caplog.at_level(logging.DEBUG):
        try:
            with pytest.raises(TimeoutError) as caught:
                await adapter.start(timeout=0.5)
            assert PASSWORD not in str(caught.value)
            for _ in range(200):  # the outage is logged once the first attempt failed
                if "unreachable" in caplog.text:
                    break
                await asyncio.sleep(0.02)
        finally:
            await adapter.close()
    logged = everything_logged(caplog)
    assert "redis://:***@127.0.0.1:" in logged and "unreachable" in logged
    assert PASSWORD not in logged


def test_emitter_errors_and_repr_carry_no_password() -> None:
    emitter = expressio.Emitter(down_url())
    try:
        with pytest.raises(redis.exceptions.ConnectionError) as caught:
            emitter.broadcast("news", 1)
        assert PASSWORD not in "".join(traceback.format_exception(caught.value))
        assert PASSWORD not in repr(emitter)
    finally:
        emitter.close()
