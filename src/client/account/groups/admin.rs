//! What an admin's device does (PROTOCOL.md §17.2): creates a group and
//! changes its members, each as one signed change sent to every device
//! concerned, in one transaction.

use std::collections::HashSet;
use std::sync::Arc;

use rand_core::CryptoRng;

use super::super::Account;
use super::super::fanout::FanOut;
use super::record::GroupRecord;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, Error};
use crate::group::{GroupChange, GroupHistory, GroupId, GroupOp, GroupRole, GroupState};
use crate::wire::ContentFrame;
use crate::{Envelope, UserIdentityKey};

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Creates a group with this device's user as its admin and `members`
    /// (users whose device lists are on record) as members, and returns
    /// its id and the genesis (PROTOCOL.md §16.6) encrypted to every
    /// device of every member and to this user's other devices, in one
    /// transaction.
    ///
    /// # Errors
    /// [`AccountError::NoDeviceList`] for a member with no list on record;
    /// the errors of [`GroupState::create`] (too many members, one given
    /// twice);
    /// [`MisuseError::PlaintextTooLong`](crate::MisuseError::PlaintextTooLong)
    /// for a genesis too long for one pairwise message; a
    /// [`StorageError`](crate::StorageError). Then nothing changed.
    pub fn create_group<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        members: &[UserAddress],
        now: u64,
    ) -> crate::Result<(GroupId, FanOut)> {
        super::super::trace::traced("create_group", members.len(), || {
            let mut txn = self.store.transaction()?;
            let mut users = Vec::with_capacity(members.len());
            for user in members {
                users.push((self.user_key_of(&mut txn, user)?, user.clone()));
            }
            let (state, genesis) = GroupState::create(
                rng,
                &self.user,
                self.address.device_id(),
                self.address.user(),
                users,
            )?;
            let group = *state.group_id();
            let content = ContentFrame::GroupChange(&genesis.to_bytes()).to_vec();
            let mut reach = self.reach(&mut txn, &state)?;
            let mut fan_out = FanOut {
                envelopes: Vec::new(),
                missing: Vec::new(),
                unreachable: core::mem::take(&mut reach.unreachable),
            };
            let mut written = Vec::new();
            for device in reach.addresses() {
                self.send_in(
                    &mut txn,
                    rng,
                    &device,
                    &content,
                    now,
                    &mut fan_out,
                    &mut written,
                )?;
            }
            self.store_group(&mut txn, rng, &GroupRecord::new(GroupHistory::new(state)))?;
            txn.commit()?;
            for (device, sealed, set) in written {
                self.remember(&device, sealed, set);
            }
            Ok((group, fan_out))
        })
    }

    /// Adds users (with device lists on record) to a group as members.
    ///
    /// # Errors
    /// As [`Account::change_group`]; [`AccountError::NoDeviceList`] for a
    /// user with no list on record.
    pub fn add_group_members<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        group: &GroupId,
        users: &[UserAddress],
        now: u64,
    ) -> crate::Result<FanOut> {
        let ops = |txn: &mut S::Transaction<'_>, _: &GroupState| {
            users
                .iter()
                .map(|user| {
                    Ok(GroupOp::Add {
                        key: self.user_key_of(txn, user)?,
                        address: user.clone(),
                        role: GroupRole::Member,
                    })
                })
                .collect()
        };
        self.change_group_with(rng, group, ops, now)
    }

    /// Removes members from a group, by address.
    ///
    /// # Errors
    /// As [`Account::change_group`]; [`AccountError::NotGroupMember`] for
    /// a user who is not a member.
    pub fn remove_group_members<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        group: &GroupId,
        users: &[UserAddress],
        now: u64,
    ) -> crate::Result<FanOut> {
        let ops = |_: &mut S::Transaction<'_>, state: &GroupState| {
            users
                .iter()
                .map(|user| {
                    let member = state
                        .members()
                        .find(|m| m.address() == user)
                        .ok_or(AccountError::NotGroupMember)?;
                    Ok(GroupOp::Remove {
                        key: member.key().clone(),
                    })
                })
                .collect()
        };
        self.change_group_with(rng, group, ops, now)
    }

    /// Leaves a group: signs the change that removes this device's user
    /// (which needs no admin, PROTOCOL.md §16.7), applies it and sends it
    /// to every device of every member and to this user's other devices,
    /// as [`Account::change_group`] does. Every remaining device replaces
    /// its sender key before its next send, so this user reads nothing sent
    /// after; this device drops the group's sender keys and keeps the state
    /// it left (as a removal does), and sends nothing more to the group.
    ///
    /// # Errors
    /// [`AccountError::UnknownGroup`]; [`AccountError::NotGroupMember`]
    /// when this user is not a member;
    /// [`GroupError::NoAdmin`](crate::GroupError::NoAdmin) for the last
    /// admin (who must make another member admin first); as
    /// [`Account::change_group`] otherwise. Then nothing changed.
    pub fn leave_group<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        group: &GroupId,
        now: u64,
    ) -> crate::Result<FanOut> {
        let key = self.user.public_key();
        let leave = |_: &mut S::Transaction<'_>, state: &GroupState| {
            if state.member(key).is_none() {
                return Err(AccountError::NotGroupMember.into());
            }
            Ok(vec![GroupOp::Remove { key: key.clone() }])
        };
        self.change_group_with(rng, group, leave, now)
    }

    /// Signs a change of the group's current state by this device's user
    /// (an admin of it, or, for a change that only removes this user, a
    /// member: see [`Account::leave_group`]), applies it, and encrypts it to every device of
    /// every member before and after it and of this user's other devices:
    /// a *welcome* (the change and the state it is built on) to the users
    /// it adds, the change to everyone else (removed users learn they were
    /// removed). One transaction.
    ///
    /// Every remaining member's device replaces its sender key before its
    /// next [`Account::group_send`] when the change removed a device it
    /// had sent its key to.
    ///
    /// # Errors
    /// [`AccountError::UnknownGroup`]; the errors of [`GroupChange::new`]
    /// ([`GroupError::NotAnAdmin`](crate::GroupError::NotAnAdmin) when
    /// this user is not an admin, and the others);
    /// [`MisuseError::PlaintextTooLong`](crate::MisuseError::PlaintextTooLong)
    /// for a welcome too long for one pairwise message; a
    /// [`StorageError`](crate::StorageError). Then nothing changed.
    pub fn change_group<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        group: &GroupId,
        ops: Vec<GroupOp>,
        now: u64,
    ) -> crate::Result<FanOut> {
        self.change_group_with(rng, group, |_, _| Ok(ops), now)
    }

    /// [`Account::change_group`], with the operations made by `ops` from
    /// the group's current state, in the same transaction: what they are
    /// checked against is what they are applied to.
    fn change_group_with<R, F>(
        &self,
        rng: &mut R,
        group: &GroupId,
        ops: F,
        now: u64,
    ) -> crate::Result<FanOut>
    where
        R: CryptoRng + ?Sized,
        F: FnOnce(&mut S::Transaction<'_>, &GroupState) -> crate::Result<Vec<GroupOp>>,
    {
        super::super::trace::traced("change_group", 0, || {
            let mut txn = self.store.transaction()?;
            let mut record = self
                .load_group(&mut txn, group)?
                .ok_or(AccountError::UnknownGroup)?;
            let before = record.state().clone();
            let ops = ops(&mut txn, &before)?;
            let change = GroupChange::new(&before, &self.user, self.address.device_id(), ops)?;
            let change = change.verify()?;
            Arc::make_mut(&mut record.history).receive(&change)?;
            let after = record.state().clone();
            let change_bytes = change.to_bytes();
            let plain = ContentFrame::GroupChange(&change_bytes).to_vec();
            let before_bytes = before.to_bytes();
            let welcome = ContentFrame::Welcome {
                state: &before_bytes,
                change: &change_bytes,
            }
            .to_vec();
            let old = self.reach(&mut txn, &before)?;
            let mut new = self.reach(&mut txn, &after)?;
            let mut fan_out = FanOut {
                envelopes: Vec::new(),
                missing: Vec::new(),
                unreachable: core::mem::take(&mut new.unreachable),
            };
            let mut written = Vec::new();
            let mut devices: Vec<DeviceAddress> = old.addresses().collect();
            let mut seen: HashSet<DeviceAddress> = devices.iter().cloned().collect();
            for device in new.addresses() {
                if seen.insert(device.clone()) {
                    devices.push(device);
                }
            }
            let added: HashSet<&UserAddress> = after
                .members()
                .filter(|m| before.member(m.key()).is_none())
                .map(|m| m.address())
                .collect();
            for device in devices {
                let content = if added.contains(device.user()) {
                    &welcome
                } else {
                    &plain
                };
                self.send_in(
                    &mut txn,
                    rng,
                    &device,
                    content,
                    now,
                    &mut fan_out,
                    &mut written,
                )?;
            }
            let _ = self.moved(&mut txn, rng, record, &before, false)?;
            txn.commit()?;
            for (device, sealed, set) in written {
                self.remember(&device, sealed, set);
            }
            Ok(fan_out)
        })
    }

    /// The user key on record for `user`.
    fn user_key_of<T: StoreTransaction>(
        &self,
        txn: &mut T,
        user: &UserAddress,
    ) -> crate::Result<UserIdentityKey> {
        Ok(self
            .load_user(txn, user)?
            .ok_or(AccountError::NoDeviceList { user: user.clone() })?
            .key()
            .clone())
    }

    /// Encrypts `content` to `device` into `fan_out`, or notes it missing.
    #[allow(clippy::too_many_arguments)]
    fn send_in<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        device: &DeviceAddress,
        content: &[u8],
        now: u64,
        fan_out: &mut FanOut,
        written: &mut Vec<super::super::sessions::Written>,
    ) -> crate::Result<()> {
        match self.encrypt_in(txn, rng, device, content, now) {
            Ok((bytes, sealed, set)) => {
                let envelope = Envelope::new(self.address.clone(), device.clone(), bytes)?;
                fan_out.envelopes.push(envelope);
                written.push((device.clone(), sealed, set));
                Ok(())
            }
            Err(Error::Account(AccountError::NoSession | AccountError::SessionExpired)) => {
                fan_out.missing.push(device.clone());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
