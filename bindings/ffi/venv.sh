#!/usr/bin/env bash
# Makes (once) the Python venv the bindings' scripts use, at
# target/ffi-venv, with maturin and pytest at pinned versions; prints its
# path. Idempotent: an existing venv with the right versions is kept.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$root/target/ffi-venv
MATURIN_VERSION=1.16.0
PYTEST_VERSION=9.2.0

if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
want="maturin==$MATURIN_VERSION pytest==$PYTEST_VERSION"
have=$("$venv/bin/pip" freeze 2>/dev/null | grep -iE '^(maturin|pytest)==' | sort | tr '\n' ' ' || true)
if [[ "$have" != "maturin==$MATURIN_VERSION pytest==$PYTEST_VERSION " ]]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
fi
echo "$venv"
