//! The one error type of kinseal, with typed kinds a caller can match on,
//! grouped by the layer that returns them.
//!
//! | kind | returned by |
//! |---|---|
//! | [`DecodeError`] | every decoder: bytes that are not a well-formed value |
//! | [`ProtocolError`] | the protocol core: well-formed input that breaks a rule |
//! | [`MisuseError`] | the protocol core: a call the API does not allow |
//! | [`DeviceListError`] | the protocol core: a device list that cannot follow the one a caller holds |
//! | [`GroupError`] | the group layer: group messages, sender keys, group states and changes |
//! | [`LinkError`] | the protocol core: the pieces of a device link that do not fit together |
//! | [`AccountLinkError`] | the protocol core: a link revocation that does not revoke the link given |
//! | [`Error::DecryptionFailed`] | a message that did not authenticate, opaque on purpose |
//! | [`AddressError`] | building an address (client and server) |
//! | [`AccountError`], [`TrustError`] | the client layer ([`client`](crate::client)) |
//! | [`UploadError`], [`DirectoryError`] | the server side ([`server`](crate::server)) |
//! | [`StorageError`] | a store: a client's or a directory's |
//!
//! So [`Session`](crate::Session) returns only the first four. Every kind is
//! defined in this module, which imports nothing above the ground floor
//! (`TrustError` names the identity keys it is about, as a payload).
//!
//! Errors never carry secret material, plaintext or dependency types. Every
//! cryptographic failure while decrypting is the single opaque
//! [`Error::DecryptionFailed`], so that errors cannot be used as an oracle.
//! [`source`](core::error::Error::source) gives the kind inside an
//! [`Error`], and a third-party store's own cause inside
//! [`StorageError::Other`].

use core::fmt;

mod account_link;
mod address;
mod client;
mod decode;
mod device_list;
mod group;
mod link;
mod protocol;
mod server;
mod storage;

pub use account_link::AccountLinkError;
pub use address::{AddressError, AddressField};
pub use client::{AccountError, TrustError};
pub use decode::{DecodeError, KeyKind, WireType};
pub use device_list::DeviceListError;
pub use group::GroupError;
pub use link::LinkError;
pub use protocol::{MisuseError, PreKeyRole, ProtocolError, SignedObject};
pub use server::{DirectoryError, UploadError};
pub use storage::{OtherError, StorageError};

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
    /// An app id or user id is out of range.
    Address(AddressError),
    /// The client layer refused an operation (see [`client`](crate::client)).
    Account(AccountError),
    /// A peer's identity key is not one the trust policy accepts (see
    /// [`client`](crate::client)).
    Trust(TrustError),
    /// A prekey upload was refused (see [`server`](crate::server)).
    Upload(UploadError),
    /// A prekey directory refused a request (see [`server`](crate::server)).
    Directory(DirectoryError),
    /// A store failed: a prekey directory's (see [`server`](crate::server))
    /// or a client's (see [`client`](crate::client)).
    Storage(StorageError),
    /// A user's device list cannot follow the one the caller holds: a
    /// rollback, a fork, a gap, or another user's list (see
    /// [`VerifiedDeviceList::check_successor`](crate::VerifiedDeviceList::check_successor)).
    DeviceList(DeviceListError),
    /// The group layer refused a group message, sender key, state or
    /// change (see [`GroupError`]).
    Group(GroupError),
    /// The device list, user key and new device of a device link do not
    /// fit together (`ProvisioningMessage::seal`, `LinkRequest::open`).
    Link(LinkError),
    /// A link revocation does not revoke the account link it was checked
    /// against (see [`LinkRevocation::verify`](crate::LinkRevocation::verify)).
    AccountLink(AccountLinkError),
}

macro_rules! from_kind {
    ($($kind:ident => $variant:ident),* $(,)?) => {
        $(impl From<$kind> for Error {
            fn from(e: $kind) -> Self {
                Error::$variant(e)
            }
        })*
    };
}

from_kind! {
    DecodeError => Decode,
    ProtocolError => Protocol,
    MisuseError => Misuse,
    AddressError => Address,
    AccountError => Account,
    TrustError => Trust,
    UploadError => Upload,
    DirectoryError => Directory,
    StorageError => Storage,
    DeviceListError => DeviceList,
    GroupError => Group,
    LinkError => Link,
    AccountLinkError => AccountLink,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "decode error: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Misuse(e) => write!(f, "API misuse: {e}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::Address(e) => write!(f, "invalid address: {e}"),
            Error::Account(e) => write!(f, "account error: {e}"),
            Error::Trust(e) => write!(f, "untrusted identity: {e}"),
            Error::Upload(e) => write!(f, "upload refused: {e}"),
            Error::Directory(e) => write!(f, "directory error: {e}"),
            Error::Storage(e) => write!(f, "storage error: {e}"),
            Error::DeviceList(e) => write!(f, "device list refused: {e}"),
            Error::Group(e) => write!(f, "group layer refused: {e}"),
            Error::Link(e) => write!(f, "device link refused: {e}"),
            Error::AccountLink(e) => write!(f, "link revocation refused: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Decode(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Misuse(e) => Some(e),
            Error::DecryptionFailed => None,
            Error::Address(e) => Some(e),
            Error::Account(e) => Some(e),
            Error::Trust(e) => Some(e),
            Error::Upload(e) => Some(e),
            Error::Directory(e) => Some(e),
            Error::Storage(e) => Some(e),
            Error::DeviceList(e) => Some(e),
            Error::Group(e) => Some(e),
            Error::Link(e) => Some(e),
            Error::AccountLink(e) => Some(e),
        }
    }
}

/// Shorthand for results in kinseal.
pub type Result<T, E = Error> = core::result::Result<T, E>;
