//! Users, not just devices: this account's own device list, and each peer
//! user's user key and latest device list, which decide which devices a
//! session may be started or answered with.
//!
//! # The rules
//!
//! - A peer device is talked to only if its user's latest device list on
//!   record names it, with the identity key it presents (unless the
//!   account was told not to require lists, and the user has none on
//!   record). A device a server adds, or one the user removed, is refused
//!   with [`AccountError::UnlistedDevice`]; the user's other devices are
//!   not affected.
//! - A user's key is trusted on first use, through
//!   [`TrustPolicy::decide_user`]; a list under another key is refused
//!   with [`TrustError::UserKeyChanged`] until the user accepts it.
//! - A list replaces the one on record only if it follows it (PROTOCOL.md
//!   §12.4): a rollback, a fork or a gap is refused with a
//!   [`DeviceListError`](crate::DeviceListError), and nothing changes.
//! - A list that drops or replaces a device drops the sessions with it in
//!   the same transaction: the list and the sessions it changes commit
//!   together, or neither does.

use rand_core::CryptoRng;

use super::Account;
use super::sessions::SessionSet;
use super::user_records::store_user;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, SessionStore, StoreTransaction};
use crate::client::trust::{IdentityStatus, KnownUser, TrustDecision, TrustPolicy};
use crate::error::{AccountError, MisuseError, TrustError};
use crate::wire::{DeviceListFrame, Frame};
use crate::{
    DeviceList, DeviceListUpdate, IdentityKey, StorageError, UserIdentityKey, VerifiedDeviceList,
};

/// What [`Account::update_device_lists`] (or
/// [`Account::accept_user_identity`]) changed for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceListChange {
    user: UserAddress,
    version: u64,
    new_user: bool,
    previous_user_key: Option<Box<UserIdentityKey>>,
    added: Vec<DeviceAddress>,
    removed: Vec<DeviceAddress>,
    replaced: Vec<DeviceAddress>,
}

impl DeviceListChange {
    /// The user.
    pub fn user(&self) -> &UserAddress {
        &self.user
    }

    /// The version of the list now on record.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether no list was on record for the user before: every device of
    /// the list is in [`DeviceListChange::added`].
    pub fn is_new_user(&self) -> bool {
        self.new_user
    }

    /// The user key on record before, when the user key changed (the
    /// policy, or the user through [`Account::accept_user_identity`],
    /// accepted a new one): apps show that the person's safety number
    /// changed. Every session with the user's devices was dropped.
    pub fn previous_user_key(&self) -> Option<&UserIdentityKey> {
        self.previous_user_key.as_deref()
    }

    /// Devices now listed that were not.
    pub fn added(&self) -> &[DeviceAddress] {
        &self.added
    }

    /// Devices no longer listed: their sessions were dropped, and their
    /// messages are refused from now on.
    pub fn removed(&self) -> &[DeviceAddress] {
        &self.removed
    }

    /// Devices listed under a new identity key (reinstalled): their old
    /// sessions were dropped; the next message to them starts a new one.
    pub fn replaced(&self) -> &[DeviceAddress] {
        &self.replaced
    }

    /// Whether no device and no user key changed (the version may have:
    /// a later list of the same devices is still recorded).
    pub fn is_unchanged(&self) -> bool {
        !self.new_user
            && self.previous_user_key.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.replaced.is_empty()
    }

    fn unchanged(list: &VerifiedDeviceList) -> Self {
        DeviceListChange {
            user: list.address().clone(),
            version: list.version(),
            new_user: false,
            previous_user_key: None,
            added: Vec::new(),
            removed: Vec::new(),
            replaced: Vec::new(),
        }
    }

    /// Every device of `list`, as added.
    fn all_added(list: &VerifiedDeviceList, previous: Option<UserIdentityKey>) -> Self {
        let user = list.address();
        DeviceListChange {
            user: user.clone(),
            version: list.version(),
            new_user: previous.is_none(),
            previous_user_key: previous.map(Box::new),
            added: list.devices().map(|d| user.device(d.device_id())).collect(),
            removed: Vec::new(),
            replaced: Vec::new(),
        }
    }

    fn of_update(list: &VerifiedDeviceList, update: &DeviceListUpdate) -> Self {
        let user = list.address();
        let mut change = Self::unchanged(list);
        if let DeviceListUpdate::Advanced {
            added,
            removed,
            replaced,
        } = update
        {
            change.added = added.iter().map(|d| user.device(d.device_id())).collect();
            change.removed = removed.iter().map(|d| user.device(d.device_id())).collect();
            change.replaced = replaced
                .iter()
                .map(|d| user.device(d.device_id()))
                .collect();
        }
        change
    }
}

/// Decodes and verifies lists given as bytes, all of one user.
fn verify_all(lists: &[impl AsRef<[u8]>]) -> crate::Result<Vec<VerifiedDeviceList>> {
    let verified = lists
        .iter()
        .map(|bytes| DeviceList::from_bytes(bytes.as_ref())?.verify())
        .collect::<crate::Result<Vec<_>>>()?;
    let Some(first) = verified.first() else {
        return Err(MisuseError::NoDeviceLists.into());
    };
    if verified.iter().any(|l| l.address() != first.address()) {
        return Err(crate::DeviceListError::AddressMismatch.into());
    }
    Ok(verified)
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// This account's own latest device list, as on record: publish it
    /// (its [`to_bytes`](VerifiedDeviceList::to_bytes)) so that peers
    /// can check this user's devices.
    ///
    /// # Errors
    /// A [`StorageError`].
    pub fn device_list(&self) -> crate::Result<VerifiedDeviceList> {
        let mut txn = self.store.transaction()?;
        self.own_list(&mut txn)
    }

    pub(super) fn own_list<T: StoreTransaction>(
        &self,
        txn: &mut T,
    ) -> crate::Result<VerifiedDeviceList> {
        let own = self
            .load_user(txn, self.address.user())?
            .ok_or(StorageError::InvalidRecord {
                table: "peer_users",
            })?;
        Ok(own.into_list())
    }

    /// What is on record about a user: its user key and latest device
    /// list (also for this account's own user).
    ///
    /// # Errors
    /// A [`StorageError`].
    pub fn peer_user(&self, user: &UserAddress) -> crate::Result<Option<KnownUser>> {
        let mut txn = self.store.transaction()?;
        self.load_user(&mut txn, user)
    }

    /// Adds a device to this account's device list: signs the next version
    /// with the device on it, records it, and returns it to publish. Used
    /// when linking a new device (PROTOCOL.md §13), with the identity key
    /// the new device showed in its QR code.
    ///
    /// # Errors
    /// [`AccountError::DeviceIdInvalid`] if the id is already listed; a
    /// [`DecodeError`](crate::DecodeError)-free
    /// [`Error::Misuse`](crate::Error::Misuse) from the list when the
    /// identity key is already listed or the list is full
    /// ([`MAX_DEVICES_PER_USER`](crate::wire::MAX_DEVICES_PER_USER)); a
    /// [`StorageError`].
    pub fn add_device<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        device_id: u32,
        identity_key: &IdentityKey,
        now: u64,
    ) -> crate::Result<VerifiedDeviceList> {
        let mut txn = self.store.transaction()?;
        let next = self.add_device_in(&mut txn, rng, device_id, identity_key, now)?;
        txn.commit()?;
        Ok(next)
    }

    /// As [`Account::add_device`], in `txn`.
    pub(super) fn add_device_in<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        device_id: u32,
        identity_key: &IdentityKey,
        now: u64,
    ) -> crate::Result<VerifiedDeviceList> {
        let current = self.own_list(txn)?;
        if current.device(device_id).is_some() {
            return Err(AccountError::DeviceIdInvalid { device_id }.into());
        }
        let devices = current
            .devices()
            .map(|d| (d.device_id(), d.identity_key(), d.added_at()))
            .chain([(device_id, identity_key, now)]);
        let next = current.next(&self.user, now, devices)?;
        store_user(txn, &self.keyring, rng, &next, true, now)?;
        Ok(next)
    }

    /// Removes another device from this account's device list (a lost or
    /// retired phone): signs the next version without it, drops the
    /// sessions with it, and returns the list to publish.
    ///
    /// # Errors
    /// [`AccountError::DeviceIdInvalid`] if the id is not listed or is this
    /// device's own; a [`StorageError`].
    pub fn remove_device<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        device_id: u32,
        now: u64,
    ) -> crate::Result<VerifiedDeviceList> {
        let mut txn = self.store.transaction()?;
        let current = self.own_list(&mut txn)?;
        if device_id == self.address.device_id() || current.device(device_id).is_none() {
            return Err(AccountError::DeviceIdInvalid { device_id }.into());
        }
        let devices = current
            .devices()
            .filter(|d| d.device_id() != device_id)
            .map(|d| (d.device_id(), d.identity_key(), d.added_at()));
        let next = current.next(&self.user, now, devices)?;
        let gone = self.address.user().device(device_id);
        txn.remove_sessions(&gone)?;
        store_user(&mut txn, &self.keyring, rng, &next, true, now)?;
        txn.commit()?;
        self.cache().forget(&gone);
        Ok(next)
    }

    /// Takes a user's device lists, as the directory serves them: the
    /// latest alone, or the run of versions after the one on record
    /// (oldest first). Each is verified (PROTOCOL.md §12.3) and must follow
    /// the one before it and the list on record (§12.4); the user key is
    /// decided on by the trust policy ([`TrustPolicy::decide_user`]: trust
    /// on first use by default). The sessions with devices the new list
    /// removes or replaces are dropped in the same transaction. Also takes
    /// this account's own lists, as its other devices publish them.
    ///
    /// # Errors
    /// - [`Error::Decode`](crate::Error::Decode) or
    ///   [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    ///   for a list that does not verify;
    /// - a [`DeviceListError`](crate::DeviceListError): a rollback, a fork,
    ///   a gap (fetch the versions in between), or lists of several users;
    /// - [`TrustError::UserKeyChanged`] / [`TrustError::UserUntrusted`]
    ///   when the policy refuses the user key;
    /// - for this account's own user: [`AccountError::DeviceRemoved`] when
    ///   the list no longer names this device with its key, or is signed
    ///   by another user key;
    /// - [`MisuseError::NoDeviceLists`] for no lists; a [`StorageError`].
    ///
    /// On any error nothing changed.
    pub fn update_device_lists<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        lists: &[impl AsRef<[u8]>],
        now: u64,
    ) -> crate::Result<DeviceListChange> {
        self.update_device_lists_with_proof(rng, lists, None, now)
    }

    /// As [`Account::update_device_lists`], handing the trust policy the
    /// key-transparency proof the app fetched with the lists (see
    /// [`TrustPolicy::decide_user`]).
    ///
    /// # Errors
    /// As [`Account::update_device_lists`].
    pub fn update_device_lists_with_proof<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        lists: &[impl AsRef<[u8]>],
        proof: Option<&[u8]>,
        now: u64,
    ) -> crate::Result<DeviceListChange> {
        super::trace::traced("update_device_lists", lists.len(), || {
            if let [only] = lists
                && let Some(change) = self.same_as_on_record(only.as_ref(), proof)?
            {
                return Ok(change);
            }
            let lists = verify_all(lists)?;
            let Some(latest) = lists.last() else {
                return Err(MisuseError::NoDeviceLists.into());
            };
            let user = latest.address().clone();
            let mut txn = self.store.transaction()?;
            let known = self.load_user(&mut txn, &user)?;
            let own = user == *self.address.user();
            if own {
                let here = latest.device(self.address.device_id());
                if latest.user_key() != self.user.public_key()
                    || here.is_none_or(|d| d.identity_key() != self.identity.public_key())
                {
                    return Err(AccountError::DeviceRemoved.into());
                }
            } else {
                let decision =
                    self.policy
                        .decide_user(&user, known.as_ref(), latest.user_key(), proof);
                match (decision, &known) {
                    (TrustDecision::Refuse, Some(k)) if k.key() != latest.user_key() => {
                        return Err(TrustError::UserKeyChanged {
                            user,
                            old: Box::new(k.key().clone()),
                            new: Box::new(latest.user_key().clone()),
                        }
                        .into());
                    }
                    (TrustDecision::Refuse, _) => {
                        return Err(TrustError::UserUntrusted {
                            user,
                            key: Box::new(latest.user_key().clone()),
                        }
                        .into());
                    }
                    (TrustDecision::Trust, _) => {}
                }
            }
            let (change, verified, first_seen) = match known {
                Some(k) if k.key() == latest.user_key() => {
                    let update = k.device_list().check_chain(&lists)?;
                    if update == DeviceListUpdate::Unchanged {
                        // The list on record, byte for byte: nothing to write.
                        return Ok(DeviceListChange::unchanged(latest));
                    }
                    // A later version, even one that lists the same devices,
                    // is recorded: the next one names its hash.
                    let change = DeviceListChange::of_update(latest, &update);
                    (change, k.is_verified(), k.first_seen())
                }
                // The policy accepted another user key: an identity change.
                Some(k) => {
                    check_run(&lists)?;
                    self.drop_user_sessions(&mut txn, k.device_list())?;
                    (
                        DeviceListChange::all_added(latest, Some(k.key().clone())),
                        false,
                        now,
                    )
                }
                None => {
                    check_run(&lists)?;
                    (DeviceListChange::all_added(latest, None), false, now)
                }
            };
            for device in change.removed.iter().chain(&change.replaced) {
                txn.remove_sessions(device)?;
            }
            store_user(
                &mut txn,
                &self.keyring,
                rng,
                latest,
                verified || own,
                first_seen,
            )?;
            txn.commit()?;
            self.cache().clear();
            Ok(change)
        })
    }

    /// `Unchanged` when `bytes` is, byte for byte, the list on record for
    /// its user (which was verified when it was taken) and the policy
    /// still trusts its key: taking the list a directory serves again
    /// then costs no signature and no key validation. `None` otherwise,
    /// and the caller verifies as for any list.
    fn same_as_on_record(
        &self,
        bytes: &[u8],
        proof: Option<&[u8]>,
    ) -> crate::Result<Option<DeviceListChange>> {
        let Ok(frame) = DeviceListFrame::decode(bytes) else {
            return Ok(None);
        };
        let Ok(user) = frame.body.address.to_address() else {
            return Ok(None);
        };
        let mut txn = self.store.transaction()?;
        let Some(known) = self.load_user(&mut txn, &user)? else {
            return Ok(None);
        };
        drop(txn);
        let list = known.device_list();
        if list.list().encoding() != bytes {
            return Ok(None);
        }
        let own = user == *self.address.user();
        let trusted = own
            || self
                .policy
                .decide_user(&user, Some(&known), list.user_key(), proof)
                == TrustDecision::Trust;
        Ok(trusted.then(|| DeviceListChange::unchanged(list)))
    }

    /// Accepts a peer user's new user key (after the people agreed, for
    /// example by comparing the new per-person safety number), with the
    /// list it signed: every session with the user's devices is dropped,
    /// and the list replaces the one on record. A list refused with
    /// [`TrustError::UserKeyChanged`] can be given here.
    ///
    /// # Errors
    /// As [`Account::update_device_lists`] for a list that does not
    /// verify; [`MisuseError::NotAPeer`] for this account's own user; a
    /// [`StorageError`].
    pub fn accept_user_identity<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        list: &[u8],
        now: u64,
    ) -> crate::Result<DeviceListChange> {
        let list = DeviceList::from_bytes(list)?.verify()?;
        let user = list.address().clone();
        if user == *self.address.user() {
            return Err(MisuseError::NotAPeer.into());
        }
        let mut txn = self.store.transaction()?;
        let known = self.load_user(&mut txn, &user)?;
        let previous = match known {
            Some(k) if k.key() == list.user_key() => {
                drop(txn);
                return self.update_device_lists(rng, &[list.to_bytes()], now);
            }
            Some(k) => {
                self.drop_user_sessions(&mut txn, k.device_list())?;
                Some(k.key().clone())
            }
            None => None,
        };
        store_user(&mut txn, &self.keyring, rng, &list, false, now)?;
        txn.commit()?;
        self.cache().clear();
        Ok(DeviceListChange::all_added(&list, previous))
    }

    /// Marks a peer user's key verified, after the people compared their
    /// per-person safety number. `key` is the key they compared.
    ///
    /// # Errors
    /// [`AccountError::IdentityMismatch`] unless `key` is the key on record;
    /// a [`StorageError`].
    pub fn mark_user_verified<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        user: &UserAddress,
        key: &UserIdentityKey,
    ) -> crate::Result<()> {
        let mut txn = self.store.transaction()?;
        match self.load_user(&mut txn, user)? {
            Some(k) if k.key() == key => {
                let first_seen = k.first_seen();
                store_user(
                    &mut txn,
                    &self.keyring,
                    rng,
                    k.device_list(),
                    true,
                    first_seen,
                )?;
                Ok(txn.commit()?)
            }
            _ => Err(AccountError::IdentityMismatch.into()),
        }
    }

    /// Drops the sessions with every device of `list`'s user that this
    /// account has sessions with (the listed ones and any other).
    fn drop_user_sessions<T: StoreTransaction>(
        &self,
        txn: &mut T,
        list: &VerifiedDeviceList,
    ) -> crate::Result<()> {
        for device in txn.session_addresses()? {
            if device.user() == list.address() {
                txn.remove_sessions(&device)?;
            }
        }
        Ok(())
    }

    /// Decides whether `peer` may be talked to under the identity key it
    /// presents: it must be on its user's latest list with that key (or,
    /// for a user without a list when lists are not required, the trust
    /// policy decides per device). The device's identity record follows
    /// the list; when it held another key, the sessions in `set` (with the
    /// old key) are dropped.
    pub(super) fn check_device<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        presented: &IdentityKey,
        set: &mut SessionSet,
        now: u64,
    ) -> crate::Result<IdentityStatus> {
        let Some(user) = self.load_user(txn, peer.user())? else {
            if self.config.device_lists_required {
                return Err(AccountError::NoDeviceList {
                    user: peer.user().clone(),
                }
                .into());
            }
            return self.check_trust(txn, rng, peer, presented, set, now);
        };
        let listed = user.device_list().device(peer.device_id());
        if listed.is_none_or(|d| d.identity_key() != presented) {
            return Err(AccountError::UnlistedDevice {
                address: peer.clone(),
            }
            .into());
        }
        match self.load_identity(txn, peer)? {
            Some(k) if *k.key() == *presented => Ok(IdentityStatus::Known),
            Some(k) => {
                self.store_identity(txn, rng, peer, presented, user.is_verified(), now)?;
                set.clear();
                Ok(IdentityStatus::Changed {
                    previous: Box::new(k.into_key()),
                })
            }
            None => {
                self.store_identity(txn, rng, peer, presented, user.is_verified(), now)?;
                Ok(IdentityStatus::New)
            }
        }
    }
}

/// Checks that a run of lists given for a user with no list on record (or
/// a new user key) follows itself.
fn check_run(lists: &[VerifiedDeviceList]) -> crate::Result<()> {
    if let Some((first, rest)) = lists.split_first() {
        first.check_chain(rest)?;
    }
    Ok(())
}
