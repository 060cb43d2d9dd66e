//! Bytes that did not decode: which layout, where, and why.

use core::fmt;

/// Which kind of value a decoder was reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireType {
    /// A ratchet [`Message`](crate::Message).
    Message,
    /// A [`PreKeyMessage`](crate::PreKeyMessage).
    PreKeyMessage,
    /// A [`PreKeyBundle`](crate::PreKeyBundle).
    PreKeyBundle,
    /// A session's state, serialized ([`Session::to_bytes`](crate::Session::to_bytes)).
    SessionState,
    /// A prekey pair, private half included, serialized (`to_bytes` of
    /// [`SignedPreKeyPair`](crate::SignedPreKeyPair) and the other pairs).
    KeyPair,
    /// A [`PreKeyUpload`](crate::server::PreKeyUpload).
    PreKeyUpload,
    /// A safety number's QR payload (see
    /// [`SafetyNumber`](crate::client::SafetyNumber)).
    SafetyNumber,
    /// A record sealed under a storage key (see [`client`](crate::client)).
    SealedRecord,
    /// A record kept as two seals: the record as of its last full write,
    /// and a patch of what changed since (see [`client`](crate::client)).
    SplitSealedRecord,
    /// The patch inside a split record's second seal.
    RecordPatch,
    /// A client's account record.
    AccountRecord,
    /// A client's record of a peer's identity key.
    PeerIdentityRecord,
    /// A client's record of a peer user (its user key and device list).
    PeerUserRecord,
    /// A client's record of the sessions with one peer device.
    SessionSetRecord,
    /// A [`UserAddress`](crate::UserAddress), encoded on its own.
    UserAddress,
    /// A [`DeviceAddress`](crate::DeviceAddress), encoded on its own.
    DeviceAddress,
    /// A [`PreKeyCounts`](crate::PreKeyCounts).
    PreKeyCounts,
    /// An [`Envelope`](crate::Envelope): its own fields and the addresses
    /// in it (the message it carries reports errors as a
    /// [`Message`](WireType::Message) or [`PreKeyMessage`](WireType::PreKeyMessage)).
    Envelope,
    /// A user's signed [`DeviceList`](crate::DeviceList).
    DeviceList,
    /// A `LinkCode`, the QR payload of a new device (PROTOCOL.md §13.2).
    LinkCode,
    /// A provisioning message (PROTOCOL.md §13.3).
    ProvisioningMessage,
    /// The payload a provisioning message encrypts, after it decrypted.
    ProvisioningPayload,
    /// A [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt).
    DecryptionErrorReceipt,
    /// An [`AccountLink`](crate::AccountLink) between two accounts.
    AccountLink,
    /// An [`AccountLinkProposal`](crate::AccountLinkProposal), signed by
    /// one of the two accounts.
    AccountLinkProposal,
    /// A [`LinkRevocation`](crate::LinkRevocation).
    LinkRevocation,
    /// A group message (PROTOCOL.md §16.1).
    GroupMessage,
    /// A sender-key distribution (PROTOCOL.md §16.2).
    SenderKeyDistribution,
    /// A sending device's sender-key record (`SenderKey::to_secret_bytes`).
    SenderKeyRecord,
    /// A receiving device's record of another's sender key
    /// (`ReceivedSenderKey::to_secret_bytes`).
    ReceivedSenderKeyRecord,
    /// A stored [`GroupState`](crate::GroupState).
    GroupState,
    /// A [`GroupChange`](crate::GroupChange).
    GroupChange,
    /// An account's pairwise plaintext: its kind byte and framing
    /// (PROTOCOL.md §17).
    Content,
    /// A client's record of one group: its state and this device's sender
    /// key.
    GroupRecord,
    /// A client's record of another device's sender keys for one group.
    GroupSenderKeysRecord,
}

/// Which key a validation failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// An Ed25519 identity key of a device.
    Identity,
    /// An Ed25519 user identity key ([`UserIdentityKey`](crate::UserIdentityKey)).
    UserIdentity,
    /// The Ed25519 signing key of a group sender key (PROTOCOL.md §16.2).
    SenderKeySigning,
    /// An X25519 key: signed prekey, one-time prekey, base key or ratchet key.
    X25519,
    /// An ML-KEM-768 encapsulation key.
    KemPublic,
    /// An ML-KEM-768 ciphertext.
    KemCiphertext,
}

/// A value did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The version byte names a protocol version this build does not speak.
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The suite byte names a cipher suite this build does not speak.
    UnsupportedSuite {
        /// The suite byte found.
        found: u8,
    },
    /// The type byte is not the one the decoder was asked for.
    UnexpectedType {
        /// The type the caller asked to decode.
        expected: WireType,
        /// The type byte found.
        found: u8,
    },
    /// The input ended before the value did.
    Truncated {
        /// What was being decoded.
        wire_type: WireType,
        /// How many bytes were needed at the point decoding stopped.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// Bytes were left over after a complete value.
    TrailingBytes {
        /// What was being decoded.
        wire_type: WireType,
        /// How many bytes were left over.
        count: usize,
    },
    /// A length field exceeds its documented maximum or minimum.
    LengthOutOfRange {
        /// What was being decoded.
        wire_type: WireType,
        /// The smallest length allowed.
        min: usize,
        /// The largest length allowed.
        max: usize,
        /// The length found.
        found: usize,
    },
    /// A field that can only take a few values took another one.
    InvalidField {
        /// What was being decoded.
        wire_type: WireType,
        /// The field's name, as in the byte layout.
        field: &'static str,
        /// The value found.
        found: u32,
    },
    /// A key's bytes are not a valid, canonical, non-weak encoding.
    InvalidKey {
        /// Which key.
        kind: KeyKind,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnsupportedVersion { found } => {
                write!(f, "unsupported protocol version {found}")
            }
            DecodeError::UnsupportedSuite { found } => write!(f, "unsupported suite {found}"),
            DecodeError::UnexpectedType { expected, found } => {
                write!(f, "expected a {expected:?}, found type byte {found}")
            }
            DecodeError::Truncated {
                wire_type,
                needed,
                available,
            } => write!(
                f,
                "{wire_type:?} truncated: needed {needed} more bytes, {available} left"
            ),
            DecodeError::TrailingBytes { wire_type, count } => {
                write!(f, "{count} trailing bytes after a {wire_type:?}")
            }
            DecodeError::LengthOutOfRange {
                wire_type,
                min,
                max,
                found,
            } => write!(f, "{wire_type:?} length {found} outside {min}..={max}"),
            DecodeError::InvalidField {
                wire_type,
                field,
                found,
            } => write!(f, "{wire_type:?} field {field} has invalid value {found}"),
            DecodeError::InvalidKey { kind } => write!(f, "invalid {kind:?} key"),
        }
    }
}

impl core::error::Error for DecodeError {}
