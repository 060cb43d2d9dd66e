//! The error kinds of the server side: a refused upload, a refused
//! directory request, a failed store. Like every kinseal error they carry
//! no secret, no plaintext and no dependency type.

use core::fmt;

use crate::error::PreKeyRole;

/// Why a [`PreKeyUpload`](super::PreKeyUpload) was refused.
///
/// Malformed bytes are reported as [`DecodeError`](crate::DecodeError)s with
/// [`WireType::PreKeyUpload`](crate::WireType::PreKeyUpload); these are the
/// rules a well-formed upload can break. Each names what was wrong: which
/// kind of prekey ([`PreKeyRole`]; one-time and last-resort ML-KEM prekeys
/// are both [`PreKeyRole::Kem`] and share one id space), which id, which
/// limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadError {
    /// The upload carries no key at all.
    Empty,
    /// A batch holds more keys than one upload may carry
    /// ([`MAX_ONE_TIME_PREKEYS_PER_UPLOAD`](super::MAX_ONE_TIME_PREKEYS_PER_UPLOAD),
    /// [`MAX_KEM_PREKEYS_PER_UPLOAD`](super::MAX_KEM_PREKEYS_PER_UPLOAD)).
    TooMany {
        /// Which batch.
        prekey: PreKeyRole,
        /// The most one upload may carry.
        max: usize,
        /// How many it carries.
        found: usize,
    },
    /// A prekey's public key is not a valid, canonical key.
    InvalidKey {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// Its id.
        id: u32,
    },
    /// An ML-KEM prekey's last-resort flag does not match its place in the
    /// upload: the last-resort slot holds a one-time key, or a one-time
    /// batch holds a last-resort key.
    LastResortMismatch {
        /// The key's id.
        id: u32,
        /// The flag its place requires.
        expected: bool,
        /// The flag it carries.
        found: bool,
    },
    /// Two keys of one kind in the upload share an id.
    DuplicateId {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// The repeated id.
        id: u32,
    },
    /// The upload names another identity key than the device's.
    IdentityMismatch,
    /// A prekey's signature does not verify under the device's identity key.
    InvalidSignature {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// Its id.
        id: u32,
    },
    /// The signature over the whole upload does not verify under the
    /// device's identity key: the upload was altered, or not made by the
    /// device.
    InvalidUploadSignature,
    /// An id is not above every id of its kind the directory has already
    /// accepted for the device. Ids only go up, so that no id is ever
    /// reused and a replayed or retried upload cannot put back a key that
    /// was already handed out.
    StaleId {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// The id refused.
        id: u32,
        /// The highest id of that kind accepted so far.
        highest: u32,
    },
    /// Storing the upload would leave the directory holding more one-time
    /// keys of a kind than it keeps for one device
    /// ([`MAX_STORED_ONE_TIME_PREKEYS`](super::MAX_STORED_ONE_TIME_PREKEYS),
    /// [`MAX_STORED_KEM_PREKEYS`](super::MAX_STORED_KEM_PREKEYS)).
    StoreFull {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// The most the directory keeps.
        max: usize,
        /// How many it would hold.
        found: usize,
    },
}

/// Which part of an address a [`DirectoryError::AddressOutOfRange`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressField {
    /// The app id.
    AppId,
    /// The user id.
    UserId,
}

/// Why a prekey directory refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryError {
    /// No device is registered at the address.
    UnknownDevice,
    /// Registering the device would give its user more devices than
    /// [`MAX_DEVICES_PER_USER`](super::MAX_DEVICES_PER_USER).
    TooManyDevices {
        /// The most devices one user may have.
        max: usize,
        /// How many the user would have.
        found: usize,
    },
    /// An app id or user id is empty or too long.
    AddressOutOfRange {
        /// Which part of the address.
        field: AddressField,
        /// The shortest allowed.
        min: usize,
        /// The longest allowed.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// The device has not uploaded a key every bundle needs: its signed
    /// prekey ([`PreKeyRole::Signed`]), or any ML-KEM prekey
    /// ([`PreKeyRole::Kem`]: no one-time key is left and there is no
    /// last-resort key). Nothing was handed out.
    NotReady {
        /// Which key is missing.
        missing: PreKeyRole,
    },
}

/// A store failed: a prekey directory's or a client store's. Nothing was
/// changed: every directory operation, and every client operation, is one
/// transaction.
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
    /// A sealed record did not open under the storage key it names: it
    /// was altered, moved to another place in the store, or sealed by
    /// someone else.
    SealBroken {
        /// The table the record is in.
        table: &'static str,
    },
    /// A sealed record names a storage key the keyring does not hold.
    UnknownStorageKey {
        /// The key id the record names.
        key_id: u32,
    },
    /// The storage engine failed in another way.
    Backend {
        /// The engine's own error code (for SQLite, the extended result
        /// code), or -1 when the failure did not come from the engine
        /// itself but from its binding.
        code: i32,
    },
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::Empty => f.write_str("the upload carries no key"),
            UploadError::TooMany { prekey, max, found } => {
                write!(f, "{found} {prekey:?} prekeys in one upload; at most {max}")
            }
            UploadError::InvalidKey { prekey, id } => {
                write!(f, "{prekey:?} prekey {id} is not a valid key")
            }
            UploadError::LastResortMismatch {
                id,
                expected,
                found,
            } => write!(
                f,
                "KEM prekey {id} has last-resort flag {found} where {expected} is required"
            ),
            UploadError::DuplicateId { prekey, id } => {
                write!(f, "{prekey:?} prekey id {id} appears twice")
            }
            UploadError::IdentityMismatch => {
                f.write_str("the upload names another identity key than the device's")
            }
            UploadError::InvalidSignature { prekey, id } => {
                write!(f, "invalid signature on {prekey:?} prekey {id}")
            }
            UploadError::InvalidUploadSignature => f.write_str("invalid upload signature"),
            UploadError::StaleId {
                prekey,
                id,
                highest,
            } => write!(
                f,
                "{prekey:?} prekey id {id} is not above the highest accepted id {highest}"
            ),
            UploadError::StoreFull { prekey, max, found } => write!(
                f,
                "the directory would hold {found} {prekey:?} prekeys; at most {max}"
            ),
        }
    }
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectoryError::UnknownDevice => f.write_str("no device is registered at the address"),
            DirectoryError::TooManyDevices { max, found } => {
                write!(f, "the user would have {found} devices; at most {max}")
            }
            DirectoryError::AddressOutOfRange {
                field,
                min,
                max,
                found,
            } => write!(f, "{field:?} of {found} bytes outside {min}..={max}"),
            DirectoryError::NotReady { missing } => {
                write!(f, "the device has no {missing:?} prekey to hand out")
            }
        }
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
            StorageError::SealBroken { table } => write!(f, "a record in {table} did not open"),
            StorageError::UnknownStorageKey { key_id } => {
                write!(f, "no storage key with id {key_id}")
            }
            StorageError::Backend { code } => write!(f, "storage engine error {code}"),
        }
    }
}

impl core::error::Error for UploadError {}
impl core::error::Error for DirectoryError {}
impl core::error::Error for StorageError {}
