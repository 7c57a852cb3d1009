"""Errors users can cause get clear answers and never a hanging request."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

import expressio

from .conftest import OpenClient, http_client


async def test_unmatched_route_is_express_404(connect: OpenClient) -> None:
    app = expressio.express()
    app.get("/exists", lambda req: "yes")
    async with connect(app) as client:
        missing = await client.get("/nope/here?x=1")
        wrong_method = await client.post("/exists")
    assert (missing.status_code, missing.text) == (404, "Cannot GET /nope/here")
    assert missing.headers["content-type"].startswith("text/plain")
    assert (wrong_method.status_code, wrong_method.text) == (404, "Cannot POST /exists")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_exception_in_development_shows_the_traceback(
    connect: OpenClient, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    app = expressio.express()
    assert app.get("env") == "development"

    def sync_boom(req, res):
        raise ValueError("sync kaboom")

    async def async_boom(req, res):
        await asyncio.sleep(0)
        raise ValueError("async kaboom")

    app.get("/boom", sync_boom if kind == "sync" else async_boom)
    with caplog.at_level(logging.ERROR, logger="expressio"):
        async with connect(app) as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.text.startswith("Internal Server Error")
    assert "Traceback" in response.text and f"{kind} kaboom" in response.text
    records = [record for record in caplog.records if record.name == "expressio"]
    assert records and records[0].exc_info is not None
    assert f"{kind} kaboom" in caplog.text


async def test_handler_exception_in_production_hides_the_traceback(
    connect: OpenClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = expressio.express()
    app.set("env", "production")
    app.get("/boom", lambda req: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="expressio"):
        async with connect(app) as client:
            response = await client.get("/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert "ZeroDivisionError" in caplog.text  # the log still has it


async def test_env_defaults_to_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPRESSIO_ENV", "production")
    assert expressio.express().get("env") == "production"
    monkeypatch.delenv("EXPRESSIO_ENV")
    assert expressio.express().get("env") == "development"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_that_neither_responds_nor_calls_next_gets_a_500(
    connect: OpenClient, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    app = expressio.express()

    def forgetful_sync(req, res, next):
        res.status(201)

    async def forgetful_async(req, res, next):
        await asyncio.sleep(0)

    app.get("/forgot", forgetful_sync if kind == "sync" else forgetful_async)
    with caplog.at_level(logging.ERROR, logger="expressio"):
        async with connect(app) as client:
            response = await asyncio.wait_for(client.get("/forgot"), timeout=10)
    assert response.status_code == 500
    name = "forgetful_sync" if kind == "sync" else "forgetful_async"
    assert name in caplog.text
    assert "without sending a response or calling next()" in caplog.text


async def test_http_error_status_and_message(connect: OpenClient) -> None:
    app = expressio.express()

    def guarded(req, res):
        raise expressio.HTTPError(403, "Not yours")

    def with_status_code(req, res, next):
        error = RuntimeError("teapot")
        error.status_code = 418  # type: ignore[attr-defined]
        next(error)

    app.get("/guarded", guarded)
    app.get("/teapot", with_status_code)
    app.get("/string", lambda req, res, next: next("plain string error"))
    app.set("env", "production")
    async with connect(app) as client:
        forbidden = await client.get("/guarded")
        teapot = await client.get("/teapot")
        string = await client.get("/string")
    assert (forbidden.status_code, forbidden.text) == (403, "Not yours")
    assert (teapot.status_code, teapot.text) == (418, "teapot")
    assert (string.status_code, string.text) == (500, "Internal Server Error")


async def test_error_inside_an_error_handler_is_passed_on(connect: OpenClient) -> None:
    app = expressio.express()
    app.set("env", "production")
    app.get("/", lambda req: 1 / 0)

    def broken_handler(err, req, res, next):
        raise expressio.HTTPError(409, f"while handling {type(err).__name__}")

    app.use(broken_handler)
    async with connect(app) as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (409, "while handling ZeroDivisionError")


async def test_unserialisable_return_value_is_a_500_not_a_hang(connect: OpenClient) -> None:
    app = expressio.express()
    app.set("env", "production")
    app.get("/", lambda req: {"bad": object()})
    async with connect(app) as client:
        assert (await client.get("/")).status_code == 500


async def test_blocking_def_handler_does_not_stall_the_loop() -> None:
    app = expressio.express()
    started = threading.Event()
    release = threading.Event()
    outcome: dict[str, bool] = {}

    def blocking(req, res):
        started.set()
        # Blocks its thread until another request, served meanwhile by the loop, sets the event.
        outcome["released"] = release.wait(timeout=10)
        res.send("blocking done")

    async def releaser(req, res):
        release.set()
        res.send("released")

    app.get("/blocking", blocking)
    app.get("/release", releaser)
    async with http_client(app) as client:
        blocked = asyncio.ensure_future(client.get("/blocking"))
        assert await asyncio.to_thread(started.wait, 10)
        assert (await client.get("/release")).text == "released"
        assert (await asyncio.wait_for(blocked, timeout=15)).text == "blocking done"
    assert outcome == {"released": True}
