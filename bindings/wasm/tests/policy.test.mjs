// The app's trust policy, settings and storage-key rotation through the
// wasm package: a refusing (or throwing) policy refuses and stores
// nothing, a key-transparency policy sees the proof, a device-level
// policy is asked when device lists are not required, a policy that
// calls back into its account is refused cleanly, and records sealed
// under an old storage key are resealed under the new one.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory } = kinseal;

/** A device registered with `dir`, prekeys and list published. */
function device(dir, user, options) {
  const address = { appId: "chirp", userId: user, deviceId: 1 };
  const storageKey = randomKey();
  const account = Account.create(address, storageKey, 1, NOW, options);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  account.takeChanges();
  return { address, user: { appId: "chirp", userId: user }, account, storageKey };
}

test("a refusing trust policy refuses a user key and stores nothing", () => {
  const dir = new Directory();
  const asked = [];
  const policy = {
    trustUser(user, known, presented, proof) {
      asked.push({ user, known, presented, proof });
      return false;
    },
  };
  const alice = device(dir, "alice", { trustPolicy: policy });
  const bob = device(dir, "bob");
  const e = thrown(() => alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW));
  assert.equal(e.name, "Trust");
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0].user, bob.user);
  assert.equal(asked[0].known, undefined);
  assert.deepEqual(asked[0].presented, bob.account.userIdentityKey());
  assert.equal(asked[0].proof, undefined);
  assert.deepEqual(alice.account.takeChanges(), []);
  // Nothing on record: Bob's list is still unknown.
  const none = thrown(() => alice.account.encryptToUser(bob.user, text("hi"), NOW));
  assert.equal(none.kind, "NoDeviceList");
});

test("a throwing or non-true answer refuses; only true trusts", () => {
  const dir = new Directory();
  const bob = device(dir, "bob");
  for (const answer of [() => { throw new Error("no"); }, () => 1, () => "true", () => undefined]) {
    const alice = device(dir, `alice${Math.random()}`, { trustPolicy: { trustUser: answer } });
    assert.equal(thrown(() => alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW)).name, "Trust");
    assert.deepEqual(alice.account.takeChanges(), []);
  }
  const yes = device(dir, "yes", { trustPolicy: { trustUser: () => true } });
  assert.equal(yes.account.updateDeviceLists([dir.deviceList(bob.user)], NOW).isNewUser, true);
  // A policy object without methods, or with a non-function, is checked at once.
  assert.equal(thrown(() => device(dir, "bad", { trustPolicy: { trustUser: 3 } })).name, "InvalidArgument");
  assert.equal(thrown(() => device(dir, "bad2", { trustPolicy: 3 })).name, "InvalidArgument");
});

test("a key-transparency policy sees the proof passed with the lists", () => {
  const dir = new Directory();
  const bob = device(dir, "bob");
  const good = text("proof for bob's key");
  const policy = {
    trustUser(user, known, presented, proof) {
      return proof !== undefined && read(proof) === read(good) && known === undefined;
    },
  };
  const alice = device(dir, "alice", { trustPolicy: policy });
  const list = dir.deviceList(bob.user);
  assert.equal(thrown(() => alice.account.updateDeviceLists([list], NOW)).name, "Trust");
  assert.equal(thrown(() => alice.account.updateDeviceListsWithProof([list], text("forged"), NOW)).name, "Trust");
  assert.deepEqual(alice.account.takeChanges(), []);
  const change = alice.account.updateDeviceListsWithProof([list], good, NOW);
  assert.equal(change.isNewUser, true);
  assert.ok(alice.account.takeChanges().length > 0);
});

test("trustDevice is asked when device lists are not required", () => {
  const dir = new Directory();
  const bob = device(dir, "bob");
  let refuse = true;
  const seen = [];
  const policy = {
    trustDevice(peer, known, presented) {
      seen.push({ peer, known, presented });
      return !refuse;
    },
  };
  const options = { trustPolicy: policy, config: { deviceListsRequired: false } };
  const alice = device(dir, "alice", options);
  const e = thrown(() => alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW));
  assert.equal(e.name, "Trust");
  assert.equal(alice.account.hasSession(bob.address), false);
  assert.deepEqual(alice.account.takeChanges(), []);
  assert.deepEqual(seen[0].peer, bob.address);
  assert.deepEqual(seen[0].presented, bob.account.identityKey());
  refuse = false;
  assert.equal(alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW), "New");
  assert.equal(alice.account.hasSession(bob.address), true);
  // A setting out of kinseal's range is a Misuse error.
  const bad = thrown(() => device(dir, "carol", { config: { sessionCache: 1e9 } }));
  assert.equal(bad.name, "Misuse");
  assert.equal(bad.kind, "ConfigOutOfRange");
});

test("a policy that calls into its own account is refused, and the account goes on", () => {
  const dir = new Directory();
  const bob = device(dir, "bob");
  let inner;
  const holder = {};
  const policy = {
    trustUser() {
      inner = thrown(() => holder.account.hasSession(bob.address));
      return true;
    },
  };
  const alice = device(dir, "alice", { trustPolicy: policy });
  holder.account = alice.account;
  alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW);
  assert.equal(inner.name, "Misuse");
  assert.equal(inner.kind, "Reentrant");
  // The account was not left mid-transaction.
  assert.equal(alice.account.hasSession(bob.address), false);
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  assert.equal(alice.account.hasSession(bob.address), true);
});

test("the policy passed to openFromRecords runs after a reload", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  const records = alice.account.exportRecords();
  const reopened = Account.openFromRecords(records, alice.storageKey, 1, {
    trustPolicy: { trustUser: () => false },
  });
  assert.equal(thrown(() => reopened.updateDeviceLists([dir.deviceList(bob.user)], NOW)).name, "Trust");
});

test("storage key rotation: open with the previous key, resealAll, drop it", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW);
  bob.account.updateDeviceLists([dir.deviceList(alice.user)], NOW);
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  const m = alice.account.encrypt(bob.address, text("before"), NOW);
  assert.equal(read(bob.account.decrypt(alice.address, m, NOW).plaintext), "before");

  const db = new Map(bob.account.exportRecords().map((r) => [r.key.toString(), r]));
  const apply = (changes) => {
    for (const c of changes) {
      if (c.value === undefined) db.delete(c.key.toString());
      else db.set(c.key.toString(), c);
    }
  };
  const newKey = randomKey();
  // The new key alone opens nothing sealed under the old one.
  assert.equal(thrown(() => Account.openFromRecords([...db.values()], newKey, 2)).name, "Storage");
  assert.equal(
    thrown(() => Account.openFromRecords([...db.values()], newKey, 2, { previousKeys: [{ keyId: 1, storageKey: randomKey() }] })).name,
    "Storage",
  );
  const rotated = Account.openFromRecords([...db.values()], newKey, 2, {
    previousKeys: [{ keyId: 1, storageKey: bob.storageKey }],
  });
  const n = rotated.resealAll();
  assert.ok(n >= 3, `resealed ${n}`);
  apply(rotated.takeChanges());
  assert.equal(rotated.resealAll(), 0);
  // Now the new key alone opens it, the old one does not, and it goes on.
  assert.equal(thrown(() => Account.openFromRecords([...db.values()], bob.storageKey, 1)).name, "Storage");
  const after = Account.openFromRecords([...db.values()], newKey, 2);
  const m2 = alice.account.encrypt(bob.address, text("after"), NOW);
  assert.equal(read(after.decrypt(alice.address, m2, NOW).plaintext), "after");
  // previousKeys make no sense for a new account.
  assert.equal(
    thrown(() => Account.create(alice.address, newKey, 2, NOW, { previousKeys: [] })).name,
    "InvalidArgument",
  );
});
