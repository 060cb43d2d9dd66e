//! The client layer's bounds and defaults, each a named constant.

/// How many archived sessions per peer device an account keeps by default,
/// besides the current one. Archived sessions are tried, newest first,
/// when a message does not decrypt under the current session (it was sent
/// before both sides settled on one session), and each try costs a record
/// load and a trial decryption, so the default is small.
pub const DEFAULT_MAX_ARCHIVED_SESSIONS: usize = 8;
/// The most archived sessions per peer device an account may be configured
/// to keep (libsignal keeps 40).
pub const MAX_ARCHIVED_SESSIONS_LIMIT: usize = 40;
/// How long an archived session is kept after it last decrypted or
/// encrypted anything, by default: 30 days.
pub const DEFAULT_ARCHIVED_SESSION_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// How long a session this device started may stay unanswered before it
/// stops encrypting, by default: 30 days (libsignal's
/// `MAX_UNACKNOWLEDGED_SESSION_AGE`). The peer may have lost the prekeys
/// it names; the app should fetch a fresh bundle.
pub const DEFAULT_PENDING_SESSION_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// How many one-time prekeys of each kind (X25519 and ML-KEM) an account
/// keeps published by default: one full upload
/// ([`MAX_ONE_TIME_PREKEYS_PER_UPLOAD`](crate::server::MAX_ONE_TIME_PREKEYS_PER_UPLOAD)).
pub const DEFAULT_ONE_TIME_PREKEY_TARGET: usize = 100;
/// The most storage keys a [`StorageKeyring`](super::StorageKeyring) holds.
pub const MAX_STORAGE_KEYS: usize = 8;
/// How many peer devices' decoded sessions an account keeps in memory by
/// default between operations (see
/// [`AccountConfig::with_session_cache`](super::AccountConfig::with_session_cache)).
pub const DEFAULT_SESSION_CACHE: usize = 32;
/// The largest session cache an account may be configured with.
pub const MAX_SESSION_CACHE_LIMIT: usize = 1024;
