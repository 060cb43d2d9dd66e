//! What the group layer refuses (PROTOCOL.md §16): group messages,
//! sender-key distributions, group states and their changes.

use core::fmt;

/// A group message, sender key, group state or change that breaks a rule
/// of the group layer. Cryptographic failures of a group message are the
/// opaque [`Error::DecryptionFailed`](crate::Error::DecryptionFailed), as
/// for pairwise messages; these are the failures a caller acts on.
///
/// Nothing was changed when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// A group message, distribution, state or change names another group
    /// than the one it was given to.
    WrongGroup,
    /// A group message of another epoch of the group than the sender key's
    /// (PROTOCOL.md §16.4).
    WrongEpoch {
        /// The sender key's epoch.
        expected: u64,
        /// The message's.
        found: u64,
    },
    /// A group message under a sender key (a chain) this receiver was not
    /// given: the sender rotated its key, and its new distribution has
    /// not arrived (or was never sent to this device).
    UnknownSenderKey {
        /// The message's key id.
        key_id: u32,
    },
    /// A group message decrypted with another device's sender key than
    /// the one it was received from.
    WrongSender,
    /// A group message at an iteration this receiver already decrypted:
    /// a duplicate or a replay.
    Duplicate {
        /// The message's iteration.
        iteration: u32,
    },
    /// A group message whose key is gone: from before the distribution
    /// this receiver was given (forward secrecy toward new members), or
    /// skipped so long ago that its key was evicted
    /// ([`MAX_GROUP_SKIPPED_KEYS`](crate::MAX_GROUP_SKIPPED_KEYS)).
    MessageKeyExpired {
        /// The message's iteration.
        iteration: u32,
    },
    /// A group message further ahead of the next expected iteration than
    /// [`MAX_GROUP_FORWARD_JUMP`](crate::MAX_GROUP_FORWARD_JUMP).
    JumpTooFar {
        /// The next iteration this receiver expected.
        next: u32,
        /// The message's iteration.
        iteration: u32,
    },
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::WrongGroup => f.write_str("another group's"),
            GroupError::WrongEpoch { expected, found } => {
                write!(f, "group epoch {found}, expected {expected}")
            }
            GroupError::UnknownSenderKey { key_id } => {
                write!(f, "unknown sender key {key_id}")
            }
            GroupError::WrongSender => f.write_str("another sender's sender key"),
            GroupError::Duplicate { iteration } => {
                write!(f, "group message {iteration} already decrypted")
            }
            GroupError::MessageKeyExpired { iteration } => {
                write!(f, "key of group message {iteration} is gone")
            }
            GroupError::JumpTooFar { next, iteration } => {
                write!(f, "group message {iteration} too far ahead of {next}")
            }
        }
    }
}

impl core::error::Error for GroupError {}
