//! What the group layer refuses (PROTOCOL.md §16): group messages,
//! sender-key distributions, group states and their changes.

use core::fmt;

/// A group message, sender key, group state or change that breaks a rule
/// of the group layer. Cryptographic failures of a group message are the
/// opaque [`Error::DecryptionFailed`](crate::Error::DecryptionFailed), as
/// for pairwise messages; these are the failures a caller acts on.
///
/// Nothing was changed when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// A group message, distribution, state or change names another group
    /// than the one it was given to.
    WrongGroup,
    /// A group message of another epoch of the group than the sender key's
    /// (PROTOCOL.md §16.4).
    WrongEpoch {
        /// The sender key's epoch.
        expected: u64,
        /// The message's.
        found: u64,
    },
    /// A group message under a sender key (a chain) this receiver was not
    /// given: the sender rotated its key, and its new distribution has
    /// not arrived (or was never sent to this device).
    UnknownSenderKey {
        /// The message's key id.
        key_id: u32,
    },
    /// A group message decrypted with another device's sender key than
    /// the one it was received from.
    WrongSender,
    /// A group message at an iteration this receiver already decrypted:
    /// a duplicate or a replay.
    Duplicate {
        /// The message's iteration.
        iteration: u32,
    },
    /// A group message whose key is gone: from before the distribution
    /// this receiver was given (forward secrecy toward new members), or
    /// skipped so long ago that its key was evicted
    /// ([`MAX_GROUP_SKIPPED_KEYS`](crate::MAX_GROUP_SKIPPED_KEYS)).
    MessageKeyExpired {
        /// The message's iteration.
        iteration: u32,
    },
    /// A group message further ahead of the next expected iteration than
    /// [`MAX_GROUP_FORWARD_JUMP`](crate::MAX_GROUP_FORWARD_JUMP).
    JumpTooFar {
        /// The next iteration this receiver expected.
        next: u32,
        /// The message's iteration.
        iteration: u32,
    },
    /// A group change is built on an older state than the one it was given
    /// to (PROTOCOL.md §16.7): it was applied already, or lost long ago.
    StaleChange {
        /// The epoch of the state the change was given to.
        current_epoch: u64,
        /// The epoch of the state the change is built on.
        base_epoch: u64,
    },
    /// A group change is built on a state this member never had: another
    /// state of the same epoch (a fork, or the loser of a concurrent
    /// change), or a later epoch (changes are missing in between).
    WrongBase {
        /// The epoch of the state the change was given to.
        current_epoch: u64,
        /// The epoch of the state the change is built on.
        base_epoch: u64,
    },
    /// The author of a group change is not an admin of the state it is
    /// built on (and the change is not the author leaving): what refuses
    /// a member a server tries to add by itself.
    NotAnAdmin,
    /// An operation of a group change adds a user the group already has.
    AlreadyMember {
        /// The operation's index in the change, from 0.
        op: usize,
    },
    /// An operation of a group change removes, or sets the role of, a user
    /// the group does not have.
    NotAMember {
        /// The operation's index in the change, from 0.
        op: usize,
    },
    /// An operation of a group change sets a member's role to the role the
    /// member has.
    RoleUnchanged {
        /// The operation's index in the change, from 0.
        op: usize,
    },
    /// A group change would leave the group without an admin.
    NoAdmin,
    /// A group change would give the group more than
    /// [`MAX_GROUP_MEMBERS`](crate::MAX_GROUP_MEMBERS) members.
    TooManyMembers {
        /// The largest number of members allowed.
        max: usize,
        /// The number the change would make.
        found: usize,
    },
    /// A group change to build holds no operation, or more than
    /// [`MAX_GROUP_CHANGE_OPS`](crate::MAX_GROUP_CHANGE_OPS).
    OpCount {
        /// The fewest operations allowed.
        min: usize,
        /// The most operations allowed.
        max: usize,
        /// The number given.
        found: usize,
    },
    /// A concurrent change on the same state won (PROTOCOL.md §16.7): its
    /// hash is lower. The author must build the change again, on the state
    /// the winner made.
    LostToConcurrentChange,
    /// A change given as a group's genesis is not one: it is built on a
    /// state, or holds an operation other than an add, or does not add its
    /// author as an admin.
    InvalidGenesis,
    /// The group's epoch counter is exhausted (`u64::MAX`).
    EpochExhausted,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::WrongGroup => f.write_str("another group's"),
            GroupError::WrongEpoch { expected, found } => {
                write!(f, "group epoch {found}, expected {expected}")
            }
            GroupError::UnknownSenderKey { key_id } => {
                write!(f, "unknown sender key {key_id}")
            }
            GroupError::WrongSender => f.write_str("another sender's sender key"),
            GroupError::Duplicate { iteration } => {
                write!(f, "group message {iteration} already decrypted")
            }
            GroupError::MessageKeyExpired { iteration } => {
                write!(f, "key of group message {iteration} is gone")
            }
            GroupError::JumpTooFar { next, iteration } => {
                write!(f, "group message {iteration} too far ahead of {next}")
            }
            GroupError::StaleChange {
                current_epoch,
                base_epoch,
            } => write!(
                f,
                "change built on epoch {base_epoch}, older than {current_epoch}"
            ),
            GroupError::WrongBase {
                current_epoch,
                base_epoch,
            } => write!(
                f,
                "change built on a state of epoch {base_epoch} this member never had (current {current_epoch})"
            ),
            GroupError::NotAnAdmin => f.write_str("change not signed by an admin"),
            GroupError::AlreadyMember { op } => write!(f, "operation {op} adds a member"),
            GroupError::NotAMember { op } => write!(f, "operation {op} names a non-member"),
            GroupError::RoleUnchanged { op } => write!(f, "operation {op} changes no role"),
            GroupError::NoAdmin => f.write_str("change leaves the group without an admin"),
            GroupError::TooManyMembers { max, found } => {
                write!(f, "{found} members, more than {max}")
            }
            GroupError::OpCount { min, max, found } => {
                write!(f, "{found} operations, not in {min}..={max}")
            }
            GroupError::LostToConcurrentChange => {
                f.write_str("a concurrent change on the same state won")
            }
            GroupError::InvalidGenesis => f.write_str("not a genesis change"),
            GroupError::EpochExhausted => f.write_str("group epoch exhausted"),
        }
    }
}

impl core::error::Error for GroupError {}
