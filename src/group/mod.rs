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

use crate::crypto::kdf::sha256;
use crate::crypto::labels::GROUP_ID_BINDING;
use crate::keys::UserIdentityKey;
use crate::sizes::GROUP_ID_LEN;

/// The length of a group id's random half, `nonce` (PROTOCOL.md §16.6).
const GROUP_ID_NONCE_LEN: usize = GROUP_ID_LEN / 2;

/// A group's id: 32 bytes, the same in every app. Public.
///
/// The id of a group with a state is bound to the user who created it
/// (PROTOCOL.md §16.6): `nonce (16 random bytes) ‖ SHA-256("KINSEAL-v1
/// group id\0" ‖ creator's user key ‖ nonce)[..16]`. Every member checks
/// the binding on the genesis, so no one else can start a group under an
/// id the creator made ([`GroupState::create`] makes such an id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId([u8; GROUP_ID_LEN]);

impl GroupId {
    /// The length of a group id.
    pub const LENGTH: usize = GROUP_ID_LEN;

    /// A fresh random group id, bound to no creator: for sender keys used
    /// on their own, without a group state. A group with a state gets its
    /// id from [`GroupState::create`].
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> GroupId {
        let mut id = [0u8; GROUP_ID_LEN];
        rng.fill_bytes(&mut id);
        GroupId(id)
    }

    /// A fresh group id bound to `creator`: a random nonce and its binding.
    pub(crate) fn for_creator<R: CryptoRng + ?Sized>(
        rng: &mut R,
        creator: &UserIdentityKey,
    ) -> GroupId {
        let mut id = [0u8; GROUP_ID_LEN];
        let (nonce, binding) = id.split_at_mut(GROUP_ID_NONCE_LEN);
        rng.fill_bytes(nonce);
        binding
            .copy_from_slice(&Self::binding(creator, nonce)[..GROUP_ID_LEN - GROUP_ID_NONCE_LEN]);
        GroupId(id)
    }

    /// Whether this id was made by `creator` (PROTOCOL.md §16.6). Ids and
    /// user keys are public, so the comparison need not be constant time.
    pub fn is_bound_to(&self, creator: &UserIdentityKey) -> bool {
        let (nonce, binding) = self.0.split_at(GROUP_ID_NONCE_LEN);
        Self::binding(creator, nonce).get(..binding.len()) == Some(binding)
    }

    fn binding(creator: &UserIdentityKey, nonce: &[u8]) -> [u8; 32] {
        sha256(&[GROUP_ID_BINDING, creator.as_bytes(), nonce])
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
