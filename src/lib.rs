#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

//! # Layers
//!
//! Bytes flow one way: [`wire`] turns bytes into typed frames (no crypto,
//! no state); `keys`, `handshake` and `ratchet` do the protocol on typed
//! values; [`Session`] glues them into the API; stores sit above it.

pub mod client;
mod crypto;
mod error;
mod handshake;
mod hygiene;
mod keys;
mod limits;
mod message;
mod ratchet;
#[cfg(test)]
mod redaction_check;
mod rng;
mod secret;
pub mod server;
mod session;
#[cfg(feature = "sqlite")]
mod sqlite_support;
#[cfg(test)]
mod vectors;
pub mod wire;

pub use error::{
    DecodeError, DirectoryError, Error, KeyKind, MisuseError, PreKeyRole, ProtocolError, Result,
    SignedObject, StorageError, TrustError, UploadError, WireType,
};
pub use keys::{
    IdentityKey, IdentityKeyPair, KemPreKey, KemPreKeyPair, MAX_PREKEY_BATCH, OneTimePreKey,
    OneTimePreKeyPair, PreKeyBundle, SignedPreKey, SignedPreKeyPair, VerifiedBundle,
};
pub use limits::{
    DEFAULT_MAX_FORWARD_JUMP, DEFAULT_MAX_OLD_CHAINS, DEFAULT_MAX_SKIPPED_KEYS, MAX_CONTEXT_LEN,
    MAX_FORWARD_JUMP_LIMIT, MAX_OLD_CHAINS_LIMIT, MAX_SKIPPED_KEYS_LIMIT,
};
pub use message::{HandshakeId, IncomingMessage, Message, PreKeyMessage, message_kind};
pub use rng::OsRng;
pub use secret::SecretBytes;
pub use session::{InboundSession, Session, SessionConfig};
pub use wire::{MAX_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN, MessageKind, PROTOCOL_VERSION};

/// The cipher suite of protocol version 1, and its only one: X25519 and
/// ML-KEM-768 hybrid key agreement, Ed25519 signatures, HKDF/HMAC-SHA-256,
/// ChaCha20-Poly1305. Carried on the wire so a later version can negotiate
/// another; an unknown suite is rejected, and there is no classical-only
/// suite to downgrade to.
pub const SUITE_V1: u8 = 0x01;
