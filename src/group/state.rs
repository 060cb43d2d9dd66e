//! A group's state: its members and their roles at one epoch, chained by
//! hash to the epoch before (PROTOCOL.md §16.5), and the rules of applying
//! a verified change to it (§16.7). The byte layout is in
//! `wire/group_state.rs`.

use core::fmt;
use rand_core::CryptoRng;

use super::GroupId;
use super::change::{self, GroupChange, GroupOp, VerifiedGroupChange};
use crate::address::UserAddress;
use crate::crypto::kdf::sha256;
use crate::crypto::labels::GROUP_STATE_HASH;
use crate::error::{DecodeError, GroupError, WireType};
use crate::keys::{Short, UserIdentityKey, UserIdentityKeyPair};
use crate::limits::MAX_GROUP_MEMBERS;
use crate::wire::{
    Frame, GROUP_HASH_LEN, GroupMemberFrame, GroupStateFrame, ROLE_ADMIN, ROLE_MEMBER,
    UserAddressFrame,
};

/// What a member may do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum GroupRole {
    /// Takes part (byte `0x01`).
    Member,
    /// Takes part and signs changes of the membership (byte `0x02`).
    Admin,
}

impl GroupRole {
    pub(super) fn byte(self) -> u8 {
        match self {
            GroupRole::Member => ROLE_MEMBER,
            GroupRole::Admin => ROLE_ADMIN,
        }
    }

    /// The role of a byte the wire layer checked.
    pub(super) fn from_byte(byte: u8, wire_type: WireType) -> Result<Self, DecodeError> {
        match byte {
            ROLE_MEMBER => Ok(GroupRole::Member),
            ROLE_ADMIN => Ok(GroupRole::Admin),
            found => Err(DecodeError::InvalidField {
                wire_type,
                field: "role",
                found: found.into(),
            }),
        }
    }
}

/// One member of a group: a user, named by user identity key, where the
/// user is reached, and a role.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupMember {
    key: UserIdentityKey,
    address: UserAddress,
    role: GroupRole,
}

impl GroupMember {
    /// The member's user identity key: who the member is.
    pub fn key(&self) -> &UserIdentityKey {
        &self.key
    }

    /// Where the member is reached.
    pub fn address(&self) -> &UserAddress {
        &self.address
    }

    /// The member's role.
    pub fn role(&self) -> GroupRole {
        self.role
    }

    fn frame(&self) -> GroupMemberFrame<'_> {
        GroupMemberFrame {
            user_key: self.key.to_bytes(),
            address: UserAddressFrame::of(&self.address),
            role: self.role.byte(),
        }
    }
}

/// A group's membership at one epoch (PROTOCOL.md §16.5): the group id,
/// the epoch (0 for the state its genesis makes), the hash of the state
/// before (all zero at epoch 0), and 1 to [`MAX_GROUP_MEMBERS`] members in
/// ascending order of user key bytes, at least one an admin.
///
/// A state carries no signature: a member trusts a state because it
/// computed it, from a genesis and changes it verified
/// ([`GroupState::from_genesis`], [`GroupState::apply`]).
/// [`GroupState::from_bytes`] reads back a state the caller stored.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupState {
    group_id: GroupId,
    epoch: u64,
    previous_hash: [u8; GROUP_HASH_LEN],
    members: Vec<GroupMember>,
    encoding: Vec<u8>,
    hash: [u8; GROUP_HASH_LEN],
}

impl GroupState {
    /// Creates a group: draws a group id bound to `creator` from `rng`
    /// (PROTOCOL.md §16.6), signs its genesis by `creator`, on its device
    /// `creator_device`, adding the creator as admin first and then
    /// `members` as members in ascending order of key bytes, and returns
    /// the state of epoch 0 it makes with it. Send the genesis to every
    /// member; each makes the same state with [`GroupState::from_genesis`].
    ///
    /// # Errors
    /// [`GroupError::TooManyMembers`] for more than [`MAX_GROUP_MEMBERS`]
    /// users with the creator, [`GroupError::AlreadyMember`] for a user
    /// given twice or the creator given as a member.
    pub fn create<R: CryptoRng + ?Sized>(
        rng: &mut R,
        creator: &UserIdentityKeyPair,
        creator_device: u32,
        creator_address: &UserAddress,
        members: impl IntoIterator<Item = (UserIdentityKey, UserAddress)>,
    ) -> crate::Result<(GroupState, GroupChange)> {
        let mut given = members.into_iter();
        let mut others: Vec<(UserIdentityKey, UserAddress)> =
            given.by_ref().take(MAX_GROUP_MEMBERS).collect();
        let found = 1 + others.len() + given.count();
        if found > MAX_GROUP_MEMBERS {
            return Err(GroupError::TooManyMembers {
                max: MAX_GROUP_MEMBERS,
                found,
            }
            .into());
        }
        others.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let ops = core::iter::once(GroupOp::Add {
            key: creator.public_key().clone(),
            address: creator_address.clone(),
            role: GroupRole::Admin,
        })
        .chain(others.into_iter().map(|(key, address)| GroupOp::Add {
            key,
            address,
            role: GroupRole::Member,
        }));
        let ops = change::bounded_ops(ops)?;
        let group = GroupId::for_creator(rng, creator.public_key());
        let genesis = change::sign(group, 0, [0; GROUP_HASH_LEN], creator, creator_device, ops);
        let state = genesis_state(&genesis)?;
        Ok((state, genesis))
    }

    /// The state of epoch 0 a verified genesis makes: its operations
    /// applied in order to no members.
    ///
    /// # Errors
    /// [`GroupError::InvalidGenesis`] when the change is built on a state,
    /// its group id is not bound to its author ([`GroupId::is_bound_to`]),
    /// it holds an operation other than `Add`, or it does not add its
    /// author as an admin; [`GroupError::AlreadyMember`] for a user added
    /// twice;
    /// [`GroupError::TooManyMembers`].
    pub fn from_genesis(genesis: &VerifiedGroupChange) -> crate::Result<GroupState> {
        genesis_state(genesis.change())
    }

    /// The state `change` makes of this one (PROTOCOL.md §16.7): the same
    /// group, epoch + 1, this state's hash as previous hash, and the
    /// change's operations applied in order. `self` is unchanged.
    ///
    /// In this order: the group ([`GroupError::WrongGroup`]); the base
    /// epoch (older: [`GroupError::StaleChange`]; later:
    /// [`GroupError::WrongBase`]); the base hash
    /// ([`GroupError::WrongBase`]); the author is an admin of this state,
    /// or the change's one operation removes the author (a member leaving)
    /// ([`GroupError::NotAnAdmin`]); each operation in order
    /// ([`GroupError::AlreadyMember`], [`GroupError::NotAMember`],
    /// [`GroupError::RoleUnchanged`]); then the result
    /// ([`GroupError::TooManyMembers`], [`GroupError::NoAdmin`]).
    ///
    /// # Errors
    /// The [`GroupError`]s above, and [`GroupError::EpochExhausted`].
    ///
    /// # Security
    /// The admin check is what refuses a member the server adds by itself:
    /// only a change signed by an admin of the state it is built on moves
    /// the group on, but for a member's own leaving, which removes only
    /// whoever signed it. Applying changes one by one does not resolve
    /// concurrent changes; [`GroupHistory`](crate::GroupHistory) does.
    pub fn apply(&self, change: &VerifiedGroupChange) -> crate::Result<GroupState> {
        if change.group_id() != &self.group_id {
            return Err(GroupError::WrongGroup.into());
        }
        let (current_epoch, base_epoch) = (self.epoch, change.base_epoch());
        if base_epoch < current_epoch {
            return Err(GroupError::StaleChange {
                current_epoch,
                base_epoch,
            }
            .into());
        }
        if base_epoch > current_epoch || change.base_hash() != &self.hash {
            return Err(GroupError::WrongBase {
                current_epoch,
                base_epoch,
            }
            .into());
        }
        let members = self.apply_ops(change.author(), change.ops())?;
        let epoch = self
            .epoch
            .checked_add(1)
            .ok_or(GroupError::EpochExhausted)?;
        Ok(build(self.group_id, epoch, self.hash, members))
    }

    /// The members `ops` by `author` make of this state's, checked.
    pub(super) fn apply_ops(
        &self,
        author: &UserIdentityKey,
        ops: &[GroupOp],
    ) -> Result<Vec<GroupMember>, GroupError> {
        if !self.is_admin(author) && !is_leave(author, ops) {
            return Err(GroupError::NotAnAdmin);
        }
        let members = apply_ops(self.members.clone(), ops)?;
        check_result(&members)?;
        Ok(members)
    }

    /// Reads back a state the caller stored: decodes it, validates every
    /// key and checks its consistency (previous hash all zero if and only
    /// if the epoch is 0, keys strictly ascending, an admin).
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::GroupState`]: `LengthOutOfRange` for a member count or
    /// id length out of range; `InvalidField` for a `role` byte, a
    /// `previous_hash` inconsistent with the epoch (`found` the epoch,
    /// saturated), a `user_key` out of order (`found` its index), or no
    /// admin (field `role`, `found` 0); `InvalidKey` with
    /// [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity).
    ///
    /// # Security
    /// A state is trusted because this member computed it. Decode only
    /// states you stored yourself, never one a server or another member
    /// sent: those come as a genesis and changes.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = GroupStateFrame::decode(bytes)?;
        let members = frame
            .members
            .iter()
            .map(|m| {
                Ok(GroupMember {
                    key: UserIdentityKey::from_bytes(&m.user_key)?,
                    address: m.address.to_address()?,
                    role: GroupRole::from_byte(m.role, WireType::GroupState)?,
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let invalid = |field, found| DecodeError::InvalidField {
            wire_type: WireType::GroupState,
            field,
            found,
        };
        let zero = frame.previous_hash == [0; GROUP_HASH_LEN];
        if zero != (frame.epoch == 0) {
            let found = u32::try_from(frame.epoch).unwrap_or(u32::MAX);
            return Err(invalid("previous_hash", found).into());
        }
        for (i, pair) in members.windows(2).enumerate() {
            if let [a, b] = pair
                && a.key.as_bytes() >= b.key.as_bytes()
            {
                let found = u32::try_from(i + 1).unwrap_or(u32::MAX);
                return Err(invalid("user_key", found).into());
            }
        }
        if !members.iter().any(|m| m.role == GroupRole::Admin) {
            return Err(invalid("role", 0).into());
        }
        Ok(GroupState {
            group_id: GroupId::from_bytes(frame.group_id),
            epoch: frame.epoch,
            previous_hash: frame.previous_hash,
            members,
            hash: sha256(&[GROUP_STATE_HASH, bytes]),
            encoding: bytes.to_vec(),
        })
    }

    /// The encoding, for the caller's storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoding.clone()
    }

    /// The encoding, borrowed.
    pub(crate) fn encoding(&self) -> &[u8] {
        &self.encoding
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The epoch: 0 for the genesis's state, one more for each change.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The state's hash: SHA-256 of `"KINSEAL-v1 group state hash\0" ‖`
    /// the encoding. A change names it as its base hash; the next state
    /// as its previous hash.
    pub fn hash(&self) -> &[u8; GROUP_HASH_LEN] {
        &self.hash
    }

    /// The hash of the state of the epoch before; all zero at epoch 0.
    pub fn previous_hash(&self) -> &[u8; GROUP_HASH_LEN] {
        &self.previous_hash
    }

    /// The members, in ascending order of user key bytes.
    pub fn members(&self) -> impl ExactSizeIterator<Item = &GroupMember> + '_ {
        self.members.iter()
    }

    /// The member with this user key, if the group has it.
    pub fn member(&self, key: &UserIdentityKey) -> Option<&GroupMember> {
        find(&self.members, key)
            .ok()
            .and_then(|i| self.members.get(i))
    }

    /// Whether the user with this key is an admin of the group.
    pub fn is_admin(&self, key: &UserIdentityKey) -> bool {
        self.member(key).is_some_and(|m| m.role == GroupRole::Admin)
    }
}

impl fmt::Debug for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupState")
            .field("group_id", &self.group_id)
            .field("epoch", &self.epoch)
            .field("hash", &Short(&self.hash))
            .field("members", &self.members)
            .finish()
    }
}

/// Where `key` is, or would be, in members sorted by key bytes.
fn find(members: &[GroupMember], key: &UserIdentityKey) -> Result<usize, usize> {
    members.binary_search_by(|m| m.key.as_bytes().cmp(key.as_bytes()))
}

/// Whether `ops` is a member leaving: one operation, removing `author`
/// (PROTOCOL.md §16.7 rule 4). Whether `author` is a member is rule 5's
/// to check (`NotAMember`), and the last admin cannot leave (`NoAdmin`).
fn is_leave(author: &UserIdentityKey, ops: &[GroupOp]) -> bool {
    matches!(ops, [GroupOp::Remove { key }] if key == author)
}

/// Applies operations in order; members stay sorted.
fn apply_ops(
    mut members: Vec<GroupMember>,
    ops: &[GroupOp],
) -> Result<Vec<GroupMember>, GroupError> {
    for (op, o) in ops.iter().enumerate() {
        let at = find(&members, o.key());
        match (o, at) {
            (GroupOp::Add { key, address, role }, Err(i)) => members.insert(
                i,
                GroupMember {
                    key: key.clone(),
                    address: address.clone(),
                    role: *role,
                },
            ),
            (GroupOp::Add { .. }, Ok(_)) => return Err(GroupError::AlreadyMember { op }),
            (GroupOp::Remove { .. }, Ok(i)) => {
                members.remove(i);
            }
            (GroupOp::SetRole { role, .. }, Ok(i)) => match members.get_mut(i) {
                Some(m) if m.role != *role => m.role = *role,
                _ => return Err(GroupError::RoleUnchanged { op }),
            },
            (GroupOp::Remove { .. } | GroupOp::SetRole { .. }, Err(_)) => {
                return Err(GroupError::NotAMember { op });
            }
        }
    }
    Ok(members)
}

/// The bounds of a state: at most [`MAX_GROUP_MEMBERS`] members, an admin.
fn check_result(members: &[GroupMember]) -> Result<(), GroupError> {
    if members.len() > MAX_GROUP_MEMBERS {
        return Err(GroupError::TooManyMembers {
            max: MAX_GROUP_MEMBERS,
            found: members.len(),
        });
    }
    if !members.iter().any(|m| m.role == GroupRole::Admin) {
        return Err(GroupError::NoAdmin);
    }
    Ok(())
}

/// The state of epoch 0 a genesis makes (see [`GroupState::from_genesis`]).
fn genesis_state(genesis: &GroupChange) -> crate::Result<GroupState> {
    let only_adds = genesis
        .ops()
        .iter()
        .all(|op| matches!(op, GroupOp::Add { .. }));
    if !genesis.is_genesis() || !genesis.group_id().is_bound_to(genesis.author()) || !only_adds {
        return Err(GroupError::InvalidGenesis.into());
    }
    let members = apply_ops(Vec::new(), genesis.ops())?;
    let author_is_admin = find(&members, genesis.author())
        .ok()
        .and_then(|i| members.get(i))
        .is_some_and(|m| m.role == GroupRole::Admin);
    if !author_is_admin {
        return Err(GroupError::InvalidGenesis.into());
    }
    check_result(&members)?;
    Ok(build(*genesis.group_id(), 0, [0; GROUP_HASH_LEN], members))
}

/// Encodes and hashes a state whose members were checked.
fn build(
    group_id: GroupId,
    epoch: u64,
    previous_hash: [u8; GROUP_HASH_LEN],
    members: Vec<GroupMember>,
) -> GroupState {
    let frame = GroupStateFrame {
        group_id: *group_id.as_bytes(),
        epoch,
        previous_hash,
        members: members.iter().map(GroupMember::frame).collect(),
    };
    let encoding = frame.to_vec();
    let hash = sha256(&[GROUP_STATE_HASH, &encoding]);
    GroupState {
        group_id,
        epoch,
        previous_hash,
        members,
        encoding,
        hash,
    }
}
