//! A [`MemoryStore`](super::MemoryStore)'s records as keyed bytes, for an app that persists
//! them somewhere kinseal cannot write synchronously (IndexedDB in a
//! browser): a snapshot of every record, a journal of the records that
//! committed transactions changed, and a store rebuilt from the records.
//!
//! Every value is what the store holds: a record sealed under the storage
//! key (or, for the handshake log, a last-resort key id). Nothing here
//! opens or exposes a secret.
//!
//! # Key encoding
//! A key is one tag byte followed by the record's address, so keys of
//! different tables never collide and byte order groups a table together:
//!
//! | tag | table | rest of the key |
//! | --- | --- | --- |
//! | 0 | account | nothing |
//! | 1 | peer identities | device |
//! | 2 | users | user |
//! | 3 | signed prekeys | id |
//! | 4 | one-time prekeys | id |
//! | 5 | one-time KEM prekeys | id |
//! | 6 | last-resort KEM prekeys | id |
//! | 7 | sessions | device |
//! | 8 | handshake log | 32-byte handshake id |
//! | 9 | groups | 32-byte group id |
//! | 10 | group sender keys | 32-byte group id, device |
//!
//! A user is its app id's length (one byte), the app id, its user id's
//! length (two bytes, big-endian) and the user id; a device is its user
//! and its device id; an id is four bytes, big-endian (so byte order is
//! numeric order). A handshake-log value is the last-resort KEM prekey id,
//! four bytes big-endian.

use std::collections::BTreeMap;

use super::memory::{Key, PreKeyTable, Tables};
use crate::StorageError;
use crate::address::{DeviceAddress, UserAddress};
use crate::group::GroupId;
use crate::sizes::GROUP_ID_LEN;

/// The length of a handshake id, a key of the handshake log.
const HANDSHAKE_ID_LEN: usize = 32;

/// One record as [`MemoryStore::take_changes`](super::MemoryStore::take_changes)
/// reports it: its key (see the [module docs](self) for the encoding) and
/// its value now, or `None` when the record was removed.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordChange {
    /// The record's key.
    pub key: Vec<u8>,
    /// The record's value (sealed), or `None`: delete the key.
    pub value: Option<Vec<u8>>,
}

impl core::fmt::Debug for RecordChange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecordChange")
            .field("key_len", &self.key.len())
            .field("value_len", &self.value.as_ref().map(Vec::len))
            .finish()
    }
}

const TAG_ACCOUNT: u8 = 0;
const TAG_IDENTITY: u8 = 1;
const TAG_USER: u8 = 2;
const TAG_SIGNED: u8 = 3;
const TAG_ONE_TIME: u8 = 4;
const TAG_KEM: u8 = 5;
const TAG_LAST_RESORT: u8 = 6;
const TAG_SESSIONS: u8 = 7;
const TAG_HANDSHAKE: u8 = 8;
const TAG_GROUP: u8 = 9;
const TAG_GROUP_SENDER_KEYS: u8 = 10;

fn prekey_tag(table: PreKeyTable) -> u8 {
    match table {
        PreKeyTable::Signed => TAG_SIGNED,
        PreKeyTable::OneTime => TAG_ONE_TIME,
        PreKeyTable::Kem => TAG_KEM,
        PreKeyTable::LastResort => TAG_LAST_RESORT,
    }
}

fn put_user(out: &mut Vec<u8>, user: &UserAddress) {
    // The lengths fit: MAX_APP_ID_LEN is 64 and MAX_USER_ID_LEN 256.
    let (app, id) = (user.app_id(), user.user_id());
    out.push(u8::try_from(app.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(app);
    out.extend_from_slice(&u16::try_from(id.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(id);
}

fn put_device(out: &mut Vec<u8>, device: &DeviceAddress) {
    put_user(out, device.user());
    out.extend_from_slice(&device.device_id().to_be_bytes());
}

/// The encoding of a key (see the module docs).
pub(super) fn encode(key: &Key) -> Vec<u8> {
    let mut out = Vec::new();
    match key {
        Key::Account => out.push(TAG_ACCOUNT),
        Key::Identity(d) => {
            out.push(TAG_IDENTITY);
            put_device(&mut out, d);
        }
        Key::User(u) => {
            out.push(TAG_USER);
            put_user(&mut out, u);
        }
        Key::Prekey(table, id) => {
            out.push(prekey_tag(*table));
            out.extend_from_slice(&id.to_be_bytes());
        }
        Key::Sessions(d) => {
            out.push(TAG_SESSIONS);
            put_device(&mut out, d);
        }
        Key::Handshake(id) => {
            out.push(TAG_HANDSHAKE);
            out.extend_from_slice(id);
        }
        Key::Group(g) => {
            out.push(TAG_GROUP);
            out.extend_from_slice(g.as_bytes());
        }
        Key::GroupSenderKeys((g, d)) => {
            out.push(TAG_GROUP_SENDER_KEYS);
            out.extend_from_slice(g.as_bytes());
            put_device(&mut out, d);
        }
    }
    out
}

/// A reader over a key's bytes; every failure is an invalid record.
struct Reader<'a> {
    rest: &'a [u8],
}

/// The error for a key or value that does not decode.
fn invalid() -> StorageError {
    StorageError::InvalidRecord { table: "records" }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.rest.len() < n {
            return Err(invalid());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StorageError> {
        self.take(N)?.try_into().map_err(|_| invalid())
    }

    fn u32(&mut self) -> Result<u32, StorageError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn user(&mut self) -> Result<UserAddress, StorageError> {
        let [app_len] = self.array::<1>()?;
        let app = self.take(usize::from(app_len))?;
        let id_len = u16::from_be_bytes(self.array()?);
        let id = self.take(usize::from(id_len))?;
        UserAddress::new(app, id).map_err(|_| invalid())
    }

    fn device(&mut self) -> Result<DeviceAddress, StorageError> {
        let user = self.user()?;
        Ok(user.device(self.u32()?))
    }

    fn group(&mut self) -> Result<GroupId, StorageError> {
        Ok(GroupId::from_bytes(self.array::<GROUP_ID_LEN>()?))
    }

    fn end(self) -> Result<(), StorageError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(invalid())
        }
    }
}

/// Decodes a key (see the module docs).
fn decode(bytes: &[u8]) -> Result<Key, StorageError> {
    let mut r = Reader { rest: bytes };
    let [tag] = r.array::<1>()?;
    let key = match tag {
        TAG_ACCOUNT => Key::Account,
        TAG_IDENTITY => Key::Identity(r.device()?),
        TAG_USER => Key::User(r.user()?),
        TAG_SIGNED => Key::Prekey(PreKeyTable::Signed, r.u32()?),
        TAG_ONE_TIME => Key::Prekey(PreKeyTable::OneTime, r.u32()?),
        TAG_KEM => Key::Prekey(PreKeyTable::Kem, r.u32()?),
        TAG_LAST_RESORT => Key::Prekey(PreKeyTable::LastResort, r.u32()?),
        TAG_SESSIONS => Key::Sessions(r.device()?),
        TAG_HANDSHAKE => Key::Handshake(r.array::<HANDSHAKE_ID_LEN>()?),
        TAG_GROUP => Key::Group(r.group()?),
        TAG_GROUP_SENDER_KEYS => {
            let group = r.group()?;
            Key::GroupSenderKeys((group, r.device()?))
        }
        _ => return Err(invalid()),
    };
    r.end()?;
    Ok(key)
}

fn insert_new<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: V) -> Result<(), StorageError> {
    match map.insert(key, value) {
        None => Ok(()),
        Some(_) => Err(invalid()),
    }
}

impl Tables {
    /// The value at `key` as bytes, if there is one.
    pub(super) fn value_bytes(&self, key: &Key) -> Option<Vec<u8>> {
        match key {
            Key::Account => self.account.clone(),
            Key::Identity(d) => self.identities.get(d).cloned(),
            Key::User(u) => self.users.get(u).cloned(),
            Key::Prekey(table, id) => self.prekeys_ref(*table).get(id).cloned(),
            Key::Sessions(d) => self.sessions.get(d).cloned(),
            Key::Handshake(id) => self.handshakes.get(id).map(|k| k.to_be_bytes().to_vec()),
            Key::Group(g) => self.groups.get(g).cloned(),
            Key::GroupSenderKeys(k) => self.group_sender_keys.get(k).cloned(),
        }
    }

    /// Every key that has a value.
    pub(super) fn keys(&self) -> Vec<Key> {
        let mut keys = Vec::new();
        if self.account.is_some() {
            keys.push(Key::Account);
        }
        keys.extend(self.identities.keys().cloned().map(Key::Identity));
        keys.extend(self.users.keys().cloned().map(Key::User));
        for table in [
            PreKeyTable::Signed,
            PreKeyTable::OneTime,
            PreKeyTable::Kem,
            PreKeyTable::LastResort,
        ] {
            keys.extend(
                self.prekeys_ref(table)
                    .keys()
                    .map(|id| Key::Prekey(table, *id)),
            );
        }
        keys.extend(self.sessions.keys().cloned().map(Key::Sessions));
        keys.extend(self.handshakes.keys().copied().map(Key::Handshake));
        keys.extend(self.groups.keys().copied().map(Key::Group));
        keys.extend(
            self.group_sender_keys
                .keys()
                .cloned()
                .map(Key::GroupSenderKeys),
        );
        keys
    }

    /// Adds one record from its key and value bytes.
    pub(super) fn insert_record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let value_vec = value.to_vec();
        match decode(key)? {
            Key::Account => {
                if self.account.replace(value_vec).is_some() {
                    return Err(invalid());
                }
                Ok(())
            }
            Key::Identity(d) => insert_new(&mut self.identities, d, value_vec),
            Key::User(u) => insert_new(&mut self.users, u, value_vec),
            Key::Prekey(table, id) => insert_new(self.prekeys(table), id, value_vec),
            Key::Sessions(d) => insert_new(&mut self.sessions, d, value_vec),
            Key::Handshake(id) => {
                let last_resort = u32::from_be_bytes(value.try_into().map_err(|_| invalid())?);
                insert_new(&mut self.handshakes, id, last_resort)
            }
            Key::Group(g) => insert_new(&mut self.groups, g, value_vec),
            Key::GroupSenderKeys(k) => insert_new(&mut self.group_sender_keys, k, value_vec),
        }
    }
}
