// The account's upkeep calls and the in-memory directory's remaining
// ones, through the wasm package: refreshDeviceLists through the app's
// fetch function, currentSessionId, expireSessions, and Directory.remove,
// .devices and .resetDeviceList.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory } = kinseal;

function person(dir, userId, options) {
  const address = { appId: "chirp", userId, deviceId: 1 };
  const account = Account.create(address, randomKey(), 1, NOW, options);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, user: list.user, account };
}

/** What an app's fetch function does with its server (here, `dir`). */
const fetcher = (dir, calls) => (user, held) => {
  calls.push(held);
  if (held === undefined) return [dir.deviceList(user)];
  return dir.deviceListsSince(user, held);
};

test("refreshDeviceLists follows a user's lists through the app's fetch function", () => {
  const dir = new Directory();
  const alice = person(dir, "alice");
  const bob = person(dir, "bob");
  const calls = [];
  // First contact: the latest list.
  const first = alice.account.refreshDeviceLists(bob.user, fetcher(dir, calls), NOW);
  assert.equal(first.isNewUser, true);
  assert.equal(first.version, 1);
  assert.deepEqual(first.added, [bob.address]);
  // Nothing newer: undefined.
  assert.equal(alice.account.refreshDeviceLists(bob.user, fetcher(dir, calls), NOW), undefined);
  // Bob adds a device; the refresh asks for the lists after v1.
  const second = Account.create({ ...bob.user, deviceId: 2 }, randomKey(), 1, NOW);
  const list = bob.account.addDevice(2, second.identityKey(), NOW);
  dir.publishDeviceList(bob.user, list.bytes);
  const change = alice.account.refreshDeviceLists(bob.user, fetcher(dir, calls), NOW);
  assert.equal(change.version, 2);
  assert.equal(change.isNewUser, false);
  assert.deepEqual(change.added, [{ ...bob.user, deviceId: 2 }]);
  assert.deepEqual(calls, [undefined, 1, 1]);
  assert.equal(alice.account.peerUser(bob.user).deviceList.version, 2);
});

test("refreshDeviceLists refuses what the fetch function throws or returns wrong", () => {
  const dir = new Directory();
  const alice = person(dir, "alice");
  const bob = person(dir, "bob");
  alice.account.takeChanges();
  const boom = new Error("offline");
  const e = thrown(() =>
    alice.account.refreshDeviceLists(bob.user, () => { throw boom; }, NOW));
  assert.equal(e.name, "Callback");
  assert.equal(e.cause, boom);
  assert.equal(thrown(() => alice.account.refreshDeviceLists(bob.user, () => "nope", NOW)).name, "Callback");
  assert.equal(thrown(() => alice.account.refreshDeviceLists(bob.user, () => [42], NOW)).name, "Callback");
  // No list for a user met for the first time: kinseal refuses.
  const none = thrown(() => alice.account.refreshDeviceLists(bob.user, () => [], NOW));
  assert.equal(none.name, "Account");
  assert.equal(none.kind, "NoDeviceList");
  // A tampered list is refused, and nothing is stored.
  const tampered = Uint8Array.from(dir.deviceList(bob.user));
  tampered[tampered.length - 1] ^= 1;
  const bad = thrown(() => alice.account.refreshDeviceLists(bob.user, () => [tampered], NOW));
  assert.ok(["Protocol", "Decode", "DeviceList"].includes(bad.name), bad.message);
  assert.equal(alice.account.peerUser(bob.user), undefined);
  assert.deepEqual(alice.account.takeChanges(), []);
});

test("currentSessionId is the session both sides use, and expireSessions drops old ones", () => {
  const dir = new Directory();
  const config = { archivedSessionTtl: 3600 };
  const alice = person(dir, "alice", { config });
  const bob = person(dir, "bob", { config });
  alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW);
  bob.account.updateDeviceLists([dir.deviceList(alice.user)], NOW);
  assert.equal(alice.account.currentSessionId(bob.address), undefined);
  assert.equal(thrown(() => alice.account.currentSessionId({ appId: "chirp" })).name, "InvalidArgument");

  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  const id = alice.account.currentSessionId(bob.address);
  assert.equal(id.length, 32);
  const m = alice.account.encrypt(bob.address, text("one"), NOW);
  assert.equal(read(bob.account.decrypt(alice.address, m, NOW).plaintext), "one");
  assert.deepEqual(bob.account.currentSessionId(alice.address), id);

  // A second session replaces the first, which is archived.
  dir.upload(bob.address, bob.account.refreshPrekeys(NOW, dir.devices(bob.user)[0].counts) ?? new Uint8Array());
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW + 10);
  const id2 = alice.account.currentSessionId(bob.address);
  assert.notDeepEqual(id2, id);
  const m2 = alice.account.encrypt(bob.address, text("two"), NOW + 10);
  assert.equal(read(bob.account.decrypt(alice.address, m2, NOW + 10).plaintext), "two");
  assert.deepEqual(bob.account.currentSessionId(alice.address), id2);

  // Within the archive's lifetime nothing expires; after it, the
  // archived sessions go, on both sides, and the current ones stay.
  assert.equal(alice.account.expireSessions(NOW + 60), 0);
  assert.equal(alice.account.expireSessions(NOW + 3600 * 3), 1);
  assert.equal(bob.account.expireSessions(NOW + 3600 * 3), 1);
  assert.equal(alice.account.expireSessions(NOW + 3600 * 3), 0);
  assert.deepEqual(alice.account.currentSessionId(bob.address), id2);
  const m3 = alice.account.encrypt(bob.address, text("three"), NOW + 3600 * 3);
  assert.equal(read(bob.account.decrypt(alice.address, m3, NOW + 3600 * 3).plaintext), "three");
  assert.equal(thrown(() => alice.account.expireSessions(-1)).name, "InvalidArgument");
});

test("Directory.devices, .remove and .resetDeviceList", () => {
  const dir = new Directory();
  const alice = person(dir, "alice");
  const devices = dir.devices(alice.user);
  assert.equal(devices.length, 1);
  assert.deepEqual(devices[0].address, alice.address);
  assert.deepEqual(devices[0].identityKey, alice.account.identityKey());
  assert.equal(devices[0].ready, true);
  assert.ok(devices[0].counts.oneTime > 0);
  dir.takeBundle(alice.address);
  assert.equal(dir.devices(alice.user)[0].counts.oneTime, devices[0].counts.oneTime - 1);
  assert.deepEqual(dir.devices({ appId: "chirp", userId: "nobody" }), []);

  // Removed: its keys go, and a second removal finds nothing.
  assert.equal(dir.remove(alice.address), true);
  assert.equal(dir.remove(alice.address), false);
  assert.deepEqual(dir.devices(alice.user), []);
  assert.equal(thrown(() => dir.takeBundle(alice.address)).name, "Directory");

  // Alice lost every device and starts over with a new user key: a new
  // v1 list does not follow the stored one, unless the list is reset.
  const again = Account.create(alice.address, randomKey(), 1, NOW + 5);
  const fresh = again.deviceList();
  assert.equal(fresh.version, 1);
  assert.ok(thrown(() => dir.publishDeviceList(alice.user, fresh.bytes)) instanceof Error);
  // Another user's list, or bytes that are no list, are refused.
  const bob = person(dir, "bob");
  assert.ok(thrown(() => dir.resetDeviceList(alice.user, bob.account.deviceList().bytes)) instanceof Error);
  assert.equal(thrown(() => dir.resetDeviceList(alice.user, new Uint8Array(4))).name, "Decode");
  assert.deepEqual(dir.deviceList(alice.user), alice.account.deviceList().bytes);
  dir.resetDeviceList(alice.user, fresh.bytes);
  assert.deepEqual(dir.deviceList(alice.user), fresh.bytes);
  assert.deepEqual(dir.deviceListsSince(alice.user, 0), [fresh.bytes]);
});
