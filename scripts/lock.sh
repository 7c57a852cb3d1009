#!/usr/bin/env bash
# Regenerates uv.lock from pyproject.toml (after a dependency changed there; commit both).
# Options go to `uv lock`: ./scripts/lock.sh --upgrade moves every package to its newest
# allowed release, --upgrade-package NAME one of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/uv.sh
"$UV" lock --python "$PYTHON" "$@"
