//! The user records an account keeps (its own and each peer user's: the
//! user key, the trust decision and the latest verified device list),
//! and the cache of verified ones.

use rand_core::CryptoRng;

use super::Account;
use super::cache::LruMap;
use crate::address::UserAddress;
use crate::client::keyring::{RecordKey, StorageKeyring};
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::{KnownUser, TrustPolicy};
use crate::limits::USER_RECORD_CACHE;
use crate::wire::{Frame, PeerUserFrame};
use crate::{DeviceList, StorageError, VerifiedDeviceList};

/// Writes the record of `list`'s user: its key, the trust decision and
/// the list.
pub(super) fn store_user<T: StoreTransaction, R: CryptoRng + ?Sized>(
    txn: &mut T,
    keyring: &StorageKeyring,
    rng: &mut R,
    list: &VerifiedDeviceList,
    verified: bool,
    first_seen: u64,
) -> crate::Result<()> {
    let bytes = list.to_bytes();
    let frame = PeerUserFrame {
        user_key: list.user_key().to_bytes(),
        verified,
        first_seen,
        device_list: &bytes,
    };
    let user = list.address();
    let sealed = keyring.seal(rng, RecordKey::PeerUser(user), &frame.to_vec())?;
    Ok(txn.put_peer_user(user, &sealed)?)
}

/// Reads the record of `user`, if there is one. The list is decoded and
/// verified again: a record that does not hold a list signed by its key
/// is refused as invalid.
fn open_user(
    keyring: &StorageKeyring,
    user: &UserAddress,
    sealed: &[u8],
) -> crate::Result<KnownUser> {
    let key = RecordKey::PeerUser(user);
    let plain = keyring.open_raw(key, sealed)?;
    let invalid = StorageError::InvalidRecord { table: key.table() };
    let frame = PeerUserFrame::decode(&plain).map_err(|_| invalid.clone())?;
    let list = DeviceList::from_bytes(frame.device_list)
        .and_then(DeviceList::verify)
        .map_err(|_| invalid.clone())?;
    if list.user_key().to_bytes() != frame.user_key || list.address() != user {
        return Err(invalid.into());
    }
    Ok(KnownUser::new(list, frame.verified, frame.first_seen))
}

/// Verified user records of recently used users, each with the exact
/// sealed record it was opened from.
///
/// Opening a record verifies its device list again: a signature and a
/// subgroup check per identity key, about 50 µs per device, which a
/// fan-out to a person's 16 devices would pay on every message. A record
/// is used from here only while the store holds byte-for-byte the sealed
/// record it was opened from (sealing draws a fresh nonce, so any write
/// by anyone changes the bytes), as the session cache does; an entry
/// whose record was never committed is never matched again.
///
/// At most [`USER_RECORD_CACHE`] users; when full, the least recently
/// used one makes room.
#[derive(Default)]
pub(super) struct UserCache {
    /// By user: the sealed record and what it opened to.
    entries: LruMap<UserAddress, (Vec<u8>, KnownUser), USER_RECORD_CACHE>,
}

impl UserCache {
    fn get(&mut self, user: &UserAddress, sealed: &[u8]) -> Option<&KnownUser> {
        let (s, known) = self.entries.get(user)?;
        (s.as_slice() == sealed).then_some(known)
    }

    fn put(&mut self, user: &UserAddress, sealed: Vec<u8>, known: KnownUser) {
        self.entries.put(user.clone(), (sealed, known));
    }
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The record of `user`, if there is one, from the cache when it holds
    /// exactly the sealed record the store holds.
    pub(super) fn load_user<T: StoreTransaction>(
        &self,
        txn: &mut T,
        user: &UserAddress,
    ) -> crate::Result<Option<KnownUser>> {
        self.with_user(txn, user, KnownUser::clone)
    }

    /// As [`Account::load_user`], but hands `f` the record where it is
    /// (in the cache, or just opened) instead of a copy of it: a fan-out
    /// over a group's members reads each member's list without copying
    /// it. `f` runs with the user cache locked, so it must not load users.
    pub(super) fn with_user<T: StoreTransaction, O>(
        &self,
        txn: &mut T,
        user: &UserAddress,
        f: impl FnOnce(&KnownUser) -> O,
    ) -> crate::Result<Option<O>> {
        let Some(sealed) = txn.peer_user(user)? else {
            return Ok(None);
        };
        let mut cache = self.user_cache();
        if let Some(known) = cache.get(user, &sealed) {
            return Ok(Some(f(known)));
        }
        let known = open_user(&self.keyring, user, &sealed)?;
        let out = f(&known);
        cache.put(user, sealed, known);
        Ok(Some(out))
    }

    fn user_cache(&self) -> std::sync::MutexGuard<'_, UserCache> {
        super::lock_cache(&self.users)
    }
}
