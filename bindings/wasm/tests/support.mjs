// What the Node test files share: the built package (from
// KINSEAL_WASM_PKG), the time every test runs at, text helpers, a fresh
// storage key, and catching the error a call must raise. Not a test file
// itself (node --test runs only *.test.mjs).

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { webcrypto } from "node:crypto";

const pkg = process.env.KINSEAL_WASM_PKG;
if (!pkg) throw new Error("set KINSEAL_WASM_PKG to the wasm-bindgen --target nodejs output");

/** The package, as `require` gives it. */
export const kinseal = createRequire(import.meta.url)(`${pkg}/kinseal_wasm.js`);

/** 2026-01-01T00:00:00Z, in seconds. */
export const NOW = 1_767_225_600;
export const text = (s) => new TextEncoder().encode(s);
export const read = (b) => new TextDecoder().decode(b);
/** A fresh 32-byte storage key. */
export const randomKey = () => webcrypto.getRandomValues(new Uint8Array(32));

/** The error `f` throws; fails the test if it throws none. */
export function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}
