// The rest of the bindings/ffi surface through the wasm package: group
// changes in one step (changeGroup), fan-out to several users and to a
// list of devices, adding a device by its key, and the server helpers
// (validateUpload, route, routeGroup).
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory, validateUpload, route, routeGroup } = kinseal;

function device(dir, user) {
  const address = { appId: "chirp", userId: user, deviceId: 1 };
  const account = Account.create(address, randomKey(), 1, NOW);
  dir.register(address, account.identityKey());
  const upload = account.refreshPrekeys(NOW);
  dir.upload(address, upload);
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, user: { appId: "chirp", userId: user }, account, upload };
}

/** Alice, Bob and Carol, each with the others' lists and sessions from Alice. */
function three() {
  const dir = new Directory();
  const people = ["alice", "bob", "carol"].map((u) => device(dir, u));
  for (const p of people) {
    for (const q of people) if (p !== q) p.account.updateDeviceLists([dir.deviceList(q.user)], NOW);
  }
  const [alice, bob, carol] = people;
  for (const p of [bob, carol]) alice.account.startSession(p.address, dir.takeBundle(p.address), NOW);
  return { dir, alice, bob, carol };
}

const deliverAll = (to, fan) => {
  for (const e of fan.envelopes) {
    if (e.recipient.userId === to.address.userId) to.account.decryptEnvelope(e.bytes, NOW);
  }
};

test("changeGroup: remove and promote in one change; a member cannot", () => {
  const { alice, bob, carol } = three();
  const { group, fanOut } = alice.account.createGroup([bob.user, carol.user], NOW);
  deliverAll(bob, fanOut);
  deliverAll(carol, fanOut);
  const bobKey = bob.account.userIdentityKey();
  const carolKey = carol.account.userIdentityKey();

  // Bob is a member, not an admin: his change is refused and changes nothing.
  const before = bob.account.groupState(group);
  bob.account.takeChanges();
  const refused = thrown(() => bob.account.changeGroup(group, [{ op: "Remove", userKey: carolKey }], NOW));
  assert.equal(refused.name, "Group");
  assert.deepEqual(bob.account.groupState(group), before);
  assert.deepEqual(bob.account.takeChanges(), []);
  // Arguments are checked before kinseal sees them.
  assert.equal(thrown(() => alice.account.changeGroup(group, [{ op: "Kick", userKey: carolKey }], NOW)).name, "InvalidArgument");
  assert.equal(thrown(() => alice.account.changeGroup(group, [{ op: "SetRole", userKey: bobKey }], NOW)).name, "InvalidArgument");

  const fan = alice.account.changeGroup(group, [
    { op: "Remove", userKey: carolKey },
    { op: "SetRole", userKey: bobKey, admin: true },
  ], NOW);
  deliverAll(bob, fan);
  const state = bob.account.groupState(group);
  assert.equal(state.epoch, before.epoch + 1);
  assert.equal(state.members.length, 2);
  assert.equal(state.members.find((m) => m.user.userId === "bob").admin, true);
  assert.equal(state.members.find((m) => m.user.userId === "carol"), undefined);
  // Now Bob may change it: he adds Carol back, as a member.
  bob.account.changeGroup(group, [{ op: "Add", user: carol.user, userKey: carolKey }], NOW);
  const added = bob.account.groupState(group);
  assert.equal(added.epoch, state.epoch + 1);
  assert.equal(added.members.find((m) => m.user.userId === "carol").admin, false);
  // Carol, removed, forgets the group.
  deliverAll(carol, fan);
  assert.equal(carol.account.forgetGroup(group), true);
  assert.equal(carol.account.groupState(group), undefined);
  assert.equal(carol.account.forgetGroup(group), false);
});

test("encryptToUsers and encryptToEach; one missing session changes nothing", () => {
  const { alice, bob, carol } = three();
  const fan = alice.account.encryptToUsers([bob.user, carol.user], text("to you both"), NOW);
  assert.deepEqual(fan.envelopes.map((e) => e.recipient.userId).sort(), ["bob", "carol"]);
  for (const p of [bob, carol]) {
    const e = fan.envelopes.find((x) => x.recipient.userId === p.address.userId);
    assert.equal(read(p.account.decryptEnvelope(e.bytes, NOW).plaintext), "to you both");
  }
  const messages = alice.account.encryptToEach([carol.address, bob.address], text("each"), NOW);
  assert.equal(messages.length, 2);
  assert.equal(read(carol.account.decrypt(alice.address, messages[0], NOW).plaintext), "each");
  assert.equal(read(bob.account.decrypt(alice.address, messages[1], NOW).plaintext), "each");

  alice.account.takeChanges();
  const nobody = { appId: "chirp", userId: "nobody", deviceId: 1 };
  const e = thrown(() => alice.account.encryptToEach([bob.address, nobody], text("x"), NOW));
  assert.equal(e.name, "Account");
  assert.deepEqual(alice.account.takeChanges(), []);
  // Bob's chain did not move: the next message to him is the next he reads.
  const next = alice.account.encryptToEach([bob.address], text("next"), NOW);
  assert.equal(read(bob.account.decrypt(alice.address, next[0], NOW).plaintext), "next");
  assert.equal(thrown(() => alice.account.encryptToUsers([{ appId: "chirp" }], text("x"), NOW)).name, "InvalidArgument");
});

test("addDevice: a second device by its identity key", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const other = Account.create({ appId: "chirp", userId: "elsewhere", deviceId: 9 }, randomKey(), 1, NOW);
  const list = alice.account.addDevice(2, other.identityKey(), NOW);
  assert.equal(list.version, 2);
  assert.deepEqual(list.devices.map((d) => d.address.deviceId), [1, 2]);
  assert.deepEqual(list.devices[1].identityKey, other.identityKey());
  dir.publishDeviceList(list.user, list.bytes);
  assert.equal(thrown(() => alice.account.addDevice(2, other.identityKey(), NOW)).name, "Account");
  assert.equal(thrown(() => alice.account.addDevice(3, new Uint8Array(31), NOW)).name, "InvalidArgument");
  assert.equal(alice.account.deviceList().version, 2);
});

test("server helpers: validateUpload, route, routeGroup", () => {
  const { alice, bob, carol } = three();
  const summary = validateUpload(bob.upload, bob.account.identityKey());
  assert.equal(summary.hasSignedPrekey, true);
  assert.equal(summary.hasLastResortPrekey, true);
  assert.ok(summary.counts.oneTime > 0 && summary.counts.kem > 0);
  // Under another device's key the signatures do not verify.
  assert.ok(thrown(() => validateUpload(bob.upload, carol.account.identityKey())) instanceof Error);
  assert.equal(thrown(() => validateUpload(text("junk"), bob.account.identityKey())).name, "Decode");

  const first = alice.account.encrypt(bob.address, text("first"), NOW);
  const r = route(first);
  assert.equal(r.kind, "PreKeyMessage");
  assert.equal(r.size, first.length);
  assert.equal(typeof r.prekeys.signedPrekeyId, "number");
  assert.equal(typeof r.prekeys.kemPrekeyId, "number");
  bob.account.decrypt(alice.address, first, NOW);
  const reply = bob.account.encrypt(alice.address, text("reply"), NOW);
  const r2 = route(reply);
  assert.equal(r2.kind, "Message");
  assert.equal(r2.prekeys, undefined);
  assert.equal(thrown(() => route(new Uint8Array(2))).name, "Decode");

  const { group, fanOut } = alice.account.createGroup([bob.user], NOW);
  deliverAll(bob, fanOut);
  const sent = alice.account.groupSend(group, text("g"), NOW);
  const g = routeGroup(sent.message);
  assert.deepEqual(g.group, group);
  assert.equal(g.size, sent.message.length);
  assert.equal(typeof g.epoch, "number");
});

test("what is on record: peerIdentity, peerUser, devicesWithSessions, forgetDevice", () => {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  assert.equal(alice.account.peerUser(bob.user), undefined);
  assert.equal(alice.account.peerIdentity(bob.address), undefined);
  alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW);
  const known = alice.account.peerUser(bob.user);
  assert.deepEqual(known.key, bob.account.userIdentityKey());
  assert.equal(known.verified, false);
  assert.equal(known.deviceList.version, 1);
  alice.account.markUserVerified(bob.user, bob.account.userIdentityKey());
  assert.equal(alice.account.peerUser(bob.user).verified, true);
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  assert.deepEqual(alice.account.peerIdentity(bob.address).key, bob.account.identityKey());
  assert.deepEqual(alice.account.devicesWithSessions(bob.user), [bob.address]);
  assert.equal(alice.account.forgetDevice(bob.address), true);
  assert.equal(alice.account.hasSession(bob.address), false);
  assert.deepEqual(alice.account.devicesWithSessions(bob.user), []);
  assert.equal(alice.account.forgetDevice(bob.address), false);
});

test("the pooled randomness never hands out the same bytes twice", () => {
  // Identity keys, link codes and seal nonces all come from the pool;
  // a pool that served bytes twice would repeat one of them.
  const seen = new Set();
  for (let i = 0; i < 40; i++) {
    const a = Account.create({ appId: "chirp", userId: `u${i}`, deviceId: 1 }, randomKey(), 1, NOW);
    for (const b of [a.identityKey(), a.userIdentityKey(), new kinseal.LinkRequest().code()]) {
      const k = b.toString();
      assert.ok(!seen.has(k));
      seen.add(k);
    }
    const values = a.exportRecords().map((r) => r.value.toString());
    for (const v of values) {
      assert.ok(!seen.has(v));
      seen.add(v);
    }
  }
});
