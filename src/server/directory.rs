//! The `PreKeyDirectory` trait, what its operations return, and the rules
//! every implementation applies in the same way.

use super::route::PreKeyIds;
use crate::address::{DeviceAddress, UserAddress};
use crate::error::PreKeyRole;
use crate::error::UploadError;
use crate::keys::{IdentityKey, PreKeyBundle};
use crate::keys::{PreKeyCounts, PreKeyUpload, VerifiedUpload};
use crate::limits::{MAX_STORED_KEM_PREKEYS, MAX_STORED_ONE_TIME_PREKEYS};

/// Where a server keeps the devices of its users and their public prekeys,
/// and hands out bundles.
///
/// Every method is one atomic step: it changes everything it reports, or
/// nothing. In particular [`take_bundle`](PreKeyDirectory::take_bundle)
/// hands each one-time prekey to exactly one caller, however many call at
/// once, and a key it handed out never comes back: for each device address
/// and identity key, ids only go up (see [`UploadError::StaleId`]), even
/// across replacements and removals.
///
/// The trait is synchronous and takes `&self`: implementations do their own
/// locking, so one directory can be shared between threads (both
/// implementations here are `Send + Sync`). Nothing in it reads a clock;
/// where time matters it is a parameter.
///
/// Implementations: [`MemoryDirectory`](super::MemoryDirectory), and
/// `SqliteDirectory` with the `sqlite` feature.
///
/// # Implementing it
/// A server can keep its directory in its own database. The rules that
/// need the device's state are one call,
/// [`VerifiedUpload::check_store`], to make inside the transaction that
/// stores; the rest is the atomicity above: `take_bundle` must delete the
/// one-time keys it returns in the same transaction that reads them, with
/// the write lock held from the start (as `SELECT … FOR UPDATE` or
/// SQLite's `BEGIN IMMEDIATE` give), or two callers can read the same key.
/// And the [`HighestIds`] of an identity that leaves an address (replaced
/// by another, or removed) must be kept, and given back to it if it is
/// registered there again: otherwise its old signed uploads, replayed, are
/// fresh again and put back keys already handed out.
/// [`TakenBundle::new`], [`DeviceInfo::new`] and [`PreKeyCounts::new`]
/// build the results; `tests/server/directory.rs` and
/// `tests/server/directory_concurrency.rs` in the repository are the checks to
/// run against it.
pub trait PreKeyDirectory {
    /// Registers a device with its identity key.
    ///
    /// Registering again with the same identity key changes nothing
    /// ([`Registration::Unchanged`]). Registering with another identity key
    /// is a reinstalled device: every key stored for the old identity is
    /// deleted ([`Registration::Replaced`]; the server should tell the
    /// device's contacts that its identity changed). Each identity key has
    /// its own id space at an address: a new one starts afresh, while one
    /// registered there before continues above the highest ids it had (so
    /// its old uploads stay stale). Deciding whether the caller may
    /// register the address is the server's authentication, not the
    /// directory's.
    ///
    /// # Errors
    /// [`DirectoryError::TooManyDevices`](super::DirectoryError::TooManyDevices)
    /// for a new device of a user who already has
    /// [`MAX_DEVICES_PER_USER`](super::MAX_DEVICES_PER_USER);
    /// [`Error::Storage`](crate::Error::Storage).
    fn register(
        &self,
        device: &DeviceAddress,
        identity: &IdentityKey,
    ) -> crate::Result<Registration>;

    /// Removes a device and every key stored for it. Returns whether it
    /// was registered.
    ///
    /// The highest ids its identity had stay (as for a replaced identity):
    /// registered again with the same key, it continues above them, and an
    /// old upload replayed is refused.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    fn remove(&self, device: &DeviceAddress) -> crate::Result<bool>;

    /// Stores a verified upload: replaces the signed prekey and the
    /// last-resort ML-KEM prekey if it carries them, and adds its one-time
    /// prekeys. Returns how many one-time keys of each kind the directory
    /// then holds.
    ///
    /// # Errors
    /// - [`DirectoryError::UnknownDevice`](super::DirectoryError::UnknownDevice);
    /// - [`UploadError::IdentityMismatch`] if the upload was verified
    ///   against another identity than the one registered now;
    /// - [`UploadError::StaleId`] for the first id (in upload order) that
    ///   is not above every id of its kind accepted so far;
    /// - [`UploadError::StoreFull`] if the device would hold more one-time
    ///   keys of a kind than the directory keeps;
    /// - [`Error::Storage`](crate::Error::Storage).
    fn store(&self, device: &DeviceAddress, upload: &VerifiedUpload)
    -> crate::Result<PreKeyCounts>;

    /// Takes a bundle for starting a session with the device: its identity
    /// key, its current signed prekey, its oldest (lowest-id) one-time
    /// X25519 prekey if any is left, and its oldest one-time ML-KEM prekey,
    /// or its last-resort ML-KEM prekey when none is left. The one-time
    /// keys are deleted in the same step, so no other caller ever gets
    /// them. Also reports how many one-time keys remain, so the server can
    /// ask the device to upload more.
    ///
    /// # Errors
    /// [`DirectoryError::UnknownDevice`](super::DirectoryError::UnknownDevice);
    /// [`DirectoryError::NotReady`](super::DirectoryError::NotReady) if the
    /// device has no signed prekey, or no ML-KEM prekey of either kind (then
    /// nothing is taken); [`Error::Storage`](crate::Error::Storage).
    fn take_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle>;

    /// What the directory holds for one device.
    ///
    /// # Errors
    /// [`DirectoryError::UnknownDevice`](super::DirectoryError::UnknownDevice);
    /// [`Error::Storage`](crate::Error::Storage).
    fn device(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo>;

    /// Every device of a user, by device id.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    fn devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>>;

    /// Decodes, verifies and stores an upload received from a device, in
    /// one call: [`PreKeyUpload::from_bytes`], [`PreKeyUpload::verify`]
    /// against the identity registered for `device`, then
    /// [`store`](PreKeyDirectory::store) (which checks the identity again,
    /// in its own transaction, in case the device was replaced meanwhile).
    ///
    /// # Errors
    /// Those of the three steps.
    fn upload(&self, device: &DeviceAddress, bytes: &[u8]) -> crate::Result<PreKeyCounts> {
        let identity = self.device(device)?.identity_key;
        let upload = PreKeyUpload::from_bytes(bytes)?.verify(&identity)?;
        self.store(device, &upload)
    }
}

/// What [`PreKeyDirectory::register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Registration {
    /// The device was not registered before.
    New,
    /// The device was registered with the same identity key; nothing changed.
    Unchanged,
    /// The device was registered with another identity key, whose keys were
    /// all deleted.
    Replaced,
}

/// A bundle taken from a directory, and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenBundle {
    bundle: PreKeyBundle,
    remaining: PreKeyCounts,
}

impl TakenBundle {
    /// A bundle just taken, and the counts left after taking it.
    pub fn new(bundle: PreKeyBundle, remaining: PreKeyCounts) -> Self {
        TakenBundle { bundle, remaining }
    }

    /// The bundle, to send to the requester.
    pub fn bundle(&self) -> &PreKeyBundle {
        &self.bundle
    }

    /// Gives the bundle back.
    pub fn into_bundle(self) -> PreKeyBundle {
        self.bundle
    }

    /// The bundle's encoding (at most [`MAX_BUNDLE_LEN`](super::MAX_BUNDLE_LEN) bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bundle.to_bytes()
    }

    /// How many one-time keys of each kind the directory holds after this one.
    pub fn remaining(&self) -> PreKeyCounts {
        self.remaining
    }

    /// The ids of the prekeys in the bundle: what the first message of a
    /// session set up from it will name (see [`route`](super::route)).
    pub fn prekey_ids(&self) -> PreKeyIds {
        PreKeyIds::new(
            self.bundle.signed_prekey().id(),
            self.bundle.one_time_prekey().map(|k| k.id()),
            self.bundle.kem_prekey().id(),
        )
    }

    /// Whether the bundle carries the last-resort ML-KEM prekey, because no
    /// one-time one was left.
    pub fn used_last_resort(&self) -> bool {
        self.bundle.kem_prekey().is_last_resort()
    }
}

/// What a directory holds for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    address: DeviceAddress,
    identity_key: IdentityKey,
    signed_prekey: Option<(u32, u64)>,
    last_resort_id: Option<u32>,
    counts: PreKeyCounts,
}

impl DeviceInfo {
    /// What a directory holds for a device: its address and identity key,
    /// its signed prekey's id and creation time and its last-resort ML-KEM
    /// prekey's id if it uploaded them, and its one-time key counts.
    pub fn new(
        address: DeviceAddress,
        identity_key: IdentityKey,
        signed_prekey: Option<(u32, u64)>,
        last_resort_id: Option<u32>,
        counts: PreKeyCounts,
    ) -> Self {
        DeviceInfo {
            address,
            identity_key,
            signed_prekey,
            last_resort_id,
            counts,
        }
    }

    /// The device's address.
    pub fn address(&self) -> &DeviceAddress {
        &self.address
    }

    /// The identity key it registered with.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// The id of its current signed prekey, if it uploaded one.
    pub fn signed_prekey_id(&self) -> Option<u32> {
        self.signed_prekey.map(|(id, _)| id)
    }

    /// When its current signed prekey was made, as the device said
    /// (seconds since the Unix epoch).
    pub fn signed_prekey_created_at(&self) -> Option<u64> {
        self.signed_prekey.map(|(_, at)| at)
    }

    /// The id of its last-resort ML-KEM prekey, if it uploaded one.
    pub fn last_resort_id(&self) -> Option<u32> {
        self.last_resort_id
    }

    /// How many one-time keys of each kind the directory holds for it.
    pub fn counts(&self) -> PreKeyCounts {
        self.counts
    }

    /// Whether [`take_bundle`](PreKeyDirectory::take_bundle) can succeed:
    /// the device has a signed prekey and an ML-KEM prekey of either kind.
    pub fn is_ready(&self) -> bool {
        self.signed_prekey.is_some() && (self.last_resort_id.is_some() || self.counts.kem() > 0)
    }

    /// Whether the server should ask the device for a new signed prekey:
    /// it has none, or the current one was made more than `max_age`
    /// seconds before `now` (for example
    /// [`SIGNED_PREKEY_ROTATION_SECS`](super::SIGNED_PREKEY_ROTATION_SECS)).
    /// Both times are seconds since the Unix epoch; kinseal has no clock.
    pub fn needs_signed_prekey_rotation(&self, now: u64, max_age: u64) -> bool {
        match self.signed_prekey {
            Some((_, created_at)) => now.saturating_sub(created_at) > max_age,
            None => true,
        }
    }
}

/// The highest id of each kind a directory has accepted for a device, or
/// `None` before the first. One-time and last-resort ML-KEM prekeys share
/// one id space. A new id must be above the highest of its kind (see
/// [`UploadError::StaleId`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HighestIds {
    signed: Option<u32>,
    one_time: Option<u32>,
    kem: Option<u32>,
}

impl HighestIds {
    /// The highest signed prekey id, one-time X25519 prekey id and ML-KEM
    /// prekey id accepted so far.
    pub fn new(signed: Option<u32>, one_time: Option<u32>, kem: Option<u32>) -> Self {
        HighestIds {
            signed,
            one_time,
            kem,
        }
    }

    /// The highest signed prekey id accepted.
    pub fn signed(&self) -> Option<u32> {
        self.signed
    }

    /// The highest one-time X25519 prekey id accepted.
    pub fn one_time(&self) -> Option<u32> {
        self.one_time
    }

    /// The highest ML-KEM prekey id (one-time or last-resort) accepted.
    pub fn kem(&self) -> Option<u32> {
        self.kem
    }
}

impl VerifiedUpload {
    /// The checks of [`PreKeyDirectory::store`] that need the device's
    /// state, the same for every implementation: that `identity` (the one
    /// registered now) is the one the upload was verified against, that
    /// every id is above the highest of its kind, and that the device would
    /// not hold more one-time keys than the directory keeps. `held` is what
    /// the directory holds now. Returns the highest ids and the counts after
    /// storing, to record with the keys.
    ///
    /// # Errors
    /// [`UploadError::IdentityMismatch`], [`UploadError::StaleId`] (the
    /// first stale id in upload order), [`UploadError::StoreFull`].
    pub fn check_store(
        &self,
        identity: &IdentityKey,
        highest: HighestIds,
        held: PreKeyCounts,
    ) -> crate::Result<(HighestIds, PreKeyCounts)> {
        let upload = self.upload();
        if upload.identity_key() != identity {
            return Err(UploadError::IdentityMismatch.into());
        }
        let mut next = highest;
        let spk = upload.signed_prekey().map(|k| k.id()).into_iter();
        let one_time = upload.one_time_prekeys().iter().map(|k| k.id());
        let kem = upload
            .last_resort_prekey()
            .into_iter()
            .chain(upload.kem_prekeys())
            .map(|k| k.id());
        fresh(PreKeyRole::Signed, highest.signed, &mut next.signed, spk)?;
        fresh(
            PreKeyRole::OneTime,
            highest.one_time,
            &mut next.one_time,
            one_time,
        )?;
        fresh(PreKeyRole::Kem, highest.kem, &mut next.kem, kem)?;
        let after = PreKeyCounts::new(
            held.one_time() + upload.one_time_prekeys().len(),
            held.kem() + upload.kem_prekeys().len(),
        );
        limit(
            PreKeyRole::OneTime,
            after.one_time(),
            MAX_STORED_ONE_TIME_PREKEYS,
        )?;
        limit(PreKeyRole::Kem, after.kem(), MAX_STORED_KEM_PREKEYS)?;
        Ok((next, after))
    }
}

fn fresh(
    prekey: PreKeyRole,
    highest: Option<u32>,
    next: &mut Option<u32>,
    ids: impl Iterator<Item = u32>,
) -> Result<(), UploadError> {
    for id in ids {
        if let Some(highest) = highest.filter(|h| id <= *h) {
            return Err(UploadError::StaleId {
                prekey,
                id,
                highest,
            });
        }
        *next = Some(next.map_or(id, |n| n.max(id)));
    }
    Ok(())
}

fn limit(prekey: PreKeyRole, found: usize, max: usize) -> Result<(), UploadError> {
    if found > max {
        return Err(UploadError::StoreFull { prekey, max, found });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD};
    use crate::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair};
    use rand_core::SeedableRng;

    /// The storage limits of both kinds, from the counts alone (filling a
    /// directory with 1 000 real ML-KEM keys would be slow in debug builds).
    #[test]
    fn store_limits_of_both_kinds() {
        let mut rng = chacha20::ChaCha20Rng::from_seed([4; 32]);
        let identity = IdentityKeyPair::generate(&mut rng);
        let kem = KemPreKeyPair::generate(&mut rng, &identity, 9, false, 0);
        let opk = OneTimePreKeyPair::generate(&mut rng, 9);
        let upload = PreKeyUpload::from_bytes(
            &PreKeyUpload::builder(&identity)
                .kem_prekeys([kem.public()])
                .one_time_prekeys([opk.public()])
                .to_bytes()
                .unwrap(),
        )
        .unwrap()
        .verify(identity.public_key())
        .unwrap();
        let ik = identity.public_key();
        let counts = PreKeyCounts::new;
        let (highest, after) = upload
            .check_store(ik, HighestIds::default(), counts(4_999, 999))
            .unwrap();
        assert_eq!(after, counts(5_000, 1_000));
        assert_eq!(
            highest,
            HighestIds {
                signed: None,
                one_time: Some(9),
                kem: Some(9)
            }
        );
        assert_eq!(
            upload
                .check_store(ik, HighestIds::default(), counts(0, 1_000))
                .unwrap_err(),
            crate::Error::Upload(UploadError::StoreFull {
                prekey: PreKeyRole::Kem,
                max: MAX_STORED_KEM_PREKEYS,
                found: 1_001
            })
        );
        assert_eq!(
            upload
                .check_store(ik, HighestIds::default(), counts(5_000, 0))
                .unwrap_err(),
            crate::Error::Upload(UploadError::StoreFull {
                prekey: PreKeyRole::OneTime,
                max: MAX_STORED_ONE_TIME_PREKEYS,
                found: 5_001
            })
        );
        // The stored limits leave room for whole uploads.
        assert_eq!(
            MAX_STORED_ONE_TIME_PREKEYS % MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
            0
        );
        assert_eq!(MAX_STORED_KEM_PREKEYS % MAX_KEM_PREKEYS_PER_UPLOAD, 0);
    }
}
