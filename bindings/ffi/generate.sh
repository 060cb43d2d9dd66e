#!/usr/bin/env bash
# One command for the bindings: builds libkinseal_ffi (release), generates
# the Kotlin and Swift sources into generated/ (committed; ci.sh checks
# that they are up to date), and builds the Python wheel into
# target/wheels/ with maturin.
#
#   bindings/ffi/generate.sh            # all three
#   bindings/ffi/generate.sh --no-wheel # Kotlin and Swift only
#
# The wheel needs maturin (pinned in ci.sh's venv); with MATURIN unset the
# venv that ci.sh makes, target/ffi-venv, is used and made if missing.
# Builds honour CARGO_TARGET_DIR and CARGO_BUILD_JOBS (default 1: the
# machine is shared).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/ffi}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
wheel=1
[[ ${1:-} == --no-wheel ]] && wheel=0

cd "$here"
cargo build --release --lib --no-default-features
# The bindgen in the dev profile: the one maturin runs (`cargo run`) too.
cargo build --bin uniffi-bindgen
case "$(uname -s)" in
  Darwin) lib=libkinseal_ffi.dylib ;;
  *) lib=libkinseal_ffi.so ;;
esac
lib=$CARGO_TARGET_DIR/release/$lib
bindgen=$CARGO_TARGET_DIR/debug/uniffi-bindgen

# Unformatted, so that the output does not depend on whether ktlint or
# swiftformat happen to be installed.
rm -rf "$here/generated/kotlin" "$here/generated/swift"
"$bindgen" generate --library "$lib" --language kotlin --no-format \
  --out-dir "$here/generated/kotlin"
"$bindgen" generate --library "$lib" --language swift --no-format \
  --out-dir "$here/generated/swift"
echo "generated: $(cd "$here" && find generated -type f | sort | tr '\n' ' ')"

if [[ $wheel == 1 ]]; then
  maturin=${MATURIN:-}
  if [[ -z $maturin ]]; then
    "$here/venv.sh" >/dev/null
    maturin=$root/target/ffi-venv/bin/maturin
  fi
  rm -f "$root"/target/wheels/kinseal-*.whl
  "$maturin" build --release --out "$root/target/wheels"
fi
