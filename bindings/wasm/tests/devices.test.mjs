// A person with two devices, through the wasm package: the second device
// is linked by QR code (LinkRequest, linkDevice, createLinked), the new
// device list is published, and a peer's fan-out reaches both devices.
//
// Run by ci.sh: `KINSEAL_WASM_PKG=<dir of the nodejs package> node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";

import { kinseal, NOW, text, read, randomKey as key, thrown } from "./support.mjs";

const { Account, Directory, LinkRequest } = kinseal;


function online(dir, account) {
  const address = account.address();
  dir.register(address, account.identityKey());
  dir.upload(address, account.refreshPrekeys(NOW));
  return address;
}

test("a linked second device is reached by a peer's fan-out", () => {
  const dir = new Directory();
  const alice1 = Account.create({ appId: "chirp", userId: "alice", deviceId: 1 }, key(), 1, NOW);
  const a1 = online(dir, alice1);
  const aliceUser = { appId: "chirp", userId: "alice" };
  dir.publishDeviceList(aliceUser, alice1.deviceList().bytes);
  const bob = Account.create({ appId: "hoot", userId: "bob", deviceId: 1 }, key(), 1, NOW);
  const b = online(dir, bob);
  const bobUser = { appId: "hoot", userId: "bob" };
  dir.publishDeviceList(bobUser, bob.deviceList().bytes);
  bob.updateDeviceLists([dir.deviceList(aliceUser)], NOW);

  // The new device shows a code; the first device scans it.
  const request = new LinkRequest();
  const linked = alice1.linkDevice(request.code(), 2, NOW);
  assert.equal(linked.deviceList.version, 2);
  assert.equal(linked.deviceList.devices.length, 2);
  dir.publishDeviceList(aliceUser, linked.deviceList.bytes);
  const provisioned = request.open(linked.provisioningMessage);
  assert.deepEqual(provisioned.deviceAddress(), { ...aliceUser, deviceId: 2 });
  const alice2 = Account.createLinked(provisioned, key(), 1, NOW);
  const a2 = online(dir, alice2);
  assert.deepEqual(alice2.userIdentityKey(), alice1.userIdentityKey());
  assert.equal(thrown(() => request.open(linked.provisioningMessage)).name, "InvalidArgument");
  assert.equal(thrown(() => Account.createLinked(provisioned, key(), 1, NOW)).name, "InvalidArgument");

  // Bob follows Alice's list from v1 to v2 and reaches both devices.
  const change = bob.updateDeviceLists(dir.deviceListsSince(aliceUser, 1), NOW);
  assert.equal(change.version, 2);
  assert.deepEqual(change.added, [a2]);
  const report = bob.syncSessions(aliceUser, (d) => dir.takeBundle(d), NOW);
  assert.equal(report.started.length, 2);
  for (const a of [alice1, alice2]) a.updateDeviceLists([dir.deviceList(bobUser)], NOW);
  const fan = bob.encryptToUser(aliceUser, text("to both of you"), NOW);
  assert.equal(fan.envelopes.length, 2);
  for (const [account, address] of [[alice1, a1], [alice2, a2]]) {
    const e = fan.envelopes.find((x) => x.recipient.deviceId === address.deviceId);
    assert.equal(read(account.decryptEnvelope(e.bytes, NOW).plaintext), "to both of you");
  }
  // Both of Alice's devices show Bob the same safety number.
  assert.equal(alice1.userSafetyNumber(bobUser).digits(), alice2.userSafetyNumber(bobUser).digits());
  assert.equal(bob.userSafetyNumber(aliceUser).digits(), alice2.userSafetyNumber(bobUser).digits());
  assert.deepEqual(b, { ...bobUser, deviceId: 1 });
});
