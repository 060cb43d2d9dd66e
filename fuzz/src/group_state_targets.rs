//! The group-state fuzz target: group changes (PROTOCOL.md §16.6) decoded,
//! verified and applied against a fixed history, and stored group states
//! (§16.5) decoded. Included by `targets.rs`, so the corpus-replay test
//! runs it too.

use std::sync::OnceLock;

use kinseal::{
    GroupChange, GroupHistory, GroupOp, GroupRole, GroupState, UserAddress, UserIdentityKey,
    UserIdentityKeyPair,
};

use super::rng;

/// A group of Alice (admin) and Bob (member) one change after its genesis,
/// the history a member holds of it, and the seeds' changes.
struct GroupFixture {
    alice: UserIdentityKey,
    bob: UserIdentityKey,
    history: GroupHistory,
    seeds: Vec<(&'static str, Vec<u8>)>,
}

fn group_fixture() -> &'static GroupFixture {
    static F: OnceLock<GroupFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(7);
        let alice = UserIdentityKeyPair::generate(&mut r);
        let bob = UserIdentityKeyPair::generate(&mut r);
        let carol = UserIdentityKeyPair::generate(&mut r);
        let at = |u: &[u8]| UserAddress::new(b"chirp", u).unwrap();
        let (s0, genesis) = GroupState::create(
            &mut r,
            &alice,
            1,
            &at(b"alice"),
            [(bob.public_key().clone(), at(b"bob"))],
        )
        .unwrap();
        let add_carol = GroupOp::Add {
            key: carol.public_key().clone(),
            address: at(b"carol"),
            role: GroupRole::Member,
        };
        let c1 = GroupChange::new(&s0, &alice, 1, [add_carol.clone()]).unwrap();
        let v1 = c1.clone().verify().unwrap();
        let s1 = s0.apply(&v1).unwrap();
        let history = GroupHistory::resume(s0.clone(), *v1.hash(), s1.clone()).unwrap();
        let next = GroupChange::new(
            &s1,
            &alice,
            2,
            [
                GroupOp::SetRole {
                    key: bob.public_key().clone(),
                    role: GroupRole::Admin,
                },
                GroupOp::Remove {
                    key: carol.public_key().clone(),
                },
            ],
        )
        .unwrap();
        let concurrent = GroupChange::new(
            &s0,
            &alice,
            3,
            [GroupOp::Remove {
                key: bob.public_key().clone(),
            }],
        )
        .unwrap();
        // Bob, a member, signs a change as an admin would.
        // Bob's own group, read back under Alice's group id (a stored state
        // is not checked for its id's binding), so his change reaches the
        // admin check rather than the group check.
        let (bobs, _) = GroupState::create(&mut r, &bob, 1, &at(b"bob"), []).unwrap();
        let mut bobs = bobs.to_bytes();
        bobs[3..35].copy_from_slice(s0.group_id().as_bytes());
        let bobs = GroupState::from_bytes(&bobs).unwrap();
        let by_bob = GroupChange::new(&bobs, &bob, 1, [add_carol]).unwrap();
        // Bob leaves the current state: a member's change that applies.
        let leave = GroupChange::new(
            &s1,
            &bob,
            1,
            [GroupOp::Remove {
                key: bob.public_key().clone(),
            }],
        )
        .unwrap();
        GroupFixture {
            alice: alice.public_key().clone(),
            bob: bob.public_key().clone(),
            history,
            seeds: vec![
                ("fixture-genesis", genesis.to_bytes()),
                ("fixture-change", next.to_bytes()),
                ("fixture-concurrent", concurrent.to_bytes()),
                ("fixture-member-change", by_bob.to_bytes()),
                ("fixture-leave", leave.to_bytes()),
                ("fixture-state", s1.to_bytes()),
            ],
        }
    })
}

/// The layout seeds: a genesis, a change of the current state, a
/// concurrent change of the previous one, a member's change, a member
/// leaving and the state.
pub fn group_state_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    group_fixture()
        .seeds
        .iter()
        .map(|(name, bytes)| ("group_state", *name, bytes.clone()))
        .collect()
}

/// Group changes and states on arbitrary bytes: an accepted state or
/// change re-encodes byte for byte; only the fixture's users' keys verify
/// (no one else's secret is known); a change the fixture's history takes
/// is Alice's, the only admin, or Bob's leaving, and one it refuses
/// changes nothing;
/// applying and a genesis never panic.
pub fn group_state(data: &[u8]) {
    if let Ok(state) = GroupState::from_bytes(data) {
        assert_eq!(state.to_bytes(), data);
        assert!(state.members().any(|m| m.role() == GroupRole::Admin));
    }
    let Ok(change) = GroupChange::from_bytes(data) else {
        return;
    };
    assert_eq!(change.to_bytes(), data);
    let Ok(verified) = change.verify() else {
        return;
    };
    let f = group_fixture();
    assert!(verified.author() == &f.alice || verified.author() == &f.bob);
    let current = f.history.current();
    // Bob, a member, may only leave.
    let by_admin_or_leaving = || {
        verified.author() == &f.alice
            || matches!(verified.ops(), [GroupOp::Remove { key }] if key == verified.author())
    };
    if let Ok(next) = current.apply(&verified) {
        assert!(by_admin_or_leaving(), "{verified:?}");
        assert_eq!(next.epoch(), current.epoch() + 1);
        assert_eq!(next.previous_hash(), current.hash());
    }
    let mut history = f.history.clone();
    match history.receive(&verified) {
        Ok(_) => assert!(by_admin_or_leaving(), "{verified:?}"),
        Err(_) => assert_eq!(&history, &f.history),
    }
    if let Ok(state) = GroupState::from_genesis(&verified) {
        assert!(state.is_admin(verified.author()));
    }
}
