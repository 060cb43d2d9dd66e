//! Group control messages an account receives over a pairwise session
//! (PROTOCOL.md §17.3–§17.4): sender-key distributions, changes, welcomes
//! and state syncs. Each is taken inside the transaction that decrypted
//! it; a refusal rolls the pairwise message back with it.

use std::sync::Arc;

use rand_core::CryptoRng;

use super::super::Account;
use super::GroupEvent;
use super::record::GroupRecord;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, Error, GroupError};
use crate::group::{
    GroupChange, GroupHistory, GroupState, GroupUpdate, ReceivedSenderKey, SenderKeyDistribution,
    VerifiedGroupChange,
};
use crate::wire::ContentFrame;

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Takes a group control message `peer` sent.
    pub(in crate::client::account) fn receive_group_content<
        T: StoreTransaction,
        R: CryptoRng + ?Sized,
    >(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        content: ContentFrame<'_>,
    ) -> crate::Result<GroupEvent> {
        match content {
            ContentFrame::Distribution(bytes) => self.receive_distribution(txn, rng, peer, bytes),
            ContentFrame::GroupChange(bytes) => {
                let change = GroupChange::from_bytes(bytes)?.verify()?;
                self.receive_change(txn, rng, peer, &change)
            }
            ContentFrame::Welcome { state, change } => {
                let change = GroupChange::from_bytes(change)?.verify()?;
                self.receive_welcome(txn, rng, peer, state, &change)
            }
            ContentFrame::StateSync(bytes) => self.receive_sync(txn, rng, peer, bytes),
            // Handled before this is called.
            ContentFrame::Message(_) => Err(AccountError::UnknownGroup.into()),
        }
    }

    /// A sender key: kept if `peer` is a member's device (PROTOCOL.md §17.3).
    fn receive_distribution<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        bytes: &[u8],
    ) -> crate::Result<GroupEvent> {
        let distribution = SenderKeyDistribution::from_bytes(bytes)?;
        let group = *distribution.group_id();
        let history = self
            .load_group_history(txn, &group)?
            .ok_or(AccountError::UnknownGroup)?;
        let state = history.current();
        if state.member(self.user.public_key()).is_none() {
            return Err(AccountError::NotGroupMember.into());
        }
        if self.member_key(txn, state, peer)?.is_none() {
            return Err(AccountError::SenderNotMember {
                sender: peer.clone(),
            }
            .into());
        }
        let mut keys = self.load_sender_keys(txn, &group, peer)?;
        if !keys.add(ReceivedSenderKey::from_distribution(&distribution, peer)) {
            return Ok(GroupEvent::Unchanged { group });
        }
        self.store_sender_keys(txn, rng, &group, peer, &keys)?;
        Ok(GroupEvent::SenderKey {
            group,
            sender: peer.clone(),
        })
    }

    /// A change, or a genesis (PROTOCOL.md §17.2).
    fn receive_change<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        change: &VerifiedGroupChange,
    ) -> crate::Result<GroupEvent> {
        let group = *change.group_id();
        let Some(mut record) = self.load_group(txn, &group)? else {
            if !change.is_genesis() {
                return Err(AccountError::UnknownGroup.into());
            }
            self.check_author(txn, peer, change)?;
            let state = GroupState::from_genesis(change)?;
            return self.join(txn, rng, GroupHistory::new(state));
        };
        if change.is_genesis() {
            // The genesis of a group this device has: it began there.
            return Ok(GroupEvent::Unchanged { group });
        }
        let before = record.state().clone();
        match Arc::make_mut(&mut record.history).receive(change) {
            Ok(GroupUpdate::Applied) => self.moved(txn, rng, record, &before, false),
            Ok(GroupUpdate::Replaced { .. }) => {
                // The state before the loser is the one both were built on.
                let base = record.history.previous().cloned().unwrap_or(before);
                self.moved(txn, rng, record, &base, true)
            }
            Ok(GroupUpdate::Unchanged)
            | Err(Error::Group(
                GroupError::StaleChange { .. } | GroupError::LostToConcurrentChange,
            )) => Ok(GroupEvent::Unchanged { group }),
            Err(e) => Err(e),
        }
    }

    /// A welcome: the change that adds this device's user and the state it
    /// is built on, from a device of the change's author (PROTOCOL.md §17.2).
    fn receive_welcome<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        state: &[u8],
        change: &VerifiedGroupChange,
    ) -> crate::Result<GroupEvent> {
        let group = *change.group_id();
        if let Some(record) = self.load_group(txn, &group)?
            && record.state().member(self.user.public_key()).is_some()
        {
            // A member already: the change is an ordinary one to it.
            return self.receive_change(txn, rng, peer, change);
        }
        self.check_author(txn, peer, change)?;
        // The author signed the change over this state's hash, so the state
        // is the author's (an admin's) word on who was in the group.
        let base = GroupState::from_bytes(state)?;
        let next = base.apply(change)?;
        let history = GroupHistory::resume(base, *change.hash(), next)?;
        self.join(txn, rng, history)
    }

    /// The state from another device of this user, which holds the same
    /// user key and is trusted with the group as this one is.
    fn receive_sync<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        bytes: &[u8],
    ) -> crate::Result<GroupEvent> {
        let own = self.own_list(txn)?;
        if peer.user() != self.address.user() || own.device(peer.device_id()).is_none() {
            return Err(AccountError::NotGroupAuthor {
                sender: peer.clone(),
            }
            .into());
        }
        let state = GroupState::from_bytes(bytes)?;
        let group = *state.group_id();
        match self.load_group(txn, &group)? {
            None => self.join(txn, rng, GroupHistory::new(state)),
            Some(record) if state.epoch() > record.state().epoch() => {
                let before = record.state().clone();
                let moved = GroupRecord {
                    history: Arc::new(GroupHistory::new(state)),
                    own: record.own,
                };
                self.moved(txn, rng, moved, &before, false)
            }
            Some(_) => Ok(GroupEvent::Unchanged { group }),
        }
    }

    /// Checks that `peer` is a listed device of the user who signed `change`.
    fn check_author<T: StoreTransaction>(
        &self,
        txn: &mut T,
        peer: &DeviceAddress,
        change: &VerifiedGroupChange,
    ) -> crate::Result<()> {
        let authored = self.load_user(txn, peer.user())?.is_some_and(|known| {
            known.key() == change.author() && known.device_list().device(peer.device_id()).is_some()
        });
        if !authored {
            return Err(AccountError::NotGroupAuthor {
                sender: peer.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// Starts a record at `history`, if this device's user is a member.
    fn join<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        history: GroupHistory,
    ) -> crate::Result<GroupEvent> {
        let state = history.current();
        if state.member(self.user.public_key()).is_none() {
            return Err(AccountError::NotGroupMember.into());
        }
        let group = *state.group_id();
        let epoch = state.epoch();
        // Keys kept from an earlier membership are of no use now.
        for sender in txn.group_senders(&group)? {
            txn.remove_group_sender_keys(&group, &sender)?;
        }
        self.store_group(txn, rng, &GroupRecord::new(history))?;
        Ok(GroupEvent::Joined { group, epoch })
    }

    /// Stores a record whose state moved on from `before`, and drops the
    /// sender keys of every device no longer a member's.
    pub(super) fn moved<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        mut record: GroupRecord,
        before: &GroupState,
        replaced: bool,
    ) -> crate::Result<GroupEvent> {
        let state = record.state().clone();
        let group = *state.group_id();
        let (added, removed) = difference(before, &state);
        let still_member = state.member(self.user.public_key()).is_some();
        for sender in txn.group_senders(&group)? {
            if !still_member || self.member_key(txn, &state, &sender)?.is_none() {
                txn.remove_group_sender_keys(&group, &sender)?;
            }
        }
        if !still_member {
            record.own = None;
        }
        self.store_group(txn, rng, &record)?;
        Ok(GroupEvent::Changed {
            group,
            epoch: state.epoch(),
            added,
            removed,
            replaced,
        })
    }
}

/// The users in `after` and not in `before`, and those in `before` and not
/// in `after` (by user key).
pub(super) fn difference(
    before: &GroupState,
    after: &GroupState,
) -> (Vec<UserAddress>, Vec<UserAddress>) {
    let added = after
        .members()
        .filter(|m| before.member(m.key()).is_none())
        .map(|m| m.address().clone())
        .collect();
    let removed = before
        .members()
        .filter(|m| after.member(m.key()).is_none())
        .map(|m| m.address().clone())
        .collect();
    (added, removed)
}
