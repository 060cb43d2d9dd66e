// Type-checked by ci.sh (`tsc --noEmit --strict`) against the .d.ts that
// wasm-bindgen generates: what a TypeScript app writes compiles, with the
// result types the bindings declare. Never run.

import {
  Account,
  Directory,
  type Decrypted,
  type DeviceAddress,
  type Envelope,
  type FanOut,
  type GroupCreated,
  type KinsealError,
  type StoredRecord,
  type UserAddress,
} from "./kinseal_wasm.js";

export function usage(storageKey: Uint8Array, now: number): string {
  const dir = new Directory();
  const here: DeviceAddress = { appId: "chirp", userId: "alice", deviceId: 1 };
  const bob: DeviceAddress = { appId: "chirp", userId: "bob", deviceId: 1 };
  const bobUser: UserAddress = { appId: "chirp", userId: "bob" };
  const alice = Account.create(here, storageKey, 1, now);
  dir.register(here, alice.identityKey());
  const upload: Uint8Array | undefined = alice.refreshPrekeys(now);
  if (upload) dir.upload(here, upload);
  const list = alice.deviceList();
  dir.publishDeviceList(list.user, list.bytes);
  const theirs = dir.deviceList(bobUser);
  if (theirs) alice.updateDeviceLists([theirs], now);
  alice.startSession(bob, dir.takeBundle(bob), now);
  const envelope: Envelope = alice.encryptEnvelope(bob, new Uint8Array([1]), now);
  const changes: StoredRecord[] = alice.takeChanges();
  const reopened = Account.openFromRecords(changes, storageKey, 1);
  let seen = "";
  try {
    const d: Decrypted = reopened.decryptEnvelope(envelope.bytes, now);
    seen = new TextDecoder().decode(d.plaintext) + d.sender.userId + d.identity;
  } catch (e) {
    const k = e as KinsealError;
    if (k.name === "DecryptionFailed" || k.kind === "Duplicate") seen = k.detail;
  }
  const fan: FanOut = alice.encryptToUser(bobUser, new Uint8Array([2]), now);
  const group: GroupCreated = alice.createGroup([bobUser], now);
  const state = alice.groupState(group.group);
  const number = alice.userSafetyNumber(bobUser);
  const digits: string = number ? number.digits() : "";
  return seen + fan.envelopes.length + (state ? state.epoch : -1) + digits;
}
