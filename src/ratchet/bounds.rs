//! The bounds a ratchet enforces on what a peer can make it store or
//! compute: the largest forward jump, the skipped keys kept, the old
//! receiving chains kept.

use crate::error::MisuseError;
use crate::limits::{
    DEFAULT_MAX_FORWARD_JUMP, DEFAULT_MAX_OLD_CHAINS, DEFAULT_MAX_SKIPPED_KEYS,
    MAX_FORWARD_JUMP_LIMIT, MAX_OLD_CHAINS_LIMIT, MAX_SKIPPED_KEYS_LIMIT,
};

/// The bounds a ratchet enforces, each within its safe range: the only
/// constructor, [`Bounds::new`], checks them against the `*_LIMIT`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    max_forward_jump: u32,
    max_skipped_keys: u32,
    max_old_chains: u32,
}

impl Bounds {
    /// The defaults of `SessionConfig::default`.
    pub(crate) const DEFAULT: Bounds = Bounds {
        max_forward_jump: DEFAULT_MAX_FORWARD_JUMP,
        max_skipped_keys: DEFAULT_MAX_SKIPPED_KEYS,
        max_old_chains: DEFAULT_MAX_OLD_CHAINS,
    };

    /// Checks each bound against its range, in this order.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] for the first one outside it.
    pub(crate) fn new(
        max_forward_jump: u32,
        max_skipped_keys: u32,
        max_old_chains: u32,
    ) -> Result<Bounds, MisuseError> {
        Ok(Bounds {
            max_forward_jump: in_range(
                "max_forward_jump",
                max_forward_jump,
                1,
                MAX_FORWARD_JUMP_LIMIT,
            )?,
            max_skipped_keys: in_range(
                "max_skipped_keys",
                max_skipped_keys,
                0,
                MAX_SKIPPED_KEYS_LIMIT,
            )?,
            max_old_chains: in_range("max_old_chains", max_old_chains, 0, MAX_OLD_CHAINS_LIMIT)?,
        })
    }

    /// The largest number of messages one incoming message may skip.
    pub(crate) fn max_forward_jump(&self) -> u32 {
        self.max_forward_jump
    }

    /// The most skipped message keys kept.
    pub(crate) fn max_skipped_keys(&self) -> u32 {
        self.max_skipped_keys
    }

    /// How many previous receiving chains are kept besides the current one.
    pub(crate) fn max_old_chains(&self) -> u32 {
        self.max_old_chains
    }
}

fn in_range(parameter: &'static str, value: u32, min: u32, max: u32) -> Result<u32, MisuseError> {
    if value < min || value > max {
        return Err(MisuseError::ConfigOutOfRange {
            parameter,
            min: min.into(),
            max: max.into(),
            found: value.into(),
        });
    }
    Ok(value)
}
