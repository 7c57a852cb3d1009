"""Fixtures for the browser tests: the chat demo in a subprocess, Debian's Chromium driven by
Playwright (its own driver, the system browser: nothing is downloaded at test time).

Chromium comes from ``EXPRESSIO_CHROMIUM`` (set by ``scripts/setup-browser.sh``), else from the
PATH. When it cannot be had, every test here is skipped with the reason, never silently.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, free_port, python_server

CHAT_APP = ROOT / "examples" / "chat" / "app.py"
SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000  # how long a page may take to show something that should appear at once


def chromium_path() -> str:
    """The Chromium binary, or a loud skip naming why there is none."""
    missing = os.environ.get("EXPRESSIO_CHROMIUM_MISSING")
    path = os.environ.get("EXPRESSIO_CHROMIUM") or shutil.which("chromium")
    if path is None or missing:
        reason = (
            f"browser tests skipped: {missing}"
            if missing
            else "browser tests skipped: no chromium on PATH and EXPRESSIO_CHROMIUM unset "
            "(scripts/test.sh installs Debian's chromium when it can)"
        )
        warnings.warn(reason, stacklevel=1)
        sys.stderr.write(f"\n*** {reason} ***\n")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def chat_url() -> Iterator[str]:
    """The chat demo, served by its own script on a free port."""
    port = free_port()
    with python_server(CHAT_APP, port, env={"EXPRESSIO_CHAT_SECRET": "browser-test"}):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Pages:
    """Browser pages of one test, each in its own context (its own cookies: its own user)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.open: dict[str, Any] = {}

    def new(self, name: str, width: int = 1100, height: int = 700) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        self.open[name] = page
        return page

    def screenshot_all(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        saved = []
        for name, page in self.open.items():
            path = directory / f"{name}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                saved.append(path)
            except Exception as error:  # a crashed page must not hide the test's own failure
                sys.stderr.write(f"screenshot of {name} failed: {error}\n")
        return saved

    def close(self) -> None:
        for page in self.open.values():
            page.context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def pages(browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    """Pages to drive; on failure each one's screenshot is saved under test-output/browser/."""
    opened = Pages(browser)
    try:
        yield opened
        if request.node.stash.get(_FAILED, False):
            directory = SCREENSHOTS / request.node.name
            saved = opened.screenshot_all(directory)
            sys.stderr.write(f"screenshots: {', '.join(str(path) for path in saved)}\n")
    finally:
        opened.close()
