//! The wire format: bytes in, typed frames out, and back.
//!
//! This layer knows byte layouts and nothing else: it holds no keys, does no
//! cryptography and keeps no state. Every decoder reads the version byte
//! first, checks every length against its documented bound, and rejects
//! trailing bytes, so that for every accepted input `b`,
//! `encode(decode(b)) == b`. Key bytes are carried as fixed-size arrays;
//! whether they are valid keys is decided one layer up.
//!
//! All integers are big-endian.

mod bundle;
mod codec;
mod keys;
mod message;
mod record;
mod safety;
mod store;

pub(crate) use bundle::{BundleFrame, KemPreKeyFrame, OneTimePreKeyFrame, SignedPreKeyFrame};
pub(crate) use codec::{Reader, Writer};
pub(crate) use keys::{
    KEM_SEED_LEN, KemPreKeyRecordFrame, OneTimePreKeyRecordFrame, SignedPreKeyRecordFrame,
};
pub(crate) use message::{
    MessageFrame, MessageView, PreKeyFrame, PreKeyMessageFrame, encode_prekey_prefix, peek_kind,
};
pub(crate) use record::{
    ChainFrame, PendingPreKeyFrame, RatchetFrame, RatchetKeyFrame, SessionFrame, SkippedFrame,
};
pub(crate) use safety::{
    FINGERPRINT_LEN, Fingerprint, SAFETY_NUMBER_VERSION, SafetyNumberFrame,
    chunks as fingerprint_chunks, order as fingerprint_order,
};
pub(crate) use store::{
    AccountFrame, MAX_SEALED_PLAINTEXT_LEN, PeerIdentityFrame, SEAL_NONCE_LEN, SealedFrame,
    SessionEntryFrame, SessionSetFrame,
};

/// The protocol version this build speaks, the first byte of every encoding.
pub const PROTOCOL_VERSION: u8 = 1;

/// The type byte of a ratchet [`Message`](crate::Message).
pub(crate) const TYPE_MESSAGE: u8 = 0x01;
/// The type byte of a [`PreKeyMessage`](crate::PreKeyMessage).
pub(crate) const TYPE_PREKEY_MESSAGE: u8 = 0x02;
/// The type byte of a [`PreKeyBundle`](crate::PreKeyBundle).
pub(crate) const TYPE_BUNDLE: u8 = 0x03;
/// The type byte of a serialized [`Session`](crate::Session).
pub(crate) const TYPE_SESSION_RECORD: u8 = 0x10;

/// Length of an Ed25519 public key or an X25519 public key.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an ML-KEM-768 encapsulation (public) key.
pub const KEM_PUBLIC_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub const KEM_CIPHERTEXT_LEN: usize = 1088;
/// Length of the ChaCha20-Poly1305 authentication tag that ends every ciphertext.
pub const TAG_LEN: usize = 16;

/// The largest plaintext one message may carry: 256 KiB.
///
/// kinseal carries conversation messages; attachments travel out of band
/// under their own keys. The bound keeps a single hostile message from
/// making a receiver allocate more than this.
pub const MAX_PLAINTEXT_LEN: usize = 256 * 1024;
/// The largest ciphertext field of a message: [`MAX_PLAINTEXT_LEN`] plus the tag.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_PLAINTEXT_LEN + TAG_LEN;

/// Which kind of message some bytes hold, from their first two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A ratchet [`Message`](crate::Message).
    Message,
    /// A [`PreKeyMessage`](crate::PreKeyMessage), which sets up a session.
    PreKeyMessage,
}
