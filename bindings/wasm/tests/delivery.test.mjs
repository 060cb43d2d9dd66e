// Delivery callbacks and Peer through the wasm package: the app's
// callback stores the plaintext inside the transaction; a callback that
// throws (or returns a Promise) leaves the message decryptable again and
// the store unchanged; a batch reports each envelope; a Peer encrypts
// and decrypts on an address checked once.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey, thrown } from "./support.mjs";

const { Account, Directory } = kinseal;

function device(dir, user) {
  const address = { appId: "chirp", userId: user, deviceId: 1 };
  const account = Account.create(address, randomKey(), 1, NOW);
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { address, user: { appId: "chirp", userId: user }, account };
}

/** Alice and Bob, each with the other's list, Alice with a session to Bob. */
function pair() {
  const dir = new Directory();
  const alice = device(dir, "alice");
  const bob = device(dir, "bob");
  alice.account.updateDeviceLists([dir.deviceList(bob.user)], NOW);
  bob.account.updateDeviceLists([dir.deviceList(alice.user)], NOW);
  alice.account.startSession(bob.address, dir.takeBundle(bob.address), NOW);
  return { dir, alice, bob };
}

test("decryptWith: a throwing delivery stores nothing; the message decrypts again", () => {
  const { alice, bob } = pair();
  const m = alice.account.encrypt(bob.address, text("keep me"), NOW);
  bob.account.takeChanges();
  const oops = new Error("disk full");
  const e = thrown(() => bob.account.decryptWith(alice.address, m, NOW, () => { throw oops; }));
  assert.equal(e.name, "Callback");
  assert.equal(e.cause, oops);
  assert.match(e.detail, /disk full/);
  assert.deepEqual(bob.account.takeChanges(), []);
  assert.equal(bob.account.hasSession(alice.address), false);
  // A Promise is refused too: nothing waits for it.
  const p = thrown(() => bob.account.decryptWith(alice.address, m, NOW, async () => {}));
  assert.equal(p.name, "Callback");
  assert.deepEqual(bob.account.takeChanges(), []);

  const stored = [];
  const d = bob.account.decryptWith(alice.address, m, NOW, (msg) => stored.push(read(msg.plaintext)));
  assert.deepEqual(stored, ["keep me"]);
  assert.equal(read(d.plaintext), "keep me");
  assert.deepEqual(d.sender, alice.address);
  assert.ok(bob.account.takeChanges().length > 0);
  assert.equal(thrown(() => bob.account.decrypt(alice.address, m, NOW)).kind, "Duplicate");
});

test("a delivery that calls into its account is refused cleanly", () => {
  const { alice, bob } = pair();
  const m = alice.account.encrypt(bob.address, text("x"), NOW);
  const e = thrown(() => bob.account.decryptWith(alice.address, m, NOW, () => bob.account.takeChanges()));
  assert.equal(e.name, "Callback");
  assert.equal(e.cause.name, "Misuse");
  assert.equal(e.cause.kind, "Reentrant");
  assert.equal(read(bob.account.decryptWith(alice.address, m, NOW, () => {}).plaintext), "x");
});

test("groupDecryptWith: a throwing delivery leaves the group message decryptable", () => {
  const { alice, bob } = pair();
  const { group, fanOut } = alice.account.createGroup([bob.user], NOW);
  for (const e of fanOut.envelopes) bob.account.decryptEnvelope(e.bytes, NOW);
  const sent = alice.account.groupSend(group, text("to the group"), NOW);
  for (const e of sent.distributions.envelopes) bob.account.decryptEnvelope(e.bytes, NOW);
  bob.account.takeChanges();
  const e = thrown(() => bob.account.groupDecryptWith(alice.address, sent.message, () => { throw new Error("no"); }));
  assert.equal(e.name, "Callback");
  assert.deepEqual(bob.account.takeChanges(), []);
  let got;
  const d = bob.account.groupDecryptWith(alice.address, sent.message, (msg) => { got = msg; });
  assert.equal(read(got.plaintext), "to the group");
  assert.deepEqual(d.group, group);
  assert.equal(thrown(() => bob.account.groupDecrypt(alice.address, sent.message)).name, "Group");
});

test("decryptBatch: a result per envelope; a refused one decrypts again", () => {
  const { alice, bob } = pair();
  const envelopes = ["one", "two", "three"].map((t) => alice.account.encryptEnvelope(bob.address, text(t), NOW).bytes);
  const batch = [envelopes[0], text("not an envelope"), envelopes[1], envelopes[2]];
  const stored = [];
  const results = bob.account.decryptBatch(batch, NOW, (index, msg) => {
    if (index === 3) throw new Error("later");
    stored.push([index, read(msg.plaintext)]);
  });
  assert.deepEqual(stored, [[0, "one"], [2, "two"]]);
  assert.deepEqual(results.map((r) => r.outcome), ["Delivered", "Failed", "Delivered", "Refused"]);
  assert.equal(read(results[0].message.plaintext), "one");
  assert.equal(results[1].error.name, "Decode");
  assert.equal(results[3].error.name, "Callback");
  assert.match(results[3].error.detail, /later/);
  // The refused one was undone; it decrypts now, the others are duplicates.
  assert.equal(read(bob.account.decryptEnvelope(envelopes[2], NOW).plaintext), "three");
  const again = bob.account.decryptBatch([envelopes[0]], NOW, () => {});
  assert.equal(again[0].outcome, "Failed");
  assert.equal(again[0].error.kind, "Duplicate");
});

test("Peer: encrypt and decrypt on an address checked once", () => {
  const { alice, bob } = pair();
  const toBob = alice.account.peer(bob.address);
  const fromAlice = bob.account.peer(alice.address);
  assert.deepEqual(toBob.address(), bob.address);
  for (let i = 0; i < 3; i++) {
    const m = toBob.encrypt(text(`m${i}`), NOW);
    const d = fromAlice.decrypt(m, NOW);
    assert.equal(read(d.plaintext), `m${i}`);
    assert.deepEqual(d.sender, alice.address);
  }
  const m = toBob.encrypt(text("with"), NOW);
  assert.equal(thrown(() => fromAlice.decryptWith(m, NOW, () => { throw new Error("x"); })).name, "Callback");
  assert.equal(read(fromAlice.decryptWith(m, NOW, () => {}).plaintext), "with");
  assert.equal(thrown(() => fromAlice.decrypt(m, NOW)).kind, "Duplicate");
  // A Peer shares its account's state: the account sees the session move on.
  const viaAccount = alice.account.encrypt(bob.address, text("account"), NOW);
  assert.equal(read(fromAlice.decrypt(viaAccount, NOW).plaintext), "account");
  assert.equal(thrown(() => alice.account.peer({ appId: "chirp", userId: "bob" })).name, "InvalidArgument");
  // A peer of a device without a session fails as the account would.
  const stranger = alice.account.peer({ appId: "chirp", userId: "nobody", deviceId: 1 });
  assert.equal(thrown(() => stranger.encrypt(text("?"), NOW)).name, "Account");
  // Group messages from a peer.
  const { group, fanOut } = alice.account.createGroup([bob.user], NOW);
  for (const e of fanOut.envelopes) bob.account.decryptEnvelope(e.bytes, NOW);
  const sent = alice.account.groupSend(group, text("g"), NOW);
  for (const e of sent.distributions.envelopes) bob.account.decryptEnvelope(e.bytes, NOW);
  assert.equal(read(fromAlice.groupDecrypt(sent.message).plaintext), "g");
});
