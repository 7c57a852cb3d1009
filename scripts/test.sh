#!/usr/bin/env bash
# The whole test suite from nothing: sets the machine up, then lint, types and tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
if [ -f scripts/setup-browser.sh ]; then source scripts/setup-browser.sh; fi

echo "==> ruff"
.venv/bin/ruff check src tests bench examples
echo "==> mypy (strict on src/)"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest -n "${EXPRESSIO_TEST_WORKERS:-2}" --dist loadfile "$@"
