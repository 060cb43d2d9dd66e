//! What can be wrong with the pieces of a device link (PROTOCOL.md §13):
//! a device list, a user identity key and a new device that do not belong
//! together.

use core::fmt;

/// A device list, a user identity key and a new device that do not fit
/// together (PROTOCOL.md §13.5).
///
/// Both ends check the same three things in the same order and report
/// the same kinds: the existing device before it seals a provisioning
/// message (`ProvisioningMessage::seal`, where they are the caller's
/// arguments), and the new device after the message decrypted
/// (`LinkRequest::open`, where they come from the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The device list is signed by another user identity key than the
    /// one that comes with it.
    UserKeyMismatch,
    /// The device list has no device with the id the new device is to
    /// have.
    DeviceNotListed {
        /// The id.
        device_id: u32,
    },
    /// The device list's device with this id has another identity key than
    /// the new device's.
    DeviceKeyMismatch {
        /// The id.
        device_id: u32,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UserKeyMismatch => {
                f.write_str("the device list is signed by another user key")
            }
            LinkError::DeviceNotListed { device_id } => {
                write!(f, "the device list has no device {device_id}")
            }
            LinkError::DeviceKeyMismatch { device_id } => write!(
                f,
                "device {device_id} on the device list has another identity key"
            ),
        }
    }
}

impl core::error::Error for LinkError {}
