//! Every bound the server side enforces, by name.
//!
//! The per-upload and per-device bounds keep what one device can make a
//! directory store, verify and hand out small and predictable; the message
//! and bundle sizes let a server refuse oversize input before it parses a
//! byte of it. The sizes are derived from the wire layouts, and the tests
//! check them against real encodings.

use crate::wire::{
    KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KEY_LEN, MAX_CIPHERTEXT_LEN, SIGNATURE_LEN, TAG_LEN,
};

/// The longest app id a [`UserAddress`](super::UserAddress) may have, in
/// bytes. An app id names one app of the family (`"chirp"`, a reverse-DNS
/// name, a UUID); 64 bytes fits all of these.
pub const MAX_APP_ID_LEN: usize = 64;

/// The longest user id a [`UserAddress`](super::UserAddress) may have, in
/// bytes. User ids are opaque to kinseal (an account UUID, a phone number,
/// an e-mail address); 256 bytes fits an RFC 5321 address (254) and any of
/// the others.
pub const MAX_USER_ID_LEN: usize = 256;

/// The most devices one user of one app may register.
///
/// Every sender encrypts once per recipient device, so this bounds the
/// fan-out of one message. Deployed apps allow far fewer (a phone and a
/// handful of linked devices); 16 leaves room without letting one account
/// make every sender do unbounded work.
pub const MAX_DEVICES_PER_USER: usize = 16;

/// The most one-time X25519 prekeys one upload may carry.
///
/// 100 is what deployed servers accept per request and what clients
/// upload when they refill; an upload of 100 is 3.6 KB of keys.
pub const MAX_ONE_TIME_PREKEYS_PER_UPLOAD: usize = 100;

/// The most one-time ML-KEM-768 prekeys one upload may carry.
///
/// Each is 1261 bytes with its id, flag, time and signature, and each costs
/// the server one signature verification, so 100 keeps an upload near
/// 128 KB and its verification in the low milliseconds.
pub const MAX_KEM_PREKEYS_PER_UPLOAD: usize = 100;

/// The most one-time X25519 prekeys a directory holds for one device.
///
/// 36 bytes each, so at most 180 KB per device. A device that has been
/// offline while 5 000 senders started sessions with it still has keys;
/// past that, bundles fall back to the signed prekey alone, which is safe
/// (as in X3DH) but loses the one-time key's extra forward secrecy.
pub const MAX_STORED_ONE_TIME_PREKEYS: usize = 5_000;

/// The most one-time ML-KEM-768 prekeys a directory holds for one device.
///
/// About 1.3 KB each, so at most 1.3 MB per device. When they run out,
/// bundles carry the device's last-resort KEM prekey, which the device
/// protects against replay with handshake ids.
pub const MAX_STORED_KEM_PREKEYS: usize = 1_000;

/// How far below the stock of one-time keys a device should be asked to
/// replenish, as a default for [`PreKeyCounts::needs_replenish`](super::PreKeyCounts::needs_replenish).
///
/// Ten keys is the threshold libsignal-based clients use: enough to absorb
/// a burst of new senders between the device's checks.
pub const DEFAULT_REPLENISH_THRESHOLD: usize = 10;

/// The longest interval, in seconds, a device should go between rotations
/// of its signed prekey: 7 days, as the X3DH specification suggests
/// ("once a week").
///
/// kinseal has no clock; the server compares this with the signed prekey's
/// creation time and the current time it is given (see
/// [`DeviceInfo::needs_signed_prekey_rotation`](super::DeviceInfo::needs_signed_prekey_rotation)).
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 24 * 60 * 60;

/// How long, in seconds, a device should keep the private half of a signed
/// prekey after replacing it: 30 days.
///
/// A bundle fetched just before a rotation can be used for a first message
/// that arrives much later (a sender offline, a queue backed up); the
/// directory itself keeps only the current signed prekey, because it needs
/// nothing else to build bundles.
pub const SIGNED_PREKEY_GRACE_SECS: u64 = 30 * 24 * 60 * 60;

/// Length of one signed prekey entry in an upload:
/// `id u32 ‖ created_at u64 ‖ public 32 ‖ signature 64`.
pub(crate) const SIGNED_PREKEY_ENTRY_LEN: usize = 4 + 8 + KEY_LEN + SIGNATURE_LEN;
/// Length of one one-time prekey entry in an upload: `id u32 ‖ public 32`.
pub(crate) const ONE_TIME_PREKEY_ENTRY_LEN: usize = 4 + KEY_LEN;
/// Length of one KEM prekey entry in an upload:
/// `id u32 ‖ kind 1 ‖ created_at u64 ‖ public 1184 ‖ signature 64`.
pub(crate) const KEM_PREKEY_ENTRY_LEN: usize = 4 + 1 + 8 + KEM_PUBLIC_KEY_LEN + SIGNATURE_LEN;
/// Version, type, suite and identity key: what opens every upload.
const UPLOAD_HEADER_LEN: usize = 3 + KEY_LEN;

/// The shortest valid [`PreKeyUpload`](super::PreKeyUpload) encoding: the
/// header, both presence flags, both counts and the signature (109 bytes).
/// An upload this short carries no key and is refused as empty.
pub const MIN_UPLOAD_LEN: usize = UPLOAD_HEADER_LEN + 1 + 1 + 4 + 4 + SIGNATURE_LEN;

/// The longest valid [`PreKeyUpload`](super::PreKeyUpload) encoding: a
/// signed prekey, a last-resort KEM prekey, and full batches of both kinds
/// of one-time prekeys (131 178 bytes). Longer input is refused before it is
/// parsed.
pub const MAX_UPLOAD_LEN: usize = MIN_UPLOAD_LEN
    + SIGNED_PREKEY_ENTRY_LEN
    + KEM_PREKEY_ENTRY_LEN
    + MAX_ONE_TIME_PREKEYS_PER_UPLOAD * ONE_TIME_PREKEY_ENTRY_LEN
    + MAX_KEM_PREKEYS_PER_UPLOAD * KEM_PREKEY_ENTRY_LEN;

/// Length of a `PreKeyMessage` before its embedded message, with a one-time
/// prekey id: version, type, suite, identity key, three prekey ids, the
/// presence flag and the ML-KEM ciphertext (1136 bytes).
const PREKEY_PREFIX_MAX_LEN: usize = 3 + KEY_LEN + 4 + 1 + 4 + 4 + KEM_CIPHERTEXT_LEN;
/// Length of a `Message` header.
const MESSAGE_HEADER_LEN: usize = 2 + KEY_LEN + 4 + 4 + 4;

/// The shortest encoded message of either kind: a `Message` with an empty
/// plaintext (62 bytes).
pub const MIN_MESSAGE_LEN: usize = MESSAGE_HEADER_LEN + TAG_LEN;

/// The longest encoded message of either kind: a `PreKeyMessage` naming a
/// one-time prekey and carrying a plaintext of
/// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN) (263 342 bytes). A
/// server can refuse anything longer without reading it; see
/// [`route`](super::route).
pub const MAX_MESSAGE_LEN: usize = PREKEY_PREFIX_MAX_LEN + MESSAGE_HEADER_LEN + MAX_CIPHERTEXT_LEN;

/// The length of an encoded [`PreKeyBundle`](crate::PreKeyBundle) without a
/// one-time prekey (1405 bytes).
pub const MIN_BUNDLE_LEN: usize = 3 + KEY_LEN + SIGNED_PREKEY_ENTRY_LEN + 1 + KEM_PREKEY_ENTRY_LEN;

/// The length of an encoded [`PreKeyBundle`](crate::PreKeyBundle) with a
/// one-time prekey (1441 bytes): the most a bundle can be.
pub const MAX_BUNDLE_LEN: usize = MIN_BUNDLE_LEN + ONE_TIME_PREKEY_ENTRY_LEN;

// The sizes the layouts in PROTOCOL.md §4 and docs/SERVER.md state.
const _: () = assert!(MIN_BUNDLE_LEN == 1405 && MAX_BUNDLE_LEN == 1441);
const _: () = assert!(MAX_MESSAGE_LEN == 263_342 && MIN_MESSAGE_LEN == 62);
const _: () = assert!(MIN_UPLOAD_LEN == 109 && MAX_UPLOAD_LEN == 131_178);
