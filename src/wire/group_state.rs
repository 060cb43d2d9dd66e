//! The `GroupState` and `GroupChange` frames: a group's membership at one
//! epoch, and an admin's signed change to it (PROTOCOL.md §16.5, §16.6).
//! The typed values, their checks, the signature and the rules of applying
//! live in `group/`.
//!
//! Group state (115 to 356 077 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version        = 0x01
//!      1     1  type           = 0x72 (GroupState)
//!      2     1  suite          = 0x01
//!      3    32  group_id
//!     35     8  epoch          u64, from 0 (the genesis)
//!     43    32  previous_hash  the hash of the state of epoch − 1;
//!                              all zero if and only if epoch = 0
//!     75     2  member_count   u16, 1 ..= MAX_GROUP_MEMBERS (1000)
//!     77     …  members        member_count entries, strictly ascending by user_key bytes:
//!                32  user_key  the member's Ed25519 user identity key
//!                 …  address   embedded user address (5 ..= 323 bytes)
//!                 1  role      0x01 member, 0x02 admin
//! ```
//!
//! The state's hash is SHA-256 over "KINSEAL-v1 group state hash\0" ‖ the
//! whole encoding. A state carries no signature.
//!
//! Group change (210 to 357 177 bytes):
//!
//! ```text
//! offset  size  field
//!      0     1  version        = 0x01
//!      1     1  type           = 0x73 (GroupChange)
//!      2     1  suite          = 0x01
//!      3    32  group_id       for a genesis, bound to author_key (PROTOCOL.md §16.6)
//!     35     8  base_epoch     u64, the epoch of the state it changes
//!     43    32  base_hash      that state's hash; all zero for a genesis
//!                              (only with base_epoch = 0)
//!     75    32  author_key     the signing admin's user identity key
//!    107     4  author_device  u32, the device that signed (attribution only)
//!    111     2  op_count       u16, 1 ..= MAX_GROUP_CHANGE_OPS (1000)
//!    113     …  ops            op_count operations, applied in order:
//!                 1  kind      0x01 Add, 0x02 Remove, 0x03 SetRole
//!               Add:     user_key 32 ‖ embedded address ‖ role 1
//!               Remove:  user_key 32
//!               SetRole: user_key 32 ‖ role 1
//!      …    64  signature      Ed25519 by author_key over
//!                              "KINSEAL-v1 group change\0" ‖ every byte before it
//! ```
//!
//! The change's hash is SHA-256 over "KINSEAL-v1 group change hash\0" ‖
//! the whole encoding, signature included.

use super::{
    Frame, Reader, SIGNATURE_LEN, SUITE_V1, TYPE_GROUP_CHANGE, TYPE_GROUP_STATE, UserAddressFrame,
    Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{MAX_GROUP_CHANGE_OPS, MAX_GROUP_MEMBERS};
use crate::sizes::{GROUP_ID_LEN, KEY_LEN};

/// The length of a SHA-256 state or change hash.
pub(crate) const GROUP_HASH_LEN: usize = 32;
/// The role byte of a member.
pub(crate) const ROLE_MEMBER: u8 = 0x01;
/// The role byte of an admin.
pub(crate) const ROLE_ADMIN: u8 = 0x02;
/// The kind byte of an Add operation.
pub(crate) const OP_ADD: u8 = 0x01;
/// The kind byte of a Remove operation.
pub(crate) const OP_REMOVE: u8 = 0x02;
/// The kind byte of a SetRole operation.
pub(crate) const OP_SET_ROLE: u8 = 0x03;

/// One member of a state, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupMemberFrame<'a> {
    pub(crate) user_key: [u8; KEY_LEN],
    pub(crate) address: UserAddressFrame<'a>,
    pub(crate) role: u8,
}

/// A whole group state as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupStateFrame<'a> {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) previous_hash: [u8; GROUP_HASH_LEN],
    pub(crate) members: Vec<GroupMemberFrame<'a>>,
}

/// One operation of a change, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupOpFrame<'a> {
    Add {
        user_key: [u8; KEY_LEN],
        address: UserAddressFrame<'a>,
        role: u8,
    },
    Remove {
        user_key: [u8; KEY_LEN],
    },
    SetRole {
        user_key: [u8; KEY_LEN],
        role: u8,
    },
}

/// Everything a change's signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupChangeBodyFrame<'a> {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) base_epoch: u64,
    pub(crate) base_hash: [u8; GROUP_HASH_LEN],
    pub(crate) author_key: [u8; KEY_LEN],
    pub(crate) author_device: u32,
    pub(crate) ops: Vec<GroupOpFrame<'a>>,
}

/// A whole change as bytes: the body and the author's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupChangeFrame<'a> {
    pub(crate) body: GroupChangeBodyFrame<'a>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// Reads a role byte: only `0x01` and `0x02` are roles.
fn read_role(r: &mut Reader<'_>, wire_type: WireType) -> Result<u8, DecodeError> {
    match r.u8()? {
        role @ (ROLE_MEMBER | ROLE_ADMIN) => Ok(role),
        found => Err(DecodeError::InvalidField {
            wire_type,
            field: "role",
            found: found.into(),
        }),
    }
}

/// A count the caller bounded, as its u16.
fn count16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl<'a> Frame<'a> for GroupStateFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        3 + GROUP_ID_LEN
            + 8
            + GROUP_HASH_LEN
            + 2
            + self
                .members
                .iter()
                .map(|m| KEY_LEN + m.address.embedded_len() + 1)
                .sum::<usize>()
    }

    /// The member count is bounded by the caller (the typed state, or the
    /// decoder).
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_GROUP_STATE)
            .u8(SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.epoch)
            .bytes(&self.previous_hash)
            .u16(count16(self.members.len()));
        for m in &self.members {
            w.bytes(&m.user_key);
            m.address.write_embedded(&mut w);
            w.u8(m.role);
        }
    }

    /// Decodes a state's structure front to back: the header, the member
    /// count against `1 ..= MAX_GROUP_MEMBERS` before the members
    /// (`LengthOutOfRange`), each address's lengths before its ids, each
    /// role byte (`InvalidField`), no trailing bytes. Keys, order and the
    /// rest of consistency are checked one floor up.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::GroupState);
        r.header(TYPE_GROUP_STATE)?;
        r.suite()?;
        let group_id = r.array()?;
        let epoch = r.u64()?;
        let previous_hash = r.array()?;
        let count = r.u16()?.into();
        let count = r.check_len(count, 1, MAX_GROUP_MEMBERS)?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            let user_key = r.array()?;
            let address = UserAddressFrame::read_embedded(&mut r)?;
            let role = read_role(&mut r, WireType::GroupState)?;
            members.push(GroupMemberFrame {
                user_key,
                address,
                role,
            });
        }
        r.finish()?;
        Ok(GroupStateFrame {
            group_id,
            epoch,
            previous_hash,
            members,
        })
    }
}

impl GroupOpFrame<'_> {
    fn encoded_len(&self) -> usize {
        match self {
            GroupOpFrame::Add { address, .. } => 1 + KEY_LEN + address.embedded_len() + 1,
            GroupOpFrame::Remove { .. } => 1 + KEY_LEN,
            GroupOpFrame::SetRole { .. } => 1 + KEY_LEN + 1,
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        match self {
            GroupOpFrame::Add {
                user_key,
                address,
                role,
            } => {
                w.u8(OP_ADD).bytes(user_key);
                address.write_embedded(w);
                w.u8(*role);
            }
            GroupOpFrame::Remove { user_key } => {
                w.u8(OP_REMOVE).bytes(user_key);
            }
            GroupOpFrame::SetRole { user_key, role } => {
                w.u8(OP_SET_ROLE).bytes(user_key).u8(*role);
            }
        }
    }
}

impl<'a> GroupOpFrame<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let wire_type = WireType::GroupChange;
        match r.u8()? {
            OP_ADD => Ok(GroupOpFrame::Add {
                user_key: r.array()?,
                address: UserAddressFrame::read_embedded(r)?,
                role: read_role(r, wire_type)?,
            }),
            OP_REMOVE => Ok(GroupOpFrame::Remove {
                user_key: r.array()?,
            }),
            OP_SET_ROLE => Ok(GroupOpFrame::SetRole {
                user_key: r.array()?,
                role: read_role(r, wire_type)?,
            }),
            found => Err(DecodeError::InvalidField {
                wire_type,
                field: "kind",
                found: found.into(),
            }),
        }
    }
}

impl GroupChangeBodyFrame<'_> {
    /// The length of the body: the change's without its signature.
    pub(crate) fn encoded_len(&self) -> usize {
        3 + GROUP_ID_LEN
            + 8
            + GROUP_HASH_LEN
            + KEY_LEN
            + 4
            + 2
            + self
                .ops
                .iter()
                .map(GroupOpFrame::encoded_len)
                .sum::<usize>()
    }

    /// Appends everything before the signature to `out`: what the
    /// signature covers. The operation count is bounded by the caller.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_GROUP_CHANGE)
            .u8(SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.base_epoch)
            .bytes(&self.base_hash)
            .bytes(&self.author_key)
            .u32(self.author_device)
            .u16(count16(self.ops.len()));
        for op in &self.ops {
            op.write(&mut w);
        }
    }

    /// The body's encoding, in a buffer with room for the signature.
    pub(crate) fn to_vec_with_room(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() + SIGNATURE_LEN);
        self.encode(&mut out);
        out
    }
}

impl<'a> Frame<'a> for GroupChangeFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        self.body.encoded_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        out.extend_from_slice(&self.signature);
    }

    /// Decodes a change's structure front to back: the header, the
    /// operation count against `1 ..= MAX_GROUP_CHANGE_OPS` before the
    /// operations (`LengthOutOfRange`), each operation's kind byte and
    /// role byte (`InvalidField`), each address's lengths before its ids,
    /// the signature, no trailing bytes. Keys and the base's consistency
    /// are checked one floor up.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::GroupChange);
        r.header(TYPE_GROUP_CHANGE)?;
        r.suite()?;
        let group_id = r.array()?;
        let base_epoch = r.u64()?;
        let base_hash = r.array()?;
        let author_key = r.array()?;
        let author_device = r.u32()?;
        let count = r.u16()?.into();
        let count = r.check_len(count, 1, MAX_GROUP_CHANGE_OPS)?;
        let mut ops = Vec::with_capacity(count);
        for _ in 0..count {
            ops.push(GroupOpFrame::read(&mut r)?);
        }
        let signature = r.array()?;
        r.finish()?;
        Ok(GroupChangeFrame {
            body: GroupChangeBodyFrame {
                group_id,
                base_epoch,
                base_hash,
                author_key,
                author_device,
                ops,
            },
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        MAX_APP_ID_LEN, MAX_GROUP_CHANGE_LEN, MAX_GROUP_STATE_LEN, MAX_USER_ID_LEN,
        MIN_GROUP_CHANGE_LEN, MIN_GROUP_STATE_LEN,
    };

    fn address<'a>(app: &'a [u8], user: &'a [u8]) -> UserAddressFrame<'a> {
        UserAddressFrame {
            app_id: app,
            user_id: user,
        }
    }

    #[test]
    fn state_lengths_are_exact_and_the_layout_round_trips() {
        let (app, user) = ([b'a'; MAX_APP_ID_LEN], [b'u'; MAX_USER_ID_LEN]);
        let member = |a, role| GroupMemberFrame {
            user_key: [0x11; KEY_LEN],
            address: a,
            role,
        };
        for (n, a, len) in [
            (1, address(b"a", b"u"), MIN_GROUP_STATE_LEN),
            (MAX_GROUP_MEMBERS, address(&app, &user), MAX_GROUP_STATE_LEN),
        ] {
            let f = GroupStateFrame {
                group_id: [0x22; GROUP_ID_LEN],
                epoch: 3,
                previous_hash: [0x33; GROUP_HASH_LEN],
                members: vec![member(a, ROLE_ADMIN); n],
            };
            let bytes = f.to_vec();
            assert_eq!((bytes.len(), f.encoded_len()), (len, len));
            assert_eq!(bytes[..3], [1, TYPE_GROUP_STATE, SUITE_V1]);
            assert_eq!(GroupStateFrame::decode(&bytes).unwrap(), f);
        }
    }

    #[test]
    fn change_lengths_are_exact_and_the_layout_round_trips() {
        let (app, user) = ([b'a'; MAX_APP_ID_LEN], [b'u'; MAX_USER_ID_LEN]);
        let add = GroupOpFrame::Add {
            user_key: [0x11; KEY_LEN],
            address: address(&app, &user),
            role: ROLE_MEMBER,
        };
        let remove = GroupOpFrame::Remove {
            user_key: [0x12; KEY_LEN],
        };
        let set = GroupOpFrame::SetRole {
            user_key: [0x13; KEY_LEN],
            role: ROLE_ADMIN,
        };
        for (ops, len) in [
            (vec![remove], Some(MIN_GROUP_CHANGE_LEN)),
            (vec![add; MAX_GROUP_CHANGE_OPS], Some(MAX_GROUP_CHANGE_LEN)),
            (vec![add, remove, set], None),
        ] {
            let f = GroupChangeFrame {
                body: GroupChangeBodyFrame {
                    group_id: [0x22; GROUP_ID_LEN],
                    base_epoch: 4,
                    base_hash: [0x33; GROUP_HASH_LEN],
                    author_key: [0x44; KEY_LEN],
                    author_device: 5,
                    ops,
                },
                signature: [0x55; SIGNATURE_LEN],
            };
            let bytes = f.to_vec();
            assert_eq!(bytes.len(), f.encoded_len());
            if let Some(len) = len {
                assert_eq!(bytes.len(), len);
            }
            assert_eq!(bytes[..3], [1, TYPE_GROUP_CHANGE, SUITE_V1]);
            assert_eq!(GroupChangeFrame::decode(&bytes).unwrap(), f);
            let body = f.body.to_vec_with_room();
            assert_eq!(body[..], bytes[..bytes.len() - SIGNATURE_LEN]);
        }
    }
}
