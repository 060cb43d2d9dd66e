//! A store failed: the kinds every store can meet, and an opaque one that
//! carries a third-party store's own cause.

use core::fmt;
use std::sync::Arc;

/// A store failed: a prekey directory's or a client store's. Nothing was
/// changed: every directory operation, and every client operation, is one
/// transaction.
///
/// The kinds are the ones any store can meet. A store of the app's own
/// (another [`ClientStore`](crate::client::ClientStore) or
/// [`PreKeyDirectory`](crate::server::PreKeyDirectory)) maps what it can to
/// them and carries anything else, with its own cause, as
/// [`StorageError::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageError {
    /// The store was locked by another writer for longer than the directory
    /// waits; retrying may succeed.
    Busy,
    /// The store ran out of space.
    Full,
    /// Reading or writing the store's files failed, or they could not be
    /// opened.
    Io,
    /// The store's files are damaged or are not a store.
    Corrupt,
    /// A stored record does not decode into valid keys: the store was
    /// written by something else, or damaged.
    InvalidRecord {
        /// The table the record is in.
        table: &'static str,
    },
    /// The store's schema version is not the one this build uses.
    UnsupportedSchema {
        /// The schema version this build uses.
        expected: u32,
        /// The version found.
        found: u32,
    },
    /// A thread panicked while it held the directory's lock, so its state
    /// can no longer be trusted.
    Poisoned,
    /// A sealed record did not open under the storage key it names. Most
    /// often the storage key given is the wrong one (another key with the
    /// same id); otherwise the record was altered, moved to another place
    /// in the store, or sealed by someone else. The seal cannot tell these
    /// apart, and says so.
    SealBroken {
        /// The table the record is in.
        table: &'static str,
    },
    /// A sealed record names a storage key the keyring does not hold.
    UnknownStorageKey {
        /// The key id the record names.
        key_id: u32,
    },
    /// A store implemented outside kinseal failed in its own way; the cause
    /// is its own error, reachable through
    /// [`source`](core::error::Error::source).
    Other(OtherError),
    /// The storage engine failed in another way.
    Backend {
        /// The engine's own error code (for SQLite, the extended result
        /// code; for PostgreSQL, the SQLSTATE's five characters read as a
        /// base-36 number), or -1 when the failure did not come from the
        /// engine itself but from its binding.
        code: i32,
    },
}

/// The cause of a [`StorageError::Other`]: any error of a store kinseal
/// did not write, kept as it was given.
///
/// Cloning shares the cause; two `OtherError`s are equal when they share
/// one (made by the same [`OtherError::new`]), since an arbitrary error
/// type has no equality of its own.
///
/// # Security
/// kinseal prints it as the store's error prints itself: a store must not
/// put secrets or plaintext in its errors.
#[derive(Clone)]
pub struct OtherError(Arc<dyn core::error::Error + Send + Sync + 'static>);

impl OtherError {
    /// Wraps a store's own error.
    pub fn new(cause: impl core::error::Error + Send + Sync + 'static) -> Self {
        OtherError(Arc::new(cause))
    }

    /// The store's own error.
    pub fn get_ref(&self) -> &(dyn core::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl PartialEq for OtherError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OtherError {}

impl fmt::Debug for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OtherError").field(&self.0).finish()
    }
}

impl fmt::Display for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::error::Error for OtherError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(self.get_ref())
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Busy => f.write_str("the store is busy"),
            StorageError::Full => f.write_str("the store is full"),
            StorageError::Io => f.write_str("I/O error"),
            StorageError::Corrupt => f.write_str("the store is damaged"),
            StorageError::InvalidRecord { table } => write!(f, "invalid record in {table}"),
            StorageError::UnsupportedSchema { expected, found } => {
                write!(f, "schema version {found}; this build uses {expected}")
            }
            StorageError::Poisoned => f.write_str("a thread panicked while holding the lock"),
            StorageError::SealBroken { table } => write!(
                f,
                "a record in {table} did not open: the storage key is not the one it was \
                 sealed with, or the record was altered or moved"
            ),
            StorageError::UnknownStorageKey { key_id } => {
                write!(f, "no storage key with id {key_id}")
            }
            StorageError::Other(e) => write!(f, "store error: {e}"),
            StorageError::Backend { code } => write!(f, "storage engine error {code}"),
        }
    }
}

impl core::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StorageError::Other(e) => Some(e),
            _ => None,
        }
    }
}
