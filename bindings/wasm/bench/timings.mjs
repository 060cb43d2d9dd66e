// Timings of the WebAssembly build under Node, for PERFORMANCE.md: 100 B
// on an established session (same-chain messages, as the native and
// Python figures are), and the session setup (take a bundle, start the
// session, first message encrypted and decrypted).
//
//   KINSEAL_WASM_PKG=<dir of the nodejs package> node bench/timings.mjs
//
// N (default 20000) sets the number of same-chain calls; SETUPS (default
// 200) the number of session setups.

import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const pkg = process.env.KINSEAL_WASM_PKG;
if (!pkg) throw new Error("set KINSEAL_WASM_PKG to the wasm-bindgen --target nodejs output");
const { Account, Directory } = require(`${pkg}/kinseal_wasm.js`);

const NOW = 1_767_225_600;
const N = Number(process.env.N ?? 20000);
const SETUPS = Number(process.env.SETUPS ?? 200);
const key = () => crypto.getRandomValues(new Uint8Array(32));

function online(dir, userId) {
  const address = { appId: "chirp", userId, deviceId: 1 };
  const account = Account.create(address, key(), 1, NOW);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, account, list };
}

const dir = new Directory();
const alice = online(dir, "alice");
const bob = online(dir, "bob");
alice.account.updateDeviceLists([bob.list.bytes], NOW);
bob.account.updateDeviceLists([alice.list.bytes], NOW);
alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
bob.account.decrypt(alice.address, alice.account.encrypt(bob.address, new Uint8Array(2), NOW), NOW);
// Bob answers, so Alice's messages are same-chain ones, not PreKeyMessages.
alice.account.decrypt(bob.address, bob.account.encrypt(alice.address, new Uint8Array(2), NOW), NOW);
const text = new Uint8Array(100).fill(7);

let enc = 0;
let dec = 0;
for (let i = 0; i < N; i++) {
  let t = performance.now();
  const m = alice.account.encrypt(bob.address, text, NOW);
  enc += performance.now() - t;
  t = performance.now();
  bob.account.decrypt(alice.address, m, NOW);
  dec += performance.now() - t;
  // The journal is what a page writes to IndexedDB; empty it as one would.
  if (i % 64 === 0) {
    alice.account.takeChanges();
    bob.account.takeChanges();
  }
}
const us = (ms, n) => ((ms * 1000) / n).toFixed(2);
console.log(`wasm same-chain 100 B: encrypt ${us(enc, N)} us, decrypt ${us(dec, N)} us (${N} calls)`);

// The same through Peer objects: the address is read once, not per call.
if (typeof alice.account.peer === "function") {
  const toBob = alice.account.peer(bob.address);
  const fromAlice = bob.account.peer(alice.address);
  enc = 0;
  dec = 0;
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    const m = toBob.encrypt(text, NOW);
    enc += performance.now() - t;
    t = performance.now();
    fromAlice.decrypt(m, NOW);
    dec += performance.now() - t;
    if (i % 64 === 0) {
      alice.account.takeChanges();
      bob.account.takeChanges();
    }
  }
  console.log(`wasm same-chain 100 B, Peer: encrypt ${us(enc, N)} us, decrypt ${us(dec, N)} us (${N} calls)`);
}

// Floors: a call that does almost nothing in Rust (32 bytes out), and one
// that reads an address object and opens a store transaction.
const floor = (label, f) => {
  const t = performance.now();
  for (let i = 0; i < N; i++) f();
  console.log(`wasm floor ${label}: ${us(performance.now() - t, N)} us`);
};
floor("identityKey()", () => alice.account.identityKey());
floor("hasSession(address)", () => alice.account.hasSession(bob.address));
floor("crypto.getRandomValues(24 B)", () => crypto.getRandomValues(new Uint8Array(24)));

// Session setup: Alice starts a session with a fresh device each time,
// from a bundle taken from the directory, and the first message is read.
let setup = 0;
let first = 0;
const peers = [];
for (let i = 0; i < SETUPS; i++) peers.push(online(dir, `peer${i}`));
for (const p of peers) {
  alice.account.updateDeviceLists([p.list.bytes], NOW);
  p.account.updateDeviceLists([alice.list.bytes], NOW);
}
for (const p of peers) {
  const bundle = dir.takeBundle(p.address);
  let t = performance.now();
  alice.account.startSession(p.address, bundle, NOW);
  const m = alice.account.encrypt(p.address, text, NOW);
  setup += performance.now() - t;
  t = performance.now();
  p.account.decrypt(alice.address, m, NOW);
  first += performance.now() - t;
}
console.log(
  `wasm session setup: start + first encrypt ${us(setup, SETUPS)} us, first decrypt ${us(first, SETUPS)} us (${SETUPS} sessions)`,
);
