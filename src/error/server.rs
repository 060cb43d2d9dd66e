//! The server side's kinds: a refused upload, a refused directory request.

use core::fmt;

use super::PreKeyRole;

/// Why a [`PreKeyUpload`](crate::PreKeyUpload) was refused.
///
/// Malformed bytes are reported as [`DecodeError`](super::DecodeError)s with
/// [`WireType::PreKeyUpload`](super::WireType::PreKeyUpload); these are the
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
    /// ([`MAX_ONE_TIME_PREKEYS_PER_UPLOAD`](crate::limits::MAX_ONE_TIME_PREKEYS_PER_UPLOAD),
    /// [`MAX_KEM_PREKEYS_PER_UPLOAD`](crate::limits::MAX_KEM_PREKEYS_PER_UPLOAD)).
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
    /// ([`MAX_STORED_ONE_TIME_PREKEYS`](crate::limits::MAX_STORED_ONE_TIME_PREKEYS),
    /// [`MAX_STORED_KEM_PREKEYS`](crate::limits::MAX_STORED_KEM_PREKEYS)).
    StoreFull {
        /// Which kind of prekey.
        prekey: PreKeyRole,
        /// The most the directory keeps.
        max: usize,
        /// How many it would hold.
        found: usize,
    },
}

/// Why a prekey directory refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryError {
    /// No device is registered at the address.
    UnknownDevice,
    /// Registering the device would give its user more devices than
    /// [`MAX_DEVICES_PER_USER`](crate::limits::MAX_DEVICES_PER_USER).
    TooManyDevices {
        /// The most devices one user may have.
        max: usize,
        /// How many the user would have.
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

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::Empty => f.write_str("the upload carries no key"),
            UploadError::TooMany { prekey, max, found } => {
                write!(f, "{found} {prekey} prekeys in one upload; at most {max}")
            }
            UploadError::InvalidKey { prekey, id } => {
                write!(f, "{prekey} prekey {id} is not a valid key")
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
                write!(f, "{prekey} prekey id {id} appears twice")
            }
            UploadError::IdentityMismatch => {
                f.write_str("the upload names another identity key than the device's")
            }
            UploadError::InvalidSignature { prekey, id } => {
                write!(f, "invalid signature on {prekey} prekey {id}")
            }
            UploadError::InvalidUploadSignature => f.write_str("invalid upload signature"),
            UploadError::StaleId {
                prekey,
                id,
                highest,
            } => write!(
                f,
                "{prekey} prekey id {id} is not above the highest accepted id {highest}"
            ),
            UploadError::StoreFull { prekey, max, found } => write!(
                f,
                "the directory would hold {found} {prekey} prekeys; at most {max}"
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
            DirectoryError::NotReady { missing } => {
                write!(f, "the device has no {missing} prekey to hand out")
            }
        }
    }
}

impl core::error::Error for UploadError {}
impl core::error::Error for DirectoryError {}
