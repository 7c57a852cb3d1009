"""Every ```python block of docs/*.md and README.md runs, so the docs cannot rot.

The convention (for writers, also at the top of docs/index.md):

- each ```python block is a complete program, run alone in a fresh subprocess (timeout
  ``BLOCK_TIMEOUT``), in an empty directory holding ``key.pem``/``cert.pem`` (a certificate
  for 127.0.0.1 and localhost), ``ca.pem`` (its authority), ``client.html`` and
  ``node_modules`` (for ``/socket.io/socket.io.js``);
- ``app.listen(...)`` does not block there: it starts the server in the background and returns,
  so the lines after it may be a client (httpx, python-socketio) that talks to it;
- port 7076 is rewritten to a free port, and ``redis://127.0.0.1:6379`` to a private
  redis-server started for the block;
- a block in docs/ must ``assert`` what it demonstrates; ```python no-assert exempts a block
  that only shows setup; code not meant to run is fenced ```text, ```sh, ```js...

The blocks are independent programs, so the selected ones run a few at a time, started
together when the first test asks; each test then reports one block's outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT, free_port

from .blocks import CodeBlock, code_blocks, python_blocks
from .conftest import lay_out

DOCS = ROOT / "docs"
# architecture.md is the internal contract between layers: its blocks are signatures, not
# programs. Every other page is user documentation and runs.
NOT_PROGRAMS = {"architecture.md"}
PAGES = [
    *(page for page in sorted(DOCS.glob("*.md")) if page.name not in NOT_PROGRAMS),
    ROOT / "README.md",
]
RUNNER = Path(__file__).resolve().parent / "runner.py"
BLOCK_TIMEOUT = 60  # seconds
AT_ONCE = 4  # blocks running together; they mostly wait on sockets
DOCS_PORT = "7076"
DOCS_REDIS = "redis://127.0.0.1:6379"

BLOCKS = [block for page in PAGES if page.exists() for block in python_blocks(page)]


@dataclass(frozen=True)
class Outcome:
    returncode: int | None  # None: it ran over BLOCK_TIMEOUT
    stdout: str
    stderr: str
    skipped: str | None = None


def run_block(block: CodeBlock, workdir: Path) -> Outcome:
    with ExitStack() as stack:
        code = block.code.replace(DOCS_PORT, str(free_port()))
        if DOCS_REDIS in code:
            from tests.redis_support import REDIS_SERVER, redis_server

            if REDIS_SERVER is None:
                return Outcome(0, "", "", skipped=f"{block.label} needs redis-server")
            redis = stack.enter_context(redis_server())
            code = code.replace(DOCS_REDIS, redis.url.removesuffix("/0"))
        program = workdir / "example.py"
        program.write_text(code, encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "EXPRESSIO_ENV": "development"}
        try:
            finished = subprocess.run(
                [sys.executable, str(RUNNER), str(program)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
            )
        except subprocess.TimeoutExpired as expired:
            output = expired.stderr
            text = output.decode(errors="replace") if isinstance(output, bytes) else output
            return Outcome(None, "", text or "")
        return Outcome(finished.returncode, finished.stdout, finished.stderr)


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    certificates: Path,
) -> Iterator[dict[str, Future[Outcome]]]:
    """The selected blocks, started together (a few at a time)."""
    selected: list[CodeBlock] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and item.path == Path(__file__) and "block" in callspec.params:
            selected.append(callspec.params["block"])
    with ThreadPoolExecutor(max_workers=AT_ONCE, thread_name_prefix="docs-block") as pool:
        futures = {
            block.label: pool.submit(
                run_block, block, lay_out(tmp_path_factory.mktemp("block"), certificates)
            )
            for block in selected
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("block", BLOCKS, ids=[block.label for block in BLOCKS])
def test_block_runs(block: CodeBlock, outcomes: dict[str, Future[Outcome]]) -> None:
    outcome = outcomes[block.label].result()
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    where = f"{block.page}:{block.line}"
    assert outcome.returncode is not None, (
        f"the block at {where} ran over {BLOCK_TIMEOUT} s\n{outcome.stderr[-5000:]}"
    )
    assert outcome.returncode == 0, (
        f"the block at {where} failed (exit {outcome.returncode})\n"
        f"--- stdout ---\n{outcome.stdout[-3000:]}\n--- stderr ---\n{outcome.stderr[-5000:]}"
    )


def test_docs_blocks_assert_what_they_show() -> None:
    """A docs block that demonstrates behaviour checks it, so the test checks behaviour."""
    silent = [
        block.label
        for page in PAGES
        if page.parent == DOCS
        for block in code_blocks(page)
        if block.language in ("python", "py")
        and "assert" not in block.code
        and "no-assert" not in block.flags
    ]
    assert silent == [], f"python blocks without an assert (or the no-assert flag): {silent}"


def test_the_docs_have_runnable_blocks() -> None:
    """The harness finds the blocks (a broken fence parser would make every page pass)."""
    pages_with_blocks = {block.page.name for block in BLOCKS}
    expected = {
        "getting-started.md",
        "app.md",
        "appio.md",
        "socket-request.md",
        "request-io.md",
        "settings.md",
        "deployment.md",
        "coming-from-express-io.md",
    }
    assert expected <= pages_with_blocks
