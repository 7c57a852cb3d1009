#!/usr/bin/env bash
# Prepares a machine for expressio. Sourced by scripts/run.sh and scripts/test.sh, which set
# EXPRESSIO_SETUP first:
#   serve  what serving the demo needs: the package and its dependencies from uv.lock, and the
#          socket.io browser client from package-lock.json;
#   test   (default) the same plus the development tools of uv.lock (pytest, ruff, mypy,
#          python-socketio, playwright...) and every npm package (Node test clients, peers).
# Python packages come from uv.lock exactly (`uv sync --locked`); npm packages from
# package-lock.json (`npm ci`). Safe to run again: it skips what is current.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SETUP_MODE="${EXPRESSIO_SETUP:-test}"

source scripts/uv.sh   # PYTHON, UV, apt_install


if ! "$UV" lock --check --quiet --python "$PYTHON" 2>/dev/null; then
  echo "uv.lock does not match pyproject.toml (a dependency was changed without locking)." >&2
  echo "Regenerate it with  ./scripts/lock.sh  and commit pyproject.toml and uv.lock together." >&2
  exit 1
fi
if [ "$SETUP_MODE" = serve ]; then
  sync_args=(--no-dev --inexact)   # leaves the test tools of an earlier test setup in place
  what="expressio and its dependencies"
else
  sync_args=(--extra msgpack)
  what="expressio, its dependencies and the test tools"
fi
if ! "$UV" sync --locked --check --quiet --python "$PYTHON" "${sync_args[@]}" 2>/dev/null; then
  echo "==> installing $what from uv.lock into .venv (about 30 s the first time)"
  "$UV" sync --locked --quiet --python "$PYTHON" "${sync_args[@]}"
fi

if ! command -v npm >/dev/null 2>&1; then
  apt_install "Node.js and npm" nodejs npm || {
    echo "expressio's setup needs Node.js and npm for the socket.io browser client and the" >&2
    echo "Node test clients; without Node, serve the client with: expressio client install" >&2
    exit 1
  }
fi
npm_stamp="node_modules/.expressio-installed"
npm_lock="$(sha256sum package-lock.json | cut -d' ' -f1)"
npm_have="$(cat "$npm_stamp" 2>/dev/null || true)"
if [ "$SETUP_MODE" = serve ]; then
  if [ "$npm_have" != "$npm_lock all" ] && [ "$npm_have" != "$npm_lock client" ]; then
    echo "==> installing the socket.io browser client from package-lock.json (about 5 s)"
    npm ci --silent --no-audit --no-fund --omit=dev
    echo "$npm_lock client" > "$npm_stamp"
  fi
elif [ "$npm_have" != "$npm_lock all" ]; then
  echo "==> installing npm packages from package-lock.json: browser client, Node test clients" \
       "and benchmark peers (about 20 s)"
  npm ci --silent --no-audit --no-fund
  echo "$npm_lock all" > "$npm_stamp"
fi
