//! End-to-end group membership (PROTOCOL.md §16.5 – §16.8): states and
//! changes round trip, every operation, the admin check that refuses a
//! server's ghost member, tampering, stale and wrong bases, the bounds,
//! the hash chain and stored states (histories: `group_history.rs`).

use kinseal::{
    DecodeError, Error, GroupChange, GroupError, GroupHistory, GroupId, GroupOp, GroupRole,
    GroupState, MAX_GROUP_MEMBERS, ProtocolError, SignedObject, UserAddress, UserIdentityKey,
    UserIdentityKeyPair, WireType,
};

use crate::common::rng;

pub(crate) struct User {
    pub(crate) pair: UserIdentityKeyPair,
    pub(crate) address: UserAddress,
}

impl User {
    pub(crate) fn key(&self) -> UserIdentityKey {
        self.pair.public_key().clone()
    }

    pub(crate) fn add(&self, role: GroupRole) -> GroupOp {
        GroupOp::Add {
            key: self.key(),
            address: self.address.clone(),
            role,
        }
    }
}

pub(crate) fn users(seed: u64, n: usize) -> Vec<User> {
    let mut r = rng(seed);
    (0..n)
        .map(|i| User {
            pair: UserIdentityKeyPair::generate(&mut r),
            address: UserAddress::new(b"app", format!("user{i}").as_bytes()).unwrap(),
        })
        .collect()
}

/// A group of `users[0]` (admin, creator) and `users[1..]` (members).
pub(crate) fn group(users: &[User]) -> (GroupState, GroupChange) {
    let others = users[1..].iter().map(|u| (u.key(), u.address.clone()));
    GroupState::create(&mut rng(7), &users[0].pair, 1, &users[0].address, others).unwrap()
}

pub(crate) fn change(
    state: &GroupState,
    author: &User,
    ops: Vec<GroupOp>,
) -> kinseal::VerifiedGroupChange {
    GroupChange::new(state, &author.pair, 3, ops)
        .unwrap()
        .verify()
        .unwrap()
}

pub(crate) fn received(bytes: &[u8]) -> kinseal::Result<kinseal::VerifiedGroupChange> {
    GroupChange::from_bytes(bytes)?.verify()
}

pub(crate) fn group_err(e: Error) -> GroupError {
    match e {
        Error::Group(g) => g,
        other => panic!("not a group error: {other:?}"),
    }
}

#[test]
fn a_genesis_makes_the_same_state_at_every_member_and_round_trips() {
    let u = users(1, 4);
    let (state, genesis) = group(&u);
    assert_eq!((state.epoch(), state.previous_hash()), (0, &[0; 32]));
    assert_eq!(state.members().len(), 4);
    assert!(state.is_admin(&u[0].key()));
    for x in &u[1..] {
        assert_eq!(state.member(&x.key()).unwrap().role(), GroupRole::Member);
        assert_eq!(state.member(&x.key()).unwrap().address(), &x.address);
        assert!(!state.is_admin(&x.key()));
    }
    let keys: Vec<_> = state.members().map(|m| m.key().to_bytes()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let bytes = genesis.to_bytes();
    let verified = received(&bytes).unwrap();
    assert!(verified.is_genesis());
    assert_eq!(verified.author_device(), 1);
    assert_eq!(GroupState::from_genesis(&verified).unwrap(), state);
    assert_eq!(GroupChange::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    let stored = GroupState::from_bytes(&state.to_bytes()).unwrap();
    assert_eq!(
        (stored.hash(), stored.to_bytes()),
        (state.hash(), state.to_bytes())
    );
    // The members' order does not change the genesis.
    let reversed = u[1..].iter().rev().map(|x| (x.key(), x.address.clone()));
    let (again, _) =
        GroupState::create(&mut rng(7), &u[0].pair, 1, &u[0].address, reversed).unwrap();
    assert_eq!(again, state);
}

#[test]
fn every_operation_applies_and_chains_the_hash() {
    let u = users(2, 5);
    let (s0, _) = group(&u[..3]);
    let s1 = s0
        .apply(&change(
            &s0,
            &u[0],
            vec![u[3].add(GroupRole::Member), u[4].add(GroupRole::Admin)],
        ))
        .unwrap();
    assert_eq!((s1.epoch(), s1.previous_hash()), (1, s0.hash()));
    assert_eq!(s1.members().len(), 5);
    assert!(s1.is_admin(&u[4].key()));
    let s2 = s1
        .apply(&change(
            &s1,
            &u[4],
            vec![GroupOp::Remove { key: u[1].key() }],
        ))
        .unwrap();
    assert!(s2.member(&u[1].key()).is_none());
    assert_eq!(s2.previous_hash(), s1.hash());
    let set = GroupOp::SetRole {
        key: u[2].key(),
        role: GroupRole::Admin,
    };
    let s3 = s2.apply(&change(&s2, &u[0], vec![set])).unwrap();
    assert!(s3.is_admin(&u[2].key()));
    assert_eq!(s3.epoch(), 3);
    // Applying is pure.
    assert_eq!(s2.epoch(), 2);
    for s in [&s1, &s2, &s3] {
        let back = GroupState::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(&back, s);
    }
    assert_ne!(s1.hash(), s2.hash());
}

#[test]
fn a_member_the_server_adds_is_refused_and_nothing_changes() {
    let u = users(3, 4);
    let (s0, _) = group(&u[..3]);
    let before = s0.to_bytes();
    // The server controls u[3] (a ghost) and u[1] is a mere member: a
    // change either signs is refused.
    for signer in [&u[1], &u[3]] {
        let forged = GroupChange::new(&s0, &signer.pair, 9, vec![u[3].add(GroupRole::Admin)]);
        assert_eq!(group_err(forged.unwrap_err()), GroupError::NotAnAdmin);
    }
    // A change signed anyway (built by hand on an admin's copy of the state).
    let admin_change = change(&s0, &u[0], vec![u[3].add(GroupRole::Admin)]);
    let s_admin = s0.apply(&admin_change).unwrap();
    let by_member = GroupChange::new(
        &s_admin,
        &u[3].pair,
        9,
        vec![GroupOp::Remove { key: u[0].key() }],
    )
    .unwrap()
    .verify()
    .unwrap();
    assert_eq!(
        group_err(s0.apply(&by_member).unwrap_err()),
        GroupError::WrongBase {
            current_epoch: 0,
            base_epoch: 1
        }
    );
    let mut history = GroupHistory::new(s0.clone());
    let err = history.receive(&by_member).unwrap_err();
    assert!(matches!(group_err(err), GroupError::WrongBase { .. }));
    assert_eq!(history.current().to_bytes(), before);
    // u[1], a member, signs a change of the real base: refused.
    let ghost = ghost_change(&s0, &u[1], &u[3]);
    let v = received(&ghost).unwrap();
    assert_eq!(group_err(s0.apply(&v).unwrap_err()), GroupError::NotAnAdmin);
    assert_eq!(
        group_err(history.receive(&v).unwrap_err()),
        GroupError::NotAnAdmin
    );
    assert_eq!(history.current().to_bytes(), before);
    assert!(history.previous().is_none());
}

/// A change of `state` signed by `signer`, whatever its role: the bytes a
/// server (or a member) can make.
fn ghost_change(state: &GroupState, signer: &User, ghost: &User) -> Vec<u8> {
    // Built as an admin would on a state where `signer` is the admin, then
    // pointed at `state`'s group and base and signed again.
    let (alt, _) = GroupState::create(&mut rng(8), &signer.pair, 1, &signer.address, []).unwrap();
    let c = GroupChange::new(&alt, &signer.pair, 4, vec![ghost.add(GroupRole::Member)]).unwrap();
    let mut bytes = c.to_bytes();
    bytes[3..35].copy_from_slice(state.group_id().as_bytes());
    bytes[35..43].copy_from_slice(&state.epoch().to_be_bytes());
    bytes[43..75].copy_from_slice(state.hash());
    resign(&signer.pair, bytes)
}

/// Signs `bytes` (a change whose last 64 bytes are a signature) again by
/// `pair`, as PROTOCOL.md §16.6 says.
fn resign(pair: &UserIdentityKeyPair, mut bytes: Vec<u8>) -> Vec<u8> {
    use ed25519_dalek::{Signer, SigningKey};
    let secret: [u8; 32] = pair.to_secret_bytes().as_ref().try_into().unwrap();
    let key = SigningKey::from_bytes(&secret);
    let body_len = bytes.len() - 64;
    let mut msg = b"KINSEAL-v1 group change\0".to_vec();
    msg.extend_from_slice(&bytes[..body_len]);
    let sig = key.sign(&msg).to_bytes();
    bytes[body_len..].copy_from_slice(&sig);
    bytes
}

#[test]
fn every_flipped_byte_of_a_change_is_refused() {
    let u = users(4, 3);
    let (s0, _) = group(&u[..2]);
    let c = change(&s0, &u[0], vec![u[2].add(GroupRole::Member)]);
    let bytes = c.to_bytes();
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        match received(&t) {
            Err(_) => {}
            Ok(v) => panic!("byte {i} flipped and accepted: {v:?}"),
        }
    }
    // A signature by another key (the server's) over the same body.
    let forged = resign(&u[2].pair, bytes.clone());
    assert_eq!(
        received(&forged).unwrap_err(),
        Error::Protocol(ProtocolError::InvalidSignature {
            object: SignedObject::GroupChange
        })
    );
    assert_eq!(
        received(&resign(&u[0].pair, bytes.clone()))
            .unwrap()
            .to_bytes(),
        bytes
    );
}

#[test]
fn stale_and_wrong_bases_are_refused() {
    let u = users(5, 4);
    let (s0, _) = group(&u[..2]);
    let c1 = change(&s0, &u[0], vec![u[2].add(GroupRole::Member)]);
    let s1 = s0.apply(&c1).unwrap();
    let c2 = change(&s1, &u[0], vec![u[3].add(GroupRole::Member)]);
    let s2 = s1.apply(&c2).unwrap();
    // Old.
    assert_eq!(
        group_err(s2.apply(&c1).unwrap_err()),
        GroupError::StaleChange {
            current_epoch: 2,
            base_epoch: 0
        }
    );
    // Later.
    assert_eq!(
        group_err(s0.apply(&c2).unwrap_err()),
        GroupError::WrongBase {
            current_epoch: 0,
            base_epoch: 1
        }
    );
    // Same epoch, another state.
    let other = s0
        .apply(&change(&s0, &u[0], vec![u[3].add(GroupRole::Member)]))
        .unwrap();
    assert_eq!(
        group_err(other.apply(&c2).unwrap_err()),
        GroupError::WrongBase {
            current_epoch: 1,
            base_epoch: 1
        }
    );
    // Another group.
    let (g2, _) = GroupState::create(&mut rng(8), &u[0].pair, 1, &u[0].address, []).unwrap();
    assert_eq!(
        group_err(g2.apply(&c1).unwrap_err()),
        GroupError::WrongGroup
    );
    // A genesis is not a change of a state, nor a change a genesis.
    let (_, genesis) = group(&u[..2]);
    let genesis = genesis.verify().unwrap();
    assert!(matches!(
        group_err(s0.apply(&genesis).unwrap_err()),
        GroupError::WrongBase { .. }
    ));
    assert_eq!(
        group_err(GroupState::from_genesis(&c1).unwrap_err()),
        GroupError::InvalidGenesis
    );
}

#[test]
fn operations_that_do_not_apply_are_refused() {
    let u = users(6, 4);
    let (s0, _) = group(&u[..3]);
    let cases: Vec<(Vec<GroupOp>, GroupError)> = vec![
        (
            vec![u[1].add(GroupRole::Member)],
            GroupError::AlreadyMember { op: 0 },
        ),
        (
            vec![u[3].add(GroupRole::Member), u[3].add(GroupRole::Admin)],
            GroupError::AlreadyMember { op: 1 },
        ),
        (
            vec![GroupOp::Remove { key: u[3].key() }],
            GroupError::NotAMember { op: 0 },
        ),
        (
            vec![GroupOp::SetRole {
                key: u[3].key(),
                role: GroupRole::Admin,
            }],
            GroupError::NotAMember { op: 0 },
        ),
        (
            vec![GroupOp::SetRole {
                key: u[1].key(),
                role: GroupRole::Member,
            }],
            GroupError::RoleUnchanged { op: 0 },
        ),
        (
            vec![GroupOp::Remove { key: u[0].key() }],
            GroupError::NoAdmin,
        ),
        (
            vec![GroupOp::SetRole {
                key: u[0].key(),
                role: GroupRole::Member,
            }],
            GroupError::NoAdmin,
        ),
        (
            vec![],
            GroupError::OpCount {
                min: 1,
                max: kinseal::MAX_GROUP_CHANGE_OPS,
                found: 0,
            },
        ),
    ];
    for (ops, want) in cases {
        let err = GroupChange::new(&s0, &u[0].pair, 1, ops).unwrap_err();
        assert_eq!(group_err(err), want);
    }
    // The last admin may leave once another admin is named first.
    let ok = change(
        &s0,
        &u[0],
        vec![
            GroupOp::SetRole {
                key: u[1].key(),
                role: GroupRole::Admin,
            },
            GroupOp::Remove { key: u[0].key() },
        ],
    );
    let s1 = s0.apply(&ok).unwrap();
    assert!(s1.is_admin(&u[1].key()) && s1.member(&u[0].key()).is_none());
}

#[test]
fn the_member_bound_holds() {
    let mut r = rng(7);
    let creator = UserIdentityKeyPair::generate(&mut r);
    let addr = UserAddress::new(b"a", b"c").unwrap();
    let many: Vec<(UserIdentityKey, UserAddress)> = (0..MAX_GROUP_MEMBERS)
        .map(|_| {
            (
                UserIdentityKeyPair::generate(&mut r).public_key().clone(),
                addr.clone(),
            )
        })
        .collect();
    let err = GroupState::create(&mut r, &creator, 1, &addr, many.clone()).unwrap_err();
    assert_eq!(
        group_err(err),
        GroupError::TooManyMembers {
            max: MAX_GROUP_MEMBERS,
            found: MAX_GROUP_MEMBERS + 1
        }
    );
    let (full, genesis) =
        GroupState::create(&mut r, &creator, 1, &addr, many[1..].iter().cloned()).unwrap();
    assert_eq!(full.members().len(), MAX_GROUP_MEMBERS);
    let bytes = genesis.to_bytes();
    assert_eq!(
        GroupState::from_genesis(&received(&bytes).unwrap()).unwrap(),
        full
    );
    assert_eq!(GroupState::from_bytes(&full.to_bytes()).unwrap(), full);
    let one_more = GroupOp::Add {
        key: many[0].0.clone(),
        address: addr.clone(),
        role: GroupRole::Member,
    };
    let err = GroupChange::new(&full, &creator, 1, vec![one_more]).unwrap_err();
    assert_eq!(
        group_err(err),
        GroupError::TooManyMembers {
            max: MAX_GROUP_MEMBERS,
            found: MAX_GROUP_MEMBERS + 1
        }
    );
}

#[test]
fn stored_states_are_decoded_strictly() {
    let u = users(8, 3);
    let (s0, _) = group(&u);
    let s1 = s0
        .apply(&change(
            &s0,
            &u[0],
            vec![GroupOp::Remove { key: u[2].key() }],
        ))
        .unwrap();
    let bytes = s1.to_bytes();
    let decode = |b: &[u8]| GroupState::from_bytes(b).unwrap_err();
    // Truncated and trailing.
    assert!(matches!(
        decode(&bytes[..bytes.len() - 1]),
        Error::Decode(DecodeError::Truncated { .. })
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        decode(&long),
        Error::Decode(DecodeError::TrailingBytes { .. })
    ));
    // A zero previous hash at epoch 1.
    let mut t = bytes.clone();
    t[43..75].fill(0);
    assert_eq!(
        decode(&t),
        Error::Decode(DecodeError::InvalidField {
            wire_type: WireType::GroupState,
            field: "previous_hash",
            found: 1
        })
    );
    // Members out of order: swap the two (same address lengths).
    let entry = (bytes.len() - 77) / 2;
    let mut t = bytes.clone();
    let (a, b) = (t[77..77 + entry].to_vec(), t[77 + entry..].to_vec());
    t[77..77 + entry].copy_from_slice(&b);
    t[77 + entry..].copy_from_slice(&a);
    assert_eq!(
        decode(&t),
        Error::Decode(DecodeError::InvalidField {
            wire_type: WireType::GroupState,
            field: "user_key",
            found: 1
        })
    );
    // No admin: set every role byte to member.
    let mut t = bytes.clone();
    t[77 + entry - 1] = 1;
    t[bytes.len() - 1] = 1;
    assert_eq!(
        decode(&t),
        Error::Decode(DecodeError::InvalidField {
            wire_type: WireType::GroupState,
            field: "role",
            found: 0
        })
    );
    // An unknown role byte, and member counts 0 and 1001.
    let mut t = bytes.clone();
    t[bytes.len() - 1] = 3;
    assert!(matches!(
        decode(&t),
        Error::Decode(DecodeError::InvalidField {
            field: "role",
            found: 3,
            ..
        })
    ));
    for count in [0u16, 1001] {
        let mut t = bytes.clone();
        t[75..77].copy_from_slice(&count.to_be_bytes());
        assert!(matches!(
            decode(&t),
            Error::Decode(DecodeError::LengthOutOfRange { .. })
        ));
    }
    // The wrong type byte.
    let mut t = bytes.clone();
    t[1] = 0x73;
    assert!(matches!(
        decode(&t),
        Error::Decode(DecodeError::UnexpectedType { .. })
    ));
}

#[test]
fn only_a_genesis_of_adds_by_an_admin_makes_a_state() {
    let u = users(12, 3);
    let (_, genesis) = group(&u[..2]);
    let bytes = genesis.to_bytes();
    assert_eq!(bytes[113], 0x01, "the first op is an Add");
    // The creator's own Add as a member instead of an admin.
    let mut t = bytes.clone();
    let role_at = 113 + 1 + 32 + 1 + u[0].address.app_id().len() + 2 + u[0].address.user_id().len();
    assert_eq!(t[role_at], 0x02);
    t[role_at] = 0x01;
    let v = received(&resign(&u[0].pair, t)).unwrap();
    assert_eq!(
        group_err(GroupState::from_genesis(&v).unwrap_err()),
        GroupError::InvalidGenesis
    );
    // Signed by someone it does not add as admin (under an id bound to
    // them, so the admin rule is what refuses it).
    let mut t = author_patched(&bytes, &u[2]);
    t[3..35].copy_from_slice(&bound_id(&u[2], [3; 16]));
    let v = received(&resign(&u[2].pair, t)).unwrap();
    assert_eq!(
        group_err(GroupState::from_genesis(&v).unwrap_err()),
        GroupError::InvalidGenesis
    );
    // A zero base hash with a base epoch other than 0 does not decode.
    let mut t = bytes.clone();
    t[42] = 1;
    assert_eq!(
        GroupChange::from_bytes(&t).unwrap_err(),
        Error::Decode(DecodeError::InvalidField {
            wire_type: WireType::GroupChange,
            field: "base_hash",
            found: 1
        })
    );
}

/// `bytes` with `author` named as the author.
fn author_patched(bytes: &[u8], author: &User) -> Vec<u8> {
    let mut t = bytes.to_vec();
    t[75..107].copy_from_slice(author.pair.public_key().as_bytes());
    t
}

#[test]
fn a_bad_change_of_the_previous_state_reports_its_own_error() {
    let u = users(13, 4);
    let (s0, _) = group(&u[..3]);
    let c1 = change(&s0, &u[0], vec![u[3].add(GroupRole::Member)]);
    let mut h = GroupHistory::new(s0.clone());
    h.receive(&c1).unwrap();
    let before = h.clone();
    // Bob, a member of s0, signs a change of s0: not an admin, whatever
    // its hash.
    let by_bob = received(&ghost_change(&s0, &u[1], &u[3])).unwrap();
    assert_eq!(
        group_err(h.receive(&by_bob).unwrap_err()),
        GroupError::NotAnAdmin
    );
    // An admin's change of s0 that does not apply to s0.
    let bad = ghost_change(&s0, &u[0], &u[1]);
    assert_eq!(
        group_err(h.receive(&received(&bad).unwrap()).unwrap_err()),
        GroupError::AlreadyMember { op: 0 }
    );
    assert_eq!(h, before);
}

/// A group id bound to `creator`, computed here as PROTOCOL.md §16.6 says.
fn bound_id(creator: &User, nonce: [u8; 16]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"KINSEAL-v1 group id\0");
    h.update(creator.pair.public_key().as_bytes());
    h.update(nonce);
    let digest = h.finalize();
    let mut id = [0u8; 32];
    id[..16].copy_from_slice(&nonce);
    id[16..].copy_from_slice(&digest[..16]);
    id
}

#[test]
fn a_genesis_under_an_id_its_author_did_not_make_is_refused() {
    let u = users(14, 3);
    let (alice, bob, mallory) = (&u[0], &u[1], &u[2]);
    let (s0, genesis) = group(&u[..2]);
    let id = *s0.group_id();
    let nonce: [u8; 16] = id.as_bytes()[..16].try_into().unwrap();
    assert_eq!(id.as_bytes(), &bound_id(alice, nonce));
    assert!(id.is_bound_to(&alice.key()));
    assert!(!id.is_bound_to(&bob.key()));
    assert!(!GroupId::generate(&mut rng(15)).is_bound_to(&alice.key()));
    // Mallory's own group, moved to Alice's id and signed again: a valid
    // signature by a user the id is not bound to.
    let others = [(bob.key(), bob.address.clone())];
    let (_, own) =
        GroupState::create(&mut rng(16), &mallory.pair, 1, &mallory.address, others).unwrap();
    let mut squat = own.to_bytes();
    squat[3..35].copy_from_slice(id.as_bytes());
    let v = received(&resign(&mallory.pair, squat)).unwrap();
    assert_eq!(
        group_err(GroupState::from_genesis(&v).unwrap_err()),
        GroupError::InvalidGenesis
    );
    // Alice's genesis with one bit of the nonce or of the binding flipped.
    for at in [3, 18, 34] {
        let mut t = genesis.to_bytes();
        t[at] ^= 0x01;
        let v = received(&resign(&alice.pair, t)).unwrap();
        assert_eq!(
            group_err(GroupState::from_genesis(&v).unwrap_err()),
            GroupError::InvalidGenesis,
            "byte {at}"
        );
    }
    // The same genesis of Mallory's under an id bound to her is accepted.
    let mut t = own.to_bytes();
    t[3..35].copy_from_slice(&bound_id(mallory, [9; 16]));
    let v = received(&resign(&mallory.pair, t)).unwrap();
    let state = GroupState::from_genesis(&v).unwrap();
    assert_eq!(state.group_id().as_bytes(), &bound_id(mallory, [9; 16]));
}
