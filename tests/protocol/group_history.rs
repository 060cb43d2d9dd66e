//! Group histories (PROTOCOL.md §16.7): concurrent admin changes converge
//! in every delivery order, a history resumes only a chained pair, and
//! random changes by random authors match a simple model.

use kinseal::{
    Error, GroupChange, GroupError, GroupHistory, GroupOp, GroupRole, GroupState, GroupUpdate,
};
use proptest::prelude::*;

use crate::group_state::{User, change, group, group_err, received, users};

#[test]
fn concurrent_admin_changes_converge_in_every_order() {
    let u = users(9, 6);
    let (s0, genesis) = group(&u[..4]);
    // Two admins.
    let s1 = s0
        .apply(&change(
            &s0,
            &u[0],
            vec![GroupOp::SetRole {
                key: u[1].key(),
                role: GroupRole::Admin,
            }],
        ))
        .unwrap();
    let first = change(
        &s0,
        &u[0],
        vec![GroupOp::SetRole {
            key: u[1].key(),
            role: GroupRole::Admin,
        }],
    );
    // Concurrent changes of s1, by each admin, and a third.
    let a = change(&s1, &u[0], vec![u[4].add(GroupRole::Member)]);
    let b = change(&s1, &u[1], vec![GroupOp::Remove { key: u[2].key() }]);
    let c = change(&s1, &u[1], vec![u[5].add(GroupRole::Member)]);
    let winner = [&a, &b, &c].into_iter().min_by_key(|x| *x.hash()).unwrap();
    let expected = s1.apply(winner).unwrap();
    let orders: [[&kinseal::VerifiedGroupChange; 3]; 6] = [
        [&a, &b, &c],
        [&a, &c, &b],
        [&b, &a, &c],
        [&b, &c, &a],
        [&c, &a, &b],
        [&c, &b, &a],
    ];
    let genesis = genesis.verify().unwrap();
    for order in orders {
        // Each member starts from the genesis it verified.
        let mut h = GroupHistory::new(GroupState::from_genesis(&genesis).unwrap());
        assert_eq!(h.receive(&first).unwrap(), GroupUpdate::Applied);
        let mut best = None::<[u8; 32]>;
        for x in order {
            let before = h.clone();
            match h.receive(x) {
                Ok(GroupUpdate::Applied) => assert!(best.is_none()),
                Ok(GroupUpdate::Replaced { lost }) => assert_eq!(Some(lost), best),
                Err(e) => {
                    assert_eq!(group_err(e), GroupError::LostToConcurrentChange);
                    assert_eq!(h, before);
                    continue;
                }
                Ok(other) => panic!("{other:?}"),
            }
            best = Some(*x.hash());
        }
        assert_eq!(h.current().to_bytes(), expected.to_bytes());
        assert_eq!(h.last_change_hash(), Some(winner.hash()));
        assert_eq!(h.receive(winner).unwrap(), GroupUpdate::Unchanged);
        // The loser's author builds again on the winner's state.
        let next = change(
            h.current(),
            &u[0],
            vec![GroupOp::SetRole {
                key: u[3].key(),
                role: GroupRole::Admin,
            }],
        );
        assert_eq!(h.receive(&next).unwrap(), GroupUpdate::Applied);
        // Now the concurrent pair is two states old: stale.
        assert!(matches!(
            group_err(h.receive(winner).unwrap_err()),
            GroupError::StaleChange { .. }
        ));
    }
}

#[test]
fn a_history_resumes_only_a_chained_pair() {
    let u = users(10, 3);
    let (s0, _) = group(&u[..2]);
    let c = change(&s0, &u[0], vec![u[2].add(GroupRole::Member)]);
    let s1 = s0.apply(&c).unwrap();
    let h = GroupHistory::resume(s0.clone(), *c.hash(), s1.clone()).unwrap();
    assert_eq!(h.previous(), Some(&s0));
    assert!(GroupHistory::resume(s1.clone(), *c.hash(), s0.clone()).is_err());
    assert!(GroupHistory::resume(s0.clone(), *c.hash(), s0).is_err());
}

/// The model: members as (key bytes → role), applied op by op.
fn model_apply(
    model: &std::collections::BTreeMap<[u8; 32], GroupRole>,
    author: &[u8; 32],
    ops: &[(usize, u8)],
    keys: &[User],
) -> Option<std::collections::BTreeMap<[u8; 32], GroupRole>> {
    // An admin's change, or a member's leaving: one removal of itself.
    let leaving = matches!(ops, &[(who, 2)] if &keys[who].key().to_bytes() == author);
    if model.get(author) != Some(&GroupRole::Admin) && !leaving {
        return None;
    }
    let mut m = model.clone();
    for &(who, kind) in ops {
        let k = keys[who].key().to_bytes();
        match kind {
            0 | 1 => {
                let role = if kind == 0 {
                    GroupRole::Member
                } else {
                    GroupRole::Admin
                };
                if m.insert(k, role).is_some() {
                    return None;
                }
            }
            2 => {
                m.remove(&k)?;
            }
            _ => {
                let role = if kind == 3 {
                    GroupRole::Member
                } else {
                    GroupRole::Admin
                };
                let cur = m.get_mut(&k)?;
                if *cur == role {
                    return None;
                }
                *cur = role;
            }
        }
    }
    m.values().any(|r| *r == GroupRole::Admin).then_some(m)
}

fn op_of(keys: &[User], who: usize, kind: u8) -> GroupOp {
    match kind {
        0 => keys[who].add(GroupRole::Member),
        1 => keys[who].add(GroupRole::Admin),
        2 => GroupOp::Remove {
            key: keys[who].key(),
        },
        3 => GroupOp::SetRole {
            key: keys[who].key(),
            role: GroupRole::Member,
        },
        _ => GroupOp::SetRole {
            key: keys[who].key(),
            role: GroupRole::Admin,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_changes_match_a_model(
        steps in proptest::collection::vec(
            (0usize..6, proptest::collection::vec((0usize..6, 0u8..5), 1..4)),
            1..12,
        )
    ) {
        let u = users(11, 6);
        let (mut state, _) = group(&u[..2]);
        let mut model: std::collections::BTreeMap<[u8; 32], GroupRole> = state
            .members()
            .map(|m| (m.key().to_bytes(), m.role()))
            .collect();
        for (author, ops) in steps {
            let list: Vec<GroupOp> = ops.iter().map(|&(w, k)| op_of(&u, w, k)).collect();
            let want = model_apply(&model, &u[author].key().to_bytes(), &ops, &u);
            let built = GroupChange::new(&state, &u[author].pair, 0, list);
            match (want, built) {
                (Some(next), Ok(c)) => {
                    let v = received(&c.to_bytes()).unwrap();
                    let s = state.apply(&v).unwrap();
                    prop_assert_eq!(s.epoch(), state.epoch() + 1);
                    prop_assert_eq!(s.previous_hash(), state.hash());
                    let got: std::collections::BTreeMap<_, _> =
                        s.members().map(|m| (m.key().to_bytes(), m.role())).collect();
                    prop_assert_eq!(&got, &next);
                    prop_assert_eq!(GroupState::from_bytes(&s.to_bytes()).unwrap(), s.clone());
                    state = s;
                    model = next;
                }
                (None, Err(Error::Group(_))) => {}
                (want, built) => prop_assert!(false, "model {:?} vs code {:?}", want, built),
            }
        }
    }
}

/// A member may sign one change without being an admin: the one whose only
/// operation removes itself (PROTOCOL.md §16.7 rule 4). Anything more, or
/// removing someone else, is still `NotAnAdmin`; a non-member cannot
/// leave, and the last admin cannot (`NoAdmin`).
#[test]
fn a_member_may_leave_and_do_nothing_else_without_an_admin() {
    let u = users(21, 4);
    let (s0, _) = group(&u[..3]);
    let leave = |who: &User| GroupOp::Remove { key: who.key() };
    let left = s0.apply(&change(&s0, &u[2], vec![leave(&u[2])])).unwrap();
    assert!(left.member(&u[2].key()).is_none());
    assert_eq!(left.members().count(), 2);
    assert_eq!(left.epoch(), 1);
    let refused = |author: &User, ops: Vec<GroupOp>| {
        group_err(GroupChange::new(&s0, &author.pair, 1, ops).unwrap_err())
    };
    assert_eq!(refused(&u[2], vec![leave(&u[1])]), GroupError::NotAnAdmin);
    assert_eq!(
        refused(&u[2], vec![leave(&u[2]), u[3].add(GroupRole::Member)]),
        GroupError::NotAnAdmin
    );
    assert_eq!(
        refused(&u[2], vec![u[3].add(GroupRole::Member), leave(&u[2])]),
        GroupError::NotAnAdmin
    );
    assert_eq!(
        refused(&u[3], vec![leave(&u[3])]),
        GroupError::NotAMember { op: 0 }
    );
    assert_eq!(refused(&u[0], vec![leave(&u[0])]), GroupError::NoAdmin);
    // A history takes a leave as any change.
    let mut history = GroupHistory::new(s0.clone());
    history
        .receive(&change(&s0, &u[1], vec![leave(&u[1])]))
        .unwrap();
    assert!(history.current().member(&u[1].key()).is_none());
}
