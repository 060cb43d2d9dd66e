// Type-checked by ci.sh (`tsc --noEmit --strict`) against the .d.ts that
// wasm-bindgen generates: what a TypeScript app writes compiles, with the
// result types the bindings declare. Never run.

import {
  Account,
  Directory,
  Peer,
  checkLinkRevocation,
  failedMessageOf,
  readAccountLinkProposal,
  route,
  routeGroup,
  validateUpload,
  type AccountLinkInfo,
  type AccountLinkProposalInfo,
  type BatchResult,
  type DeviceInfo,
  type DeviceListChange,
  type FailedMessage,
  type ReceiptOutcome,
  type Decrypted,
  type GroupOp,
  type GroupRouteInfo,
  type RouteInfo,
  type TrustPolicy,
  type UploadSummary,
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

export function parity(storageKey: Uint8Array, oldKey: Uint8Array, now: number): number {
  const here: DeviceAddress = { appId: "chirp", userId: "alice", deviceId: 1 };
  const bob: DeviceAddress = { appId: "chirp", userId: "bob", deviceId: 1 };
  const bobUser: UserAddress = { appId: "chirp", userId: "bob" };
  const policy: TrustPolicy = {
    trustUser: (user, known, presented, proof) => known === undefined && proof !== undefined && presented.length === 32 && user.appId === "chirp",
  };
  const alice = Account.create(here, storageKey, 2, now, { trustPolicy: policy, config: { sessionCache: 8 } });
  const reopened = Account.openFromRecords(alice.exportRecords(), storageKey, 2, {
    trustPolicy: policy,
    previousKeys: [{ keyId: 1, storageKey: oldKey }],
  });
  const resealed: number = reopened.resealAll();
  const peer: Peer = alice.peer(bob);
  const m: Uint8Array = peer.encrypt(new Uint8Array([1]), now);
  const kept: Decrypted[] = [];
  const d: Decrypted = peer.decryptWith(m, now, (msg) => { kept.push(msg); });
  const d2: Decrypted = alice.decryptWith(bob, m, now, (msg) => { kept.push(msg); });
  const results: BatchResult[] = alice.decryptBatch([m], now, (index: number, msg: Decrypted) => { kept[index] = msg; });
  let delivered = 0;
  for (const r of results) {
    if (r.outcome === "Delivered") delivered += r.message.plaintext.length;
    else delivered -= r.error.name.length;
  }
  const ops: GroupOp[] = [
    { op: "Add", user: bobUser, userKey: new Uint8Array(32), admin: true },
    { op: "SetRole", userKey: new Uint8Array(32), admin: false },
    { op: "Remove", userKey: new Uint8Array(32) },
  ];
  const fan: FanOut = alice.changeGroup(new Uint8Array(32), ops, now);
  const g = alice.groupDecryptWith(bob, m, (msg) => { kept.push({ ...d, plaintext: msg.plaintext }); });
  const all: FanOut = alice.encryptToUsers([bobUser], m, now);
  const each: Uint8Array[] = alice.encryptToEach([bob], m, now);
  const list = alice.addDevice(2, new Uint8Array(32), now);
  alice.updateDeviceListsWithProof([list.bytes], new Uint8Array([9]), now);
  const upload: UploadSummary = validateUpload(m, alice.identityKey());
  const info: RouteInfo = route(m);
  const group: GroupRouteInfo = routeGroup(m);
  const key: Uint8Array | undefined = alice.peerIdentity(bob)?.key;
  const version: number = alice.peerUser(bobUser)?.deviceList.version ?? 0;
  const withSessions: DeviceAddress[] = alice.devicesWithSessions(bobUser);
  const forgot: boolean = alice.forgetDevice(bob);
  return resealed + d.plaintext.length + d2.plaintext.length + delivered + fan.envelopes.length +
    g.plaintext.length + all.envelopes.length + each.length + upload.counts.oneTime +
    (info.prekeys?.oneTimePrekeyId ?? 0) + group.epoch + (alice.forgetGroup(g.group) ? 1 : 0) +
    (key?.length ?? 0) + version + withSessions.length + (forgot ? 1 : 0);
}

export function upkeep(storageKey: Uint8Array, receipt: Uint8Array, now: number): number {
  const dir = new Directory();
  const here: DeviceAddress = { appId: "chirp", userId: "alice", deviceId: 1 };
  const bob: DeviceAddress = { appId: "chirp", userId: "bob", deviceId: 1 };
  const bobUser: UserAddress = { appId: "chirp", userId: "bob" };
  const hootUser: UserAddress = { appId: "hoot", userId: "alice" };
  const alice = Account.create(here, storageKey, 1, now);
  // Account links.
  const proposal: Uint8Array = alice.proposeAccountLink(new Uint8Array(32), hootUser, now);
  const info: AccountLinkProposalInfo = readAccountLinkProposal(proposal);
  const link: Uint8Array = alice.countersignAccountLink(proposal);
  const checked: AccountLinkInfo = alice.checkAccountLink(link);
  const revocation: Uint8Array = alice.revokeAccountLink(link, now);
  const none: void = checkLinkRevocation(revocation, link);
  // Upkeep.
  const change: DeviceListChange | undefined = alice.refreshDeviceLists(
    bobUser,
    (user: UserAddress, held: number | undefined) => {
      const latest = dir.deviceList(user);
      if (held === undefined) return latest ? [latest] : [];
      return dir.deviceListsSince(user, held);
    },
    now,
  );
  const expired: number = alice.expireSessions(now);
  const id: Uint8Array | undefined = alice.currentSessionId(bob);
  // Receipts.
  const outcome: ReceiptOutcome = alice.handleReceipt(receipt, now);
  const failed: FailedMessage = outcome.failed;
  const mine: FailedMessage = failedMessageOf(new Uint8Array([1]));
  const same = failed.kind === "Message" && mine.kind === "Message" && failed.index === mine.index;
  // The directory.
  const devices: DeviceInfo[] = dir.devices(bobUser);
  const removed: boolean = dir.remove(bob);
  dir.resetDeviceList(bobUser, alice.deviceList().bytes);
  return (
    info.createdAt + checked.accounts.length + (none === undefined ? 1 : 0) + (change ? change.version : 0) +
    expired + (id ? id.length : 0) + (same ? 1 : 0) + devices.filter((d) => d.ready).length +
    (removed ? 1 : 0) + devices.reduce((n, d) => n + d.counts.oneTime, 0)
  );
}
