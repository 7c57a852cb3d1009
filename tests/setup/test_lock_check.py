"""scripts/setup.sh installs uv.lock exactly, and refuses a lock that pyproject.toml outgrew."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    for name in ("pyproject.toml", "uv.lock", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, copy / name)
    if not (ROOT / ".tools" / "uv" / "bin" / "uv").exists():
        pytest.fail("the repository's .tools/uv is missing: run scripts/setup.sh first")
    (copy / ".tools").symlink_to(ROOT / ".tools")  # the pinned uv, already installed
    return copy


def _setup(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "source scripts/setup.sh"],
        cwd=project,
        env={**os.environ, "EXPRESSIO_SETUP": "serve"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_lock_that_does_not_match_pyproject_is_refused_with_the_fix(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"orjson>=3.9",', '"orjson>=3.9",\n    "six>=1.16",', 1))
    assert "six>=1.16" in pyproject.read_text()

    result = _setup(project)

    assert result.returncode == 1
    assert "uv.lock does not match pyproject.toml" in result.stderr
    assert "./scripts/lock.sh" in result.stderr
    assert not (project / ".venv").exists(), "nothing may be installed from a stale lock"


def test_the_committed_lock_matches_pyproject() -> None:
    uv = ROOT / ".tools" / "uv" / "bin" / "uv"
    result = subprocess.run(
        [str(uv), "lock", "--check"],
        cwd=ROOT,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
