//! kinseal for JavaScript and TypeScript: WebAssembly bindings generated
//! by wasm-bindgen, for web pages, web workers and Node.js.
//!
//! Everything here is a thin wrapper over `kinseal`'s public API, the
//! same app-facing surface as the Kotlin, Swift and Python bindings
//! (`bindings/ffi`): the protocol, the checks and the sealing are
//! kinseal's. The wrappers convert bytes and records at the boundary,
//! draw randomness from `kinseal::OsRng` (through getrandom's `wasm_js`
//! backend: `crypto.getRandomValues`; fetched 512 bytes at a time, see
//! `rng.rs`), take time as an explicit `now` in seconds, and map every `kinseal::Error` to a JavaScript `Error` whose
//! `name` is the error's kind (see [`error`]).
//!
//! # Values at the boundary
//! - Bytes are `Uint8Array`s; addresses and results are plain JavaScript
//!   objects (`{ appId, userId, deviceId }`, `{ sender, plaintext, ... }`),
//!   typed by the TypeScript interfaces below, so they can be stored,
//!   logged or posted to a worker as they are. App and user ids are
//!   strings (kinseal takes their UTF-8 bytes).
//! - `now` is a JavaScript `number` of whole seconds since the Unix epoch
//!   (`Math.floor(Date.now() / 1000)`); anything else (negative,
//!   fractional, above 2^53 − 1, NaN) is an `InvalidArgument` error.
//!
//! # Storage
//! The account runs on kinseal's `MemoryStore` inside the module, with a
//! journal: after each operation `takeChanges()` hands over the records
//! it changed, sealed under the storage key, for the app to write to
//! IndexedDB in one transaction before it acts on the result;
//! `Account.openFromRecords` rebuilds the account from them after a
//! reload (docs/DESIGN.md, "Storage in the browser"). Secrets go in (the
//! storage key) and never come out; only plaintexts and sealed records do.
//!
//! # No `unsafe`
//! This crate forbids `unsafe_code`, as kinseal does: the code written by
//! hand contains none. (The JavaScript glue and the exports are generated
//! by wasm-bindgen's macros, whose expansion is checked by its own crate.)

mod account;
mod delivery;
pub mod error;
mod groups;
mod js;
mod link;
mod peer;
mod people;
mod policy;
mod rng;
mod server;
mod trust;
mod values;

pub use account::{Account, STORAGE_KEY_LEN};
pub use link::{LinkRequest, Provisioned};
pub use peer::Peer;
pub use people::{check_link_revocation, read_account_link_proposal};
pub use server::{Directory, decode_envelope, route, route_group, validate_upload};
pub use trust::failed_message_of;
pub use values::SafetyNumber;

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** One person in one app. */
export interface UserAddress { appId: string; userId: string; }
/** One device of one person in one app. */
export interface DeviceAddress { appId: string; userId: string; deviceId: number; }
/** How a peer's identity key relates to the one on record. */
export type IdentityStatus = "Known" | "New" | "Changed";
/** A decrypted pairwise message. */
export interface Decrypted {
  sender: DeviceAddress;
  plaintext: Uint8Array;
  identity: IdentityStatus;
  newSession: boolean;
  /** For a group-control message (empty plaintext): what it did. */
  groupEvent?: "Joined" | "Changed" | "Unchanged" | "SenderKey" | "Other";
}
/** A message with its routing: hand `bytes` to the server. */
export interface Envelope {
  sender: DeviceAddress;
  recipient: DeviceAddress;
  bytes: Uint8Array;
  message: Uint8Array;
}
/** One message to many devices. */
export interface FanOut {
  envelopes: Envelope[];
  /** Listed devices without a session. */
  missing: DeviceAddress[];
  /** Users whose device list is not on record. */
  unreachable: UserAddress[];
}
/** A device on a device list. */
export interface ListedDevice { address: DeviceAddress; identityKey: Uint8Array; addedAt: number; }
/** A user's signed device list: publish `bytes`. */
export interface DeviceList {
  bytes: Uint8Array;
  user: UserAddress;
  version: number;
  userKey: Uint8Array;
  devices: ListedDevice[];
}
/** What taking device lists on record changed. */
export interface DeviceListChange {
  user: UserAddress;
  version: number;
  isNewUser: boolean;
  added: DeviceAddress[];
  removed: DeviceAddress[];
  replaced: DeviceAddress[];
}
/** What `syncSessions` did: new sessions, and the devices that failed. */
export interface SyncReport {
  started: DeviceAddress[];
  failed: { device: DeviceAddress; error: KinsealError }[];
}
/** How many one-time prekeys of each kind. */
export interface PreKeyCounts { oneTime: number; kem: number; }
/** A group created by `createGroup`. */
export interface GroupCreated { group: Uint8Array; fanOut: FanOut; }
/** A group message: `message` for every device, `distributions` first. */
export interface GroupSend { message: Uint8Array; distributions: FanOut; }
/** A decrypted group message. */
export interface GroupDecrypted { group: Uint8Array; sender: DeviceAddress; plaintext: Uint8Array; }
/** A group member. */
export interface GroupMember { user: UserAddress; userKey: Uint8Array; admin: boolean; }
/** A group's state on this device. */
export interface GroupState { group: Uint8Array; epoch: number; members: GroupMember[]; }
/** What `decryptBatch` did with one envelope. */
export type BatchResult =
  | { outcome: "Delivered"; message: Decrypted }
  | { outcome: "Failed"; error: KinsealError }
  | { outcome: "Refused"; error: KinsealError };
/** A peer device's identity key on record. */
export interface KnownIdentity { key: Uint8Array; verified: boolean; firstSeen: number; }
/** A peer user's key and latest device list on record. */
export interface KnownUser { key: Uint8Array; verified: boolean; firstSeen: number; deviceList: DeviceList; }
/**
 * The app's trust policy, asked synchronously inside the operation that
 * met a key. Only `true` trusts: `false`, anything else, or a throw
 * refuses (the operation throws a `Trust` error and stores nothing). A
 * method left out is decided by trust on first use. Do not call into the
 * same account from it (that throws `Misuse`, kind `Reentrant`).
 */
export interface TrustPolicy {
  /** A device's key, for a device whose user has no device list on record. */
  trustDevice?(peer: DeviceAddress, known: KnownIdentity | undefined, presented: Uint8Array): boolean;
  /** A device list's user key (asked for every list), with the proof passed to `updateDeviceListsWithProof`. */
  trustUser?(user: UserAddress, known: KnownUser | undefined, presented: Uint8Array, proof: Uint8Array | undefined): boolean;
}
/**
 * An account's settings: a field left out keeps kinseal's default; one
 * outside kinseal's range throws `Misuse` (kind `ConfigOutOfRange`).
 * Times in seconds.
 */
export interface AccountConfig {
  maxArchivedSessions?: number;
  archivedSessionTtl?: number;
  pendingSessionTtl?: number;
  oneTimePrekeyTarget?: number;
  signedPrekeyRotation?: number;
  signedPrekeyGrace?: number;
  sessionCache?: number;
  /** Whether a peer device must be on its user's device list (default true). */
  deviceListsRequired?: boolean;
  groupRotationMessages?: number;
  groupRotationAge?: number;
}
/** Options of `Account.create` and `Account.createLinked` (not stored: pass them again when opening). */
export interface AccountOptions { trustPolicy?: TrustPolicy; config?: AccountConfig; }
/** Options of `Account.openFromRecords`. */
export interface OpenOptions extends AccountOptions {
  /** Storage keys records may still be sealed under, until `resealAll()`. */
  previousKeys?: { keyId: number; storageKey: Uint8Array }[];
}
/** One operation of `changeGroup`, applied in order. */
export type GroupOp =
  | { op: "Add"; user: UserAddress; userKey: Uint8Array; admin?: boolean }
  | { op: "Remove"; userKey: Uint8Array }
  | { op: "SetRole"; userKey: Uint8Array; admin: boolean };
/** A device registered in a `Directory` (`Directory.devices`). */
export interface DeviceInfo { address: DeviceAddress; identityKey: Uint8Array; counts: PreKeyCounts; ready: boolean; }
/**
 * Which message a decryption-error receipt is about: compare it with
 * `failedMessageOf(envelope.message)` of the envelopes sent.
 */
export type FailedMessage =
  | { kind: "Message"; ratchetKey: Uint8Array; index: number; previousLength: number }
  | { kind: "PreKey"; handshakeId: Uint8Array }
  | { kind: "Other" };
/** What `handleReceipt` did. */
export interface ReceiptOutcome {
  /** The device that could not decrypt. */
  device: DeviceAddress;
  /** Whether its session was closed here (else it was already replaced). */
  sessionClosed: boolean;
  /** The message it could not decrypt: send what it held again. */
  failed: FailedMessage;
}
/** One of the two accounts an account link or a proposal names. */
export interface LinkedAccount { user: UserAddress; userKey: Uint8Array; }
/** A proposal, as `readAccountLinkProposal` shows it before countersigning. */
export interface AccountLinkProposalInfo { proposer: LinkedAccount; countersigner: LinkedAccount; createdAt: number; }
/** A link that `checkAccountLink` verified: both accounts signed it. */
export interface AccountLinkInfo { accounts: LinkedAccount[]; createdAt: number; hash: Uint8Array; }
/** What a valid prekey upload holds (`validateUpload`). */
export interface UploadSummary { hasSignedPrekey: boolean; hasLastResortPrekey: boolean; counts: PreKeyCounts; }
/** What a server reads from a pairwise message's header (`route`). */
export interface RouteInfo {
  kind: "PreKeyMessage" | "Message" | "Other";
  version: number;
  size: number;
  prekeys?: { signedPrekeyId: number; oneTimePrekeyId?: number; kemPrekeyId: number };
}
/** What a server reads from a group message's header (`routeGroup`). */
export interface GroupRouteInfo { group: Uint8Array; epoch: number; size: number; }
/**
 * One sealed record of the account's store: write `value` at `key` in
 * IndexedDB, or delete `key` when `value` is undefined.
 */
export interface StoredRecord { key: Uint8Array; value?: Uint8Array; }
/** The kinds of `KinsealError` (the `name` of the thrown `Error`). */
export type KinsealErrorName =
  | "Decode" | "Protocol" | "Misuse" | "DecryptionFailed" | "Address"
  | "Account" | "Trust" | "Upload" | "Directory" | "Storage" | "DeviceList"
  | "Group" | "Link" | "AccountLink" | "InvalidArgument" | "Callback" | "Other";
/**
 * What every call throws: an `Error` whose `name` is the kind, `kind` the
 * case inside it (e.g. `Duplicate` under `Protocol`) and `detail` a
 * sentence for logs. `DecryptionFailed` has empty `kind` and `detail`.
 */
export interface KinsealError extends Error {
  name: KinsealErrorName;
  kind: string;
  detail: string;
  /** For a `Callback` error: what the app's callback threw. */
  cause?: unknown;
}
"#;
