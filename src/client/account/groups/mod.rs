//! Group chats at the account layer (PROTOCOL.md §17): the group's state
//! and this device's sender key in the store, sender keys distributed
//! over the pairwise sessions, group messages sent and received, each
//! operation one transaction.

mod admin;
mod receive;
mod record;

use core::fmt;
use std::collections::HashSet;
use std::sync::Arc;

use rand_core::CryptoRng;

use super::Account;
use super::fanout::FanOut;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, GroupStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, Error, GroupError};
use crate::group::{GroupId, GroupState, SenderKey};
use crate::wire::{ContentFrame, Frame, GroupMessageFrame};
use crate::{Envelope, UserIdentityKey};
pub(super) use record::GroupCache;
use record::{DeviceRuns, OwnKey};

/// What a group control message did, as [`Decrypted::group_event`]
/// reports it.
///
/// [`Decrypted::group_event`]: super::Decrypted::group_event
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum GroupEvent {
    /// This device now has the group: a genesis or a welcome that adds its
    /// user, or the state from another of its user's devices.
    Joined {
        /// The group.
        group: GroupId,
        /// Its epoch.
        epoch: u64,
    },
    /// The group's state moved on by an admin's change.
    Changed {
        /// The group.
        group: GroupId,
        /// The new epoch.
        epoch: u64,
        /// Users the change added.
        added: Vec<UserAddress>,
        /// Users the change removed (this device's own user among them
        /// when it was removed: it then reads and sends nothing more).
        removed: Vec<UserAddress>,
        /// Whether the change replaced a concurrent one this device had
        /// applied (PROTOCOL.md §16.7).
        replaced: bool,
    },
    /// The change or state was one this device had, or one that lost to a
    /// concurrent change or was superseded: nothing changed.
    Unchanged {
        /// The group.
        group: GroupId,
    },
    /// A device's sender key arrived: group messages from it that failed
    /// with [`GroupError::UnknownSenderKey`] decrypt now.
    SenderKey {
        /// The group.
        group: GroupId,
        /// The device whose key it is.
        sender: DeviceAddress,
    },
}

/// A group message and the pairwise envelopes that must reach members
/// before it, from [`Account::group_send`].
pub struct GroupSend {
    message: Vec<u8>,
    distributions: FanOut,
}

impl GroupSend {
    /// The group message (PROTOCOL.md §16.1): one copy for the server to
    /// fan out to every device of the group.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The sender key's distributions to devices that did not have it yet
    /// (and, for this user's own devices, the group's state): hand these
    /// to the server before the message. Devices without a session are in
    /// [`FanOut::missing`]; they get the key with the next send after a
    /// session exists (until then they cannot read this device's group
    /// messages).
    pub fn distributions(&self) -> &FanOut {
        &self.distributions
    }

    /// Both, by value.
    pub fn into_parts(self) -> (Vec<u8>, FanOut) {
        (self.message, self.distributions)
    }
}

impl fmt::Debug for GroupSend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSend")
            .field("message_len", &self.message.len())
            .field("distributions", &self.distributions)
            .finish()
    }
}

/// A decrypted group message.
pub struct GroupDecrypted {
    group: GroupId,
    sender: DeviceAddress,
    plaintext: Vec<u8>,
}

impl GroupDecrypted {
    /// The group.
    pub fn group(&self) -> &GroupId {
        &self.group
    }

    /// The device that sent it: a device on the latest list of a member's
    /// user, checked.
    pub fn sender(&self) -> &DeviceAddress {
        &self.sender
    }

    /// The plaintext.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The plaintext, by value.
    pub fn into_plaintext(self) -> Vec<u8> {
        self.plaintext
    }
}

impl fmt::Debug for GroupDecrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupDecrypted")
            .field("group", &self.group)
            .field("sender", &self.sender)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// The devices a group reaches.
struct Reach {
    /// Every device of every member reachable, this one excepted, in
    /// member order.
    devices: DeviceRuns,
    /// Members with no list on record, or one under another user key.
    unreachable: Vec<UserAddress>,
}

impl Reach {
    /// Every device reached, as its address, in member order.
    fn addresses(&self) -> impl Iterator<Item = DeviceAddress> + '_ {
        self.devices.iter().map(|(user, id)| user.device(id))
    }
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The groups this device has a record of.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn groups(&self) -> crate::Result<Vec<GroupId>> {
        let mut txn = self.store.transaction()?;
        Ok(txn.group_ids()?)
    }

    /// The current state of `group` as this device computed it, if it has
    /// the group.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn group_state(&self, group: &GroupId) -> crate::Result<Option<GroupState>> {
        let mut txn = self.store.transaction()?;
        Ok(self
            .load_group_history(&mut txn, group)?
            .map(|h| h.current().clone()))
    }

    /// Forgets a group: its record and every sender key received for it.
    /// Whether there was one.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn forget_group(&self, group: &GroupId) -> crate::Result<bool> {
        let mut txn = self.store.transaction()?;
        for sender in txn.group_senders(group)? {
            txn.remove_group_sender_keys(group, &sender)?;
        }
        let existed = txn.remove_group(group)?;
        txn.commit()?;
        Ok(existed)
    }

    /// Encrypts one message to a group, in one transaction: the sender
    /// key is made (or replaced, see below) and distributed over the
    /// pairwise sessions to every device of every member that does not
    /// have it, and the message is encrypted once under it.
    ///
    /// The devices are those of the members of the group's state as this
    /// device computed it, each from the user's latest device list on
    /// record, signed by the user key the state names — never a device
    /// the server names. The sender key is replaced before this send when
    /// a device it went to is no longer one of them (a member was removed,
    /// or removed a device), after
    /// [`AccountConfig::with_group_rotation`](super::AccountConfig::with_group_rotation)'s
    /// number of messages or age, and when the group has none yet.
    ///
    /// # Errors
    /// [`AccountError::UnknownGroup`]; [`AccountError::NotGroupMember`]
    /// when this device's user is not a member;
    /// [`MisuseError::PlaintextTooLong`](crate::MisuseError::PlaintextTooLong);
    /// a [`StorageError`](crate::StorageError). Then nothing changed.
    ///
    /// # Security
    /// Send [`GroupSend::distributions`] before [`GroupSend::message`].
    /// A member whose list is not on record is in
    /// [`FanOut::unreachable`]: fetch it and send again.
    pub fn group_send<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        group: &GroupId,
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<GroupSend> {
        super::trace::traced("group_send", plaintext.len(), || {
            let mut txn = self.store.transaction()?;
            let mut record = self
                .load_group(&mut txn, group)?
                .ok_or(AccountError::UnknownGroup)?;
            // The history is shared (the account's cache holds it too):
            // this is a pointer copy, not one of the state.
            let history = Arc::clone(&record.history);
            let state = history.current();
            if state.member(self.user.public_key()).is_none() {
                return Err(AccountError::NotGroupMember.into());
            }
            let mut reach = self.reach(&mut txn, state)?;
            // The key usually went to exactly the devices the group
            // reaches, in this order (it is distributed in reach order):
            // then no device it went to has left and none is waiting for
            // it, found without hashing either list.
            let settled = record
                .own
                .as_ref()
                .is_some_and(|own| reach.devices.iter().eq(own.distributed.iter()));
            let stale = match &record.own {
                None => true,
                Some(own) => {
                    let left = !settled && {
                        let reached: HashSet<(&UserAddress, u32)> = reach.devices.iter().collect();
                        own.distributed.iter().any(|d| !reached.contains(&d))
                    };
                    left || own.sent >= self.config.group_rotation_messages
                        || now.saturating_sub(own.created_at) >= self.config.group_rotation_age
                }
            };
            if stale {
                record.own = Some(OwnKey {
                    key: SenderKey::generate(rng, *group, state.epoch()),
                    created_at: now,
                    sent: 0,
                    distributed: DeviceRuns::default(),
                });
            }
            let Some(own) = record.own.as_mut() else {
                return Err(AccountError::UnknownGroup.into());
            };
            let mut fan_out = FanOut {
                envelopes: Vec::new(),
                missing: Vec::new(),
                unreachable: core::mem::take(&mut reach.unreachable),
            };
            // The devices the key has not reached yet: usually none, so
            // nothing is encoded for them unless there is one.
            let pending: Vec<DeviceAddress> = if settled && !stale {
                Vec::new()
            } else {
                let had: HashSet<(&UserAddress, u32)> = own.distributed.iter().collect();
                reach
                    .devices
                    .iter()
                    .filter(|d| !had.contains(d))
                    .map(|(user, id)| user.device(id))
                    .collect()
            };
            let mut written = Vec::new();
            let (content, sync) = if pending.is_empty() {
                (zeroize::Zeroizing::new(Vec::new()), Vec::new())
            } else {
                let distribution = own.key.distribution().to_secret_bytes();
                let content = ContentFrame::Distribution(distribution.as_bytes()).to_vec();
                let state_bytes = state.to_bytes();
                (
                    zeroize::Zeroizing::new(content),
                    ContentFrame::StateSync(&state_bytes).to_vec(),
                )
            };
            for device in pending {
                // This user's own devices take the state on its word: they
                // hold the same user key (PROTOCOL.md §17.4).
                let own_device = device.user() == self.address.user();
                let mut parts: Vec<&[u8]> = Vec::with_capacity(2);
                if own_device {
                    parts.push(&sync);
                }
                parts.push(&content);
                let mut sent_all = true;
                for part in parts {
                    match self.encrypt_in(&mut txn, rng, &device, part, now) {
                        Ok((bytes, sealed, set)) => {
                            let envelope =
                                Envelope::new(self.address.clone(), device.clone(), bytes)?;
                            fan_out.envelopes.push(envelope);
                            written.push((device.clone(), sealed, set));
                        }
                        Err(Error::Account(
                            AccountError::NoSession | AccountError::SessionExpired,
                        )) => {
                            fan_out.missing.push(device.clone());
                            sent_all = false;
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                if sent_all {
                    own.distributed.push(&device);
                }
            }
            let message = own.key.encrypt(&self.address, plaintext)?;
            own.sent = own.sent.saturating_add(1);
            self.store_group(&mut txn, rng, &record)?;
            txn.commit()?;
            for (device, sealed, set) in written {
                self.remember(&device, sealed, set);
            }
            Ok(GroupSend {
                message,
                distributions: fan_out,
            })
        })
    }

    /// Decrypts a group message `sender` sent (as the server says), in one
    /// transaction.
    ///
    /// # Errors
    /// - [`Error::Decode`](crate::Error::Decode) for malformed bytes;
    /// - [`AccountError::UnknownGroup`] for a group this device does not
    ///   have (yet: keep the message, and try again after a
    ///   [`GroupEvent::Joined`]); [`AccountError::NotGroupMember`] once this
    ///   device's user was removed;
    /// - [`AccountError::SenderNotMember`] unless `sender` is on the latest
    ///   list on record of a member's user (a ghost, a removed member or
    ///   device; or a member added by a change not received yet: try again
    ///   after the next [`GroupEvent::Changed`]);
    /// - [`GroupError::UnknownSenderKey`] when no key from `sender` has the
    ///   message's key id (its distribution has not arrived: try again
    ///   after a [`GroupEvent::SenderKey`] for it);
    /// - the refusals of [`ReceivedSenderKey::decrypt`](crate::ReceivedSenderKey::decrypt):
    ///   [`Error::DecryptionFailed`](crate::Error::DecryptionFailed) for a
    ///   forgery or a message relabelled as another device's,
    ///   [`GroupError::Duplicate`] for a replay, and the others;
    /// - a [`StorageError`](crate::StorageError).
    ///
    /// On any error nothing changed.
    ///
    /// # Crash safety
    /// The receiver's chain moves on, committed, before the plaintext is
    /// returned: if the app dies before it stored the plaintext, the
    /// message is gone (delivered again, it is a
    /// [`GroupError::Duplicate`]). Apps that cannot accept that use
    /// [`Account::group_decrypt_with`].
    pub fn group_decrypt<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        sender: &DeviceAddress,
        bytes: &[u8],
    ) -> crate::Result<GroupDecrypted> {
        match self.group_decrypt_with(rng, sender, bytes, |_| {
            Ok::<(), core::convert::Infallible>(())
        })? {
            Ok((decrypted, ())) => Ok(decrypted),
            Err(never) => match never {},
        }
    }

    /// As [`Account::group_decrypt`], but hands the decrypted message to
    /// `deliver` *inside* the transaction, before it commits, as
    /// [`Account::decrypt_with`] does: the app stores the plaintext there.
    /// If `deliver` returns `Err`, or the process dies before the commit,
    /// nothing is committed and the same bytes decrypt again later, so a
    /// group message is delivered at least once and never lost.
    ///
    /// Returns the outer `Err` for kinseal's errors, or `Ok(Err(e))` when
    /// `deliver` refused with `e` (nothing committed).
    ///
    /// # Errors
    /// As [`Account::group_decrypt`].
    pub fn group_decrypt_with<R: CryptoRng + ?Sized, T, E>(
        &self,
        rng: &mut R,
        sender: &DeviceAddress,
        bytes: &[u8],
        deliver: impl FnOnce(&GroupDecrypted) -> Result<T, E>,
    ) -> crate::Result<Result<(GroupDecrypted, T), E>> {
        super::trace::traced("group_decrypt", bytes.len(), || {
            let frame = GroupMessageFrame::decode(bytes)?;
            let group = GroupId::from_bytes(frame.header.group_id);
            let key_id = frame.header.key_id;
            let mut txn = self.store.transaction()?;
            let history = self
                .load_group_history(&mut txn, &group)?
                .ok_or(AccountError::UnknownGroup)?;
            let state = history.current();
            if state.member(self.user.public_key()).is_none() {
                return Err(AccountError::NotGroupMember.into());
            }
            if self.member_key(&mut txn, state, sender)?.is_none() {
                return Err(AccountError::SenderNotMember {
                    sender: sender.clone(),
                }
                .into());
            }
            let mut keys = self.load_sender_keys(&mut txn, &group, sender)?;
            let key = keys
                .keys
                .iter_mut()
                .find(|k| k.key_id() == key_id)
                .ok_or(GroupError::UnknownSenderKey { key_id })?;
            let plaintext = key.decrypt(sender, bytes)?;
            self.store_sender_keys(&mut txn, rng, &group, sender, &keys)?;
            let decrypted = GroupDecrypted {
                group,
                sender: sender.clone(),
                plaintext,
            };
            let delivered = match deliver(&decrypted) {
                Ok(delivered) => delivered,
                // Dropped without a commit: nothing changed.
                Err(e) => return Ok(Err(e)),
            };
            txn.commit()?;
            Ok(Ok((decrypted, delivered)))
        })
    }

    /// Every device the group reaches: the devices on the latest list of
    /// each member's user, when that list is signed by the user key the
    /// state names, this device excepted.
    fn reach<T: StoreTransaction>(&self, txn: &mut T, state: &GroupState) -> crate::Result<Reach> {
        let mut reach = Reach {
            devices: DeviceRuns::default(),
            unreachable: Vec::new(),
        };
        // The device ids of `list`, this device excepted.
        let ids_of = |user: &UserAddress, list: &crate::VerifiedDeviceList| -> Vec<u32> {
            list.devices()
                .map(|d| d.device_id())
                .filter(|&id| user != self.address.user() || id != self.address.device_id())
                .collect()
        };
        for member in state.members() {
            let user = member.address();
            let ids = if member.key() == self.user.public_key() && user == self.address.user() {
                Some(ids_of(user, &self.own_list(txn)?))
            } else {
                // Read where the record is, not copied out of the cache.
                self.with_user(txn, user, |known| {
                    (known.key() == member.key()).then(|| ids_of(user, known.device_list()))
                })?
                .flatten()
            };
            match ids {
                Some(ids) => reach.devices.push_run(user.clone(), ids),
                None => reach.unreachable.push(user.clone()),
            }
        }
        Ok(reach)
    }

    /// The user key of `device`'s user if that user is a member of `state`
    /// under the key and address on record and `device` is on its latest
    /// list; `None` otherwise.
    fn member_key<T: StoreTransaction>(
        &self,
        txn: &mut T,
        state: &GroupState,
        device: &DeviceAddress,
    ) -> crate::Result<Option<UserIdentityKey>> {
        let Some(known) = self.load_user(txn, device.user())? else {
            return Ok(None);
        };
        let listed = known.device_list().device(device.device_id()).is_some();
        let member = state
            .member(known.key())
            .is_some_and(|m| m.address() == device.user());
        Ok((listed && member).then(|| known.key().clone()))
    }
}
