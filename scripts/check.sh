#!/usr/bin/env bash
# ruff, mypy (strict on src/) and pytest from the virtual environment given first (.venv by
# default); the rest goes to pytest. Called by scripts/test.sh and scripts/test-latest.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${1:-.venv}"
shift || true
echo "==> ruff"
"$VENV/bin/ruff" check --quiet src tests bench examples
echo "==> mypy (strict on src/)"
"$VENV/bin/mypy"
echo "==> pytest (about 5 minutes on 2 cores)"
"$VENV/bin/pytest" -n "${EXPRESSIO_TEST_WORKERS:-2}" --dist loadfile "$@"
