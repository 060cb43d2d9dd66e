// The WebAssembly package under Node's own test runner: two accounts
// talk, a tampered message and a duplicate are refused with typed errors,
// a group of three, safety numbers, and an account reopened from its
// sealed records (what IndexedDB would hold) continues the conversation.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory } = kinseal;


/** A device: its account, registered with `dir`, its prekeys and list published. */
function device(dir, user, deviceId = 1, app = "chirp") {
  const address = { appId: app, userId: user, deviceId };
  const storageKey = randomKey();
  const account = Account.create(address, storageKey, 1, NOW);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, user: { appId: app, userId: user }, account, storageKey };
}

/** `a` learns `b`'s device list and starts a session with `b`'s device. */
function connect(dir, a, b) {
  a.account.updateDeviceLists([dir.deviceList(b.user)], NOW);
  b.account.updateDeviceLists([dir.deviceList(a.user)], NOW);
  assert.equal(a.account.startSession(b.address, dir.takeBundle(b.address), NOW), "New");
}

test("two accounts talk, both ways, with envelopes", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const hello = alice.account.encryptEnvelope(bob.address, text("hello bob"), NOW);
  assert.deepEqual(hello.recipient, bob.address);
  const got = bob.account.decryptEnvelope(hello.bytes, NOW);
  assert.equal(read(got.plaintext), "hello bob");
  assert.deepEqual(got.sender, alice.address);
  assert.equal(got.newSession, true);
  const reply = bob.account.encrypt(alice.address, text("hi alice"), NOW);
  assert.equal(read(alice.account.decrypt(bob.address, reply, NOW).plaintext), "hi alice");
  for (let i = 0; i < 5; i++) {
    const m = alice.account.encrypt(bob.address, text(`n${i}`), NOW);
    assert.equal(read(bob.account.decrypt(alice.address, m, NOW).plaintext), `n${i}`);
  }
});

test("a tampered message is DecryptionFailed, a duplicate a Protocol error", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const first = alice.account.encrypt(bob.address, text("first"), NOW);
  bob.account.decrypt(alice.address, first, NOW);
  const reply = bob.account.encrypt(alice.address, text("ok"), NOW);
  alice.account.decrypt(bob.address, reply, NOW);

  const m = alice.account.encrypt(bob.address, text("second"), NOW);
  const tampered = m.slice();
  tampered[tampered.length - 1] ^= 1;
  const e = thrown(() => bob.account.decrypt(alice.address, tampered, NOW));
  assert.ok(e instanceof Error);
  assert.equal(e.name, "DecryptionFailed");
  assert.equal(e.detail, "");

  assert.equal(read(bob.account.decrypt(alice.address, m, NOW).plaintext), "second");
  const dup = thrown(() => bob.account.decrypt(alice.address, m, NOW));
  assert.equal(dup.name, "Protocol");
  assert.equal(dup.kind, "Duplicate");
  assert.ok(dup.detail.length > 0);
});

test("arguments the bindings refuse are InvalidArgument", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bad = [
    () => Account.create({ appId: "chirp", userId: "x", deviceId: 1 }, new Uint8Array(31), 1, NOW),
    () => alice.account.encrypt({ appId: "chirp" }, text("x"), NOW),
    () => alice.account.refreshPrekeys(1.5),
    () => alice.account.refreshPrekeys(-1),
  ];
  for (const f of bad) assert.equal(thrown(f).name, "InvalidArgument");
  const noList = thrown(() =>
    alice.account.encrypt({ appId: "chirp", userId: "nobody", deviceId: 1 }, text("x"), NOW),
  );
  assert.equal(noList.name, "Account");
});

test("a group of three", () => {
  const dir = new Directory();
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((u) => device(dir, u));
  connect(dir, alice, bob);
  connect(dir, alice, carol);
  connect(dir, bob, carol);
  const byAddress = (a) => [alice, bob, carol].find((d) => d.address.userId === a.userId);
  const deliver = (fanOut) => {
    for (const e of fanOut.envelopes) byAddress(e.recipient).account.decryptEnvelope(e.bytes, NOW);
  };
  const created = alice.account.createGroup([bob.user, carol.user], NOW);
  assert.equal(created.group.length, 32);
  deliver(created.fanOut);
  for (const d of [alice, bob, carol]) {
    const state = d.account.groupState(created.group);
    assert.equal(state.members.length, 3);
    assert.equal(state.epoch, 0);
  }
  const sent = alice.account.groupSend(created.group, text("hi all"), NOW);
  deliver(sent.distributions);
  for (const d of [bob, carol]) {
    const got = d.account.groupDecrypt(alice.address, sent.message);
    assert.equal(read(got.plaintext), "hi all");
    assert.deepEqual(got.sender, alice.address);
  }
  // Carol has no session with Bob yet (Bob started one with her but
  // never wrote): her sender key cannot reach him, and says so.
  const back = carol.account.groupSend(created.group, text("hi from carol"), NOW);
  assert.deepEqual(back.distributions.missing, [bob.address]);
  deliver(back.distributions);
  assert.equal(read(alice.account.groupDecrypt(carol.address, back.message).plaintext), "hi from carol");
  const unknown = thrown(() => bob.account.groupDecrypt(carol.address, back.message));
  assert.equal(unknown.name, "Group");
  assert.equal(unknown.kind, "UnknownSenderKey");
  carol.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  const again = carol.account.groupSend(created.group, text("now to bob too"), NOW);
  assert.equal(again.distributions.envelopes.length, 1);
  deliver(again.distributions);
  assert.equal(read(bob.account.groupDecrypt(carol.address, again.message).plaintext), "now to bob too");
  assert.equal(read(alice.account.groupDecrypt(carol.address, again.message).plaintext), "now to bob too");
});

test("sessions from a fetch function, fan-out to a user, a failing fetch", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob1 = device(dir, "bob", 1);
  const carol = device(dir, "carol");
  alice.account.updateDeviceLists([dir.deviceList(bob1.user)], NOW);
  alice.account.updateDeviceLists([dir.deviceList(carol.user)], NOW);
  bob1.account.updateDeviceLists([dir.deviceList(alice.user)], NOW);
  const report = alice.account.syncSessions(bob1.user, (d) => dir.takeBundle(d), NOW);
  assert.deepEqual(report.started, [bob1.address]);
  assert.deepEqual(report.failed, []);
  const fan = alice.account.encryptToUser(bob1.user, text("to all of bob"), NOW);
  assert.equal(fan.envelopes.length, 1);
  assert.deepEqual(fan.missing, []);
  assert.equal(read(bob1.account.decryptEnvelope(fan.envelopes[0].bytes, NOW).plaintext), "to all of bob");
  const failed = alice.account.syncSessions(carol.user, () => {
    throw new Error("offline");
  }, NOW);
  assert.deepEqual(failed.started, []);
  assert.equal(failed.failed.length, 1);
  assert.deepEqual(failed.failed[0].device, carol.address);
  assert.ok(failed.failed[0].error instanceof Error);
  assert.equal(failed.failed[0].error.name, "Storage");
});

test("safety numbers match on both sides, and by QR code", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  connect(dir, alice, bob);
  const m = alice.account.encrypt(bob.address, text("hi"), NOW);
  bob.account.decrypt(alice.address, m, NOW);
  const a = alice.account.userSafetyNumber(bob.user);
  const b = bob.account.userSafetyNumber(alice.user);
  assert.equal(a.digits(), b.digits());
  assert.match(a.digits(), /^[0-9]{60}$/);
  assert.ok(a.equals(b));
  assert.equal(b.matchesScanned(a.qrBytes()), true);
  const ad = alice.account.safetyNumber(bob.address);
  const bd = bob.account.safetyNumber(alice.address);
  assert.equal(ad.digits(), bd.digits());
  assert.equal(alice.account.userSafetyNumber({ appId: "chirp", userId: "nobody" }), undefined);
});

test("sealed records: a reopened account continues the conversation", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  // Alice's IndexedDB: a Map from the key's hex to the sealed record.
  const db = new Map();
  const hex = (b) => Buffer.from(b).toString("hex");
  const persist = () => {
    for (const r of alice.account.takeChanges()) {
      if (r.value === undefined) db.delete(hex(r.key));
      else db.set(hex(r.key), r);
    }
  };
  persist();
  assert.ok(db.size > 0);
  connect(dir, alice, bob);
  persist();
  const m = alice.account.encrypt(bob.address, text("before"), NOW);
  persist();
  bob.account.decrypt(alice.address, m, NOW);
  const reply = bob.account.encrypt(alice.address, text("reply"), NOW);
  alice.account.decrypt(bob.address, reply, NOW);
  persist();
  assert.deepEqual(alice.account.takeChanges(), []);
  const exported = alice.account.exportRecords();
  assert.equal(exported.length, db.size);
  for (const r of exported) assert.ok(db.has(hex(r.key)));
  // No record holds a plaintext or the storage key.
  for (const r of db.values()) {
    assert.equal(Buffer.from(r.value).includes(Buffer.from("before")), false);
    assert.equal(Buffer.from(r.value).includes(Buffer.from(alice.storageKey)), false);
  }

  // The tab reloads: only the records and the storage key survive.
  const reopened = Account.openFromRecords([...db.values()], alice.storageKey, 1);
  assert.deepEqual(reopened.address(), alice.address);
  const after = reopened.encrypt(bob.address, text("after the reload"), NOW);
  assert.equal(read(bob.account.decrypt(alice.address, after, NOW).plaintext), "after the reload");
  const back = bob.account.encrypt(alice.address, text("welcome back"), NOW);
  assert.equal(read(reopened.decrypt(bob.address, back, NOW).plaintext), "welcome back");

  const wrongKey = thrown(() => Account.openFromRecords([...db.values()], new Uint8Array(32), 1));
  assert.equal(wrongKey.name, "Storage");
  const junk = thrown(() => Account.openFromRecords([{ key: new Uint8Array([99]), value: new Uint8Array(1) }], alice.storageKey, 1));
  assert.equal(junk.name, "Storage");
  assert.equal(junk.kind, "InvalidRecord");
});
