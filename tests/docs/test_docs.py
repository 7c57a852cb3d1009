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
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import ROOT, free_port

from .blocks import CodeBlock, code_blocks, python_blocks

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
DOCS_PORT = "7076"
DOCS_REDIS = "redis://127.0.0.1:6379"

BLOCKS = [block for page in PAGES if page.exists() for block in python_blocks(page)]


def prepare(block: CodeBlock, stack: ExitStack) -> str:
    """The block's code with the docs' port and Redis URL replaced by private ones."""
    code = block.code.replace(DOCS_PORT, str(free_port()))
    if DOCS_REDIS in code:
        from tests.redis_support import REDIS_SERVER, redis_server

        if REDIS_SERVER is None:
            pytest.skip(f"{block.label} needs redis-server, which is not installed")
        redis = stack.enter_context(redis_server())
        code = code.replace(DOCS_REDIS, redis.url.removesuffix("/0"))
    return code


@pytest.mark.parametrize("block", BLOCKS, ids=[block.label for block in BLOCKS])
def test_block_runs(block: CodeBlock, workdir: Path) -> None:
    with ExitStack() as stack:
        program = workdir / "example.py"
        program.write_text(prepare(block, stack), encoding="utf-8")
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
            pytest.fail(f"{block.label} ran over {BLOCK_TIMEOUT} s\n{expired.stderr or ''}")
    assert finished.returncode == 0, (
        f"the block at {block.page}:{block.line} failed (exit {finished.returncode})\n"
        f"--- stdout ---\n{finished.stdout[-3000:]}\n--- stderr ---\n{finished.stderr[-5000:]}"
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
    assert {"getting-started.md", "app.md", "appio.md"} <= pages_with_blocks
