// Two or more builds of the wasm package, timed in one Node process with
// their blocks interleaved, so that the load of a shared machine falls
// on all of them alike: 100 B same-chain encrypt / decrypt, through
// Account and (where the build has it) Peer; the minimum and median of
// R (default 30) blocks of 500 calls.
//
//   node bench/compare.mjs <nodejs package dir> [<another> ...]

import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
const require = createRequire(import.meta.url);
const NOW = 1_767_225_600;
const key = () => crypto.getRandomValues(new Uint8Array(32));
const text = new Uint8Array(100).fill(7);
const variants = [];
for (const pkg of process.argv.slice(2)) {
  const { Account, Directory } = require(`${pkg}/kinseal_wasm.js`);
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
  const alice = online(dir, "alice"), bob = online(dir, "bob");
  alice.account.updateDeviceLists([bob.list.bytes], NOW);
  bob.account.updateDeviceLists([alice.list.bytes], NOW);
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  bob.account.decrypt(alice.address, alice.account.encrypt(bob.address, new Uint8Array(2), NOW), NOW);
  alice.account.decrypt(bob.address, bob.account.encrypt(alice.address, new Uint8Array(2), NOW), NOW);
  const flush = () => { alice.account.takeChanges(); bob.account.takeChanges(); };
  const name = pkg.split("/").pop();
  variants.push({ name: `${name} account`, flush, enc: () => alice.account.encrypt(bob.address, text, NOW), dec: (m) => bob.account.decrypt(alice.address, m, NOW) });
  if (typeof alice.account.peer === "function") {
    const toBob = alice.account.peer(bob.address), fromAlice = bob.account.peer(alice.address);
    variants.push({ name: `${name} peer`, flush, enc: () => toBob.encrypt(text, NOW), dec: (m) => fromAlice.decrypt(m, NOW) });
  }
}
for (const v of variants) { v.e = []; v.d = []; }
const B = 500, R = Number(process.env.R ?? 30);
for (let round = 0; round < R; round++) {
  for (const v of variants) {
    let te = 0, td = 0;
    for (let i = 0; i < B; i++) {
      let t = performance.now(); const m = v.enc(); te += performance.now() - t;
      t = performance.now(); v.dec(m); td += performance.now() - t;
      if (i % 64 === 0) v.flush();
    }
    v.e.push(te * 1000 / B); v.d.push(td * 1000 / B);
  }
}
const q = (a, f) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) * f)].toFixed(2); };
for (const v of variants) console.log(`${v.name.padEnd(22)} encrypt min ${q(v.e, 0)} med ${q(v.e, 0.5)} | decrypt min ${q(v.d, 0)} med ${q(v.d, 0.5)} us`);
