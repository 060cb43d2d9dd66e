#!/usr/bin/env bash
# CI for the bindings, idempotent on a fresh machine (to be called from
# .ci/run): a venv with pinned maturin and pytest under target/, the
# library and the Python wheel built and installed, the pytest suite run
# against the installed package, and the committed Kotlin and Swift
# sources checked against freshly generated ones, and the generated Kotlin
# compiled and run on the JVM (kotlin.sh).
set -euo pipefail
# Two jobs on a CI machine of its own; a shared developer machine sets
# CARGO_BUILD_JOBS=1.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
t0=$SECONDS
step() { echo "== bindings/ffi: $1 ($((SECONDS - t0)) s)"; }

# The crate is a workspace of its own: the root's fmt and clippy steps do
# not see it.
step "cargo fmt --check"
(cd "$here" && cargo fmt --check)

step "venv"
venv=$("$here/venv.sh")

step "build the library, generate Kotlin and Swift, build the wheel"
MATURIN=$venv/bin/maturin "$here/generate.sh"

step "install the wheel"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall \
  --no-deps "$root"/target/wheels/kinseal-*.whl

step "pytest"
(cd "$here/tests" && "$venv/bin/python" -m pytest -q -p no:cacheprovider)

step "Kotlin on the JVM"
"$here/kotlin.sh"

step "generated Kotlin and Swift are up to date"
if ! git diff --exit-code --stat -- bindings/ffi/generated ||
  [[ -n $(git status --porcelain -- bindings/ffi/generated) ]]; then
  git status --porcelain -- bindings/ffi/generated
  echo "bindings/ffi/generated is stale: run bindings/ffi/generate.sh and commit it" >&2
  exit 1
fi
step "cargo clippy --all-targets -D warnings (examples included)"
(cd "$here" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/ffi} \
  cargo clippy --all-targets -- -D warnings)
step "done"
