//! An in-memory client store: every table in one mutex, one transaction at
//! a time, with an undo log so a dropped transaction leaves no trace.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    ClientStore, GroupStore, HandshakeLog, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore, StoreResult, StoreTransaction,
};
use crate::address::{DeviceAddress, UserAddress};
use crate::group::GroupId;

#[derive(Default)]
struct Tables {
    account: Option<Vec<u8>>,
    identities: BTreeMap<DeviceAddress, Vec<u8>>,
    users: BTreeMap<UserAddress, Vec<u8>>,
    signed: BTreeMap<u32, Vec<u8>>,
    one_time: BTreeMap<u32, Vec<u8>>,
    kem: BTreeMap<u32, Vec<u8>>,
    last_resort: BTreeMap<u32, Vec<u8>>,
    sessions: BTreeMap<DeviceAddress, Vec<u8>>,
    handshakes: BTreeMap<[u8; 32], u32>,
    groups: BTreeMap<GroupId, Vec<u8>>,
    group_sender_keys: BTreeMap<(GroupId, DeviceAddress), Vec<u8>>,
}

/// Which id-keyed prekey table an undo entry is about.
#[derive(Clone, Copy)]
enum PreKeyTable {
    Signed,
    OneTime,
    Kem,
    LastResort,
}

impl Tables {
    fn prekeys(&mut self, table: PreKeyTable) -> &mut BTreeMap<u32, Vec<u8>> {
        match table {
            PreKeyTable::Signed => &mut self.signed,
            PreKeyTable::OneTime => &mut self.one_time,
            PreKeyTable::Kem => &mut self.kem,
            PreKeyTable::LastResort => &mut self.last_resort,
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

/// A client store in memory, for tests and for apps that persist some
/// other way. Cheap to share: wrap it in an `Arc` and give each thread its
/// own [`Account`](crate::client::Account) over it.
///
/// Transactions are serialized by one mutex. A thread that panics inside a
/// transaction rolls it back as it unwinds (the undo log runs on drop), so
/// a poisoned mutex still guards consistent tables and is recovered.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
            tables: self.tables.lock().unwrap_or_else(PoisonError::into_inner),
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
        self.undo.clear();
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
