//! What comparing two verified device lists of one user can find wrong
//! (PROTOCOL.md §12.4).

use core::fmt;

/// A verified device list that cannot follow the one the caller holds
/// (see [`VerifiedDeviceList::check_successor`](crate::VerifiedDeviceList::check_successor)).
///
/// Each kind is a different thing to tell the user or to do: a changed
/// user key is an identity change (the person started over, or someone
/// is impersonating them); a rollback or a fork means the server showed
/// two histories, which an honest server never does; a gap only means the
/// caller has to fetch the lists in between.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceListError {
    /// The new list is signed by another user identity key than the one
    /// held: an identity change, to be handled as one (never silently).
    UserKeyChanged,
    /// The new list names another user (app id or user id) than the one
    /// held.
    AddressMismatch,
    /// The new list is older than the one held: a server showing an old
    /// list, perhaps to bring back a removed device.
    Rollback {
        /// The version held.
        current: u64,
        /// The version found.
        found: u64,
    },
    /// Two different lists exist for one version: the new list has the
    /// version held but another hash, or it is the next version but its
    /// previous hash is not the hash of the list held.
    Fork {
        /// The version that has two different lists.
        version: u64,
    },
    /// The new list is more than one version ahead: the caller must supply
    /// the lists in between (see
    /// [`VerifiedDeviceList::check_chain`](crate::VerifiedDeviceList::check_chain)).
    Gap {
        /// The version held.
        current: u64,
        /// The version found.
        found: u64,
    },
}

impl fmt::Display for DeviceListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceListError::UserKeyChanged => {
                f.write_str("the device list is signed by another user key")
            }
            DeviceListError::AddressMismatch => f.write_str("the device list is another user's"),
            DeviceListError::Rollback { current, found } => write!(
                f,
                "device list version {found} is older than the version {current} held"
            ),
            DeviceListError::Fork { version } => {
                write!(f, "two different device lists of version {version}")
            }
            DeviceListError::Gap { current, found } => write!(
                f,
                "device list version {found} skips versions after {current}"
            ),
        }
    }
}

impl core::error::Error for DeviceListError {}
