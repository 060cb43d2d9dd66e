//! A member's view of a group's history: the current state, the state
//! before it and the change between, so that concurrent changes of one
//! state resolve the same way at every member (PROTOCOL.md §16.7).

use super::change::VerifiedGroupChange;
use super::state::GroupState;
use crate::error::GroupError;
use crate::wire::GROUP_HASH_LEN;

/// What [`GroupHistory::receive`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum GroupUpdate {
    /// The change was built on the current state and made the next one.
    Applied,
    /// The change was built on the state before the current one, as the
    /// change that made the current one, and its hash is lower: it won,
    /// and the current state is now the one it makes. The author of the
    /// losing change must build it again on the new state.
    Replaced {
        /// The hash of the change that lost.
        lost: [u8; GROUP_HASH_LEN],
    },
    /// The change is the one that made the current state: nothing to do.
    Unchanged,
}

/// The state before the current one and the change that made the current
/// one of it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Last {
    previous: GroupState,
    change_hash: [u8; GROUP_HASH_LEN],
}

/// A member's group history (PROTOCOL.md §16.7): the current state, and,
/// once a change was applied, the state before it and the hash of the
/// change between. Every member that receives the same changes, each
/// concurrent pair before any change built on either, ends in the same
/// state, whatever the order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupHistory {
    current: GroupState,
    last: Option<Last>,
}

impl GroupHistory {
    /// A history that starts at `state`: a genesis's state
    /// ([`GroupState::from_genesis`]) or one the caller stored.
    pub fn new(state: GroupState) -> GroupHistory {
        GroupHistory {
            current: state,
            last: None,
        }
    }

    /// A history that starts at `state`, the state before it and the
    /// hash of the change between, as the caller stored them.
    ///
    /// # Errors
    /// [`GroupError::WrongBase`] unless `state` is of the same group, one
    /// epoch after `previous` and names its hash.
    pub fn resume(
        previous: GroupState,
        change_hash: [u8; GROUP_HASH_LEN],
        state: GroupState,
    ) -> crate::Result<GroupHistory> {
        let chained = state.group_id() == previous.group_id()
            && previous.epoch().checked_add(1) == Some(state.epoch())
            && state.previous_hash() == previous.hash();
        if !chained {
            return Err(GroupError::WrongBase {
                current_epoch: state.epoch(),
                base_epoch: previous.epoch(),
            }
            .into());
        }
        Ok(GroupHistory {
            current: state,
            last: Some(Last {
                previous,
                change_hash,
            }),
        })
    }

    /// The current state.
    pub fn current(&self) -> &GroupState {
        &self.current
    }

    /// The state before the current one, once a change was applied.
    pub fn previous(&self) -> Option<&GroupState> {
        self.last.as_ref().map(|l| &l.previous)
    }

    /// The hash of the change that made the current state of the previous
    /// one, once a change was applied.
    pub fn last_change_hash(&self) -> Option<&[u8; GROUP_HASH_LEN]> {
        self.last.as_ref().map(|l| &l.change_hash)
    }

    /// Takes a verified change (PROTOCOL.md §16.7):
    ///
    /// - built on the current state: applied ([`GroupState::apply`]),
    ///   [`GroupUpdate::Applied`];
    /// - built on the previous state: checked by applying it to the
    ///   previous state; then the change that made the current state
    ///   again is [`GroupUpdate::Unchanged`], one with a lower hash
    ///   replaces it ([`GroupUpdate::Replaced`]), one with a higher hash is
    ///   refused [`GroupError::LostToConcurrentChange`];
    /// - anything else is refused as [`GroupState::apply`] of the current
    ///   state refuses it ([`GroupError::StaleChange`] for an older base,
    ///   [`GroupError::WrongBase`] for another state of the same epoch or
    ///   a later one).
    ///
    /// # Errors
    /// The above, and every error of [`GroupState::apply`]. Nothing
    /// changes when an error is returned.
    ///
    /// # Security
    /// Members converge only if each receives every concurrent change of
    /// a state before any change built on one of them; a member that
    /// applied a change on top of the loser refuses the winner as stale
    /// (PROTOCOL.md §16.7).
    pub fn receive(&mut self, change: &VerifiedGroupChange) -> crate::Result<GroupUpdate> {
        if let Some(last) = &self.last
            && change.base_epoch() == last.previous.epoch()
            && change.base_hash() == last.previous.hash()
        {
            let next = last.previous.apply(change)?;
            if change.hash() == &last.change_hash {
                return Ok(GroupUpdate::Unchanged);
            }
            if change.hash() > &last.change_hash {
                return Err(GroupError::LostToConcurrentChange.into());
            }
            let lost = last.change_hash;
            self.current = next;
            self.last = Some(Last {
                previous: last.previous.clone(),
                change_hash: *change.hash(),
            });
            return Ok(GroupUpdate::Replaced { lost });
        }
        let next = self.current.apply(change)?;
        let previous = core::mem::replace(&mut self.current, next);
        self.last = Some(Last {
            previous,
            change_hash: *change.hash(),
        });
        Ok(GroupUpdate::Applied)
    }
}
