//! A group change: an admin's signed operations on one group state
//! (PROTOCOL.md §16.6). The byte layout is in `wire/group_state.rs`; how a
//! change is applied is in `state.rs` and `history.rs`.

use core::fmt;

use super::GroupId;
use super::state::{GroupRole, GroupState};
use crate::address::UserAddress;
use crate::crypto::kdf::sha256;
use crate::crypto::labels::{GROUP_CHANGE_HASH, SIG_GROUP_CHANGE};
use crate::error::{DecodeError, GroupError, ProtocolError, SignedObject, WireType};
use crate::keys::{UserIdentityKey, UserIdentityKeyPair};
use crate::limits::MAX_GROUP_CHANGE_OPS;
use crate::wire::{
    Frame, GROUP_HASH_LEN, GroupChangeBodyFrame, GroupChangeFrame, GroupOpFrame, SIGNATURE_LEN,
    UserAddressFrame,
};

/// One operation of a [`GroupChange`], applied in order to the members of
/// the state the change is built on.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum GroupOp {
    /// Adds a user who is not a member, with a role.
    Add {
        /// The user's identity key: who the member is.
        key: UserIdentityKey,
        /// Where the user is reached.
        address: UserAddress,
        /// The role the user gets.
        role: GroupRole,
    },
    /// Removes a member.
    Remove {
        /// The member's user identity key.
        key: UserIdentityKey,
    },
    /// Gives a member another role.
    SetRole {
        /// The member's user identity key.
        key: UserIdentityKey,
        /// The new role, not the member's present one.
        role: GroupRole,
    },
}

impl GroupOp {
    /// The user the operation is about.
    pub fn key(&self) -> &UserIdentityKey {
        match self {
            GroupOp::Add { key, .. } | GroupOp::Remove { key } | GroupOp::SetRole { key, .. } => {
                key
            }
        }
    }

    fn frame(&self) -> GroupOpFrame<'_> {
        match self {
            GroupOp::Add { key, address, role } => GroupOpFrame::Add {
                user_key: key.to_bytes(),
                address: UserAddressFrame::of(address),
                role: role.byte(),
            },
            GroupOp::Remove { key } => GroupOpFrame::Remove {
                user_key: key.to_bytes(),
            },
            GroupOp::SetRole { key, role } => GroupOpFrame::SetRole {
                user_key: key.to_bytes(),
                role: role.byte(),
            },
        }
    }

    fn from_frame(frame: &GroupOpFrame<'_>) -> crate::Result<Self> {
        Ok(match frame {
            GroupOpFrame::Add {
                user_key,
                address,
                role,
            } => GroupOp::Add {
                key: UserIdentityKey::from_bytes(user_key)?,
                address: address.to_address()?,
                role: GroupRole::from_byte(*role, WireType::GroupChange)?,
            },
            GroupOpFrame::Remove { user_key } => GroupOp::Remove {
                key: UserIdentityKey::from_bytes(user_key)?,
            },
            GroupOpFrame::SetRole { user_key, role } => GroupOp::SetRole {
                key: UserIdentityKey::from_bytes(user_key)?,
                role: GroupRole::from_byte(*role, WireType::GroupChange)?,
            },
        })
    }
}

/// A group change, decoded and checked but not yet verified (PROTOCOL.md
/// §16.6): the group, the state it is built on (epoch and hash), its
/// author's user identity key and device id, and 1 to
/// [`MAX_GROUP_CHANGE_OPS`] operations, signed by the author's user key.
///
/// [`GroupChange::from_bytes`] checks the structure front to back, then
/// the author key and every operation's key in order (`InvalidKey`), then
/// that an all-zero base hash comes only with base epoch 0
/// (`InvalidField`). [`GroupChange::verify`] checks the signature; only a
/// [`VerifiedGroupChange`] can be applied. For every accepted `b`,
/// `GroupChange::from_bytes(b)?.to_bytes() == b`.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupChange {
    group_id: GroupId,
    base_epoch: u64,
    base_hash: [u8; GROUP_HASH_LEN],
    author: UserIdentityKey,
    author_device: u32,
    ops: Vec<GroupOp>,
    /// The encoding, signature last.
    encoding: Vec<u8>,
}

impl GroupChange {
    /// Signs a change of `state` by `author` (an admin of it, or a member
    /// whose one operation removes itself, signing on its device
    /// `device_id`), after checking that it applies: `ops` are applied in
    /// the order given.
    ///
    /// # Errors
    /// [`GroupError::OpCount`] for no operation or more than
    /// [`MAX_GROUP_CHANGE_OPS`]; every error [`GroupState::apply`] would
    /// return for this change (so a change that cannot apply is never
    /// signed).
    pub fn new(
        state: &GroupState,
        author: &UserIdentityKeyPair,
        device_id: u32,
        ops: impl IntoIterator<Item = GroupOp>,
    ) -> crate::Result<GroupChange> {
        let ops = bounded_ops(ops)?;
        state.apply_ops(author.public_key(), &ops)?;
        Ok(sign(
            *state.group_id(),
            state.epoch(),
            *state.hash(),
            author,
            device_id,
            ops,
        ))
    }

    /// Decodes a change and validates every key in it (see
    /// [`GroupChange`] for the order). The signature is checked by
    /// [`GroupChange::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::GroupChange`]: `LengthOutOfRange` for an operation count
    /// or id length out of range, `InvalidField` for an unknown operation
    /// `kind` or `role` byte or a zero `base_hash` with a base epoch other
    /// than 0 (`found` saturated to `u32`), `InvalidKey` with
    /// [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = GroupChangeFrame::decode(bytes)?;
        let b = frame.body;
        let author = UserIdentityKey::from_bytes(&b.author_key)?;
        let ops = b
            .ops
            .iter()
            .map(GroupOp::from_frame)
            .collect::<crate::Result<Vec<_>>>()?;
        if b.base_hash == [0; GROUP_HASH_LEN] && b.base_epoch != 0 {
            return Err(DecodeError::InvalidField {
                wire_type: WireType::GroupChange,
                field: "base_hash",
                found: u32::try_from(b.base_epoch).unwrap_or(u32::MAX),
            }
            .into());
        }
        Ok(GroupChange {
            group_id: GroupId::from_bytes(b.group_id),
            base_epoch: b.base_epoch,
            base_hash: b.base_hash,
            author,
            author_device: b.author_device,
            ops,
            encoding: bytes.to_vec(),
        })
    }

    /// Checks the signature: the author key the change names signed
    /// `"KINSEAL-v1 group change\0" ‖` every byte before the signature.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`] with [`SignedObject::GroupChange`].
    ///
    /// # Security
    /// Verification proves the named key signed this change, not that the
    /// key is an admin's: [`GroupState::apply`] and
    /// [`GroupHistory::receive`](crate::GroupHistory::receive) check that
    /// against the state the change is built on.
    pub fn verify(self) -> crate::Result<VerifiedGroupChange> {
        let invalid = ProtocolError::InvalidSignature {
            object: SignedObject::GroupChange,
        };
        let (body, signature) = self
            .encoding
            .split_last_chunk::<SIGNATURE_LEN>()
            .ok_or(invalid)?;
        self.author.verify(
            SignedObject::GroupChange,
            SIG_GROUP_CHANGE,
            &[body],
            signature,
        )?;
        let hash = sha256(&[GROUP_CHANGE_HASH, &self.encoding]);
        Ok(VerifiedGroupChange { change: self, hash })
    }

    /// The encoding, exactly as decoded or signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoding.clone()
    }

    /// The group the change is of.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The epoch of the state the change is built on.
    pub fn base_epoch(&self) -> u64 {
        self.base_epoch
    }

    /// The hash of the state the change is built on; all zero for a genesis.
    pub fn base_hash(&self) -> &[u8; GROUP_HASH_LEN] {
        &self.base_hash
    }

    /// Whether the change is a genesis: built on no state (base epoch 0,
    /// base hash all zero).
    pub fn is_genesis(&self) -> bool {
        self.base_hash == [0; GROUP_HASH_LEN]
    }

    /// The user identity key that signed (or claims to have signed) it.
    pub fn author(&self) -> &UserIdentityKey {
        &self.author
    }

    /// The author's device that signed it, as the change says: attribution
    /// only, nothing checks it.
    pub fn author_device(&self) -> u32 {
        self.author_device
    }

    /// The operations, in the order they apply.
    pub fn ops(&self) -> &[GroupOp] {
        &self.ops
    }
}

impl fmt::Debug for GroupChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupChange")
            .field("group_id", &self.group_id)
            .field("base_epoch", &self.base_epoch)
            .field("author", &self.author)
            .field("author_device", &self.author_device)
            .field("ops", &self.ops)
            .finish_non_exhaustive()
    }
}

/// A group change whose signature has been checked, with its hash. The
/// only way to get one is [`GroupChange::verify`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedGroupChange {
    change: GroupChange,
    hash: [u8; GROUP_HASH_LEN],
}

impl VerifiedGroupChange {
    /// The change's hash: SHA-256 of `"KINSEAL-v1 group change hash\0" ‖`
    /// the whole encoding. Of two concurrent changes the lower wins
    /// (PROTOCOL.md §16.7).
    pub fn hash(&self) -> &[u8; GROUP_HASH_LEN] {
        &self.hash
    }

    /// The verified change.
    pub fn change(&self) -> &GroupChange {
        &self.change
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.change.to_bytes()
    }
}

impl core::ops::Deref for VerifiedGroupChange {
    type Target = GroupChange;

    fn deref(&self) -> &GroupChange {
        &self.change
    }
}

/// The operations a caller gives, at most one more than allowed read.
pub(super) fn bounded_ops(ops: impl IntoIterator<Item = GroupOp>) -> crate::Result<Vec<GroupOp>> {
    let mut given = ops.into_iter();
    let out: Vec<GroupOp> = given.by_ref().take(MAX_GROUP_CHANGE_OPS + 1).collect();
    let found = out.len() + given.count();
    if out.is_empty() || found > MAX_GROUP_CHANGE_OPS {
        return Err(GroupError::OpCount {
            min: 1,
            max: MAX_GROUP_CHANGE_OPS,
            found,
        }
        .into());
    }
    Ok(out)
}

/// Encodes and signs a change. The operation count was bounded.
pub(super) fn sign(
    group_id: GroupId,
    base_epoch: u64,
    base_hash: [u8; GROUP_HASH_LEN],
    author: &UserIdentityKeyPair,
    author_device: u32,
    ops: Vec<GroupOp>,
) -> GroupChange {
    let body = GroupChangeBodyFrame {
        group_id: *group_id.as_bytes(),
        base_epoch,
        base_hash,
        author_key: author.public_key().to_bytes(),
        author_device,
        ops: ops.iter().map(GroupOp::frame).collect(),
    };
    let mut encoding = body.to_vec_with_room();
    let signature = author.sign(SIG_GROUP_CHANGE, &[&encoding]);
    encoding.extend_from_slice(&signature);
    GroupChange {
        group_id,
        base_epoch,
        base_hash,
        author: author.public_key().clone(),
        author_device,
        ops,
        encoding,
    }
}
