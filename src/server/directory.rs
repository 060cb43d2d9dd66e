//! The `PreKeyDirectory` trait, what its operations return, and the rules
//! every implementation applies in the same way.

use super::route::PreKeyIds;
use crate::address::{DeviceAddress, UserAddress};
use crate::error::DeviceListError;
use crate::error::PreKeyRole;
use crate::error::UploadError;
use crate::keys::{DeviceList, DeviceListUpdate, VerifiedDeviceList};
use crate::keys::{IdentityKey, PreKeyBundle};
use crate::keys::{PreKeyCounts, PreKeyUpload, VerifiedUpload};
use crate::limits::{MAX_STORED_KEM_PREKEYS, MAX_STORED_ONE_TIME_PREKEYS};

/// Where a server keeps the devices of its users, their public prekeys and
/// their device lists, and hands out bundles.
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
/// Device lists are the same: [`VerifiedDeviceList::check_publish`] is
/// the rule to apply, against the latest list held, in the transaction
/// that stores (with the write lock held from its start, or two
/// publishers of one version can both win); keep the latest
/// [`MAX_DEVICE_LIST_HISTORY`](super::MAX_DEVICE_LIST_HISTORY) lists and return their bytes unchanged.
/// [`TakenBundle::new`], [`DeviceInfo::new`] and [`PreKeyCounts::new`]
/// build the results; `tests/server/directory.rs`,
/// `tests/server/device_lists.rs` and
/// `tests/server/directory_concurrency.rs` in the repository are the checks
/// to run against it.
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
    /// The directory does not check the device against the user's device
    /// list ([`publish_device_list`](PreKeyDirectory::publish_device_list)):
    /// a device may be registered before the list that names it is
    /// published, and clients do not take the server's word for it anyway.
    /// A client checks a device's identity key against the user's latest
    /// verified list before it encrypts to the device.
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

    /// Decodes, verifies and stores a device list received for `user`, in
    /// one call: [`DeviceList::from_bytes`], [`DeviceList::verify`], then
    /// [`store_device_list`](PreKeyDirectory::store_device_list).
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::DeviceList`](crate::WireType::DeviceList) and
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    /// for bytes that are not a verified list; those of `store_device_list`.
    ///
    /// # Security
    /// As for `store_device_list`: accept a publish for `user` only from a
    /// device the server has authenticated as one of `user`'s.
    fn publish_device_list(
        &self,
        user: &UserAddress,
        bytes: &[u8],
    ) -> crate::Result<DeviceListUpdate> {
        let list = DeviceList::from_bytes(bytes)?.verify()?;
        self.store_device_list(user, &list)
    }

    /// Stores a verified device list as `user`'s latest if it may follow
    /// the latest the directory holds ([`VerifiedDeviceList::check_publish`]),
    /// in one atomic step:
    ///
    /// - no list held for `user`: any list of `user` is accepted, whatever
    ///   its version, and returned as [`DeviceListUpdate::Advanced`] with
    ///   every device `added`. An account may move from another server, or
    ///   from a directory that lost its history, with its chain under way;
    ///   peers that hold an earlier list check the chain themselves;
    /// - the latest again, byte for byte: [`DeviceListUpdate::Unchanged`],
    ///   and nothing is stored (a retry is harmless);
    /// - the latest's successor (PROTOCOL.md §12.4): `Advanced` with what
    ///   changed; it is stored as the latest, and the oldest list is dropped
    ///   beyond [`MAX_DEVICE_LIST_HISTORY`](super::MAX_DEVICE_LIST_HISTORY) (see
    ///   [`device_lists_since`](PreKeyDirectory::device_lists_since)).
    ///
    /// A refusal changes nothing. Of two different lists of one version
    /// published at once after the same latest, exactly one is stored; the
    /// other is then a [`Fork`](DeviceListError::Fork) of that version.
    ///
    /// # Errors
    /// - [`DeviceListError::AddressMismatch`] if the list is not `user`'s;
    /// - [`DeviceListError::UserKeyChanged`] if another user key signed the
    ///   latest (a new user key replaces the history only through
    ///   [`reset_device_list`](PreKeyDirectory::reset_device_list));
    /// - [`DeviceListError::Rollback`], [`Fork`](DeviceListError::Fork),
    ///   [`Gap`](DeviceListError::Gap) (publish the lists in between first);
    /// - [`Error::Storage`](crate::Error::Storage).
    ///
    /// # Security
    /// The chain keeps anyone without the user key, the server included,
    /// from publishing a successor. It cannot protect the first list, which
    /// names a user key the directory has never seen: accept a publish for
    /// `user` only from a device the server has authenticated as `user`'s,
    /// or anyone could claim an address first with a key of their own.
    /// Clients do not trust the directory either way: they verify every list
    /// they fetch and check it against the one they hold
    /// ([`VerifiedDeviceList::check_successor`]); an honest directory that
    /// refuses garbage only spares them the work.
    fn store_device_list(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<DeviceListUpdate>;

    /// Decodes and verifies a device list as
    /// [`publish_device_list`](PreKeyDirectory::publish_device_list) does,
    /// then [`replace_device_lists`](PreKeyDirectory::replace_device_lists).
    ///
    /// # Errors
    /// As `publish_device_list` for the bytes; those of
    /// `replace_device_lists`.
    ///
    /// # Security
    /// See `replace_device_lists`: only after authenticating the person.
    fn reset_device_list(&self, user: &UserAddress, bytes: &[u8]) -> crate::Result<()> {
        let list = DeviceList::from_bytes(bytes)?.verify()?;
        self.replace_device_lists(user, &list)
    }

    /// Replaces the whole device-list history of `user` by one verified
    /// list, in one atomic step, whatever the directory held: the way
    /// back for a person who lost every device, and with them the user
    /// key, and starts over with a new user key and a version 1 list.
    /// The list is checked only to be `user`'s.
    ///
    /// # Errors
    /// [`DeviceListError::AddressMismatch`] if the list is not `user`'s;
    /// [`Error::Storage`](crate::Error::Storage).
    ///
    /// # Security
    /// This bypasses every successor rule: it is an identity change. Call
    /// it only after authenticating the person by the app's own means, as
    /// strongly as for creating the account (its recovery process), never
    /// on a device's request alone: whoever can reset can replace the
    /// user's devices with their own. Then tell the user's contacts that
    /// the user's identity changed; their clients see
    /// [`DeviceListError::UserKeyChanged`] on the new list and must handle
    /// it as an identity change, never silently.
    fn replace_device_lists(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<()>;

    /// The latest device list of `user`, exactly as it was published (the
    /// same bytes), or `None` if the directory holds none.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    fn device_list(&self, user: &UserAddress) -> crate::Result<Option<Vec<u8>>>;

    /// The device lists of `user` with a version above `version`, oldest
    /// first, exactly as published: what a peer holding version `version`
    /// fetches to check the chain to the latest
    /// ([`VerifiedDeviceList::check_chain`]). Empty if the directory holds
    /// none above `version`.
    ///
    /// The directory keeps the latest [`MAX_DEVICE_LIST_HISTORY`](super::MAX_DEVICE_LIST_HISTORY) lists.
    /// When lists a peer needs were dropped, the first one returned is more
    /// than one version past the peer's and `check_chain` reports a
    /// [`Gap`](DeviceListError::Gap). A gap the peer cannot fill elsewhere
    /// is an identity-level decision: it cannot tell an honest history from
    /// a server hiding a list (one that removed a device, say), so it must
    /// not take the latest list on the server's word, but treat it as a
    /// changed key (the user compares safety numbers again). After a
    /// [`reset_device_list`](PreKeyDirectory::reset_device_list) this
    /// returns the new history's lists; a peer should fetch
    /// [`device_list`](PreKeyDirectory::device_list) first, which shows it
    /// the new user key.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    fn device_lists_since(&self, user: &UserAddress, version: u64) -> crate::Result<Vec<Vec<u8>>>;
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

impl VerifiedDeviceList {
    /// The check of [`PreKeyDirectory::store_device_list`], the same for
    /// every implementation: that this list is `user`'s, and then that it
    /// may follow `latest`, the latest list the directory holds for `user`
    /// ([`VerifiedDeviceList::check_successor`]), or, with no list held,
    /// that it may be the first: any version, returned as
    /// [`DeviceListUpdate::Advanced`] with every device `added`. A reset
    /// ([`PreKeyDirectory::replace_device_lists`]) is checked as a first
    /// list, with `latest` `None`. On `Unchanged`, store nothing.
    ///
    /// # Errors
    /// [`DeviceListError::AddressMismatch`], then those of
    /// `check_successor`.
    pub fn check_publish(
        &self,
        user: &UserAddress,
        latest: Option<&VerifiedDeviceList>,
    ) -> crate::Result<DeviceListUpdate> {
        if self.address() != user {
            return Err(DeviceListError::AddressMismatch.into());
        }
        match latest {
            Some(latest) => Ok(latest.check_successor(self)?),
            None => Ok(DeviceListUpdate::Advanced {
                added: self.devices().cloned().collect(),
                removed: Vec::new(),
                replaced: Vec::new(),
            }),
        }
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
mod tests;
