//! What a messaging client uses: the [`Account`], which is one device of
//! one person, with its stores, trust in peers, safety numbers and
//! encryption at rest.
//!
//! ```
//! use kinseal::OsRng;
//! use kinseal::client::{Account, DeviceAddress, MemoryStore, StorageKey, StorageKeyring};
//!
//! let keyring = StorageKeyring::new(StorageKey::new(1, &[7; 32]));
//! let here = DeviceAddress::new(b"chirp", b"alice", 1)?;
//! let alice = Account::create(MemoryStore::new(), keyring, &mut OsRng, &here, 1_767_225_600)?;
//! // Publish these: the signed device list, and prekeys.
//! let list = alice.device_list()?.to_bytes();
//! let prekeys = alice.refresh_prekeys(&mut OsRng, 1_767_225_600, None)?;
//! # let _ = (list, prekeys);
//! # Ok::<(), kinseal::Error>(())
//! ```
//!
//! The rules a caller meets:
//!
//! - **Addresses are bound.** An account knows its own device address and
//!   binds it and the peer's into every session (PROTOCOL.md §6.6). Pass
//!   the address a bundle was fetched for, and decrypt under the sender
//!   address the message came with ([`Account::decrypt_envelope`]): a
//!   message under another sender address does not decrypt.
//! - **Device lists decide who is who.** A peer device is talked to only if
//!   its user's latest signed device list on record names it
//!   ([`Account::update_device_lists`], from the directory). A user whose
//!   list is not on record is [`AccountError::NoDeviceList`](crate::AccountError::NoDeviceList)
//!   (fetch it and try again); a device not on it is
//!   [`AccountError::UnlistedDevice`](crate::AccountError::UnlistedDevice).
//!   User keys are trusted on first use through the [`TrustPolicy`];
//!   people compare one safety number ([`Account::user_safety_number`]).
//! - **Reach people.** [`Account::sync_sessions`] starts sessions with
//!   every listed device of a user (and this account's own other
//!   devices); [`Account::encrypt_to_user`] encrypts to all of them in one
//!   transaction and returns an [`Envelope`](crate::Envelope) per device.
//! - **Recover without the user.** A failure worth reporting gets a
//!   signed receipt ([`Account::decryption_error_receipt`]); its sender's
//!   [`Account::handle_receipt`] closes the session so the next message
//!   starts a new one.
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
pub use crate::limits::{
    DEFAULT_GROUP_ROTATION_MESSAGES, DEFAULT_GROUP_ROTATION_SECS, MAX_APP_PLAINTEXT_LEN,
    MAX_GROUP_DEVICES, MAX_GROUP_ROTATION_MESSAGES, MAX_SENDER_KEYS_PER_DEVICE,
};
pub use account::{
    Account, AccountConfig, BatchFailure, BatchOutcome, BundleSource, Decrypted, DeviceListChange,
    DeviceListSource, FanOut, GroupDecrypted, GroupEvent, GroupSend, LinkedDevice, PreKeyUpdate,
    ReceiptOutcome, SyncReport,
};
pub use keyring::{RecordKey, StorageKey, StorageKeyring};
pub use safety::SafetyNumber;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
pub use store::{ClientStore, MemoryStore, RecordChange, StoreTransaction};
pub use trust::{
    IdentityStatus, KnownIdentity, KnownUser, TrustDecision, TrustOnFirstUse, TrustPolicy,
};
