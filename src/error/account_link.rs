//! What checking a link revocation against an account link can find wrong
//! (PROTOCOL.md §15.4).

use core::fmt;

/// A [`LinkRevocation`](crate::LinkRevocation) that does not revoke the
/// [`VerifiedAccountLink`](crate::VerifiedAccountLink) it was checked
/// against (see [`LinkRevocation::verify`](crate::LinkRevocation::verify)).
/// Its signature is checked after these, as an
/// [`InvalidSignature`](super::ProtocolError::InvalidSignature).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountLinkError {
    /// The revocation names another link: its link hash is not this
    /// link's.
    OtherLink,
    /// The revocation is signed (or claims to be) by a user identity key
    /// that is not one of the link's two: only the linked accounts may
    /// revoke their link.
    NotLinked,
}

impl fmt::Display for AccountLinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountLinkError::OtherLink => f.write_str("the revocation is of another account link"),
            AccountLinkError::NotLinked => {
                f.write_str("the revoking user key is not one of the link's two")
            }
        }
    }
}

impl core::error::Error for AccountLinkError {}
