//! Every bound kinseal enforces, by name, in one place.
//!
//! A `DEFAULT_*` is what a configuration ([`SessionConfig`](crate::SessionConfig),
//! [`AccountConfig`](crate::client::AccountConfig)) uses unless told
//! otherwise; a `*_LIMIT` is the largest value a configuration may choose,
//! so that the worst-case memory and work stay bounded whatever the
//! configuration. Every other bound is fixed. The modules that enforce a
//! bound re-export it where their users look for it
//! ([`server`](crate::server), [`client`](crate::client), [`wire`](crate::wire)).
//!
//! The encoded sizes at the end are derived from the byte layouts in
//! [`wire`](crate::wire) and checked against real encodings by the tests.

use crate::sizes::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KEY_LEN, SIGNATURE_LEN, TAG_LEN};

// ---- One session ---------------------------------------------------------

/// The largest plaintext one message may carry: 256 KiB.
///
/// kinseal carries conversation messages; attachments travel out of band
/// under their own keys. The bound keeps a single hostile message from
/// making a receiver allocate more than this.
pub const MAX_PLAINTEXT_LEN: usize = 256 * 1024;
/// The longest padded plaintext a message may carry (270 336 bytes): what
/// the largest padding a configuration may choose makes of a
/// [`MAX_PLAINTEXT_LEN`] plaintext and its end marker (Padmé of 262 145,
/// PROTOCOL.md §7.6). A receiver refuses a longer ciphertext before
/// reading it, and a padded plaintext whose unpadded length exceeds
/// [`MAX_PLAINTEXT_LEN`] after it authenticated.
pub const MAX_PADDED_LEN: usize = 270_336;
/// The largest ciphertext field of a message: [`MAX_PADDED_LEN`] plus the tag.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_PADDED_LEN + TAG_LEN;
/// The smallest ciphertext field of a message: the one-byte end marker of
/// an empty plaintext (PROTOCOL.md §7.6) plus the tag.
pub const MIN_CIPHERTEXT_LEN: usize = 1 + TAG_LEN;

/// Default padding block (PROTOCOL.md §7.6): a padded plaintext is a
/// multiple of 160 bytes, as Signal pads, so every message shorter than
/// 160 bytes (most chat messages) has the same length on the wire.
pub const DEFAULT_PADDING_BLOCK: u16 = 160;
/// The largest padding block a configuration may choose.
///
/// Together with Padmé this bounds the padded length of a
/// [`MAX_PLAINTEXT_LEN`] plaintext by [`MAX_PADDED_LEN`]; a block costs at
/// most `block − 1` bytes per message.
pub const MAX_PADDING_BLOCK_LIMIT: u16 = 4096;

/// Default largest number of messages a single incoming message may skip
/// over in one chain (the gap between the next expected index and the
/// message's index). 25 000 matches libsignal: a phone that was offline for
/// days still catches up.
pub const DEFAULT_MAX_FORWARD_JUMP: u32 = 25_000;
/// The largest forward jump a configuration may allow.
///
/// Each skipped index costs one HMAC before the message can be
/// authenticated, so this bounds the work a forged message can cause
/// (about 25 ms at 100 000).
pub const MAX_FORWARD_JUMP_LIMIT: u32 = 100_000;

/// Default largest number of skipped message keys a session stores, across
/// all its receiving chains. When more are skipped, the oldest are evicted.
pub const DEFAULT_MAX_SKIPPED_KEYS: u32 = 2_000;
/// The largest skipped-key store a configuration may allow.
///
/// A stored key costs 40 bytes, so the store never exceeds 2 MB.
pub const MAX_SKIPPED_KEYS_LIMIT: u32 = 50_000;

/// Default number of previous receiving chains a session keeps, besides the
/// current one, so late messages from before a ratchet step still decrypt.
pub const DEFAULT_MAX_OLD_CHAINS: u32 = 5;
/// The largest number of previous receiving chains a configuration may keep.
pub const MAX_OLD_CHAINS_LIMIT: u32 = 32;

/// The longest caller-supplied session context (app ids, addresses) that
/// session setup accepts.
pub const MAX_CONTEXT_LEN: usize = 1024;

/// The longest app context an [`Account`](crate::client::Account)'s
/// sessions may carry after the two bound device addresses (PROTOCOL.md
/// §6.6): the addresses' label and embedded forms at their bounds take
/// the rest of [`MAX_CONTEXT_LEN`].
pub const MAX_ACCOUNT_CONTEXT_LEN: usize = 256;

/// The length of the label that starts an account's session context.
pub(crate) const BOUND_ADDRESSES_LABEL_LEN: usize = 27;

// ---- Addresses -----------------------------------------------------------

/// The longest app id a [`UserAddress`](crate::address::UserAddress) may have, in
/// bytes. An app id names one app of the family (`"chirp"`, a reverse-DNS
/// name, a UUID); 64 bytes fits all of these.
pub const MAX_APP_ID_LEN: usize = 64;

/// The longest user id a [`UserAddress`](crate::address::UserAddress) may have, in
/// bytes. User ids are opaque to kinseal (an account UUID, a phone number,
/// an e-mail address); 256 bytes fits an RFC 5321 address (254) and any of
/// the others.
pub const MAX_USER_ID_LEN: usize = 256;

/// Length of a [`UserAddress`](crate::address::UserAddress) embedded in another
/// encoding (an envelope) with the shortest ids (5 bytes):
/// `len(app) u8 ‖ app ‖ len(user) u16 ‖ user`, one byte each.
///
/// The user id's length is a u16 because [`MAX_USER_ID_LEN`] (256) does
/// not fit a byte.
pub(crate) const MIN_EMBEDDED_USER_ADDRESS_LEN: usize = 1 + 1 + 2 + 1;
/// Length of an embedded user address with the longest ids (323 bytes).
pub(crate) const MAX_EMBEDDED_USER_ADDRESS_LEN: usize = 1 + MAX_APP_ID_LEN + 2 + MAX_USER_ID_LEN;
/// Length of an embedded device address with the shortest ids (9 bytes):
/// the embedded user address, then `device u32`.
pub(crate) const MIN_EMBEDDED_DEVICE_ADDRESS_LEN: usize = MIN_EMBEDDED_USER_ADDRESS_LEN + 4;
/// Length of an embedded device address with the longest ids (327 bytes).
pub(crate) const MAX_EMBEDDED_DEVICE_ADDRESS_LEN: usize = MAX_EMBEDDED_USER_ADDRESS_LEN + 4;

/// The shortest [`UserAddress`](crate::address::UserAddress) encoding
/// (`UserAddress::to_bytes`): version, type and an embedded address with
/// one-byte ids (7 bytes).
pub const MIN_USER_ADDRESS_LEN: usize = 2 + MIN_EMBEDDED_USER_ADDRESS_LEN;
/// The longest [`UserAddress`](crate::address::UserAddress) encoding: ids
/// of [`MAX_APP_ID_LEN`] and [`MAX_USER_ID_LEN`] bytes (325 bytes).
pub const MAX_USER_ADDRESS_LEN: usize = 2 + MAX_EMBEDDED_USER_ADDRESS_LEN;
/// The shortest [`DeviceAddress`](crate::address::DeviceAddress) encoding
/// (11 bytes).
pub const MIN_DEVICE_ADDRESS_LEN: usize = 2 + MIN_EMBEDDED_DEVICE_ADDRESS_LEN;
/// The longest [`DeviceAddress`](crate::address::DeviceAddress) encoding
/// (329 bytes).
pub const MAX_DEVICE_ADDRESS_LEN: usize = 2 + MAX_EMBEDDED_DEVICE_ADDRESS_LEN;

// ---- The directory and uploads (server) -----------------------------------

/// The most devices one user of one app may register.
///
/// Every sender encrypts once per recipient device, so this bounds the
/// fan-out of one message. Deployed apps allow far fewer (a phone and a
/// handful of linked devices); 16 leaves room without letting one account
/// make every sender do unbounded work.
pub const MAX_DEVICES_PER_USER: usize = 16;

/// The most device lists a directory keeps for one user: the latest and
/// the ones before it, oldest dropped first (see
/// [`PreKeyDirectory::device_lists_since`](crate::server::PreKeyDirectory::device_lists_since)).
///
/// A list changes when the user adds, removes or replaces a device, which
/// even a person who reinstalls weekly does fewer than 64 times a year. So
/// a peer offline for months can still fetch every list since the one it
/// holds and check the chain; one that finds a gap it cannot fill must
/// treat it as an identity-level decision (compare safety numbers), not
/// accept the latest list on the server's word. At most 64 × 1175 bytes
/// (75 KB) per user.
pub const MAX_DEVICE_LIST_HISTORY: usize = 64;

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
/// replenish, as a default for [`PreKeyCounts::needs_replenish`](crate::server::PreKeyCounts::needs_replenish).
///
/// Ten keys is the threshold libsignal-based clients use: enough to absorb
/// a burst of new senders between the device's checks.
pub const DEFAULT_REPLENISH_THRESHOLD: usize = 10;

/// The length of a [`PreKeyCounts`](crate::server::PreKeyCounts) encoding
/// (10 bytes): version, type, and one u32 per kind of one-time prekey.
///
/// A count is any u32: the directory's own bounds
/// ([`MAX_STORED_ONE_TIME_PREKEYS`], [`MAX_STORED_KEM_PREKEYS`]) are its
/// policy, which a later version may raise, not part of the format, so a
/// device never refuses counts from a newer server.
pub const PREKEY_COUNTS_LEN: usize = 2 + 4 + 4;

/// The longest interval, in seconds, a device should go between rotations
/// of its signed prekey: 7 days, as the X3DH specification suggests
/// ("once a week").
///
/// kinseal has no clock; the server compares this with the signed prekey's
/// creation time and the current time it is given (see
/// [`DeviceInfo::needs_signed_prekey_rotation`](crate::server::DeviceInfo::needs_signed_prekey_rotation)).
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 24 * 60 * 60;

/// How long, in seconds, a device should keep the private half of a signed
/// prekey after replacing it: 30 days.
///
/// A bundle fetched just before a rotation can be used for a first message
/// that arrives much later (a sender offline, a queue backed up); the
/// directory itself keeps only the current signed prekey, because it needs
/// nothing else to build bundles.
pub const SIGNED_PREKEY_GRACE_SECS: u64 = 30 * 24 * 60 * 60;

// ---- A client account ---------------------------------------------------

/// How many archived sessions per peer device an account keeps by default,
/// besides the current one. Archived sessions are tried, newest first,
/// when a message does not decrypt under the current session (it was sent
/// before both sides settled on one session), and each try costs a record
/// load and a trial decryption, so the default is small.
pub const DEFAULT_MAX_ARCHIVED_SESSIONS: usize = 8;
/// The most archived sessions per peer device an account may be configured
/// to keep (libsignal keeps 40).
pub const MAX_ARCHIVED_SESSIONS_LIMIT: usize = 40;
/// How long an archived session is kept after it last decrypted or
/// encrypted anything, by default: 30 days.
pub const DEFAULT_ARCHIVED_SESSION_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// How long a session this device started may stay unanswered before it
/// stops encrypting, by default: 30 days (libsignal's
/// `MAX_UNACKNOWLEDGED_SESSION_AGE`). The peer may have lost the prekeys
/// it names; the app should fetch a fresh bundle.
pub const DEFAULT_PENDING_SESSION_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// How many one-time prekeys of each kind (X25519 and ML-KEM) an account
/// keeps published by default: one full upload
/// ([`MAX_ONE_TIME_PREKEYS_PER_UPLOAD`](MAX_ONE_TIME_PREKEYS_PER_UPLOAD)).
pub const DEFAULT_ONE_TIME_PREKEY_TARGET: usize = 100;
/// The most handshakes an account answers on one last-resort ML-KEM prekey
/// without a one-time prekey: 10 000, about one new sender a minute for
/// the week ([`SIGNED_PREKEY_ROTATION_SECS`]) the key is handed out.
///
/// Each such handshake is logged until the key is deleted after its grace
/// period, because nothing one-time was used up to stop a replay (the log
/// holds a 32-byte id and the key's id per handshake: at most about
/// 0.5 MB per key). When a key's log is full, further handshakes on it
/// without a one-time prekey are refused with
/// [`AccountError::HandshakeLogFull`](crate::AccountError::HandshakeLogFull)
/// and change nothing; the sender succeeds again once the device has
/// uploaded one-time prekeys or rotated its last-resort key. Forgetting old
/// ids instead would let their first messages be replayed.
pub const MAX_HANDSHAKES_PER_LAST_RESORT_KEY: usize = 10_000;
/// The most storage keys a [`StorageKeyring`](crate::client::StorageKeyring) holds.
pub const MAX_STORAGE_KEYS: usize = 8;
/// How many peer devices' decoded sessions an account keeps in memory by
/// default between operations (see
/// [`AccountConfig::with_session_cache`](crate::client::AccountConfig::with_session_cache)).
pub const DEFAULT_SESSION_CACHE: usize = 32;
/// How many users' verified records (user key and device list) an account
/// keeps in memory between operations, so that a fan-out does not verify
/// a person's list again for every message: every member of the largest
/// group ([`MAX_GROUP_MEMBERS`]) and some. At most about 3 KiB each.
pub(crate) const USER_RECORD_CACHE: usize = 1_024;
/// How many groups' decoded states an account keeps in memory between
/// operations, so that a group message does not check every member key
/// of the group's state again (about 30 µs a member). At most about
/// 700 KiB each, for a group of [`MAX_GROUP_MEMBERS`] with its previous
/// state.
pub(crate) const GROUP_RECORD_CACHE: usize = 8;
/// How many group senders' signing keys, checked once (a scalar
/// multiplication, about 30 µs), an account keeps in memory so that a
/// group message does not check its sender's keys again: two sender keys
/// for each device of a group of 1 000 devices and some. About 200 bytes
/// each.
pub(crate) const SIGNER_KEY_CACHE: usize = 2_048;
/// The largest session cache an account may be configured with.
pub const MAX_SESSION_CACHE_LIMIT: usize = 1024;

/// The largest serialized session a client's session set may hold: 4 MiB,
/// above the largest record the session bounds allow (about 1.9 MiB at
/// every hard limit; `docs/PERFORMANCE.md`).
pub(crate) const MAX_SESSION_STATE_LEN: usize = 4 * 1024 * 1024;
/// The most sessions one session set may hold: the current one and up to
/// [`MAX_ARCHIVED_SESSIONS_LIMIT`] archived ones.
pub(crate) const MAX_SESSIONS_PER_SET: usize = 1 + MAX_ARCHIVED_SESSIONS_LIMIT;
/// The most receiving-chain ratchet keys a session-set entry lists for
/// routing (`docs/STORAGE.md` §4.3): the current receiving chain and up to
/// [`MAX_OLD_CHAINS_LIMIT`] old ones, every chain a session may keep.
pub(crate) const MAX_ROUTED_CHAINS: usize = 1 + MAX_OLD_CHAINS_LIMIT as usize;

// ---- Encoded sizes, from the layouts ---------------------------------------

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

/// The shortest valid [`PreKeyUpload`](crate::PreKeyUpload) encoding: the
/// header, both presence flags, both counts and the signature (109 bytes).
/// An upload this short carries no key and is refused as empty.
pub const MIN_UPLOAD_LEN: usize = UPLOAD_HEADER_LEN + 1 + 1 + 4 + 4 + SIGNATURE_LEN;

/// The longest valid [`PreKeyUpload`](crate::PreKeyUpload) encoding: a
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
/// Length of a `Message` header: version, type, ratchet key, receiver
/// hint, the two counters, the ciphertext length and the header tag.
const MESSAGE_HEADER_LEN: usize = 2 + KEY_LEN + 4 + 4 + 4 + 4 + 16;

/// The shortest encoded message of either kind: a `Message` with an empty
/// plaintext and no padding beyond its end marker (83 bytes).
pub const MIN_MESSAGE_LEN: usize = MESSAGE_HEADER_LEN + MIN_CIPHERTEXT_LEN;

/// The longest encoded message of either kind: a `PreKeyMessage` naming a
/// one-time prekey and carrying a padded plaintext of
/// [`MAX_PADDED_LEN`] (271 554 bytes). A
/// server can refuse anything longer without reading it; see
/// [`route`](crate::server::route).
pub const MAX_MESSAGE_LEN: usize = PREKEY_PREFIX_MAX_LEN + MESSAGE_HEADER_LEN + MAX_CIPHERTEXT_LEN;

/// What an [`Envelope`](crate::Envelope) adds to its message: version, type,
/// the two embedded device addresses and the message length (u32).
const ENVELOPE_OVERHEAD_MIN: usize = 2 + 2 * MIN_EMBEDDED_DEVICE_ADDRESS_LEN + 4;

/// The shortest [`Envelope`](crate::Envelope) encoding: two device addresses
/// with one-byte ids and a [`MIN_MESSAGE_LEN`] message (107 bytes).
pub const MIN_ENVELOPE_LEN: usize = ENVELOPE_OVERHEAD_MIN + MIN_MESSAGE_LEN;

/// The longest [`Envelope`](crate::Envelope) encoding: two device addresses
/// with the longest ids and a [`MAX_MESSAGE_LEN`] message (272 214 bytes).
/// Longer input is refused before it is read.
pub const MAX_ENVELOPE_LEN: usize = 2 + 2 * MAX_EMBEDDED_DEVICE_ADDRESS_LEN + 4 + MAX_MESSAGE_LEN;

/// Length of one device entry of a [`DeviceList`](crate::DeviceList):
/// `device_id u32 ‖ identity_key 32 ‖ added_at u64`.
pub const DEVICE_LIST_ENTRY_LEN: usize = 4 + KEY_LEN + 8;
/// What a [`DeviceList`](crate::DeviceList) holds besides its ids and its
/// entries: version, type, suite, user key, the two id lengths, list
/// version, previous hash, creation time, device count and signature.
const DEVICE_LIST_FIXED_LEN: usize = 3 + KEY_LEN + 1 + 2 + 8 + 32 + 8 + 1 + SIGNATURE_LEN;
/// The shortest [`DeviceList`](crate::DeviceList) encoding: one-byte ids
/// and one device (197 bytes).
pub const MIN_DEVICE_LIST_LEN: usize = DEVICE_LIST_FIXED_LEN + 2 + DEVICE_LIST_ENTRY_LEN;
/// The longest [`DeviceList`](crate::DeviceList) encoding: ids of
/// [`MAX_APP_ID_LEN`] and [`MAX_USER_ID_LEN`] bytes and
/// [`MAX_DEVICES_PER_USER`] devices (1175 bytes). The decoder needs no
/// separate check: every length in the layout is bounded before it is read.
pub const MAX_DEVICE_LIST_LEN: usize = DEVICE_LIST_FIXED_LEN
    + MAX_APP_ID_LEN
    + MAX_USER_ID_LEN
    + MAX_DEVICES_PER_USER * DEVICE_LIST_ENTRY_LEN;

/// The length of a link code, the QR payload a new device shows
/// (PROTOCOL.md §13.2; 67 bytes): version, type, suite and two keys.
pub const LINK_CODE_LEN: usize = 3 + 2 * KEY_LEN;
/// The header of a provisioning message (39 bytes): version, type, suite,
/// the sender's ephemeral key and the ciphertext length (u32). It is the
/// AEAD's associated data.
pub(crate) const PROVISIONING_HEADER_LEN: usize = 3 + KEY_LEN + 4;
/// What a provisioning payload holds besides its device list (38 bytes):
/// version, type, the user secret and the device id.
pub(crate) const PROVISIONING_PAYLOAD_FIXED_LEN: usize = 2 + KEY_LEN + 4;
/// The shortest ciphertext of a provisioning message (251 bytes): a
/// payload with a [`MIN_DEVICE_LIST_LEN`] list, and the tag.
pub const MIN_PROVISIONING_CIPHERTEXT_LEN: usize =
    PROVISIONING_PAYLOAD_FIXED_LEN + MIN_DEVICE_LIST_LEN + TAG_LEN;
/// The longest ciphertext of a provisioning message (1229 bytes): a
/// payload with a [`MAX_DEVICE_LIST_LEN`] list, and the tag. A longer
/// ciphertext length is refused before the ciphertext is read.
pub const MAX_PROVISIONING_CIPHERTEXT_LEN: usize =
    PROVISIONING_PAYLOAD_FIXED_LEN + MAX_DEVICE_LIST_LEN + TAG_LEN;
/// The shortest provisioning message (PROTOCOL.md §13.3; 290 bytes): what
/// sealing makes of the shortest device list.
pub const MIN_PROVISIONING_MESSAGE_LEN: usize =
    PROVISIONING_HEADER_LEN + MIN_PROVISIONING_CIPHERTEXT_LEN;
/// The longest provisioning message (1268 bytes): a relay can refuse
/// anything longer without reading it.
pub const MAX_PROVISIONING_MESSAGE_LEN: usize =
    PROVISIONING_HEADER_LEN + MAX_PROVISIONING_CIPHERTEXT_LEN;
/// What a [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt) holds
/// besides its two addresses and its failed-message locator: version,
/// type, suite, reason, creation time, identity key and signature.
const RECEIPT_FIXED_LEN: usize = 3 + 1 + 8 + KEY_LEN + SIGNATURE_LEN;
/// Length of a receipt's locator of a failed `PreKeyMessage`: the kind
/// byte and the handshake id.
const RECEIPT_PREKEY_LOCATOR_LEN: usize = 1 + 32;
/// Length of a receipt's locator of a failed `Message`: the kind byte, the
/// ratchet key, the index and the previous chain length.
const RECEIPT_MESSAGE_LOCATOR_LEN: usize = 1 + KEY_LEN + 4 + 4;
/// The shortest [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt)
/// encoding: two device addresses with one-byte ids and the locator of a
/// `PreKeyMessage` (159 bytes).
pub const MIN_RECEIPT_LEN: usize =
    RECEIPT_FIXED_LEN + 2 * MIN_EMBEDDED_DEVICE_ADDRESS_LEN + RECEIPT_PREKEY_LOCATOR_LEN;
/// The longest [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt)
/// encoding: two device addresses with the longest ids and the locator of
/// a `Message` (803 bytes). As for device lists, every length in the
/// layout is bounded before it is read, so the decoder needs no separate
/// check.
pub const MAX_RECEIPT_LEN: usize =
    RECEIPT_FIXED_LEN + 2 * MAX_EMBEDDED_DEVICE_ADDRESS_LEN + RECEIPT_MESSAGE_LOCATOR_LEN;
/// One account of an [`AccountLink`](crate::AccountLink): its user
/// identity key and its embedded user address, with one-byte ids.
const MIN_LINKED_ACCOUNT_LEN: usize = KEY_LEN + 1 + 1 + 2 + 1;
/// One account of an [`AccountLink`](crate::AccountLink) with ids of
/// [`MAX_APP_ID_LEN`] and [`MAX_USER_ID_LEN`] bytes.
const MAX_LINKED_ACCOUNT_LEN: usize = KEY_LEN + 1 + MAX_APP_ID_LEN + 2 + MAX_USER_ID_LEN;
/// The shortest [`AccountLink`](crate::AccountLink) encoding: one-byte ids
/// in both accounts (213 bytes): version, type, suite, the two accounts,
/// the creation time and the two signatures.
pub const MIN_ACCOUNT_LINK_LEN: usize = 3 + 2 * MIN_LINKED_ACCOUNT_LEN + 8 + 2 * SIGNATURE_LEN;
/// The longest [`AccountLink`](crate::AccountLink) encoding: the longest
/// ids in both accounts (849 bytes). Every length in the layout is bounded
/// before it is read.
pub const MAX_ACCOUNT_LINK_LEN: usize = 3 + 2 * MAX_LINKED_ACCOUNT_LEN + 8 + 2 * SIGNATURE_LEN;
/// The shortest [`AccountLinkProposal`](crate::AccountLinkProposal)
/// encoding (150 bytes): version, type, suite, the proposer flag, the two
/// accounts, the creation time and one signature.
pub const MIN_ACCOUNT_LINK_PROPOSAL_LEN: usize = 4 + 2 * MIN_LINKED_ACCOUNT_LEN + 8 + SIGNATURE_LEN;
/// The longest [`AccountLinkProposal`](crate::AccountLinkProposal)
/// encoding (786 bytes).
pub const MAX_ACCOUNT_LINK_PROPOSAL_LEN: usize = 4 + 2 * MAX_LINKED_ACCOUNT_LEN + 8 + SIGNATURE_LEN;
/// The length of a [`LinkRevocation`](crate::LinkRevocation) encoding
/// (139 bytes): version, type, suite, the link hash, the revocation time,
/// the revoking user key and its signature.
pub const LINK_REVOCATION_LEN: usize = 3 + 32 + 8 + KEY_LEN + SIGNATURE_LEN;

/// The length of an encoded [`PreKeyBundle`](crate::PreKeyBundle) without a
/// one-time prekey (1405 bytes).
pub const MIN_BUNDLE_LEN: usize = 3 + KEY_LEN + SIGNED_PREKEY_ENTRY_LEN + 1 + KEM_PREKEY_ENTRY_LEN;

/// The length of an encoded [`PreKeyBundle`](crate::PreKeyBundle) with a
/// one-time prekey (1441 bytes): the most a bundle can be.
pub const MAX_BUNDLE_LEN: usize = MIN_BUNDLE_LEN + ONE_TIME_PREKEY_ENTRY_LEN;

// ---- Groups (PROTOCOL.md §16) ----------------------------------------------

/// The largest number of iterations one group message may skip over in a
/// sender-key chain (the gap between the next expected iteration and the
/// message's). A message is verified before any chain work, so only the
/// sender itself can make a receiver walk this far: about 2 000 HMACs,
/// under a millisecond. 2 000 is Signal's bound for sender keys.
pub const MAX_GROUP_FORWARD_JUMP: u32 = 2_000;

/// The most skipped message keys a receiver keeps for one sender key;
/// beyond it the oldest are evicted (40 bytes each, 80 KB at most).
pub const MAX_GROUP_SKIPPED_KEYS: u32 = 2_000;

/// A group message's header: version, type, suite, group id, epoch, key
/// id, iteration and the ciphertext length (55 bytes).
pub(crate) const GROUP_MESSAGE_HEADER_LEN: usize = 3 + 32 + 8 + 4 + 4 + 4;

/// The shortest group message: an empty plaintext with no padding beyond
/// its end marker (136 bytes).
pub const MIN_GROUP_MESSAGE_LEN: usize =
    GROUP_MESSAGE_HEADER_LEN + MIN_CIPHERTEXT_LEN + SIGNATURE_LEN;

/// The longest group message: a [`MAX_PADDED_LEN`] padded plaintext
/// (270 471 bytes).
pub const MAX_GROUP_MESSAGE_LEN: usize =
    GROUP_MESSAGE_HEADER_LEN + MAX_CIPHERTEXT_LEN + SIGNATURE_LEN;

/// The length of a sender-key distribution: version, type, suite, group
/// id, epoch, key id, iteration, chain key and signing public key (115 bytes).
pub const SENDER_KEY_DISTRIBUTION_LEN: usize = 3 + 32 + 8 + 4 + 4 + 32 + KEY_LEN;

/// The length of a sender's sender-key record: as a distribution, with
/// the signing secret key in place of the public one (115 bytes).
pub(crate) const SENDER_KEY_RECORD_LEN: usize = 3 + 32 + 8 + 4 + 4 + 32 + 32;

/// A received sender-key record before its sender address and skipped
/// keys: version, type, suite, group id, epoch, key id, floor, next
/// iteration, chain key, signing public key (119 bytes).
pub(crate) const RECEIVED_SENDER_KEY_FIXED_LEN: usize = 3 + 32 + 8 + 4 + 4 + 4 + 32 + KEY_LEN;
const _: () = assert!(GROUP_MESSAGE_HEADER_LEN == 55);

/// One skipped key in a received sender-key record: iteration and seed.
pub(crate) const RECEIVED_SKIPPED_ENTRY_LEN: usize = 4 + 32;

const _: () = assert!(MIN_GROUP_MESSAGE_LEN == 136 && MAX_GROUP_MESSAGE_LEN == 270_471);
const _: () = assert!(SENDER_KEY_DISTRIBUTION_LEN == 115 && SENDER_KEY_RECORD_LEN == 115);
const _: () = assert!(RECEIVED_SENDER_KEY_FIXED_LEN == 119);

// The sizes the layouts in PROTOCOL.md §4 and docs/SERVER.md state.
const _: () = assert!(MIN_BUNDLE_LEN == 1405 && MAX_BUNDLE_LEN == 1441);
const _: () = assert!(MAX_MESSAGE_LEN == 271_554 && MIN_MESSAGE_LEN == 83);
const _: () = assert!(MIN_UPLOAD_LEN == 109 && MAX_UPLOAD_LEN == 131_178);
const _: () = assert!(MIN_USER_ADDRESS_LEN == 7 && MAX_USER_ADDRESS_LEN == 325);
const _: () = assert!(MIN_DEVICE_ADDRESS_LEN == 11 && MAX_DEVICE_ADDRESS_LEN == 329);
const _: () = assert!(MIN_ENVELOPE_LEN == 107 && MAX_ENVELOPE_LEN == 272_214);
const _: () = assert!(PREKEY_COUNTS_LEN == 10);
const _: () = assert!(MIN_DEVICE_LIST_LEN == 197 && MAX_DEVICE_LIST_LEN == 1175);
const _: () = assert!(LINK_CODE_LEN == 67);
const _: () = assert!(MIN_PROVISIONING_MESSAGE_LEN == 290 && MAX_PROVISIONING_MESSAGE_LEN == 1268);
const _: () = assert!(MIN_RECEIPT_LEN == 159 && MAX_RECEIPT_LEN == 803);
const _: () = assert!(
    BOUND_ADDRESSES_LABEL_LEN + 2 * MAX_EMBEDDED_DEVICE_ADDRESS_LEN + MAX_ACCOUNT_CONTEXT_LEN
        <= MAX_CONTEXT_LEN
);
const _: () = assert!(MIN_ACCOUNT_LINK_LEN == 213 && MAX_ACCOUNT_LINK_LEN == 849);
const _: () = assert!(MIN_ACCOUNT_LINK_PROPOSAL_LEN == 150 && MAX_ACCOUNT_LINK_PROPOSAL_LEN == 786);
const _: () = assert!(LINK_REVOCATION_LEN == 139);

// ---- Groups (PROTOCOL.md §16.5 onward) -------------------------------------

/// The most users a group may have (PROTOCOL.md §16.5): 1000, as the
/// largest groups of deployed messengers. It bounds a group state's
/// encoding ([`MAX_GROUP_STATE_LEN`]) and the work of applying a change.
pub const MAX_GROUP_MEMBERS: usize = 1000;
/// The most operations one group change may hold (PROTOCOL.md §16.6): as
/// many as a group has members, so that a genesis can add every initial
/// member.
pub const MAX_GROUP_CHANGE_OPS: usize = MAX_GROUP_MEMBERS;
/// What a group state holds besides its members: version, type, suite,
/// group id, epoch, previous hash and member count.
const GROUP_STATE_FIXED_LEN: usize = 3 + 32 + 8 + 32 + 2;
/// The shortest group state encoding: one member with one-byte ids (115
/// bytes).
pub const MIN_GROUP_STATE_LEN: usize =
    GROUP_STATE_FIXED_LEN + KEY_LEN + MIN_EMBEDDED_USER_ADDRESS_LEN + 1;
/// The longest group state encoding: [`MAX_GROUP_MEMBERS`] members with the
/// longest ids (356 077 bytes).
pub const MAX_GROUP_STATE_LEN: usize =
    GROUP_STATE_FIXED_LEN + MAX_GROUP_MEMBERS * (KEY_LEN + MAX_EMBEDDED_USER_ADDRESS_LEN + 1);
/// What a group change holds besides its operations: version, type, suite,
/// group id, base epoch, base hash, author key, author device id,
/// operation count and signature.
const GROUP_CHANGE_FIXED_LEN: usize = 3 + 32 + 8 + 32 + KEY_LEN + 4 + 2 + SIGNATURE_LEN;
/// The shortest group change encoding: one removal (210 bytes).
pub const MIN_GROUP_CHANGE_LEN: usize = GROUP_CHANGE_FIXED_LEN + 1 + KEY_LEN;
/// The longest group change encoding: [`MAX_GROUP_CHANGE_OPS`] additions
/// with the longest ids (357 177 bytes). The decoder needs no separate
/// check: every length in the layout is bounded before it is read.
pub const MAX_GROUP_CHANGE_LEN: usize = GROUP_CHANGE_FIXED_LEN
    + MAX_GROUP_CHANGE_OPS * (1 + KEY_LEN + MAX_EMBEDDED_USER_ADDRESS_LEN + 1);

const _: () = assert!(MIN_GROUP_STATE_LEN == 115 && MAX_GROUP_STATE_LEN == 356_077);
const _: () = assert!(MIN_GROUP_CHANGE_LEN == 210 && MAX_GROUP_CHANGE_LEN == 357_177);
const _: () = assert!(MAX_GROUP_MEMBERS <= u16::MAX as usize);
const _: () = assert!(MAX_GROUP_CHANGE_OPS <= u16::MAX as usize);

// ---- Groups at the account layer (PROTOCOL.md §17) --------------------------

/// The header an account puts before every pairwise plaintext (PROTOCOL.md
/// §17): version, type `0x62`, kind.
pub(crate) const CONTENT_OVERHEAD: usize = 3;

/// The longest app plaintext an account encrypts to one
/// device (262 141 bytes): [`MAX_PLAINTEXT_LEN`] less the content header
/// every account message carries (PROTOCOL.md §17).
pub const MAX_APP_PLAINTEXT_LEN: usize = MAX_PLAINTEXT_LEN - CONTENT_OVERHEAD;

/// The most sender keys a device keeps of one other device for one group:
/// the newest and the one before it, so that messages the sender sent
/// just before it rotated still decrypt.
pub const MAX_SENDER_KEYS_PER_DEVICE: usize = 2;

/// The most devices a group's sender key can have been distributed to:
/// every device of every member.
pub const MAX_GROUP_DEVICES: usize = MAX_GROUP_MEMBERS * MAX_DEVICES_PER_USER;

/// The shortest received sender-key record: the shortest sender address
/// and no skipped key (132 bytes, PROTOCOL.md §16.4).
pub(crate) const MIN_RECEIVED_SENDER_KEY_LEN: usize =
    RECEIVED_SENDER_KEY_FIXED_LEN + MIN_EMBEDDED_DEVICE_ADDRESS_LEN + 4;
/// The longest received sender-key record: the longest sender address and
/// [`MAX_GROUP_SKIPPED_KEYS`] skipped keys (72 450 bytes).
pub(crate) const MAX_RECEIVED_SENDER_KEY_LEN: usize = RECEIVED_SENDER_KEY_FIXED_LEN
    + MAX_EMBEDDED_DEVICE_ADDRESS_LEN
    + 4
    + MAX_GROUP_SKIPPED_KEYS as usize * RECEIVED_SKIPPED_ENTRY_LEN;
const _: () = assert!(MIN_RECEIVED_SENDER_KEY_LEN == 132 && MAX_RECEIVED_SENDER_KEY_LEN == 72_450);

/// How many group messages a device sends under one sender key before it
/// replaces it, unless configured otherwise: 1 000.
pub const DEFAULT_GROUP_ROTATION_MESSAGES: u32 = 1_000;
/// The most a device may be configured to send under one sender key:
/// [`MAX_GROUP_FORWARD_JUMP`] × 1 000, far from the chain's end.
pub const MAX_GROUP_ROTATION_MESSAGES: u32 = 2_000_000;
/// How old a sender key may grow before its device replaces it, unless
/// configured otherwise: a week.
pub const DEFAULT_GROUP_ROTATION_SECS: u64 = 7 * 24 * 60 * 60;
