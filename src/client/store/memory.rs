//! An in-memory client store: every table in one mutex, one transaction at
//! a time, with an undo log so a dropped transaction leaves no trace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::records::{self, RecordChange};
use super::{
    ClientStore, GroupStore, HandshakeLog, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore, StoreResult, StoreTransaction,
};
use crate::StorageError;
use crate::address::{DeviceAddress, UserAddress};
use crate::group::GroupId;

#[derive(Default)]
pub(super) struct Tables {
    pub(super) account: Option<Vec<u8>>,
    pub(super) identities: BTreeMap<DeviceAddress, Vec<u8>>,
    pub(super) users: BTreeMap<UserAddress, Vec<u8>>,
    signed: BTreeMap<u32, Vec<u8>>,
    one_time: BTreeMap<u32, Vec<u8>>,
    kem: BTreeMap<u32, Vec<u8>>,
    last_resort: BTreeMap<u32, Vec<u8>>,
    pub(super) sessions: BTreeMap<DeviceAddress, Vec<u8>>,
    pub(super) handshakes: BTreeMap<[u8; 32], u32>,
    pub(super) groups: BTreeMap<GroupId, Vec<u8>>,
    pub(super) group_sender_keys: BTreeMap<(GroupId, DeviceAddress), Vec<u8>>,
    /// The records committed transactions changed since the last
    /// [`MemoryStore::take_changes`], when the store keeps a journal.
    journal: Option<BTreeSet<Key>>,
}

/// Where one record lives: its table and its key in that table.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    Account,
    Identity(DeviceAddress),
    User(UserAddress),
    Prekey(PreKeyTable, u32),
    Sessions(DeviceAddress),
    Handshake([u8; 32]),
    Group(GroupId),
    GroupSenderKeys((GroupId, DeviceAddress)),
}

/// Which id-keyed prekey table an undo entry is about.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PreKeyTable {
    Signed,
    OneTime,
    Kem,
    LastResort,
}

impl Tables {
    pub(super) fn prekeys(&mut self, table: PreKeyTable) -> &mut BTreeMap<u32, Vec<u8>> {
        match table {
            PreKeyTable::Signed => &mut self.signed,
            PreKeyTable::OneTime => &mut self.one_time,
            PreKeyTable::Kem => &mut self.kem,
            PreKeyTable::LastResort => &mut self.last_resort,
        }
    }

    pub(super) fn prekeys_ref(&self, table: PreKeyTable) -> &BTreeMap<u32, Vec<u8>> {
        match table {
            PreKeyTable::Signed => &self.signed,
            PreKeyTable::OneTime => &self.one_time,
            PreKeyTable::Kem => &self.kem,
            PreKeyTable::LastResort => &self.last_resort,
        }
    }
}

/// The value a write replaced, to put back on rollback.
enum Undo {
    Account(Option<Vec<u8>>),
    Identity(DeviceAddress, Option<Vec<u8>>),
    User(UserAddress, Option<Vec<u8>>),
    PreKey(PreKeyTable, u32, Option<Vec<u8>>),
    Sessions(DeviceAddress, Option<Vec<u8>>),
    Handshake([u8; 32], Option<u32>),
    Group(GroupId, Option<Vec<u8>>),
    GroupSenderKeys((GroupId, DeviceAddress), Option<Vec<u8>>),
}

impl Undo {
    /// The record the write was to.
    fn key(&self) -> Key {
        match self {
            Undo::Account(_) => Key::Account,
            Undo::Identity(d, _) => Key::Identity(d.clone()),
            Undo::User(u, _) => Key::User(u.clone()),
            Undo::PreKey(table, id, _) => Key::Prekey(*table, *id),
            Undo::Sessions(d, _) => Key::Sessions(d.clone()),
            Undo::Handshake(id, _) => Key::Handshake(*id),
            Undo::Group(g, _) => Key::Group(*g),
            Undo::GroupSenderKeys(k, _) => Key::GroupSenderKeys(k.clone()),
        }
    }
}

/// A client store in memory, for tests and for apps that persist some
/// other way. Cheap to share: wrap it in an `Arc` and give each thread its
/// own [`Account`](crate::client::Account) over it.
///
/// Transactions are serialized by one mutex. A thread that panics inside a
/// transaction rolls it back as it unwinds (the undo log runs on drop), so
/// a poisoned mutex still guards consistent tables and is recovered.
///
/// # Persisting the records elsewhere
/// An app that cannot give kinseal a synchronous store (a web page, whose
/// IndexedDB is asynchronous) can run the account on a `MemoryStore` and
/// copy its records out: [`journaled`](Self::journaled) starts a store
/// that remembers which records committed transactions changed,
/// [`take_changes`](Self::take_changes) hands them over after each
/// operation (to write in one transaction of the app's own store),
/// [`export_records`](Self::export_records) gives every record, and
/// [`from_records`](Self::from_records) rebuilds the store from them. The
/// records are sealed under the storage key: they are safe to write
/// anywhere. See the [`records`](super::records) module for the encoding.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that keeps a journal of the records committed
    /// transactions change, for [`take_changes`](Self::take_changes).
    pub fn journaled() -> Self {
        let store = Self::default();
        store.lock().journal = Some(BTreeSet::new());
        store
    }

    /// A journaled store holding `records`, each a key and a value as
    /// [`export_records`](Self::export_records) or
    /// [`take_changes`](Self::take_changes) gave them (the app's copy of
    /// the store, read back after a restart). The journal starts empty.
    ///
    /// # Errors
    /// [`StorageError::InvalidRecord`] when a key does not decode, a
    /// handshake-log value is not four bytes, or two records have the same
    /// key. The values are not opened here: a damaged sealed record fails
    /// when the account reads it.
    pub fn from_records<I, K, V>(records: I) -> Result<Self, StorageError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut tables = Tables {
            journal: Some(BTreeSet::new()),
            ..Tables::default()
        };
        for (key, value) in records {
            tables.insert_record(key.as_ref(), value.as_ref())?;
        }
        Ok(MemoryStore {
            tables: Mutex::new(tables),
        })
    }

    /// Every record in the store, as a key and a value, in key order.
    /// Waits for a transaction in progress (so a thread must not call it
    /// while it holds one).
    pub fn export_records(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let tables = self.lock();
        tables
            .keys()
            .iter()
            .filter_map(|k| Some((records::encode(k), tables.value_bytes(k)?)))
            .collect()
    }

    /// The records that transactions committed since the last call
    /// changed, each with its value now (`None`: removed), in key order,
    /// and empties the journal. Empty when the store keeps no journal (one
    /// from [`new`](Self::new)). A record changed and then changed back is
    /// still reported, with its value now. Waits for a transaction in
    /// progress, as [`export_records`](Self::export_records) does.
    pub fn take_changes(&self) -> Vec<RecordChange> {
        let mut tables = self.lock();
        let journal = match tables.journal.as_mut() {
            Some(journal) => core::mem::take(journal),
            None => return Vec::new(),
        };
        journal
            .iter()
            .map(|k| RecordChange {
                key: records::encode(k),
                value: tables.value_bytes(k),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

/// A transaction on a [`MemoryStore`]: holds the store's lock until it is
/// committed or dropped.
pub struct MemoryTransaction<'a> {
    tables: MutexGuard<'a, Tables>,
    undo: Vec<Undo>,
    /// The undo log's length at the savepoint, if one is set.
    savepoint: Option<usize>,
}

impl core::fmt::Debug for MemoryTransaction<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTransaction")
            .field("writes", &self.undo.len())
            .finish_non_exhaustive()
    }
}

impl ClientStore for MemoryStore {
    type Transaction<'a> = MemoryTransaction<'a>;

    fn transaction(&self) -> StoreResult<MemoryTransaction<'_>> {
        Ok(MemoryTransaction {
            tables: self.lock(),
            undo: Vec::new(),
            savepoint: None,
        })
    }
}

impl Drop for MemoryTransaction<'_> {
    fn drop(&mut self) {
        self.undo_to(0);
    }
}

impl MemoryTransaction<'_> {
    /// Undoes the writes logged after the first `len`, newest first.
    fn undo_to(&mut self, len: usize) {
        while self.undo.len() > len {
            let Some(undo) = self.undo.pop() else { break };
            let t = &mut *self.tables;
            match undo {
                Undo::Account(old) => t.account = old,
                Undo::Identity(peer, old) => restore(&mut t.identities, peer, old),
                Undo::User(user, old) => restore(&mut t.users, user, old),
                Undo::PreKey(table, id, old) => restore(t.prekeys(table), id, old),
                Undo::Sessions(peer, old) => restore(&mut t.sessions, peer, old),
                Undo::Handshake(id, old) => restore(&mut t.handshakes, id, old),
                Undo::Group(id, old) => restore(&mut t.groups, id, old),
                Undo::GroupSenderKeys(key, old) => restore(&mut t.group_sender_keys, key, old),
            }
        }
    }
}

fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

impl StoreTransaction for MemoryTransaction<'_> {
    fn commit(mut self) -> StoreResult<()> {
        let undo = core::mem::take(&mut self.undo);
        if let Some(journal) = self.tables.journal.as_mut() {
            journal.extend(undo.iter().map(Undo::key));
        }
        Ok(())
    }

    fn savepoint(&mut self) -> StoreResult<()> {
        self.savepoint = Some(self.undo.len());
        Ok(())
    }

    fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        if let Some(len) = self.savepoint {
            self.undo_to(len);
        }
        Ok(())
    }

    fn release_savepoint(&mut self) -> StoreResult<()> {
        self.savepoint = None;
        Ok(())
    }
}

impl IdentityStore for MemoryTransaction<'_> {
    fn account(&mut self) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables.account.clone())
    }

    fn put_account(&mut self, record: &[u8]) -> StoreResult<()> {
        let old = self.tables.account.replace(record.to_vec());
        self.undo.push(Undo::Account(old));
        Ok(())
    }

    fn peer_identity(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables.identities.get(peer).cloned())
    }

    fn put_peer_identity(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        let old = self.tables.identities.insert(peer.clone(), record.to_vec());
        self.undo.push(Undo::Identity(peer.clone(), old));
        Ok(())
    }

    fn peer_identity_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        Ok(self.tables.identities.keys().cloned().collect())
    }

    fn peer_user(&mut self, user: &UserAddress) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables.users.get(user).cloned())
    }

    fn put_peer_user(&mut self, user: &UserAddress, record: &[u8]) -> StoreResult<()> {
        let old = self.tables.users.insert(user.clone(), record.to_vec());
        self.undo.push(Undo::User(user.clone(), old));
        Ok(())
    }

    fn peer_user_addresses(&mut self) -> StoreResult<Vec<UserAddress>> {
        Ok(self.tables.users.keys().cloned().collect())
    }
}

impl MemoryTransaction<'_> {
    fn get_prekey(&mut self, table: PreKeyTable, id: u32) -> Option<Vec<u8>> {
        self.tables.prekeys(table).get(&id).cloned()
    }

    fn put_prekey(&mut self, table: PreKeyTable, id: u32, record: &[u8]) {
        let old = self.tables.prekeys(table).insert(id, record.to_vec());
        self.undo.push(Undo::PreKey(table, id, old));
    }

    fn remove_prekey(&mut self, table: PreKeyTable, id: u32) -> bool {
        let old = self.tables.prekeys(table).remove(&id);
        let existed = old.is_some();
        if existed {
            self.undo.push(Undo::PreKey(table, id, old));
        }
        existed
    }

    fn prekey_ids(&mut self, table: PreKeyTable) -> Vec<u32> {
        self.tables.prekeys(table).keys().copied().collect()
    }
}

macro_rules! memory_prekey_store {
    ($trait:ident, $table:expr, $get:ident, $put:ident, $remove:ident, $ids:ident) => {
        impl $trait for MemoryTransaction<'_> {
            fn $get(&mut self, id: u32) -> StoreResult<Option<Vec<u8>>> {
                Ok(self.get_prekey($table, id))
            }

            fn $put(&mut self, id: u32, record: &[u8]) -> StoreResult<()> {
                self.put_prekey($table, id, record);
                Ok(())
            }

            fn $remove(&mut self, id: u32) -> StoreResult<bool> {
                Ok(self.remove_prekey($table, id))
            }

            fn $ids(&mut self) -> StoreResult<Vec<u32>> {
                Ok(self.prekey_ids($table))
            }
        }
    };
}

memory_prekey_store!(
    SignedPreKeyStore,
    PreKeyTable::Signed,
    signed_prekey,
    put_signed_prekey,
    remove_signed_prekey,
    signed_prekey_ids
);
memory_prekey_store!(
    OneTimePreKeyStore,
    PreKeyTable::OneTime,
    one_time_prekey,
    put_one_time_prekey,
    remove_one_time_prekey,
    one_time_prekey_ids
);
memory_prekey_store!(
    KemPreKeyStore,
    PreKeyTable::Kem,
    kem_prekey,
    put_kem_prekey,
    remove_kem_prekey,
    kem_prekey_ids
);
memory_prekey_store!(
    LastResortKemPreKeyStore,
    PreKeyTable::LastResort,
    last_resort_kem_prekey,
    put_last_resort_kem_prekey,
    remove_last_resort_kem_prekey,
    last_resort_kem_prekey_ids
);

impl SessionStore for MemoryTransaction<'_> {
    fn sessions(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables.sessions.get(peer).cloned())
    }

    fn put_sessions(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        let old = self.tables.sessions.insert(peer.clone(), record.to_vec());
        self.undo.push(Undo::Sessions(peer.clone(), old));
        Ok(())
    }

    fn remove_sessions(&mut self, peer: &DeviceAddress) -> StoreResult<bool> {
        let old = self.tables.sessions.remove(peer);
        let existed = old.is_some();
        if existed {
            self.undo.push(Undo::Sessions(peer.clone(), old));
        }
        Ok(existed)
    }

    fn session_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        Ok(self.tables.sessions.keys().cloned().collect())
    }
}

impl GroupStore for MemoryTransaction<'_> {
    fn group(&mut self, group: &GroupId) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.tables.groups.get(group).cloned())
    }

    fn put_group(&mut self, group: &GroupId, record: &[u8]) -> StoreResult<()> {
        let old = self.tables.groups.insert(*group, record.to_vec());
        self.undo.push(Undo::Group(*group, old));
        Ok(())
    }

    fn remove_group(&mut self, group: &GroupId) -> StoreResult<bool> {
        let old = self.tables.groups.remove(group);
        let existed = old.is_some();
        if existed {
            self.undo.push(Undo::Group(*group, old));
        }
        Ok(existed)
    }

    fn group_ids(&mut self) -> StoreResult<Vec<GroupId>> {
        Ok(self.tables.groups.keys().copied().collect())
    }

    fn group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<Option<Vec<u8>>> {
        let key = (*group, sender.clone());
        Ok(self.tables.group_sender_keys.get(&key).cloned())
    }

    fn put_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
        record: &[u8],
    ) -> StoreResult<()> {
        let key = (*group, sender.clone());
        let old = self
            .tables
            .group_sender_keys
            .insert(key.clone(), record.to_vec());
        self.undo.push(Undo::GroupSenderKeys(key, old));
        Ok(())
    }

    fn remove_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<bool> {
        let key = (*group, sender.clone());
        let old = self.tables.group_sender_keys.remove(&key);
        let existed = old.is_some();
        if existed {
            self.undo.push(Undo::GroupSenderKeys(key, old));
        }
        Ok(existed)
    }

    fn group_senders(&mut self, group: &GroupId) -> StoreResult<Vec<DeviceAddress>> {
        Ok(self
            .tables
            .group_sender_keys
            .keys()
            .filter(|(g, _)| g == group)
            .map(|(_, d)| d.clone())
            .collect())
    }
}

impl HandshakeLog for MemoryTransaction<'_> {
    fn contains_handshake(&mut self, handshake_id: &[u8; 32]) -> StoreResult<bool> {
        Ok(self.tables.handshakes.contains_key(handshake_id))
    }

    fn record_handshake(
        &mut self,
        handshake_id: &[u8; 32],
        last_resort_id: u32,
    ) -> StoreResult<()> {
        let old = self.tables.handshakes.insert(*handshake_id, last_resort_id);
        self.undo.push(Undo::Handshake(*handshake_id, old));
        Ok(())
    }

    fn handshake_count(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        Ok((self.tables.handshakes.values())
            .filter(|k| **k == last_resort_id)
            .count())
    }

    fn forget_handshakes(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        let ids: Vec<[u8; 32]> = self
            .tables
            .handshakes
            .iter()
            .filter(|(_, k)| **k == last_resort_id)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.tables.handshakes.remove(id);
            self.undo.push(Undo::Handshake(*id, Some(last_resort_id)));
        }
        Ok(ids.len())
    }
}
