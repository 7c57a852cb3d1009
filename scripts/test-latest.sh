#!/usr/bin/env bash
# The suite against the NEWEST releases that pyproject.toml allows, in a throwaway virtual
# environment (uv.lock is neither used nor changed). Not part of CI: run it now and then to see
# a dependency's new release break something before it reaches users, then fix the code or
# bound the range, and move the lock (./scripts/lock.sh --upgrade). Options go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXPRESSIO_SETUP=test source scripts/setup.sh   # uv, npm packages and the lock's .venv as usual
source scripts/setup-browser.sh
LATEST="$(mktemp -d /tmp/expressio-latest.XXXXXX)"
trap 'rm -rf "$LATEST"' EXIT
echo "==> installing the newest allowed releases into $LATEST (about 30 s)"
"$UV" venv --quiet --python "$PYTHON" "$LATEST"
VIRTUAL_ENV="$LATEST" "$UV" pip install --quiet --upgrade --resolution highest \
  -e '.[msgpack]' --group dev
echo "==> newer than uv.lock:"
"$LATEST/bin/python" - <<'PY'
import importlib.metadata as md
import tomllib

locked = {p["name"]: p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"]}
newer = [
    f"    {d.metadata['Name']} {locked.get(d.metadata['Name'].lower().replace('_', '-'))}"
    f" -> {d.version}"
    for d in md.distributions()
    if locked.get(d.metadata["Name"].lower().replace("_", "-"), d.version) != d.version
]
print("\n".join(sorted(newer)) or "    nothing: the lock is current")
PY
exec bash scripts/check.sh "$LATEST" "$@"
