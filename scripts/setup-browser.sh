#!/usr/bin/env bash
# Makes Debian's headless Chromium available for the browser tests. Sourced by scripts/test.sh.
# When it cannot be had (no apt, not root), the browser tests skip loudly, naming this reason.
if command -v chromium >/dev/null 2>&1; then
  export EXPRESSIO_CHROMIUM="$(command -v chromium)"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> installing chromium with apt (for the browser tests)"
  if apt-get update -qq >/dev/null 2>&1 \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
    export EXPRESSIO_CHROMIUM="$(command -v chromium)"
  else
    export EXPRESSIO_CHROMIUM_MISSING="apt-get install chromium failed"
  fi
else
  export EXPRESSIO_CHROMIUM_MISSING="chromium is not installed and apt-get is not usable here (needs root)"
fi
