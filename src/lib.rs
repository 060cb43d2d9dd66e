#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
//! values; [`Session`] glues them into the API; [`client`] and [`server`]
//! sit above it and never import each other. Shared nouns (addresses,
//! sizes, bounds, error kinds) are on the ground floor, below everything.
//! `docs/DESIGN.md` has the floors and the rule for where a new type goes.

mod address;
pub mod client;
mod crypto;
mod error;
mod group;
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
mod sizes;
#[cfg(feature = "sqlite")]
mod sqlite_support;
#[cfg(test)]
mod vectors;
pub mod wire;

pub use address::{DeviceAddress, UserAddress};
pub use error::{
    AccountError, AccountLinkError, AddressError, AddressField, DecodeError, DeviceListError,
    DirectoryError, Error, GroupError, KeyKind, LinkError, MisuseError, OtherError, PreKeyRole,
    ProtocolError, Result, SignedObject, StorageError, TrustError, UploadError, WireType,
};
pub use group::{
    GroupChange, GroupHistory, GroupId, GroupMember, GroupOp, GroupRole, GroupState, GroupUpdate,
    ReceivedSenderKey, SenderKey, SenderKeyDistribution, VerifiedGroupChange,
};
pub use keys::{
    AccountLink, AccountLinkProposal, LinkRevocation, LinkedAccount, VerifiedAccountLink,
};
pub use keys::{
    DeviceList, DeviceListEntry, DeviceListUpdate, LinkCode, LinkRequest, Provisioned,
    ProvisioningMessage, ReplacedDevice, UserIdentityKey, UserIdentityKeyPair, VerifiedDeviceList,
};
pub use keys::{
    IdentityKey, IdentityKeyPair, KemPreKey, KemPreKeyPair, MAX_PREKEY_BATCH, OneTimePreKey,
    OneTimePreKeyPair, PreKeyBundle, PreKeyCounts, PreKeyUpload, PreKeyUploadBuilder, SignedPreKey,
    SignedPreKeyPair, VerifiedBundle, VerifiedUpload,
};
pub use limits::{
    DEFAULT_MAX_FORWARD_JUMP, DEFAULT_MAX_OLD_CHAINS, DEFAULT_MAX_SKIPPED_KEYS,
    DEFAULT_PADDING_BLOCK, MAX_CONTEXT_LEN, MAX_FORWARD_JUMP_LIMIT, MAX_GROUP_FORWARD_JUMP,
    MAX_GROUP_MESSAGE_LEN, MAX_GROUP_SKIPPED_KEYS, MAX_OLD_CHAINS_LIMIT, MAX_PADDING_BLOCK_LIMIT,
    MAX_SKIPPED_KEYS_LIMIT, MIN_GROUP_MESSAGE_LEN, SENDER_KEY_DISTRIBUTION_LEN,
};
pub use limits::{MAX_GROUP_CHANGE_OPS, MAX_GROUP_MEMBERS};
pub use message::{
    DecryptionErrorReceipt, Envelope, FailedMessage, HandshakeId, IncomingMessage, Message,
    PreKeyMessage, VerifiedReceipt, message_kind,
};
pub use rng::OsRng;
pub use secret::SecretBytes;
pub use session::{InboundSession, Padding, Session, SessionConfig};
pub use wire::{
    MAX_CIPHERTEXT_LEN, MAX_PADDED_LEN, MAX_PLAINTEXT_LEN, MIN_CIPHERTEXT_LEN, MessageKind,
    PROTOCOL_VERSION, ReceiptReason, SUITE_V1,
};
