//! What a messaging client needs around sessions: addresses, stores, an
//! [`Account`] that ties them together, trust in peers' identity keys,
//! safety numbers, and encryption at rest.
//!
//! A client talks to many people, each with several devices, across the
//! apps of the family; it crashes, restarts and sometimes runs two
//! processes. The [`Account`] makes every operation one store
//! transaction: a decrypt's session update, prekey consumption and
//! identity record commit together or not at all, and two threads or
//! processes never interleave inside one.

mod account;
mod keyring;
mod safety;
pub mod store;
mod trust;

pub use crate::address::{DeviceAddress, UserAddress};
pub use crate::limits::{
    DEFAULT_ARCHIVED_SESSION_TTL_SECS, DEFAULT_MAX_ARCHIVED_SESSIONS,
    DEFAULT_ONE_TIME_PREKEY_TARGET, DEFAULT_PENDING_SESSION_TTL_SECS, DEFAULT_SESSION_CACHE,
    MAX_ACCOUNT_CONTEXT_LEN, MAX_ARCHIVED_SESSIONS_LIMIT, MAX_HANDSHAKES_PER_LAST_RESORT_KEY,
    MAX_SESSION_CACHE_LIMIT, MAX_STORAGE_KEYS,
};
pub use account::{
    Account, AccountConfig, BundleSource, Decrypted, DeviceListChange, FanOut, LinkedDevice,
    PreKeyUpdate, ReceiptOutcome, SyncReport,
};
pub use keyring::{RecordKey, StorageKey, StorageKeyring};
pub use safety::SafetyNumber;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
pub use store::{ClientStore, MemoryStore, StoreTransaction};
pub use trust::{
    IdentityStatus, KnownIdentity, KnownUser, TrustDecision, TrustOnFirstUse, TrustPolicy,
};
