//! The one error type of kinseal, with typed kinds a caller can match on.
//!
//! Errors never carry secret material, plaintext or dependency types. Every
//! cryptographic failure while decrypting is the single opaque
//! [`Error::DecryptionFailed`], so that errors cannot be used as an oracle.

use core::fmt;

pub use crate::server::{DirectoryError, StorageError, UploadError};

/// Everything that can go wrong in kinseal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes did not decode into a well-formed value.
    Decode(DecodeError),
    /// Well-formed input broke a rule of the protocol.
    Protocol(ProtocolError),
    /// The caller used the API in a way it does not allow.
    Misuse(MisuseError),
    /// A message failed to authenticate or decrypt.
    ///
    /// Deliberately carries no detail: a wrong key, a tampered byte, a
    /// mismatched context and a forged message all look the same.
    DecryptionFailed,
    /// A prekey upload was refused (see [`server`](crate::server)).
    Upload(UploadError),
    /// A prekey directory refused a request (see [`server`](crate::server)).
    Directory(DirectoryError),
    /// A store failed: a prekey directory's (see [`server`](crate::server))
    /// or a client's (see [`client`](crate::client)).
    Storage(StorageError),
    /// A peer's identity key is not one the trust policy accepts (see
    /// [`client`](crate::client)).
    Trust(TrustError),
}

/// A peer's identity key was refused.
///
/// Nothing was stored and no session was changed; the caller decides (with
/// the user) whether to accept the new key with
/// [`Account::accept_identity`](crate::client::Account::accept_identity).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    /// The peer presented an identity key other than the one on record.
    IdentityChanged {
        /// The peer device.
        address: crate::server::DeviceAddress,
        /// The identity key on record.
        old: Box<crate::IdentityKey>,
        /// The identity key presented now.
        new: Box<crate::IdentityKey>,
    },
    /// The trust policy refused a key it had not seen before, or one it
    /// was told to distrust.
    Untrusted {
        /// The peer device.
        address: crate::server::DeviceAddress,
        /// The identity key presented.
        key: Box<crate::IdentityKey>,
    },
}

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
    /// A serialized [`Session`](crate::Session).
    SessionRecord,
    /// A serialized private key record.
    KeyRecord,
    /// A [`PreKeyUpload`](crate::server::PreKeyUpload).
    PreKeyUpload,
    /// A safety number's QR payload (see
    /// [`SafetyNumber`](crate::client::SafetyNumber)).
    SafetyNumber,
    /// A record sealed under a storage key (see [`client`](crate::client)).
    SealedRecord,
    /// A client's account record.
    AccountRecord,
    /// A client's record of a peer's identity key.
    PeerIdentityRecord,
    /// A client's record of the sessions with one peer device.
    SessionSetRecord,
}

/// Which key a validation failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// An Ed25519 identity key.
    Identity,
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

/// What a signature was meant to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignedObject {
    /// A signed X25519 prekey.
    SignedPreKey,
    /// An ML-KEM prekey (one-time or last-resort).
    KemPreKey,
}

/// Well-formed input that breaks a protocol rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A signature did not verify under the claimed identity key.
    InvalidSignature {
        /// What the signature covered.
        object: SignedObject,
    },
    /// A Diffie-Hellman output was all zeros: the peer's key is of small
    /// order and would let an attacker fix the shared secret.
    NonContributoryKey,
    /// This copy of the message was already decrypted.
    Duplicate {
        /// The message's index in its chain.
        index: u32,
    },
    /// The message is older than the oldest key the bounds let the session
    /// keep: its key was discarded, or it was decrypted before the
    /// discarding happened.
    MessageKeyExpired {
        /// The message's index in its chain.
        index: u32,
    },
    /// The message is further ahead of its chain than the configured
    /// maximum forward jump.
    TooFarAhead {
        /// The largest jump allowed.
        max: u32,
        /// The jump the message would need.
        found: u64,
    },
    /// A `PreKeyMessage` arrived for a session it does not belong to, or at
    /// a session that cannot accept one.
    UnexpectedPreKeyMessage,
    /// A message carried a new ratchet key the session cannot ratchet to
    /// yet (the responder has not sent anything).
    UnexpectedRatchetKey,
    /// The message's chain index space is exhausted.
    ChainExhausted,
    /// A `PreKeyMessage` names a prekey this device does not hold: it was
    /// used up by an earlier session, retired, or never existed.
    UnknownPreKey {
        /// Which prekey.
        prekey: PreKeyRole,
        /// The id the message names.
        id: u32,
    },
    /// A `PreKeyMessage` on last-resort prekeys repeats a handshake this
    /// device already answered: a replay.
    ReplayedHandshake,
    /// A `Message` arrived from a device with no session to decrypt it.
    NoSession,
}

/// The caller used the API in a way it does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MisuseError {
    /// A [`SessionConfig`](crate::SessionConfig) value is outside its safe range.
    ConfigOutOfRange {
        /// The setting's name.
        parameter: &'static str,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
        /// The value given.
        found: u64,
    },
    /// A plaintext is longer than [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN).
    PlaintextTooLong {
        /// The maximum.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// The context is longer than [`MAX_CONTEXT_LEN`](crate::MAX_CONTEXT_LEN).
    ContextTooLong {
        /// The maximum.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// A prekey given to session setup does not have the id the message names.
    PreKeyMismatch {
        /// Which prekey.
        prekey: PreKeyRole,
        /// The id the message names, if it names one.
        expected: Option<u32>,
        /// The id of the key given, if one was given.
        found: Option<u32>,
    },
    /// A batch would need more ids than remain.
    BatchTooLarge {
        /// The largest batch allowed.
        max: usize,
        /// The size asked for.
        found: usize,
    },
    /// There is no session with the device: fetch its bundle and start one.
    NoSession,
    /// The session with the device was started too long ago without an
    /// answer: fetch a fresh bundle and start a new one.
    SessionExpired,
    /// The store holds no account: create one first.
    NoAccount,
    /// The store already holds an account.
    AccountExists,
    /// A key given to mark an identity does not match the one on record.
    IdentityMismatch,
}

/// Which prekey a [`MisuseError::PreKeyMismatch`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PreKeyRole {
    /// The signed X25519 prekey.
    Signed,
    /// The one-time X25519 prekey.
    OneTime,
    /// The ML-KEM prekey.
    Kem,
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<MisuseError> for Error {
    fn from(e: MisuseError) -> Self {
        Error::Misuse(e)
    }
}

impl From<UploadError> for Error {
    fn from(e: UploadError) -> Self {
        Error::Upload(e)
    }
}

impl From<DirectoryError> for Error {
    fn from(e: DirectoryError) -> Self {
        Error::Directory(e)
    }
}

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Self {
        Error::Trust(e)
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Storage(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "decode error: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Misuse(e) => write!(f, "API misuse: {e}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::Upload(e) => write!(f, "upload refused: {e}"),
            Error::Directory(e) => write!(f, "directory error: {e}"),
            Error::Storage(e) => write!(f, "storage error: {e}"),
            Error::Trust(e) => write!(f, "untrusted identity: {e}"),
        }
    }
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

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::InvalidSignature { object } => {
                write!(f, "invalid signature on {object:?}")
            }
            ProtocolError::NonContributoryKey => {
                f.write_str("non-contributory Diffie-Hellman output")
            }
            ProtocolError::Duplicate { index } => {
                write!(f, "message {index} was already decrypted")
            }
            ProtocolError::MessageKeyExpired { index } => {
                write!(f, "key for message {index} is no longer kept")
            }
            ProtocolError::TooFarAhead { max, found } => {
                write!(
                    f,
                    "message is {found} ahead of its chain; at most {max} allowed"
                )
            }
            ProtocolError::UnexpectedPreKeyMessage => {
                f.write_str("PreKeyMessage does not belong to this session")
            }
            ProtocolError::UnexpectedRatchetKey => {
                f.write_str("new ratchet key before the responder has sent")
            }
            ProtocolError::ChainExhausted => f.write_str("chain index space exhausted"),
            ProtocolError::UnknownPreKey { prekey, id } => {
                write!(f, "no {prekey:?} prekey with id {id}")
            }
            ProtocolError::ReplayedHandshake => {
                f.write_str("handshake on last-resort prekeys already answered")
            }
            ProtocolError::NoSession => f.write_str("no session with the sender"),
        }
    }
}

impl fmt::Display for MisuseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MisuseError::ConfigOutOfRange {
                parameter,
                min,
                max,
                found,
            } => write!(f, "{parameter} = {found} outside {min}..={max}"),
            MisuseError::PlaintextTooLong { max, found } => {
                write!(f, "plaintext of {found} bytes exceeds {max}")
            }
            MisuseError::ContextTooLong { max, found } => {
                write!(f, "context of {found} bytes exceeds {max}")
            }
            MisuseError::PreKeyMismatch {
                prekey,
                expected,
                found,
            } => write!(
                f,
                "{prekey:?} prekey mismatch: message names {expected:?}, given {found:?}"
            ),
            MisuseError::BatchTooLarge { max, found } => {
                write!(f, "batch of {found} exceeds {max}")
            }
            MisuseError::NoSession => f.write_str("no session with the device"),
            MisuseError::SessionExpired => f.write_str("the unanswered session expired"),
            MisuseError::NoAccount => f.write_str("the store holds no account"),
            MisuseError::AccountExists => f.write_str("the store already holds an account"),
            MisuseError::IdentityMismatch => f.write_str("identity key does not match the record"),
        }
    }
}

impl core::error::Error for Error {}
impl core::error::Error for DecodeError {}
impl core::error::Error for ProtocolError {}
impl core::error::Error for MisuseError {}
impl core::error::Error for TrustError {}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::IdentityChanged { address, .. } => {
                write!(f, "the identity key of {address:?} changed")
            }
            TrustError::Untrusted { address, .. } => {
                write!(f, "the identity key of {address:?} is not trusted")
            }
        }
    }
}

/// Shorthand for results in kinseal.
pub type Result<T, E = Error> = core::result::Result<T, E>;
