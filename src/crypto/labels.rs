//! Domain-separation labels. Each ends in a NUL byte and contains no other,
//! so no label is a prefix of another and no signed or hashed input of one
//! role can be read as an input of another.

/// Prefix of the bytes an identity key signs for a signed X25519 prekey.
pub(crate) const SIG_SIGNED_PREKEY: &[u8] = b"KINSEAL-v1 signed prekey\0";
/// Prefix of the bytes an identity key signs for an ML-KEM prekey.
pub(crate) const SIG_KEM_PREKEY: &[u8] = b"KINSEAL-v1 KEM prekey\0";
/// Prefix of the bytes an identity key signs for a whole prekey upload.
pub(crate) const SIG_UPLOAD: &[u8] = b"KINSEAL-v1 prekey upload\0";
/// Prefix of the handshake transcript hash input.
pub(crate) const TRANSCRIPT: &[u8] = b"KINSEAL-v1 transcript\0";
/// HKDF info prefix of the handshake key derivation (followed by the transcript hash).
pub(crate) const HANDSHAKE_INFO: &[u8] = b"KINSEAL-v1 X25519 ML-KEM-768 SHA-256\0";
/// Prefix of the session associated-data digest input.
pub(crate) const SESSION_AD: &[u8] = b"KINSEAL-v1 session AD\0";
/// HKDF info of the root-key step.
pub(crate) const ROOT_INFO: &[u8] = b"KINSEAL-v1 root\0";
/// Prefix of a `Message`'s header-tag MAC input.
pub(crate) const HEADER_TAG: &[u8] = b"KINSEAL-v1 header tag\0";
/// HKDF info that expands a message-key seed into an AEAD key and nonce.
pub(crate) const MESSAGE_KEY_INFO: &[u8] = b"KINSEAL-v1 message key\0";
/// Prefix of the replay-detection handshake id hash input.
pub(crate) const HANDSHAKE_ID: &[u8] = b"KINSEAL-v1 handshake id\0";
/// HKDF info that derives the sealing key from a caller's storage key.
pub(crate) const STORAGE_KEY: &[u8] = b"KINSEAL-v1 storage key\0";
/// Prefix of a sealed record's associated data.
pub(crate) const STORAGE_AD: &[u8] = b"KINSEAL-v1 storage record\0";
/// Prefix of a split record's cold part's associated data.
pub(crate) const STORAGE_COLD_AD: &[u8] = b"KINSEAL-v1 storage record, cold part\0";
/// Prefix of a split record's hot part's associated data.
pub(crate) const STORAGE_HOT_AD: &[u8] = b"KINSEAL-v1 storage record, hot part\0";
/// Prefix of every safety-number fingerprint hash input.
pub(crate) const SAFETY_NUMBER: &[u8] = b"KINSEAL-v1 safety number\0";
/// Prefix of the bytes a user identity key signs for a device list.
pub(crate) const SIG_DEVICE_LIST: &[u8] = b"KINSEAL-v1 device list\0";
/// Prefix of a device list's hash input (followed by the whole encoding).
pub(crate) const DEVICE_LIST_HASH: &[u8] = b"KINSEAL-v1 device list hash\0";
/// HKDF info prefix of a provisioning message's key and nonce (followed by
/// the link code and the sender's ephemeral key).
pub(crate) const PROVISIONING: &[u8] = b"KINSEAL-v1 provisioning\0";
/// Prefix of the bytes a device's identity key signs for a decryption-error
/// receipt (followed by every byte of the receipt before its signature).
pub(crate) const SIG_RECEIPT: &[u8] = b"KINSEAL-v1 decryption-error receipt\0";
/// Starts an account's session context: the two bound device addresses
/// (PROTOCOL.md §6.6).
pub(crate) const BOUND_ADDRESSES: &[u8] = b"KINSEAL-v1 bound addresses\0";
const _: () = assert!(BOUND_ADDRESSES.len() == crate::limits::BOUND_ADDRESSES_LABEL_LEN);
/// Prefix of the bytes each user identity key of an account link signs.
pub(crate) const SIG_ACCOUNT_LINK: &[u8] = b"KINSEAL-v1 account link\0";
/// Prefix of an account link's hash input (followed by the whole encoding).
pub(crate) const ACCOUNT_LINK_HASH: &[u8] = b"KINSEAL-v1 account link hash\0";
/// Prefix of the bytes a user identity key signs to revoke an account link.
pub(crate) const SIG_LINK_REVOCATION: &[u8] = b"KINSEAL-v1 link revocation\0";
/// The group chain KDF's input prefix (PROTOCOL.md §16.3): a sender-key
/// chain steps with HMAC(ck, label ‖ 0x01) and HMAC(ck, label ‖ 0x02), so
/// no group key ever equals a pairwise chain's (HMAC(ck, 0x01 | 0x02)).
pub(crate) const GROUP_CHAIN: &[u8] = b"KINSEAL-v1 group chain\0";
/// HKDF info that expands a group message-key seed into an AEAD key and nonce.
pub(crate) const GROUP_MESSAGE_KEY: &[u8] = b"KINSEAL-v1 group message key\0";
/// Prefix of a group message's AEAD associated data.
pub(crate) const GROUP_MESSAGE_AD: &[u8] = b"KINSEAL-v1 group message AD\0";
/// Prefix of the bytes a sender key's signing key signs for a group
/// message (followed by the embedded sender address and every byte of the
/// message before its signature).
pub(crate) const SIG_GROUP_MESSAGE: &[u8] = b"KINSEAL-v1 group message\0";
/// Prefix of a group state's hash input (followed by the whole encoding).
pub(crate) const GROUP_STATE_HASH: &[u8] = b"KINSEAL-v1 group state hash\0";
/// Prefix of the bytes an admin's user identity key signs for a group change.
pub(crate) const SIG_GROUP_CHANGE: &[u8] = b"KINSEAL-v1 group change\0";
/// Prefix of a group change's hash input (followed by the whole encoding).
pub(crate) const GROUP_CHANGE_HASH: &[u8] = b"KINSEAL-v1 group change hash\0";
/// Prefix of the hash that binds a group id to its creator (followed by
/// the creator's user identity key and the id's random half).
pub(crate) const GROUP_ID_BINDING: &[u8] = b"KINSEAL-v1 group id\0";
