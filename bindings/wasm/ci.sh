#!/usr/bin/env bash
# CI for the WebAssembly bindings, idempotent on a fresh machine (to be
# called from .ci/run): the wasm32 target and the wasm-bindgen CLI of
# exactly the crate's wasm-bindgen version are installed if missing; the
# crate is checked (fmt, clippy for wasm32), built in release, turned
# into a Node package and a web package, and tested under Node's own
# test runner; the TypeScript types are checked with a pinned tsc; the
# web package is packed for npm and installed and run from an empty
# folder; the gzipped .wasm size is printed (goal: at most 350 kB); then
# the demo page runs in headless Chromium (browser.sh).
#
# Everything lands under $CARGO_TARGET_DIR (default target/wasm at the
# repository root): pkg-node/ and pkg-web/ are the generated packages.
set -euo pipefail
# Two jobs on a CI machine of its own; a shared developer machine sets
# CARGO_BUILD_JOBS=1.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/wasm}
target=$CARGO_TARGET_DIR
# The TypeScript compiler that checks the generated .d.ts (npm, pinned).
TYPESCRIPT_VERSION=5.9.3
# The size the gzipped .wasm must stay under, in bytes (issue 17).
WASM_GZIP_BUDGET=350000

cd "$here"
t0=$SECONDS
step() { echo "== bindings/wasm: $1 ($((SECONDS - t0)) s)"; }

# The CLI must be the crate's own wasm-bindgen version: read it from the
# exact pin in Cargo.toml.
wbv=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
if [[ -z $wbv ]]; then
  echo "Cargo.toml must pin wasm-bindgen exactly (\"=x.y.z\")" >&2
  exit 1
fi

step "rustup target add wasm32-unknown-unknown"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

step "wasm-bindgen-cli $wbv"
if [[ $(wasm-bindgen --version 2>/dev/null || true) != "wasm-bindgen $wbv" ]]; then
  # --locked takes the CLI's own Cargo.lock. A registry mirror that lags
  # behind it (seen: webpki-roots 1.0.11 missing) makes that fail; then
  # the same CLI version is built with dependencies resolved afresh.
  cargo install --locked wasm-bindgen-cli --version "$wbv" ||
    cargo install wasm-bindgen-cli --version "$wbv"
fi

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --target wasm32-unknown-unknown -D warnings"
cargo clippy --target wasm32-unknown-unknown -- -D warnings

step "cargo build --release --target wasm32-unknown-unknown"
cargo build --release --target wasm32-unknown-unknown
wasm=$target/wasm32-unknown-unknown/release/kinseal_wasm.wasm

step "wasm-bindgen --target nodejs and --target web"
rm -rf "$target/pkg-node" "$target/pkg-web"
# Function names (the name section) are 50 kB gzipped; stack traces
# show wasm-function[N] without them.
strip=(--remove-name-section --remove-producers-section)
wasm-bindgen "${strip[@]}" --target nodejs --out-dir "$target/pkg-node" "$wasm"
wasm-bindgen "${strip[@]}" --target web --out-dir "$target/pkg-web" "$wasm"

step "node --test"
KINSEAL_WASM_PKG=$target/pkg-node node --test tests/

step "tsc --noEmit (typescript@$TYPESCRIPT_VERSION) over tests/types.ts"
mkdir -p "$target/tsc"
cp tests/types.ts "$target/tsc/types.ts"
cp "$target/pkg-node/kinseal_wasm.d.ts" "$target/tsc/kinseal_wasm.d.ts"
(cd "$target/tsc" && npx -y -p "typescript@$TYPESCRIPT_VERSION" tsc --noEmit --strict \
  --target es2022 --lib esnext,dom --module esnext --moduleResolution bundler types.ts)

step "npm package: pack pkg-web, install it in an empty folder, two clients talk"
cp npm/package.json README.md "$target/pkg-web/"
# The package's version is the crate's.
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
if [[ $(node -p "require('$target/pkg-web/package.json').version") != "$crate_version" ]]; then
  echo "npm/package.json's version is not the crate's ($crate_version)" >&2
  exit 1
fi
rm -f "$target"/kinseal-wasm-*.tgz
(cd "$target/pkg-web" && npm pack --silent --pack-destination "$target" >/dev/null)
smoke=$(mktemp -d)
cp tests/npm-smoke.mjs "$smoke/"
(cd "$smoke" && npm init -y >/dev/null &&
  npm install --silent --no-audit --no-fund "$target/kinseal-wasm-$crate_version.tgz" &&
  node npm-smoke.mjs)
rm -rf "$smoke"

step "size"
raw=$(wc -c <"$target/pkg-web/kinseal_wasm_bg.wasm")
gz=$(gzip -9 -c "$target/pkg-web/kinseal_wasm_bg.wasm" | wc -c)
echo "kinseal_wasm_bg.wasm: $raw bytes, $gz bytes gzipped (-9); budget $WASM_GZIP_BUDGET"
if ((gz > WASM_GZIP_BUDGET)); then
  echo "the gzipped .wasm is over its budget" >&2
  exit 1
fi
# The demo page in headless Chromium (installs chromium and a pinned
# puppeteer-core if missing); KINSEAL_WASM_BROWSER=0 skips it.
if [[ ${KINSEAL_WASM_BROWSER:-1} != 0 ]]; then
  step "the demo page in headless Chromium (browser.sh)"
  "$here/browser.sh"
fi
step "done in $((SECONDS - t0)) s"
