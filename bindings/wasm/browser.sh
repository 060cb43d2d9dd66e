#!/usr/bin/env bash
# The demo page (web/) in a real headless Chromium, idempotent on a fresh
# machine: Debian's chromium and puppeteer-core (npm, pinned) are
# installed if missing, the page and the web package (from ci.sh, under
# $CARGO_TARGET_DIR/pkg-web) are put together under $target/site, and
# web/browser.test.mjs drives it. The screenshot is kept as
# $target/browser/demo.png (a CI artifact).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target/wasm}
# puppeteer-core: the DevTools-protocol driver, no browser download.
PUPPETEER_CORE_VERSION=25.16.0

if [[ ! -f $target/pkg-web/kinseal_wasm.js ]]; then
  echo "run bindings/wasm/ci.sh first: $target/pkg-web is missing" >&2
  exit 1
fi
if ! command -v chromium >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
tools=$target/browser
mkdir -p "$tools"
if [[ $(node -p "require('$tools/node_modules/puppeteer-core/package.json').version" 2>/dev/null || true) \
  != "$PUPPETEER_CORE_VERSION" ]]; then
  npm install --silent --no-audit --no-fund --prefix "$tools" "puppeteer-core@$PUPPETEER_CORE_VERSION"
fi

site=$target/site
rm -rf "$site"
mkdir -p "$site/pkg"
cp "$here/web/index.html" "$here/web/demo.js" "$site/"
cp "$target/pkg-web/kinseal_wasm.js" "$target/pkg-web/kinseal_wasm_bg.wasm" "$site/pkg/"

SITE=$site CHROMIUM=$(command -v chromium) PUPPETEER_DIR=$tools SHOTS=$tools \
  node --test "$here/web/browser.test.mjs"
echo "screenshot: $tools/demo.png"
