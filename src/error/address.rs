//! An address that cannot be one.

use core::fmt;

/// Which part of an address an [`AddressError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressField {
    /// The app id.
    AppId,
    /// The user id.
    UserId,
}

/// An app id or user id that no [`UserAddress`](crate::address::UserAddress)
/// may have. Clients and servers both build addresses, from their own
/// configuration or from a request, so the kind is neither's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// An app id or user id is empty or too long.
    OutOfRange {
        /// Which part of the address.
        field: AddressField,
        /// The shortest allowed.
        min: usize,
        /// The longest allowed.
        max: usize,
        /// The length given.
        found: usize,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::OutOfRange {
                field,
                min,
                max,
                found,
            } => write!(f, "{field:?} of {found} bytes outside {min}..={max}"),
        }
    }
}

impl core::error::Error for AddressError {}
