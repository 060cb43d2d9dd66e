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
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::WrongGroup => f.write_str("another group's"),
        }
    }
}

impl core::error::Error for GroupError {}
