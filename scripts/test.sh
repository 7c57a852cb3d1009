#!/usr/bin/env bash
# The whole test suite from nothing: sets the machine up from the lock files, then lint, types
# and tests (scripts/check.sh). Options go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXPRESSIO_SETUP=test source scripts/setup.sh
source scripts/setup-browser.sh
exec bash scripts/check.sh .venv "$@"
