#!/usr/bin/env bash
# Runs the chat demo: installs what serving it needs (from the lock files), then serves it on
# http://127.0.0.1:7076 (options go to the demo: --port N, --host H).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXPRESSIO_SETUP=serve source scripts/setup.sh
exec .venv/bin/python examples/chat/app.py "$@"
