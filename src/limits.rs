//! Every bound kinseal enforces, by name.
//!
//! A `DEFAULT_*` is what [`SessionConfig::default`](crate::SessionConfig)
//! uses; a `*_LIMIT` is the largest value a configuration may choose, so that
//! the worst-case memory and work of one session stay bounded whatever the
//! configuration.

/// Default largest number of messages a single incoming message may skip
/// over in one chain (the gap between the next expected index and the
/// message's index). 25 000 matches libsignal: a phone that was offline for
/// days still catches up.
pub const DEFAULT_MAX_FORWARD_JUMP: u32 = 25_000;
/// The largest forward jump a configuration may allow.
///
/// Each skipped index costs one HMAC before the message can be
/// authenticated, so this bounds the work a forged message can cause
/// (about 25 ms at 100 000).
pub const MAX_FORWARD_JUMP_LIMIT: u32 = 100_000;

/// Default largest number of skipped message keys a session stores, across
/// all its receiving chains. When more are skipped, the oldest are evicted.
pub const DEFAULT_MAX_SKIPPED_KEYS: u32 = 2_000;
/// The largest skipped-key store a configuration may allow.
///
/// A stored key costs 40 bytes, so the store never exceeds 2 MB.
pub const MAX_SKIPPED_KEYS_LIMIT: u32 = 50_000;

/// Default number of previous receiving chains a session keeps, besides the
/// current one, so late messages from before a ratchet step still decrypt.
pub const DEFAULT_MAX_OLD_CHAINS: u32 = 5;
/// The largest number of previous receiving chains a configuration may keep.
pub const MAX_OLD_CHAINS_LIMIT: u32 = 32;

/// The longest caller-supplied session context (app ids, addresses) that
/// session setup accepts.
pub const MAX_CONTEXT_LEN: usize = 1024;
