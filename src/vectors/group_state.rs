//! `group-state.json`: a group's genesis and changes with every state and
//! hash, a concurrent pair and its winner, and changes that must be
//! refused with their error kinds (PROTOCOL.md §16.5 – §16.7).

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::address::UserAddress;
use crate::crypto::labels::{
    GROUP_CHANGE_HASH, GROUP_ID_BINDING, GROUP_STATE_HASH, SIG_GROUP_CHANGE,
};
use crate::group::{
    GroupChange, GroupHistory, GroupOp, GroupRole, GroupState, GroupUpdate, VerifiedGroupChange,
};
use crate::keys::UserIdentityKeyPair;
use crate::wire::{SUITE_V1, TYPE_GROUP_CHANGE, TYPE_GROUP_STATE};

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn address_by_hand(a: &UserAddress, out: &mut Vec<u8>) {
    out.push(a.app_id().len() as u8);
    out.extend_from_slice(a.app_id());
    out.extend_from_slice(&(a.user_id().len() as u16).to_be_bytes());
    out.extend_from_slice(a.user_id());
}

fn role_byte(r: GroupRole) -> u8 {
    match r {
        GroupRole::Admin => 2,
        _ => 1,
    }
}

/// An operation as PROTOCOL.md §16.6 lays it out; `raw` replaces it.
enum Op<'a> {
    Lib(&'a GroupOp),
    Raw(Vec<u8>),
}

fn op_by_hand(op: &Op<'_>, out: &mut Vec<u8>) {
    match op {
        Op::Raw(b) => out.extend_from_slice(b),
        Op::Lib(GroupOp::Add { key, address, role }) => {
            out.push(1);
            out.extend_from_slice(key.as_bytes());
            address_by_hand(address, out);
            out.push(role_byte(*role));
        }
        Op::Lib(GroupOp::Remove { key }) => {
            out.push(2);
            out.extend_from_slice(key.as_bytes());
        }
        Op::Lib(GroupOp::SetRole { key, role }) => {
            out.push(3);
            out.extend_from_slice(key.as_bytes());
            out.push(role_byte(*role));
        }
    }
}

/// A change signed by `signer`, byte by byte as §16.6 says, naming
/// `author` (the signer unless forged).
struct Raw<'a> {
    group_id: [u8; 32],
    base_epoch: u64,
    base_hash: [u8; 32],
    author: &'a UserIdentityKeyPair,
    device: u32,
    ops: Vec<Op<'a>>,
}

fn change_by_hand(c: &Raw<'_>, signer: &UserIdentityKeyPair) -> Vec<u8> {
    let mut b = vec![1, TYPE_GROUP_CHANGE, SUITE_V1];
    b.extend_from_slice(&c.group_id);
    b.extend_from_slice(&c.base_epoch.to_be_bytes());
    b.extend_from_slice(&c.base_hash);
    b.extend_from_slice(c.author.public_key().as_bytes());
    b.extend_from_slice(&c.device.to_be_bytes());
    b.extend_from_slice(&(c.ops.len() as u16).to_be_bytes());
    for op in &c.ops {
        op_by_hand(op, &mut b);
    }
    let secret: [u8; 32] = signer.secret_key_bytes().to_owned();
    let mut message = SIG_GROUP_CHANGE.to_vec();
    message.extend_from_slice(&b);
    let signature = SigningKey::from_bytes(&secret).sign(&message).to_bytes();
    b.extend_from_slice(&signature);
    b
}

/// Signs a patched change again, as §16.6 says.
fn resign(mut b: Vec<u8>, signer: &UserIdentityKeyPair) -> Vec<u8> {
    let body_len = b.len() - 64;
    let secret: [u8; 32] = signer.secret_key_bytes().to_owned();
    let mut m = SIG_GROUP_CHANGE.to_vec();
    m.extend_from_slice(&b[..body_len]);
    let sig = SigningKey::from_bytes(&secret).sign(&m).to_bytes();
    b[body_len..].copy_from_slice(&sig);
    b
}

fn state_by_hand(s: &GroupState) -> Vec<u8> {
    let mut b = vec![1, TYPE_GROUP_STATE, SUITE_V1];
    b.extend_from_slice(s.group_id().as_bytes());
    b.extend_from_slice(&s.epoch().to_be_bytes());
    b.extend_from_slice(s.previous_hash());
    b.extend_from_slice(&(s.members().len() as u16).to_be_bytes());
    for m in s.members() {
        b.extend_from_slice(m.key().as_bytes());
        address_by_hand(m.address(), &mut b);
        b.push(role_byte(m.role()));
    }
    b
}

/// Signs `ops` on `state` by `author`, through the library, and checks
/// the bytes against the hand encoding.
fn signed(
    state: &GroupState,
    author: &UserIdentityKeyPair,
    device: u32,
    ops: Vec<GroupOp>,
) -> VerifiedGroupChange {
    let c = GroupChange::new(state, author, device, ops.clone()).unwrap();
    let raw = Raw {
        group_id: *state.group_id().as_bytes(),
        base_epoch: state.epoch(),
        base_hash: *state.hash(),
        author,
        device,
        ops: ops.iter().map(Op::Lib).collect(),
    };
    assert_eq!(change_by_hand(&raw, author), c.to_bytes());
    let v = GroupChange::from_bytes(&c.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(v.hash(), &sha256(&[GROUP_CHANGE_HASH, &c.to_bytes()]));
    v
}

fn step(description: &str, change: &VerifiedGroupChange, state: &GroupState) -> Value {
    assert_eq!(state_by_hand(state), state.to_bytes());
    assert_eq!(
        state.hash(),
        &sha256(&[GROUP_STATE_HASH, &state.to_bytes()])
    );
    json!({
        "description": description,
        "change": hex(&change.to_bytes()),
        "change_hash": hex(change.hash()),
        "state": hex(&state.to_bytes()),
        "state_hash": hex(state.hash()),
        "epoch": state.epoch(),
    })
}

fn add(u: &(UserIdentityKeyPair, UserAddress), role: GroupRole) -> GroupOp {
    GroupOp::Add {
        key: u.0.public_key().clone(),
        address: u.1.clone(),
        role,
    }
}

fn negative(description: &str, state: &GroupState, change: Vec<u8>) -> Value {
    let err = GroupChange::from_bytes(&change)
        .and_then(GroupChange::verify)
        .and_then(|v| GroupHistory::new(state.clone()).receive(&v))
        .unwrap_err();
    json!({
        "description": description,
        "state": hex(&state.to_bytes()),
        "change": hex(&change),
        "error": error_name(&err),
    })
}

pub(super) fn group_state_file() -> Value {
    let mut rng = seeded("group-state");
    let names = ["alice", "bob", "carol", "dave", "mallory"];
    let u: Vec<(UserIdentityKeyPair, UserAddress)> = names
        .iter()
        .map(|n| {
            let pair = UserIdentityKeyPair::generate(&mut rng);
            (
                pair,
                UserAddress::new(b"kinseal.example", n.as_bytes()).unwrap(),
            )
        })
        .collect();
    let ghost = &u[4];
    let members = u[1..3]
        .iter()
        .map(|x| (x.0.public_key().clone(), x.1.clone()));
    let (s0, genesis) = GroupState::create(&mut rng, &u[0].0, 1, &u[0].1, members).unwrap();
    let group = *s0.group_id();
    let genesis = GroupChange::from_bytes(&genesis.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    let ops: Vec<GroupOp> = genesis.ops().to_vec();
    let raw = Raw {
        group_id: *group.as_bytes(),
        base_epoch: 0,
        base_hash: [0; 32],
        author: &u[0].0,
        device: 1,
        ops: ops.iter().map(Op::Lib).collect(),
    };
    assert_eq!(change_by_hand(&raw, &u[0].0), genesis.to_bytes());
    assert_eq!(GroupState::from_genesis(&genesis).unwrap(), s0);

    let c1 = signed(&s0, &u[0].0, 2, vec![add(&u[3], GroupRole::Admin)]);
    let s1 = s0.apply(&c1).unwrap();
    let c2 = signed(
        &s1,
        &u[3].0,
        7,
        vec![
            GroupOp::Remove {
                key: u[2].0.public_key().clone(),
            },
            GroupOp::SetRole {
                key: u[1].0.public_key().clone(),
                role: GroupRole::Admin,
            },
        ],
    );
    let s2 = s1.apply(&c2).unwrap();
    let steps = vec![
        step(
            "genesis by alice: alice admin, bob and carol members",
            &genesis,
            &s0,
        ),
        step("alice adds dave as admin", &c1, &s1),
        step("dave removes carol and makes bob admin", &c2, &s2),
    ];

    // Bob, a member, leaves s1: the one change a member may sign.
    let bob_leaves = signed(
        &s1,
        &u[1].0,
        4,
        vec![GroupOp::Remove {
            key: u[1].0.public_key().clone(),
        }],
    );
    let after_leave = s1.apply(&bob_leaves).unwrap();
    let leave = json!({
        "description": "bob, a member, leaves epoch 1 (a change whose one operation removes its author needs no admin)",
        "base_state": hex(&s1.to_bytes()),
        "change": hex(&bob_leaves.to_bytes()),
        "change_hash": hex(bob_leaves.hash()),
        "state": hex(&after_leave.to_bytes()),
        "state_hash": hex(after_leave.hash()),
        "epoch": after_leave.epoch(),
    });

    // Two admins change s2 at once.
    let a = signed(&s2, &u[0].0, 1, vec![add(&u[2], GroupRole::Member)]);
    let b = signed(
        &s2,
        &u[1].0,
        3,
        vec![GroupOp::SetRole {
            key: u[3].0.public_key().clone(),
            role: GroupRole::Member,
        }],
    );
    let (winner, loser) = if a.hash() < b.hash() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let result = s2.apply(winner).unwrap();
    for order in [[&a, &b], [&b, &a]] {
        let mut h = GroupHistory::resume(s1.clone(), *c2.hash(), s2.clone()).unwrap();
        h.receive(&c2).unwrap();
        let _ = h.receive(order[0]).unwrap();
        match h.receive(order[1]) {
            Ok(GroupUpdate::Replaced { .. }) => {}
            Err(e) => assert_eq!(error_name(&e), "LostToConcurrentChange"),
            Ok(other) => panic!("{other:?}"),
        }
        assert_eq!(h.current(), &result);
    }
    let concurrent = json!({
        "description": "alice re-adds carol while bob demotes dave, both on epoch 2",
        "base_state": hex(&s2.to_bytes()),
        "changes": [hex(&a.to_bytes()), hex(&b.to_bytes())],
        "change_hashes": [hex(a.hash()), hex(b.hash())],
        "winner": usize::from(winner.hash() == b.hash()),
        "state": hex(&result.to_bytes()),
        "state_hash": hex(result.hash()),
        "loser_after_winner": "LostToConcurrentChange",
        "loser_hash": hex(loser.hash()),
    });

    let raw_on = |state: &GroupState, author: usize, ops: Vec<Op<'_>>| {
        change_by_hand(
            &Raw {
                group_id: *group.as_bytes(),
                base_epoch: state.epoch(),
                base_hash: *state.hash(),
                author: &u[author].0,
                device: 9,
                ops,
            },
            &u[author].0,
        )
    };
    let ghost_add = add(ghost, GroupRole::Member);
    let mut bad_sig = c2.to_bytes();
    let last = bad_sig.len() - 40;
    bad_sig[last] ^= 1;
    let forged = change_by_hand(
        &Raw {
            group_id: *group.as_bytes(),
            base_epoch: 2,
            base_hash: *s2.hash(),
            author: &u[0].0,
            device: 1,
            ops: vec![Op::Lib(&ghost_add)],
        },
        &ghost.0,
    );
    let mut wrong_hash = raw_on(&s2, 0, vec![Op::Lib(&ghost_add)]);
    wrong_hash[43..75].copy_from_slice(s1.hash());
    let wrong_hash = resign(wrong_hash, &u[0].0);
    let key = |i: usize| u[i].0.public_key().clone();
    let remove_dave = GroupOp::Remove { key: key(3) };
    let alice_member = GroupOp::SetRole {
        key: key(0),
        role: GroupRole::Member,
    };
    let bob_again = add(&u[1], GroupRole::Member);
    let remove_bob = GroupOp::Remove { key: key(1) };
    let remove_carol = GroupOp::Remove { key: key(2) };
    let remove_ghost = GroupOp::Remove {
        key: ghost.0.public_key().clone(),
    };
    let alice_admin = GroupOp::SetRole {
        key: key(0),
        role: GroupRole::Admin,
    };
    let mut role3 = vec![3];
    role3.extend_from_slice(key(1).as_bytes());
    role3.push(3);
    let mut kind4 = vec![4];
    kind4.extend_from_slice(key(1).as_bytes());
    let mut other_group = raw_on(&s1, 0, vec![Op::Lib(&bob_again)]);
    other_group[3..35].fill(0x42);
    let other_group = resign(other_group, &u[0].0);
    let mut no_ops = raw_on(&s1, 0, vec![]);
    no_ops.truncate(no_ops.len() - 64);
    no_ops.extend_from_slice(&[0; 64]);
    let c1_bytes = c1.to_bytes();
    let cases = vec![
        negative(
            "bob, a member, signs the server's ghost in: refused",
            &s1,
            raw_on(&s1, 1, vec![Op::Lib(&ghost_add)]),
        ),
        negative(
            "the ghost signs itself in: refused",
            &s1,
            raw_on(&s1, 4, vec![Op::Lib(&ghost_add)]),
        ),
        negative("a flipped signature byte", &s1, bad_sig),
        negative("alice named as author, the ghost's key signed", &s2, forged),
        negative(
            "a change of epoch 0 given at epoch 2",
            &s2,
            c1_bytes.clone(),
        ),
        negative("a change of epoch 1 given at epoch 0", &s0, c2.to_bytes()),
        negative("epoch 2 with the hash of epoch 1", &s2, wrong_hash),
        negative("another group's change", &s1, other_group),
        negative(
            "bob, a member, removes carol: refused",
            &s1,
            raw_on(&s1, 1, vec![Op::Lib(&remove_carol)]),
        ),
        negative(
            "bob, a member, removes himself and carol: refused",
            &s1,
            raw_on(&s1, 1, vec![Op::Lib(&remove_bob), Op::Lib(&remove_carol)]),
        ),
        negative(
            "the ghost, not a member, leaves: refused",
            &s1,
            raw_on(&s1, 4, vec![Op::Lib(&remove_ghost)]),
        ),
        negative(
            "removing the other admin and demoting oneself",
            &s1,
            raw_on(&s1, 0, vec![Op::Lib(&remove_dave), Op::Lib(&alice_member)]),
        ),
        negative(
            "adding a member",
            &s1,
            raw_on(&s1, 0, vec![Op::Lib(&bob_again)]),
        ),
        negative(
            "removing a non-member",
            &s1,
            raw_on(&s1, 0, vec![Op::Lib(&remove_ghost)]),
        ),
        negative(
            "an admin made admin",
            &s1,
            raw_on(&s1, 0, vec![Op::Lib(&alice_admin)]),
        ),
        negative("role byte 0x03", &s1, raw_on(&s1, 0, vec![Op::Raw(role3)])),
        negative(
            "operation kind 0x04",
            &s1,
            raw_on(&s1, 0, vec![Op::Raw(kind4)]),
        ),
        negative("no operation", &s1, no_ops),
        negative(
            "a truncated change",
            &s1,
            c1_bytes[..c1_bytes.len() - 1].to_vec(),
        ),
    ];

    // Geneses that make no state.
    let alice_member = add(&u[0], GroupRole::Member);
    let bob_admin = add(&u[1], GroupRole::Admin);
    let genesis_raw = |author: usize, base_epoch: u64, base_hash: [u8; 32], ops: Vec<Op<'_>>| {
        change_by_hand(
            &Raw {
                group_id: *group.as_bytes(),
                base_epoch,
                base_hash,
                author: &u[author].0,
                device: 1,
                ops,
            },
            &u[author].0,
        )
    };
    let bad_genesis = |description: &str, bytes: Vec<u8>| {
        let err = GroupChange::from_bytes(&bytes)
            .and_then(GroupChange::verify)
            .and_then(|v| GroupState::from_genesis(&v))
            .unwrap_err();
        json!({"description": description, "change": hex(&bytes), "error": error_name(&err)})
    };
    let genesis_cases = vec![
        bad_genesis(
            "the creator adds itself as a member",
            genesis_raw(
                0,
                0,
                [0; 32],
                vec![Op::Lib(&alice_member), Op::Lib(&bob_admin)],
            ),
        ),
        bad_genesis(
            "a genesis with a removal",
            genesis_raw(
                0,
                0,
                [0; 32],
                vec![
                    Op::Lib(&add(&u[0], GroupRole::Admin)),
                    Op::Lib(&remove_ghost),
                ],
            ),
        ),
        bad_genesis(
            "Bob's genesis under the id bound to Alice (a squatted group id)",
            genesis_raw(1, 0, [0; 32], vec![Op::Lib(&bob_admin)]),
        ),
        bad_genesis("a change of a state", c1.to_bytes()),
        bad_genesis(
            "a zero base hash at base epoch 1",
            genesis_raw(0, 1, [0; 32], vec![Op::Lib(&add(&u[0], GroupRole::Admin))]),
        ),
    ];

    let users: Vec<Value> = u
        .iter()
        .zip(names)
        .map(|(x, name)| {
            json!({
                "name": name,
                "user_secret": hex(x.0.secret_key_bytes()),
                "user_public": hex(x.0.public_key().as_bytes()),
                "app_id": hex(x.1.app_id()),
                "user_id": hex(x.1.user_id()),
            })
        })
        .collect();
    json!({
        "description": "End-to-end group membership (PROTOCOL.md §16.5-§16.7): a group id bound to its creator (the first user), a genesis and two changes with each resulting state and hash; a member leaving; two concurrent changes and the winner (lower change hash); changes refused, with the error kind. States are the stored encodings each member computes.",
        "state_type_byte": TYPE_GROUP_STATE,
        "change_type_byte": TYPE_GROUP_CHANGE,
        "state_hash_label": hex(GROUP_STATE_HASH),
        "signature_label": hex(SIG_GROUP_CHANGE),
        "change_hash_label": hex(GROUP_CHANGE_HASH),
        "group_id_binding_label": hex(GROUP_ID_BINDING),
        "users": users,
        "group_id": hex(group.as_bytes()),
        "steps": steps,
        "concurrent": concurrent,
        "leave": leave,
        "negative": cases,
        "genesis_negative": genesis_cases,
    })
}
