//! Observability (feature `tracing`): one span per [`Account`](super::Account)
//! operation, named `kinseal.account`, with the fields
//!
//! - `op`: the operation (`encrypt`, `decrypt`, `group_send`, ...);
//! - `input_len`: the size of what the app passed (a plaintext's or a
//!   message's length in bytes, or how many lists, peers or users);
//! - `output_len`: the size of what came back (a ciphertext's or
//!   plaintext's length, how many envelopes), 0 after a failure;
//! - `outcome`: `ok`, `refused` (the app's delivery callback refused, so
//!   nothing was committed), or the error's layer (`DecryptionFailed`,
//!   `Protocol`, `Account`, `Storage`, ...);
//! - `micros`: how long it took.
//!
//! Nothing else: never a key, a plaintext, a ciphertext, an address, a
//! group id or an error's details (those can name an address), whatever
//! the subscriber's level. The spans are at `DEBUG` level.
//!
//! Without the feature, [`traced`] is the operation itself.

#[cfg(feature = "tracing")]
use crate::Error;
use crate::client::account::{Decrypted, FanOut, GroupDecrypted, GroupSend, SyncReport};
use crate::client::{DeviceListChange, IdentityStatus, ReceiptOutcome};
use crate::group::GroupId;

use super::prekeys::PreKeyUpdate;

/// What a span may say about an operation's result: a size, and whether
/// the app refused it. Never its contents. (Without the feature nothing
/// reads it.)
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(super) trait Traced {
    /// A byte length or a count (0 when there is nothing to count).
    fn output_len(&self) -> usize;

    /// Whether the app's delivery callback refused it.
    fn refused(&self) -> bool {
        false
    }
}

impl Traced for Vec<u8> {
    fn output_len(&self) -> usize {
        self.len()
    }
}

impl Traced for Vec<Vec<u8>> {
    fn output_len(&self) -> usize {
        self.len()
    }
}

impl Traced for bool {
    fn output_len(&self) -> usize {
        0
    }
}

impl Traced for IdentityStatus {
    fn output_len(&self) -> usize {
        0
    }
}

impl Traced for ReceiptOutcome {
    fn output_len(&self) -> usize {
        0
    }
}

impl Traced for FanOut {
    fn output_len(&self) -> usize {
        self.envelopes().len()
    }
}

impl Traced for (GroupId, FanOut) {
    fn output_len(&self) -> usize {
        self.1.envelopes().len()
    }
}

impl Traced for SyncReport {
    fn output_len(&self) -> usize {
        self.started().len()
    }
}

impl Traced for PreKeyUpdate {
    fn output_len(&self) -> usize {
        self.one_time_prekeys().len() + self.kem_prekeys().len()
    }
}

impl Traced for DeviceListChange {
    fn output_len(&self) -> usize {
        self.added().len() + self.removed().len() + self.replaced().len()
    }
}

impl Traced for Option<DeviceListChange> {
    fn output_len(&self) -> usize {
        self.as_ref().map_or(0, Traced::output_len)
    }
}

impl Traced for GroupSend {
    fn output_len(&self) -> usize {
        self.message().len()
    }
}

impl<T, E> Traced for Result<(Decrypted, T), E> {
    fn output_len(&self) -> usize {
        self.as_ref().map_or(0, |(d, _)| d.plaintext().len())
    }

    fn refused(&self) -> bool {
        self.is_err()
    }
}

impl<T, E> Traced for Result<(GroupDecrypted, T), E> {
    fn output_len(&self) -> usize {
        self.as_ref().map_or(0, |(d, _)| d.plaintext().len())
    }

    fn refused(&self) -> bool {
        self.is_err()
    }
}

impl<T, E> Traced for Vec<super::BatchOutcome<T, E>> {
    /// How many messages were taken.
    fn output_len(&self) -> usize {
        self.iter().filter(|o| o.is_ok()).count()
    }
}

/// The layer of an error, as a span's `outcome`: a fixed name, never the
/// error's fields.
#[cfg(feature = "tracing")]
fn layer(e: &Error) -> &'static str {
    match e {
        Error::Decode(_) => "Decode",
        Error::Protocol(_) => "Protocol",
        Error::Misuse(_) => "Misuse",
        Error::DecryptionFailed => "DecryptionFailed",
        Error::Address(_) => "Address",
        Error::Account(_) => "Account",
        Error::Trust(_) => "Trust",
        Error::Upload(_) => "Upload",
        Error::Directory(_) => "Directory",
        Error::Storage(_) => "Storage",
        Error::DeviceList(_) => "DeviceList",
        Error::Group(_) => "Group",
        Error::Link(_) => "Link",
        Error::AccountLink(_) => "AccountLink",
    }
}

/// Runs `op`, an account operation, inside its span (with the feature).
#[cfg(feature = "tracing")]
pub(super) fn traced<T: Traced>(
    name: &'static str,
    input_len: usize,
    op: impl FnOnce() -> crate::Result<T>,
) -> crate::Result<T> {
    use tracing::field::Empty;

    let span = tracing::debug_span!(
        "kinseal.account",
        op = name,
        input_len,
        output_len = Empty,
        outcome = Empty,
        micros = Empty,
    );
    if span.is_disabled() {
        return op();
    }
    let _entered = span.enter();
    let start = std::time::Instant::now();
    let result = op();
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let (outcome, output_len) = match &result {
        Ok(value) if value.refused() => ("refused", 0),
        Ok(value) => ("ok", value.output_len()),
        Err(e) => (layer(e), 0),
    };
    span.record("output_len", output_len);
    span.record("outcome", outcome);
    span.record("micros", micros);
    result
}

/// Runs `op`, an account operation (no `tracing` feature: nothing else).
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(super) fn traced<T: Traced>(
    _name: &'static str,
    _input_len: usize,
    op: impl FnOnce() -> crate::Result<T>,
) -> crate::Result<T> {
    op()
}
