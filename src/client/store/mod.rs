//! Where a client keeps its state: one small synchronous trait per record
//! kind, all reached through one transaction.
//!
//! Every record a store holds is **sealed** by the [`Account`](super::Account)
//! before the store sees it (see [`StorageKeyring`](super::StorageKeyring)):
//! a store handles opaque bytes under typed keys and never sees a secret.
//! What it must provide is atomicity: every change made through one
//! [`StoreTransaction`] becomes visible together at
//! [`commit`](StoreTransaction::commit), or — if the transaction is dropped
//! without committing, or the process dies first — not at all. It must
//! also serialize transactions, so that two threads or two processes never
//! both read a record and write back different successors of it.
//!
//! kinseal ships [`MemoryStore`] (whose records can also be exported,
//! journaled and imported as keyed bytes, see [`records`]) and, with the
//! `sqlite` feature, `SqliteStore`. Another backend implements the
//! eight record traits on its transaction type, plus [`StoreTransaction`]
//! and [`ClientStore`].

mod memory;
pub mod records;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
pub use records::RecordChange;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteStore, SqliteTransaction};

use crate::StorageError;
use crate::address::{DeviceAddress, UserAddress};
use crate::group::GroupId;

/// What a store operation returns.
pub type StoreResult<T> = core::result::Result<T, StorageError>;

/// This device's account and what is known about peers: each peer
/// device's identity key and each peer user's user key and device list
/// (with the trust decisions made about them).
pub trait IdentityStore {
    /// The sealed account record, if one was stored.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn account(&mut self) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed account record, replacing any previous one.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_account(&mut self, record: &[u8]) -> StoreResult<()>;
    /// The sealed identity record of a peer device.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn peer_identity(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed identity record of a peer device.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_peer_identity(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()>;
    /// Every peer device with an identity record.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn peer_identity_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>>;
    /// The sealed record of a user (its user key and latest device list):
    /// a peer's, or this account's own.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn peer_user(&mut self, user: &UserAddress) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed record of a user, replacing any previous one.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_peer_user(&mut self, user: &UserAddress, record: &[u8]) -> StoreResult<()>;
    /// Every user with a record.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn peer_user_addresses(&mut self) -> StoreResult<Vec<UserAddress>>;
}

/// Declares a prekey store trait: one record per `u32` id.
macro_rules! prekey_store {
    ($(#[$doc:meta])* $trait:ident, $what:literal, $get:ident, $put:ident, $remove:ident, $ids:ident) => {
        $(#[$doc])*
        pub trait $trait {
            #[doc = concat!("The sealed ", $what, " with this id.")]
            ///
            /// # Errors
            /// A [`StorageError`] when the store cannot be read.
            fn $get(&mut self, id: u32) -> StoreResult<Option<Vec<u8>>>;
            #[doc = concat!("Stores a sealed ", $what, ", replacing one with the same id.")]
            ///
            /// # Errors
            /// A [`StorageError`] when the store cannot be written.
            fn $put(&mut self, id: u32, record: &[u8]) -> StoreResult<()>;
            #[doc = concat!("Removes the ", $what, " with this id; whether there was one.")]
            ///
            /// # Errors
            /// A [`StorageError`] when the store cannot be written.
            fn $remove(&mut self, id: u32) -> StoreResult<bool>;
            #[doc = concat!("The ids of every stored ", $what, ", ascending.")]
            ///
            /// # Errors
            /// A [`StorageError`] when the store cannot be read.
            fn $ids(&mut self) -> StoreResult<Vec<u32>>;
        }
    };
}

prekey_store!(
    /// Signed X25519 prekeys (the EC prekeys of last resort), by id.
    SignedPreKeyStore, "signed prekey", signed_prekey, put_signed_prekey,
    remove_signed_prekey, signed_prekey_ids
);
prekey_store!(
    /// One-time X25519 prekeys, by id. Each is removed in the transaction
    /// that uses it.
    OneTimePreKeyStore, "one-time prekey", one_time_prekey, put_one_time_prekey,
    remove_one_time_prekey, one_time_prekey_ids
);
prekey_store!(
    /// One-time ML-KEM prekeys, by id. Each is removed in the transaction
    /// that uses it.
    KemPreKeyStore, "one-time KEM prekey", kem_prekey, put_kem_prekey,
    remove_kem_prekey, kem_prekey_ids
);
prekey_store!(
    /// Last-resort ML-KEM prekeys, by id (they share the id space of
    /// one-time KEM prekeys).
    LastResortKemPreKeyStore, "last-resort KEM prekey", last_resort_kem_prekey,
    put_last_resort_kem_prekey, remove_last_resort_kem_prekey, last_resort_kem_prekey_ids
);

/// The sessions with each peer device: one sealed record per device
/// holding its current session and the archived ones.
pub trait SessionStore {
    /// The sealed session state of a peer device.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn sessions(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed session state of a peer device.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_sessions(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()>;
    /// Removes the session state of a peer device; whether there was one.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn remove_sessions(&mut self, peer: &DeviceAddress) -> StoreResult<bool>;
    /// Every peer device with a session state.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn session_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>>;
}

/// Handshakes answered on a last-resort ML-KEM prekey without a one-time
/// prekey, so that a replayed `PreKeyMessage` is refused. Each is kept, by
/// the id of the last-resort key it used, while that key is kept: once the
/// key is deleted, the handshake cannot be answered again anyway. The
/// account logs at most
/// [`MAX_HANDSHAKES_PER_LAST_RESORT_KEY`](crate::client::MAX_HANDSHAKES_PER_LAST_RESORT_KEY)
/// per key.
pub trait HandshakeLog {
    /// Whether a handshake with this id was answered.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn contains_handshake(&mut self, handshake_id: &[u8; 32]) -> StoreResult<bool>;
    /// Records an answered handshake and the last-resort KEM prekey it used.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn record_handshake(&mut self, handshake_id: &[u8; 32], last_resort_id: u32)
    -> StoreResult<()>;
    /// How many handshakes recorded with a last-resort KEM prekey.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn handshake_count(&mut self, last_resort_id: u32) -> StoreResult<usize>;
    /// Forgets the handshakes that used a last-resort KEM prekey; how many
    /// there were.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn forget_handshakes(&mut self, last_resort_id: u32) -> StoreResult<usize>;
}

/// Groups: one sealed record per group (its state and this device's
/// sender key), and one per group and sending device (the sender keys
/// received from that device).
pub trait GroupStore {
    /// The sealed record of a group.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn group(&mut self, group: &GroupId) -> StoreResult<Option<Vec<u8>>>;
    /// Stores a group's sealed record, replacing any.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_group(&mut self, group: &GroupId, record: &[u8]) -> StoreResult<()>;
    /// Removes a group's record; whether there was one.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn remove_group(&mut self, group: &GroupId) -> StoreResult<bool>;
    /// The id of every group with a record, ascending.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn group_ids(&mut self) -> StoreResult<Vec<GroupId>>;
    /// The sealed record of the sender keys `sender` sent for `group`.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed record of `sender`'s sender keys for `group`.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn put_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
        record: &[u8],
    ) -> StoreResult<()>;
    /// Removes `sender`'s sender keys for `group`; whether there were any.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be written.
    fn remove_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<bool>;
    /// Every device with sender keys stored for `group`.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot be read.
    fn group_senders(&mut self, group: &GroupId) -> StoreResult<Vec<DeviceAddress>>;
}

/// One transaction over every record kind.
///
/// Reads see the transaction's own writes. Dropping the transaction
/// without [`commit`](StoreTransaction::commit) discards every write.
pub trait StoreTransaction:
    IdentityStore
    + SignedPreKeyStore
    + OneTimePreKeyStore
    + KemPreKeyStore
    + LastResortKemPreKeyStore
    + SessionStore
    + HandshakeLog
    + GroupStore
{
    /// Makes every write of the transaction durable and visible, together.
    ///
    /// # Errors
    /// A [`StorageError`] when the commit fails; then nothing was written.
    fn commit(self) -> StoreResult<()>;

    /// Marks the present point of the transaction, so that the writes made
    /// after it can be undone alone ([`rollback_to_savepoint`](StoreTransaction::rollback_to_savepoint))
    /// while the earlier ones stay. One savepoint at a time: the next
    /// call replaces the mark. Used by
    /// [`Account::decrypt_batch`](crate::client::Account::decrypt_batch),
    /// where one message's failure must not undo the others.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot mark it.
    fn savepoint(&mut self) -> StoreResult<()>;

    /// Undoes every write made since the last
    /// [`savepoint`](StoreTransaction::savepoint), which stays set; the
    /// transaction goes on. Without a savepoint it does nothing.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot undo them; then the caller
    /// must drop the transaction (roll it all back).
    fn rollback_to_savepoint(&mut self) -> StoreResult<()>;

    /// Forgets the last savepoint: the writes made since it are part of the
    /// transaction like the others. Without a savepoint it does nothing.
    ///
    /// # Errors
    /// A [`StorageError`] when the store cannot release it.
    fn release_savepoint(&mut self) -> StoreResult<()>;
}

/// A store that hands out transactions.
///
/// # Security
/// Implementations must serialize transactions (a lock held from
/// [`transaction`](ClientStore::transaction) until commit or drop, across
/// every thread and process that opens the same store), or concurrent
/// decrypts can lose a ratchet update and make later messages undecryptable.
pub trait ClientStore {
    /// The transaction type.
    type Transaction<'a>: StoreTransaction
    where
        Self: 'a;

    /// Starts a transaction, waiting for any other to finish first.
    ///
    /// A thread that already holds a transaction on this store must not
    /// ask for another: it would wait for itself (both shipped stores
    /// deadlock). Waiting is not fair: SQLite's busy handler polls, so a
    /// process committing transactions back to back can keep another one
    /// waiting until `SqliteStore::BUSY_TIMEOUT`
    /// and [`StorageError::Busy`].
    ///
    /// # Errors
    /// [`StorageError::Busy`] when another writer held the store for
    /// longer than the store waits; other [`StorageError`]s when it cannot
    /// be opened.
    fn transaction(&self) -> StoreResult<Self::Transaction<'_>>;
}

impl<S: ClientStore + ?Sized> ClientStore for &S {
    type Transaction<'a>
        = S::Transaction<'a>
    where
        Self: 'a;

    fn transaction(&self) -> StoreResult<Self::Transaction<'_>> {
        (**self).transaction()
    }
}

impl<S: ClientStore + ?Sized> ClientStore for std::sync::Arc<S> {
    type Transaction<'a>
        = S::Transaction<'a>
    where
        Self: 'a;

    fn transaction(&self) -> StoreResult<Self::Transaction<'_>> {
        (**self).transaction()
    }
}

/// Reads the record at `key`.
pub(crate) fn get_record<T: StoreTransaction + ?Sized>(
    txn: &mut T,
    key: super::RecordKey<'_>,
) -> StoreResult<Option<Vec<u8>>> {
    use super::RecordKey as K;
    match key {
        K::Account => txn.account(),
        K::PeerIdentity(a) => txn.peer_identity(a),
        K::PeerUser(u) => txn.peer_user(u),
        K::SignedPreKey(id) => txn.signed_prekey(id),
        K::OneTimePreKey(id) => txn.one_time_prekey(id),
        K::KemPreKey(id) => txn.kem_prekey(id),
        K::LastResortKemPreKey(id) => txn.last_resort_kem_prekey(id),
        K::Sessions(a) => txn.sessions(a),
        K::Group(g) => txn.group(g),
        K::GroupSenderKeys(g, d) => txn.group_sender_keys(g, d),
    }
}

/// Writes the record at `key`.
pub(crate) fn put_record<T: StoreTransaction + ?Sized>(
    txn: &mut T,
    key: super::RecordKey<'_>,
    record: &[u8],
) -> StoreResult<()> {
    use super::RecordKey as K;
    match key {
        K::Account => txn.put_account(record),
        K::PeerIdentity(a) => txn.put_peer_identity(a, record),
        K::PeerUser(u) => txn.put_peer_user(u, record),
        K::SignedPreKey(id) => txn.put_signed_prekey(id, record),
        K::OneTimePreKey(id) => txn.put_one_time_prekey(id, record),
        K::KemPreKey(id) => txn.put_kem_prekey(id, record),
        K::LastResortKemPreKey(id) => txn.put_last_resort_kem_prekey(id, record),
        K::Sessions(a) => txn.put_sessions(a, record),
        K::Group(g) => txn.put_group(g, record),
        K::GroupSenderKeys(g, d) => txn.put_group_sender_keys(g, d, record),
    }
}
