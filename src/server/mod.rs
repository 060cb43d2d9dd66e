//! What servers link: upload validation, a prekey directory, and routing
//! without decryption.
//!
//! A server of the app family never sees a plaintext or a private key, yet
//! it must refuse garbage and hand out prekeys correctly: a one-time prekey
//! given to two senders silently weakens both sessions. This module gives
//! it three things, and nothing that could decrypt:
//!
//! - **Upload validation.** A device sends a [`PreKeyUpload`] (built with
//!   [`PreKeyUpload::builder`]): any of a new signed prekey, a new
//!   last-resort ML-KEM prekey and batches of one-time X25519 and ML-KEM
//!   prekeys, signed as a whole by its identity key. The server decodes it
//!   ([`PreKeyUpload::from_bytes`]: structure, key validity, limits,
//!   consistency) and checks it against the device's identity key
//!   ([`PreKeyUpload::verify`]: every signature). Each refusal is a typed
//!   [`UploadError`] naming the key, the id or the limit.
//! - **A prekey directory.** The [`PreKeyDirectory`] trait, with a
//!   [`MemoryDirectory`] and (feature `sqlite`) a `SqliteDirectory`:
//!   register devices by app, user and device id ([`DeviceAddress`]),
//!   store verified uploads, and [`take_bundle`](PreKeyDirectory::take_bundle),
//!   which hands each one-time prekey to exactly one requester, falls back
//!   to the last-resort ML-KEM prekey when none is left, and reports how
//!   many remain.
//! - **Device lists.** The same directory keeps each user's signed device
//!   lists ([`DeviceList`]) for peers to fetch with the bundles:
//!   [`publish_device_list`](PreKeyDirectory::publish_device_list) refuses
//!   a list that is not the latest's successor (a rollback, a fork, a gap,
//!   another user key: [`DeviceListError`]), and the directory keeps the
//!   last [`MAX_DEVICE_LIST_HISTORY`] for peers to fill gaps
//!   ([`device_lists_since`](PreKeyDirectory::device_lists_since)). Peers
//!   check every list themselves; the server is not trusted with them.
//! - **Routing without decryption.** [`route`] reads a message's kind,
//!   version and size, and for a `PreKeyMessage` the prekey ids it used,
//!   with the wire layer alone.
//!
//! Every bound is a named constant (below), and nothing here reads a clock:
//! where time matters it is a parameter. `docs/SERVER.md` has the byte
//! layout of an upload, the directory's rules, and exactly what a server
//! learns from each message and bundle, and what it cannot.
//!
//! ```
//! # fn main() -> kinseal::Result<()> {
//! use kinseal::server::{DeviceAddress, MemoryDirectory, PreKeyDirectory, PreKeyUpload, route};
//! use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, OsRng, PreKeyBundle};
//! use kinseal::{Session, SessionConfig, SignedPreKeyPair};
//!
//! let mut rng = OsRng;
//! let now = 1_767_225_600;
//! let directory = MemoryDirectory::new();
//!
//! // A device registers and uploads its prekeys.
//! let bob = IdentityKeyPair::generate(&mut rng);
//! let address = DeviceAddress::new(b"parley", b"bob@parley.example", 1)?;
//! directory.register(&address, bob.public_key())?;
//! let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, now);
//! let last_resort = KemPreKeyPair::generate(&mut rng, &bob, 1, true, now);
//! let one_time = OneTimePreKeyPair::generate_batch(&mut rng, 1, 20)?;
//! let upload = PreKeyUpload::builder(&bob)
//!     .signed_prekey(spk.public())
//!     .last_resort_prekey(last_resort.public())
//!     .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
//!     .to_bytes()?;
//! directory.upload(&address, &upload)?;
//!
//! // A sender takes a bundle and starts a session.
//! let taken = directory.take_bundle(&address)?;
//! assert_eq!(taken.remaining().one_time(), 19);
//! let bundle = PreKeyBundle::from_bytes(&taken.to_bytes())?.verify()?;
//! let alice = IdentityKeyPair::generate(&mut rng);
//! let mut session = Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default())?;
//! let first = session.encrypt(&mut rng, b"hello")?;
//!
//! // The server routes the first message without decrypting it.
//! let info = route(&first)?;
//! assert_eq!(info.prekeys(), Some(taken.prekey_ids()));
//! # Ok(())
//! # }
//! ```

mod directory;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod route;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{
    POSTGRES_HANDED_OUT_KEEP, POSTGRES_MAX_ATTEMPTS, POSTGRES_MAX_IDLE_CONNECTIONS,
    POSTGRES_MAX_UNSETTLED, POSTGRES_RECOVERY_PATIENCE, POSTGRES_SCHEMA_VERSION, PostgresDirectory,
};
pub use crate::address::{DeviceAddress, UserAddress};
pub use crate::error::{
    AddressField, DeviceListError, DirectoryError, OtherError, StorageError, UploadError,
};
pub use crate::keys::{DeviceList, DeviceListUpdate, VerifiedDeviceList};
pub use crate::keys::{PreKeyCounts, PreKeyUpload, PreKeyUploadBuilder, VerifiedUpload};
pub use crate::limits::{
    DEFAULT_REPLENISH_THRESHOLD, MAX_APP_ID_LEN, MAX_BUNDLE_LEN, MAX_DEVICE_LIST_HISTORY,
    MAX_DEVICES_PER_USER, MAX_ENVELOPE_LEN, MAX_KEM_PREKEYS_PER_UPLOAD, MAX_MESSAGE_LEN,
    MAX_ONE_TIME_PREKEYS_PER_UPLOAD, MAX_STORED_KEM_PREKEYS, MAX_STORED_ONE_TIME_PREKEYS,
    MAX_UPLOAD_LEN, MAX_USER_ID_LEN, MIN_BUNDLE_LEN, MIN_ENVELOPE_LEN, MIN_MESSAGE_LEN,
    MIN_UPLOAD_LEN, PREKEY_COUNTS_LEN, SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS,
};
pub use crate::message::Envelope;
pub use crate::wire::{TYPE_ENVELOPE, TYPE_PREKEY_COUNTS, TYPE_PREKEY_UPLOAD};
pub use directory::{DeviceInfo, HighestIds, PreKeyDirectory, Registration, TakenBundle};
pub use memory::MemoryDirectory;
pub use route::{GroupRouteInfo, PreKeyIds, RouteInfo, route, route_group};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SQLITE_BUSY_TIMEOUT_MS, SQLITE_SCHEMA_VERSION, SqliteDirectory};
