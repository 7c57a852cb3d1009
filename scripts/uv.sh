#!/usr/bin/env bash
# Sourced by scripts/setup.sh and scripts/lock.sh: finds Python 3.11+ (PYTHON) and installs the
# pinned uv of scripts/uv-requirements.txt, checked against its hashes, into .tools/uv (UV).
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$("$candidate" -c "import sys; print(sys.executable)")"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "expressio needs Python 3.11 or newer" >&2; exit 1; }

apt_install() {  # apt_install WHAT PACKAGE...: for root on Debian and Ubuntu only
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing $1 with apt (about a minute)"
    apt-get update -qq >/dev/null 2>&1 || true
    shift
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
  else
    return 1
  fi
}

# uv installs uv.lock exactly; it lives in .tools/uv, apart from the environment it manages.
UV_VERSION="$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' scripts/uv-requirements.txt)"
UV=".tools/uv/bin/uv"
if [ ! -x "$UV" ] || [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "==> installing uv $UV_VERSION into .tools/uv (about 10 s)"
  rm -rf .tools/uv
  if ! "$PYTHON" -m venv .tools/uv >/dev/null 2>&1; then
    # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
    version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt_install "python3-venv" python3-venv "python$version-venv" \
      || { echo "creating a virtual environment failed: install your Python's venv package" >&2
           exit 1; }
    rm -rf .tools/uv
    "$PYTHON" -m venv .tools/uv
  fi
  .tools/uv/bin/python -m pip install -qq --disable-pip-version-check \
    --require-hashes -r scripts/uv-requirements.txt
fi
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_NO_PROGRESS=1
