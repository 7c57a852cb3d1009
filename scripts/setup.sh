#!/usr/bin/env bash
# Prepares a fresh machine for expressio: a virtual environment with the package and its
# test tools, and the npm packages (browser client bundle, Node test clients, benchmark peers).
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again (it skips what is current).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "expressio needs Python 3.11 or newer" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  if ! "$PYTHON" -m venv .venv; then
    # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      echo "==> installing python3-venv with apt"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >/dev/null 2>&1 || true
      rm -rf .venv
      "$PYTHON" -m venv .venv
    else
      echo "creating a virtual environment failed: install your Python's venv package" >&2
      exit 1
    fi
  fi
fi
stamp=".venv/.expressio-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing expressio and its test tools into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test,msgpack]'
  echo "$want" > "$stamp"
fi

if ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing Node.js and npm with apt"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "expressio needs Node.js and npm (for the browser client bundle and the Node test clients)" >&2
    exit 1
  fi
fi
npm_stamp="node_modules/.expressio-installed"
npm_want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  echo "==> installing npm packages (socket.io-client and test peers)"
  npm ci --silent --no-audit --no-fund
  echo "$npm_want" > "$npm_stamp"
fi
