//! Prekeys: rotation by age, replenishment, uploads, and the lookups a
//! `PreKeyMessage` needs.

use rand_core::CryptoRng;

use super::{Account, load_account};
use crate::client::keyring::RecordKey;
use crate::client::store::{
    ClientStore, HandshakeLog, IdentityStore, LastResortKemPreKeyStore, SignedPreKeyStore,
    StoreTransaction,
};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, MisuseError, PreKeyRole};
use crate::keys::{PreKeyCounts, PreKeyUpload};
use crate::limits::{MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD};
use crate::wire::Frame;
use crate::{
    KemPreKey, KemPreKeyPair, OneTimePreKey, OneTimePreKeyPair, SignedPreKey, SignedPreKeyPair,
    StorageError,
};

/// The public prekeys [`Account::refresh_prekeys`] made, to upload with
/// [`Account::upload_bytes`].
#[derive(Debug, Clone, Default)]
pub struct PreKeyUpdate {
    signed: Option<SignedPreKey>,
    last_resort: Option<KemPreKey>,
    one_time: Vec<OneTimePreKey>,
    kem: Vec<KemPreKey>,
    retired: usize,
}

impl PreKeyUpdate {
    /// Whether there is nothing to upload.
    pub fn is_empty(&self) -> bool {
        self.signed.is_none()
            && self.last_resort.is_none()
            && self.one_time.is_empty()
            && self.kem.is_empty()
    }

    /// The new signed prekey, if the old one was due for rotation.
    pub fn signed_prekey(&self) -> Option<&SignedPreKey> {
        self.signed.as_ref()
    }

    /// The new last-resort ML-KEM prekey (rotated with the signed prekey).
    pub fn last_resort_prekey(&self) -> Option<&KemPreKey> {
        self.last_resort.as_ref()
    }

    /// New one-time X25519 prekeys.
    pub fn one_time_prekeys(&self) -> &[OneTimePreKey] {
        &self.one_time
    }

    /// New one-time ML-KEM prekeys.
    pub fn kem_prekeys(&self) -> &[KemPreKey] {
        &self.kem
    }

    /// How many replaced signed and last-resort prekeys were deleted
    /// because their grace period ended.
    pub fn retired(&self) -> usize {
        self.retired
    }
}

/// A stored rotating key: its id and creation time.
struct Dated {
    id: u32,
    created_at: u64,
}

/// The ids of keys superseded for at least `grace` seconds: every key but
/// the newest whose successor was made `grace` or more seconds ago.
fn retirable(mut keys: Vec<Dated>, grace: u64, now: u64) -> Vec<u32> {
    keys.sort_by_key(|k| (k.created_at, k.id));
    keys.windows(2)
        .filter_map(|w| match w {
            [old, successor] if now.saturating_sub(successor.created_at) >= grace => Some(old.id),
            _ => None,
        })
        .collect()
}

fn next_id(counter: &mut u32, count: usize) -> crate::Result<u32> {
    let first = *counter;
    let end = u32::try_from(count)
        .ok()
        .and_then(|c| first.checked_add(c))
        .ok_or(MisuseError::BatchTooLarge {
            max: (u32::MAX - first) as usize,
            found: count,
        })?;
    *counter = end;
    Ok(first)
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// How many one-time prekeys of each kind (X25519, ML-KEM) to make so
    /// that the directory holds the configured target again, given the
    /// counts it reported (`None`: it holds none, as at registration).
    pub fn one_time_prekeys_needed(&self, published: Option<PreKeyCounts>) -> (usize, usize) {
        let target = self.config.one_time_prekey_target;
        let (ec, kem) = published.map_or((0, 0), |c| (c.one_time(), c.kem()));
        (
            target
                .saturating_sub(ec)
                .min(MAX_ONE_TIME_PREKEYS_PER_UPLOAD),
            target.saturating_sub(kem).min(MAX_KEM_PREKEYS_PER_UPLOAD),
        )
    }

    /// Brings the prekeys up to date, in one transaction:
    /// - makes a new signed prekey and last-resort ML-KEM prekey if there
    ///   is none or the newest is older than the rotation age;
    /// - deletes replaced ones whose grace period is over (and the
    ///   handshake log entries of those last-resort KEM prekeys);
    /// - makes the one-time prekeys [`Account::one_time_prekeys_needed`]
    ///   says, given the counts the directory reported.
    ///
    /// Upload the result with [`Account::upload_bytes`]. Ids only grow, as
    /// the directory requires.
    ///
    /// # Errors
    /// [`MisuseError::BatchTooLarge`] if a prekey id space is exhausted; a
    /// [`StorageError`] if the store fails.
    pub fn refresh_prekeys<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        now: u64,
        published: Option<PreKeyCounts>,
    ) -> crate::Result<PreKeyUpdate> {
        super::trace::traced("refresh_prekeys", 0, || {
            let mut txn = self.store.transaction()?;
            let mut account = load_account(&mut txn, &self.keyring)?;
            let mut update = PreKeyUpdate::default();

            let mut signed = Vec::new();
            for id in txn.signed_prekey_ids()? {
                let key = self.load_signed_prekey(&mut txn, id)?;
                signed.push(Dated {
                    id,
                    created_at: key.public().created_at(),
                });
            }
            let mut last_resort = Vec::new();
            for id in txn.last_resort_kem_prekey_ids()? {
                let key = self.load_kem_prekey(&mut txn, RecordKey::LastResortKemPreKey(id))?;
                last_resort.push(Dated {
                    id,
                    created_at: key.public().created_at(),
                });
            }
            let newest = signed.iter().map(|k| k.created_at).max();
            if newest.is_none_or(|t| now.saturating_sub(t) >= self.config.signed_prekey_rotation) {
                let id = next_id(&mut account.next_signed_id, 1)?;
                let spk = SignedPreKeyPair::generate(rng, &self.identity, id, now);
                self.put_sealed(&mut txn, rng, RecordKey::SignedPreKey(id), &spk.to_bytes())?;
                signed.push(Dated {
                    id,
                    created_at: now,
                });
                update.signed = Some(spk.public().clone());

                let id = next_id(&mut account.next_kem_id, 1)?;
                let kem = KemPreKeyPair::generate(rng, &self.identity, id, true, now);
                self.put_sealed(
                    &mut txn,
                    rng,
                    RecordKey::LastResortKemPreKey(id),
                    &kem.to_bytes(),
                )?;
                last_resort.push(Dated {
                    id,
                    created_at: now,
                });
                update.last_resort = Some(kem.public().clone());
            }
            let grace = self.config.signed_prekey_grace;
            for id in retirable(signed, grace, now) {
                txn.remove_signed_prekey(id)?;
                update.retired += 1;
            }
            for id in retirable(last_resort, grace, now) {
                txn.remove_last_resort_kem_prekey(id)?;
                txn.forget_handshakes(id)?;
                update.retired += 1;
            }

            let (ec, kem) = self.one_time_prekeys_needed(published);
            let first = next_id(&mut account.next_one_time_id, ec)?;
            for key in OneTimePreKeyPair::generate_batch(rng, first, ec)? {
                self.put_sealed(
                    &mut txn,
                    rng,
                    RecordKey::OneTimePreKey(key.id()),
                    &key.to_bytes(),
                )?;
                update.one_time.push(*key.public());
            }
            let first = next_id(&mut account.next_kem_id, kem)?;
            for key in KemPreKeyPair::generate_batch(rng, &self.identity, first, kem, now)? {
                self.put_sealed(
                    &mut txn,
                    rng,
                    RecordKey::KemPreKey(key.id()),
                    &key.to_bytes(),
                )?;
                update.kem.push(key.public().clone());
            }

            let sealed = self
                .keyring
                .seal(rng, RecordKey::Account, &account.to_secret_vec())?;
            txn.put_account(&sealed)?;
            txn.commit()?;
            Ok(update)
        })
    }

    /// The signed upload of `update`, for the directory
    /// (`PreKeyDirectory::upload` in `kinseal::server`).
    ///
    /// # Errors
    /// [`UploadError::Empty`](crate::UploadError::Empty) if the update is empty.
    pub fn upload_bytes(&self, update: &PreKeyUpdate) -> crate::Result<Vec<u8>> {
        let mut builder = PreKeyUpload::builder(&self.identity);
        if let Some(spk) = &update.signed {
            builder = builder.signed_prekey(spk);
        }
        if let Some(kem) = &update.last_resort {
            builder = builder.last_resort_prekey(kem);
        }
        builder
            .one_time_prekeys(&update.one_time)
            .kem_prekeys(&update.kem)
            .to_bytes()
    }

    fn put_sealed<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        key: RecordKey<'_>,
        plain: &[u8],
    ) -> crate::Result<()> {
        let sealed = self.keyring.seal(rng, key, plain)?;
        Ok(crate::client::store::put_record(txn, key, &sealed)?)
    }

    /// Opens a stored key pair encoding; `None` if there is none.
    fn open_key<T: StoreTransaction>(
        &self,
        txn: &mut T,
        key: RecordKey<'_>,
    ) -> crate::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        match crate::client::store::get_record(txn, key)? {
            None => Ok(None),
            Some(sealed) => Ok(Some(self.keyring.open_raw(key, &sealed)?)),
        }
    }

    pub(super) fn load_signed_prekey<T: StoreTransaction>(
        &self,
        txn: &mut T,
        id: u32,
    ) -> crate::Result<SignedPreKeyPair> {
        let key = RecordKey::SignedPreKey(id);
        let plain = self
            .open_key(txn, key)?
            .ok_or(AccountError::UnknownPreKey {
                prekey: PreKeyRole::Signed,
                id,
            })?;
        let pair = SignedPreKeyPair::from_bytes(&plain).map_err(|_| invalid(key))?;
        // A record must be the one its place says.
        if pair.id() != id {
            return Err(invalid(key));
        }
        Ok(pair)
    }

    pub(super) fn load_one_time_prekey<T: StoreTransaction>(
        &self,
        txn: &mut T,
        id: u32,
    ) -> crate::Result<OneTimePreKeyPair> {
        let key = RecordKey::OneTimePreKey(id);
        let plain = self
            .open_key(txn, key)?
            .ok_or(AccountError::UnknownPreKey {
                prekey: PreKeyRole::OneTime,
                id,
            })?;
        let pair = OneTimePreKeyPair::from_bytes(&plain).map_err(|_| invalid(key))?;
        if pair.id() != id {
            return Err(invalid(key));
        }
        Ok(pair)
    }

    /// The ML-KEM prekey with this id, one-time or last-resort.
    pub(super) fn find_kem_prekey<T: StoreTransaction>(
        &self,
        txn: &mut T,
        id: u32,
    ) -> crate::Result<KemPreKeyPair> {
        for key in [RecordKey::KemPreKey(id), RecordKey::LastResortKemPreKey(id)] {
            if let Some(plain) = self.open_key(txn, key)? {
                return kem_from_record(key, &plain);
            }
        }
        Err(AccountError::UnknownPreKey {
            prekey: PreKeyRole::Kem,
            id,
        }
        .into())
    }

    /// Loads the ML-KEM prekey at `key`, which must be of the kind and id
    /// its place says.
    fn load_kem_prekey<T: StoreTransaction>(
        &self,
        txn: &mut T,
        key: RecordKey<'_>,
    ) -> crate::Result<KemPreKeyPair> {
        let plain = self.open_key(txn, key)?.ok_or_else(|| invalid(key))?;
        kem_from_record(key, &plain)
    }
}

/// Decodes the ML-KEM prekey pair encoding opened from `key`, which must be of the
/// kind and id its place says.
fn kem_from_record(key: RecordKey<'_>, plain: &[u8]) -> crate::Result<KemPreKeyPair> {
    let pair = KemPreKeyPair::from_bytes(plain).map_err(|_| invalid(key))?;
    let fits = match key {
        RecordKey::KemPreKey(id) => !pair.is_last_resort() && pair.id() == id,
        RecordKey::LastResortKemPreKey(id) => pair.is_last_resort() && pair.id() == id,
        _ => false,
    };
    if !fits {
        return Err(invalid(key));
    }
    Ok(pair)
}

fn invalid(key: RecordKey<'_>) -> crate::Error {
    StorageError::InvalidRecord { table: key.table() }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_retires_once_its_successor_is_older_than_the_grace() {
        let keys = |v: &[(u32, u64)]| {
            v.iter()
                .map(|&(id, created_at)| Dated { id, created_at })
                .collect::<Vec<_>>()
        };
        assert!(retirable(keys(&[(1, 100)]), 10, 1000).is_empty());
        assert_eq!(retirable(keys(&[(2, 200), (1, 100)]), 10, 210), vec![1]);
        assert!(retirable(keys(&[(2, 200), (1, 100)]), 10, 209).is_empty());
        assert_eq!(
            retirable(keys(&[(1, 100), (2, 200), (3, 300)]), 50, 320),
            vec![1]
        );
    }

    #[test]
    fn ids_never_wrap() {
        let mut c = u32::MAX - 2;
        assert_eq!(next_id(&mut c, 2).unwrap(), u32::MAX - 2);
        assert_eq!(c, u32::MAX);
        assert!(next_id(&mut c, 1).is_err());
        assert_eq!(c, u32::MAX);
    }
}
