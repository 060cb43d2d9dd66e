//! The one exception type of the bindings: a kind for each kind of
//! `kinseal::Error`, and two of the bindings' own (an argument of the
//! wrong length, a foreign callback that failed).

use core::fmt;

/// Everything that can go wrong in a call into kinseal.
///
/// Each variant but the last three is one kind of `kinseal::Error`, with
/// `kind` the name of the case inside it (for example `NoDeviceList`
/// under `Account`, `Duplicate` under `Protocol`) for code to match on,
/// and `detail` a readable sentence for logs. `DecryptionFailed` carries
/// nothing on purpose: a wrong key, a tampered byte and a forgery look the
/// same.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum KinsealError {
    /// Bytes did not decode into a well-formed value.
    Decode {
        /// The case of `kinseal::DecodeError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// Well-formed input broke a rule of the protocol (a duplicate
    /// message, a bad signature, ...).
    Protocol {
        /// The case of `kinseal::ProtocolError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A call the API does not allow.
    Misuse {
        /// The case of `kinseal::MisuseError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A message failed to authenticate or decrypt. Opaque on purpose.
    DecryptionFailed,
    /// An app id or user id is out of range.
    Address {
        /// The case of `kinseal::AddressError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// The account refused the operation (no session, no device list on
    /// record, unlisted device, unknown group, ...).
    Account {
        /// The case of `kinseal::AccountError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A peer's identity key is not one the trust policy accepts: it
    /// changed, and the app decides (`accept_identity`).
    Trust {
        /// The case of `kinseal::TrustError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A prekey upload was refused (server side).
    Upload {
        /// The case of `kinseal::UploadError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A prekey directory refused a request (server side).
    Directory {
        /// The case of `kinseal::DirectoryError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A store failed (a client's or a directory's): busy, corrupt, a
    /// wrong storage key, ...
    Storage {
        /// The case of `kinseal::StorageError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A device list cannot follow the one on record (rollback, fork,
    /// gap, another user's list).
    DeviceList {
        /// The case of `kinseal::DeviceListError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// The group layer refused a group message, sender key, state or
    /// change.
    Group {
        /// The case of `kinseal::GroupError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// The pieces of a device link do not fit together.
    Link {
        /// The case of `kinseal::LinkError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// A link revocation does not revoke the account link given.
    AccountLink {
        /// The case of `kinseal::AccountLinkError`.
        kind: String,
        /// What went wrong, for a log.
        detail: String,
    },
    /// An argument of the wrong size or state, refused by the bindings
    /// before kinseal sees it (a storage key that is not 32 bytes, a link
    /// request opened twice, ...).
    InvalidArgument {
        /// What was wrong, for a log.
        detail: String,
    },
    /// A callback of the app (a delivery, a bundle or list fetch) raised
    /// an exception; nothing the call would have stored was stored.
    Callback {
        /// The exception's text.
        detail: String,
    },
    /// A kind of error this version of the bindings does not know.
    Other {
        /// What went wrong, for a log.
        detail: String,
    },
}

impl KinsealError {
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        KinsealError::InvalidArgument {
            detail: detail.into(),
        }
    }
}

/// The name of the enum case a `Debug` rendering starts with: `Duplicate`
/// for `Duplicate { index: 3 }`. kinseal's kinds are plain enums, so the
/// name is the case's identifier.
fn case_name(debug: &str) -> String {
    debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

macro_rules! kinded {
    ($variant:ident, $e:expr) => {
        KinsealError::$variant {
            kind: case_name(&format!("{:?}", $e)),
            detail: $e.to_string(),
        }
    };
}

/// A foreign callback's failure, carried through kinseal (which sees it as
/// a store's own error) and turned back into [`KinsealError::Callback`].
#[derive(Debug)]
pub(crate) struct CallbackFailed(pub(crate) KinsealError);

impl fmt::Display for CallbackFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "callback failed: {}", self.0)
    }
}

impl std::error::Error for CallbackFailed {}

impl CallbackFailed {
    /// The error to hand kinseal from inside a source callback.
    pub(crate) fn into_kinseal(e: KinsealError) -> kinseal::Error {
        kinseal::Error::Storage(kinseal::StorageError::Other(kinseal::OtherError::new(
            CallbackFailed(e),
        )))
    }
}

impl From<kinseal::Error> for KinsealError {
    fn from(e: kinseal::Error) -> Self {
        use kinseal::Error as E;
        match &e {
            E::Decode(k) => kinded!(Decode, k),
            E::Protocol(k) => kinded!(Protocol, k),
            E::Misuse(k) => kinded!(Misuse, k),
            E::DecryptionFailed => KinsealError::DecryptionFailed,
            E::Address(k) => kinded!(Address, k),
            E::Account(k) => kinded!(Account, k),
            E::Trust(k) => kinded!(Trust, k),
            E::Upload(k) => kinded!(Upload, k),
            E::Directory(k) => kinded!(Directory, k),
            E::Storage(kinseal::StorageError::Other(o)) => {
                match o.get_ref().downcast_ref::<CallbackFailed>() {
                    Some(CallbackFailed(inner)) => inner.clone(),
                    None => kinded!(Storage, kinseal::StorageError::Other(o.clone())),
                }
            }
            E::Storage(k) => kinded!(Storage, k),
            E::DeviceList(k) => kinded!(DeviceList, k),
            E::Group(k) => kinded!(Group, k),
            E::Link(k) => kinded!(Link, k),
            E::AccountLink(k) => kinded!(AccountLink, k),
            other => KinsealError::Other {
                detail: other.to_string(),
            },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KinsealError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KinsealError::Callback { detail: e.reason }
    }
}

impl fmt::Display for KinsealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KinsealError::DecryptionFailed => f.write_str("decryption failed"),
            KinsealError::InvalidArgument { detail } => write!(f, "invalid argument: {detail}"),
            KinsealError::Callback { detail } => write!(f, "callback failed: {detail}"),
            KinsealError::Other { detail } => f.write_str(detail),
            KinsealError::Decode { detail, .. }
            | KinsealError::Protocol { detail, .. }
            | KinsealError::Misuse { detail, .. }
            | KinsealError::Address { detail, .. }
            | KinsealError::Account { detail, .. }
            | KinsealError::Trust { detail, .. }
            | KinsealError::Upload { detail, .. }
            | KinsealError::Directory { detail, .. }
            | KinsealError::Storage { detail, .. }
            | KinsealError::DeviceList { detail, .. }
            | KinsealError::Group { detail, .. }
            | KinsealError::Link { detail, .. }
            | KinsealError::AccountLink { detail, .. } => f.write_str(detail),
        }
    }
}

impl std::error::Error for KinsealError {}

/// Shorthand for the bindings' results.
pub type Result<T, E = KinsealError> = core::result::Result<T, E>;

impl From<kinseal::StorageError> for KinsealError {
    fn from(e: kinseal::StorageError) -> Self {
        kinseal::Error::Storage(e).into()
    }
}
