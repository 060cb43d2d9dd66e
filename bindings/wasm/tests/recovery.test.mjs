// The rules around persistence and recovery, through the wasm package:
// the tab dies between the module's commit and IndexedDB's (the
// operation was never acknowledged, and after the reload it happens
// again), a decryption-error receipt mends a lost session, and a
// group member is removed.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory } = kinseal;

const hex = (b) => Buffer.from(b).toString("hex");

function device(dir, user) {
  const address = { appId: "chirp", userId: user, deviceId: 1 };
  const storageKey = randomKey();
  const account = Account.create(address, storageKey, 1, NOW);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  // What IndexedDB holds for this account.
  const db = new Map();
  const d = { address, user: list.user, account, storageKey, db };
  d.persist = () => {
    for (const r of d.account.takeChanges()) {
      if (r.value === undefined) db.delete(hex(r.key));
      else db.set(hex(r.key), r);
    }
  };
  // The tab reloads: the module's memory is gone, IndexedDB is not.
  d.reload = () => {
    d.account = Account.openFromRecords([...db.values()], storageKey, 1);
  };
  d.persist();
  return d;
}

function connect(dir, a, b) {
  a.account.updateDeviceLists([dir.deviceList(b.user)], NOW);
  b.account.updateDeviceLists([dir.deviceList(a.user)], NOW);
  a.account.startSession(b.address, dir.takeBundle(b.address), NOW);
  a.persist();
  b.persist();
}

test("a decryption lost with the tab decrypts again after the reload", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const first = alice.account.encrypt(bob.address, text("one"), NOW);
  alice.persist();
  assert.equal(read(bob.account.decrypt(alice.address, first, NOW).plaintext), "one");
  bob.persist();

  const second = alice.account.encrypt(bob.address, text("two"), NOW);
  alice.persist();
  // Bob's module decrypts and commits, then the tab dies before the
  // IndexedDB transaction: nothing was acknowledged to the server.
  assert.equal(read(bob.account.decrypt(alice.address, second, NOW).plaintext), "two");
  bob.reload();
  // The server delivers it again, and it decrypts again.
  assert.equal(read(bob.account.decrypt(alice.address, second, NOW).plaintext), "two");
  bob.persist();
  bob.reload();
  // Once durable, it is a duplicate.
  assert.equal(thrown(() => bob.account.decrypt(alice.address, second, NOW)).kind, "Duplicate");
});

test("an encryption lost with the tab is made again, and reads", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const m = alice.account.encrypt(bob.address, text("hello"), NOW);
  alice.persist();
  bob.account.decrypt(alice.address, m, NOW);
  bob.persist();
  // Alice encrypts, the tab dies before IndexedDB commits: the message
  // was never handed to the server. After the reload she writes again.
  alice.account.encrypt(bob.address, text("lost"), NOW);
  alice.reload();
  const again = alice.account.encrypt(bob.address, text("written again"), NOW);
  alice.persist();
  assert.equal(read(bob.account.decrypt(alice.address, again, NOW).plaintext), "written again");
});

test("a receipt mends a session the receiver lost", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const hello = alice.account.encryptEnvelope(bob.address, text("hello"), NOW);
  bob.account.decryptEnvelope(hello.bytes, NOW);
  const reply = bob.account.encryptEnvelope(alice.address, text("hi"), NOW);
  alice.account.decryptEnvelope(reply.bytes, NOW);
  // Bob's storage goes back to before the session (restored from an old
  // backup): Alice's next message is on a session he no longer has.
  bob.reload();
  const next = alice.account.encryptEnvelope(bob.address, text("still there?"), NOW);
  const out = bob.account.decryptEnvelopeOrReceipt(next.bytes, NOW);
  assert.equal(out.decrypted, undefined);
  assert.ok(out.error instanceof Error);
  assert.equal(out.error.kind, "NoSessionForMessage");
  assert.ok(out.receipt instanceof Uint8Array);
  const handled = alice.account.handleReceipt(out.receipt, NOW);
  assert.deepEqual(handled.device, bob.address);
  assert.equal(handled.sessionClosed, true);
  // The receipt names the message Bob could not read, and no other.
  assert.deepEqual(handled.failed, kinseal.failedMessageOf(next.message));
  assert.equal(handled.failed.kind, "Message");
  assert.equal(handled.failed.ratchetKey.length, 32);
  assert.notDeepEqual(handled.failed, kinseal.failedMessageOf(hello.message));
  assert.equal(kinseal.failedMessageOf(hello.message).kind, "PreKey");
  assert.equal(thrown(() => kinseal.failedMessageOf(text("not a message"))).name, "Decode");
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  const fresh = alice.account.encryptEnvelope(bob.address, text("new session"), NOW);
  const got = bob.account.decryptEnvelopeOrReceipt(fresh.bytes, NOW);
  assert.equal(read(got.decrypted.plaintext), "new session");
  assert.equal(alice.account.resetSession(bob.address, NOW), true);
});

test("a removed group member reads nothing sent after", () => {
  const dir = new Directory();
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((u) => device(dir, u));
  const all = [alice, bob, carol];
  for (const a of all) for (const b of all) if (a !== b) a.account.updateDeviceLists([dir.deviceList(b.user)], NOW);
  connect(dir, alice, bob);
  connect(dir, alice, carol);
  const by = (r) => all.find((d) => d.address.userId === r.userId);
  const deliver = (f) => {
    for (const e of f.envelopes) by(e.recipient).account.decryptEnvelope(e.bytes, NOW);
  };
  const created = alice.account.createGroup([bob.user, carol.user], NOW);
  deliver(created.fanOut);
  const removal = alice.account.removeGroupMembers(created.group, [carol.user], NOW);
  deliver(removal);
  assert.equal(alice.account.groupState(created.group).members.length, 2);
  assert.equal(alice.account.groupState(created.group).epoch, 1);
  const sent = alice.account.groupSend(created.group, text("without carol"), NOW);
  deliver(sent.distributions);
  assert.equal(read(bob.account.groupDecrypt(alice.address, sent.message).plaintext), "without carol");
  const removed = thrown(() => carol.account.groupDecrypt(alice.address, sent.message));
  assert.equal(removed.name, "Account");
  assert.equal(removed.kind, "NotGroupMember");
  const wrongKey = thrown(() => alice.account.acceptIdentity(bob.address, new Uint8Array(31), NOW));
  assert.equal(wrongKey.name, "InvalidArgument");
});
