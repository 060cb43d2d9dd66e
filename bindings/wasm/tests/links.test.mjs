// Account links through the wasm package (PROTOCOL.md §15): Alice's
// account on chirp proposes a link to her account on hoot, hoot
// countersigns it, Bob (who knows both accounts) checks it, and Alice
// revokes it. Forged, misaddressed and revoked links are refused.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, randomKey, thrown } from "./support.mjs";

const { Account, Directory, readAccountLinkProposal, checkLinkRevocation } = kinseal;

function person(dir, appId, userId) {
  const address = { appId, userId, deviceId: 1 };
  const account = Account.create(address, randomKey(), 1, NOW);
  dir.register(address, account.identityKey());
  const list = account.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  return { account, user: list.user, key: account.userIdentityKey() };
}

/** A copy of `bytes` with one bit flipped at `at` (from the end if negative). */
function flipped(bytes, at) {
  const copy = Uint8Array.from(bytes);
  copy[at < 0 ? copy.length + at : at] ^= 1;
  return copy;
}

function setting() {
  const dir = new Directory();
  const chirp = person(dir, "chirp", "alice");
  const hoot = person(dir, "hoot", "alice.h");
  const bob = person(dir, "hoot", "bob");
  const carol = person(dir, "chirp", "carol");
  for (const p of [chirp, hoot, carol]) bob.account.updateDeviceLists([dir.deviceList(p.user)], NOW);
  return { dir, chirp, hoot, bob, carol };
}

test("a link proposed in one app and countersigned in the other checks out", () => {
  const { chirp, hoot, bob } = setting();
  const proposal = chirp.account.proposeAccountLink(hoot.key, hoot.user, NOW);
  assert.ok(proposal instanceof Uint8Array);

  // Hoot shows who proposed it before countersigning.
  const info = readAccountLinkProposal(proposal);
  assert.deepEqual(info.proposer, { user: chirp.user, userKey: chirp.key });
  assert.deepEqual(info.countersigner, { user: hoot.user, userKey: hoot.key });
  assert.equal(info.createdAt, NOW);

  const link = hoot.account.countersignAccountLink(proposal);
  const checked = bob.account.checkAccountLink(link);
  assert.equal(checked.createdAt, NOW);
  assert.equal(checked.hash.length, 32);
  assert.equal(checked.accounts.length, 2);
  const keys = checked.accounts.map((a) => Buffer.from(a.userKey).toString("hex")).sort();
  const expected = [chirp.key, hoot.key].map((k) => Buffer.from(k).toString("hex")).sort();
  assert.deepEqual(keys, expected);
  for (const a of checked.accounts) assert.ok([chirp.user.appId, hoot.user.appId].includes(a.user.appId));
});

test("a proposal for another account, a forged proposal and a forged link are refused", () => {
  const { chirp, hoot, bob, carol } = setting();
  const proposal = chirp.account.proposeAccountLink(hoot.key, hoot.user, NOW);
  // Carol's account is not the one the proposal names.
  const wrong = thrown(() => carol.account.countersignAccountLink(proposal));
  assert.equal(wrong.name, "Account");
  assert.equal(wrong.kind, "IdentityMismatch");
  // A bit flipped in the proposer's signature.
  const forgedProposal = flipped(proposal, -1);
  assert.equal(thrown(() => readAccountLinkProposal(forgedProposal)).kind, "InvalidSignature");
  assert.equal(thrown(() => hoot.account.countersignAccountLink(forgedProposal)).kind, "InvalidSignature");
  // Nor can an account be linked to itself.
  assert.equal(thrown(() => chirp.account.proposeAccountLink(chirp.key, chirp.user, NOW)).kind, "LinkToSelf");
  // A bit flipped in the link's last signature.
  const link = hoot.account.countersignAccountLink(proposal);
  const forged = thrown(() => bob.account.checkAccountLink(flipped(link, -1)));
  assert.equal(forged.name, "Protocol");
  assert.equal(forged.kind, "InvalidSignature");
  assert.equal(thrown(() => bob.account.checkAccountLink(new Uint8Array(3))).name, "Decode");
  // Bad arguments never reach kinseal.
  assert.equal(thrown(() => chirp.account.proposeAccountLink(new Uint8Array(31), hoot.user, NOW)).name, "InvalidArgument");
});

test("a link whose accounts are not on record is refused", () => {
  const { dir, chirp, hoot } = setting();
  const dave = person(dir, "chirp", "dave");
  const link = hoot.account.countersignAccountLink(chirp.account.proposeAccountLink(hoot.key, hoot.user, NOW));
  const e = thrown(() => dave.account.checkAccountLink(link));
  assert.equal(e.name, "Account");
  assert.equal(e.kind, "NoDeviceList");
  // Once Dave knows both accounts, the same link checks out.
  for (const p of [chirp, hoot]) dave.account.updateDeviceLists([dir.deviceList(p.user)], NOW);
  assert.equal(dave.account.checkAccountLink(link).accounts.length, 2);
});

test("a revoked link is revoked, and only by one of its accounts", () => {
  const { chirp, hoot, bob, carol } = setting();
  const link = hoot.account.countersignAccountLink(chirp.account.proposeAccountLink(hoot.key, hoot.user, NOW));
  const revocation = chirp.account.revokeAccountLink(link, NOW + 60);
  assert.ok(revocation instanceof Uint8Array);
  // It revokes this link: checkLinkRevocation returns.
  assert.equal(checkLinkRevocation(revocation, link), undefined);
  assert.equal(bob.account.checkAccountLink(link).accounts.length, 2, "the link itself still verifies");
  // Either side may revoke it.
  checkLinkRevocation(hoot.account.revokeAccountLink(link, NOW + 60), link);
  // It does not revoke another link of the same person.
  const other = hoot.account.countersignAccountLink(chirp.account.proposeAccountLink(hoot.key, hoot.user, NOW + 1));
  const elsewhere = thrown(() => checkLinkRevocation(revocation, other));
  assert.equal(elsewhere.name, "AccountLink");
  assert.equal(elsewhere.kind, "OtherLink");
  // A forged revocation is refused.
  assert.equal(thrown(() => checkLinkRevocation(flipped(revocation, -1), link)).kind, "InvalidSignature");
  // Carol is not part of the link: she cannot revoke it.
  assert.equal(thrown(() => carol.account.revokeAccountLink(link, NOW + 60)).kind, "WrongLinkKey");
});
