#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with atheris, for long local runs (not part of CI).
# atheris ships wheels for Linux only, so it lives in an environment of its own (.tools/atheris),
# not in uv.lock. Crashes are written to test-output/atheris/.
#   scripts/fuzz-atheris.sh TARGET [libFuzzer options]
#   TARGET: engineio, socketio, frames, polling, upgrade or cookies
#   e.g.    scripts/fuzz-atheris.sh socketio -max_total_time=600
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/uv.sh   # PYTHON and the pinned uv (UV)
ENV=.tools/atheris
if [ ! -x "$ENV/bin/python" ] || ! "$ENV/bin/python" -c "import atheris" 2>/dev/null; then
  echo "==> installing expressio and atheris into $ENV (about 20 s)"
  rm -rf "$ENV"
  "$UV" venv --quiet --python "$PYTHON" "$ENV"
  VIRTUAL_ENV="$ENV" "$UV" pip install --quiet -e . "atheris>=2.3,<4"
fi
mkdir -p test-output/atheris
TARGET="${1:-}"
shift || true
exec "$ENV/bin/python" tests/fuzz/atheris_targets.py "$TARGET" \
  -artifact_prefix=test-output/atheris/"$TARGET"- "$@"
