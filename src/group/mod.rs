//! Group chats (PROTOCOL.md §16): sender keys, one sending chain and
//! signing key per member device per group, distributed over the
//! pairwise sessions; and end-to-end membership, a group state that
//! changes only by changes an admin signed, checked by every member.
//!
//! This floor sits beside `handshake/` (they never name each other): it
//! builds on the ratchet's chain steps and skipped-key store and on the
//! keys, and knows nothing of sessions.

mod change;
mod history;
mod state;

pub use change::{GroupChange, GroupOp, VerifiedGroupChange};
pub use history::{GroupHistory, GroupUpdate};
pub use state::{GroupMember, GroupRole, GroupState};

use core::fmt;

use rand_core::CryptoRng;

mod message;
mod received;
mod sender_key;
#[cfg(test)]
mod sender_key_tests;

pub use received::ReceivedSenderKey;
pub use sender_key::{SenderKey, SenderKeyDistribution};

use crate::sizes::GROUP_ID_LEN;

/// A group's id: 32 random bytes, chosen by the member that creates the
/// group, the same in every app. Public.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId([u8; GROUP_ID_LEN]);

impl GroupId {
    /// The length of a group id.
    pub const LENGTH: usize = GROUP_ID_LEN;

    /// A fresh random group id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> GroupId {
        let mut id = [0u8; GROUP_ID_LEN];
        rng.fill_bytes(&mut id);
        GroupId(id)
    }

    /// The group id with these bytes.
    pub fn from_bytes(bytes: [u8; GROUP_ID_LEN]) -> GroupId {
        GroupId(bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; GROUP_ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupId(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsRng;

    #[test]
    fn a_group_id_round_trips_and_prints_in_hex() {
        let id = GroupId::generate(&mut OsRng);
        assert_eq!(GroupId::from_bytes(*id.as_bytes()), id);
        assert_ne!(GroupId::generate(&mut OsRng), id);
        let shown = format!("{:?}", GroupId::from_bytes([0xab; 32]));
        assert_eq!(shown, format!("GroupId({})", "ab".repeat(32)));
    }
}
