#!/usr/bin/env bash
# Runs the demo app: sets the machine up, then serves it on 127.0.0.1:7076.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
exec .venv/bin/python examples/hello.py "$@"
