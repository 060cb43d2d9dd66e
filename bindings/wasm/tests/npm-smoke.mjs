// What a developer does from an empty folder: `npm install` the packed
// package, import it by name, and two clients talk. ci.sh runs this in a
// fresh temporary folder with the tarball installed (not under
// node:test: it must run from that folder, where the package resolves).

import init, { Account, Directory } from "kinseal-wasm";
import { readFile } from "node:fs/promises";

// In a browser `await init()` fetches the .wasm next to the module; Node
// has no fetch for files, so it is handed the bytes.
await init({ module_or_path: await readFile(new URL(import.meta.resolve("kinseal-wasm/kinseal_wasm_bg.wasm"))) });

const now = () => Math.floor(Date.now() / 1000);
const dir = new Directory();
function person(userId) {
  const address = { appId: "chirp", userId, deviceId: 1 };
  const storageKey = crypto.getRandomValues(new Uint8Array(32));
  const account = Account.create(address, storageKey, 1, now());
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(now()));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, user: list.user, account };
}
const alice = person("alice");
const bob = person("bob");
alice.account.updateDeviceLists([dir.deviceList(bob.user)], now());
bob.account.updateDeviceLists([dir.deviceList(alice.user)], now());
alice.account.startSession(bob.address, dir.takeBundle(bob.address), now());
const envelope = alice.account.encryptEnvelope(bob.address, new TextEncoder().encode("hi"), now());
const got = new TextDecoder().decode(bob.account.decryptEnvelope(envelope.bytes, now()).plaintext);
if (got !== "hi") throw new Error(`expected "hi", got ${JSON.stringify(got)}`);
console.log("1 passed, 0 failed: npm package from an empty folder, two clients talked");
