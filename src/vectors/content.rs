//! `account-content.json`: what an account's pairwise plaintexts carry
//! (PROTOCOL.md §17): one content of each kind, built by the real code and
//! again by hand, with what a receiving account does with the group ones
//! (who a genesis or welcome adds), and the contents it refuses.

use serde_json::{Value, json};

use super::{hex, seeded};
use crate::address::UserAddress;
use crate::group::{GroupChange, GroupOp, GroupRole, GroupState, SenderKey};
use crate::keys::UserIdentityKeyPair;
use crate::wire::{ContentFrame, TYPE_CONTENT};

/// A content by hand: version, type, kind, body.
fn by_hand(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01, TYPE_CONTENT, kind];
    out.extend_from_slice(body);
    out
}

fn case(description: &str, kind: u8, body: &[u8], built: Vec<u8>) -> Value {
    let encoding = by_hand(kind, body);
    assert_eq!(built, encoding, "{description}");
    json!({"description": description, "kind": kind, "body": hex(body), "content": hex(&encoding)})
}

pub(super) fn content_file() -> Value {
    let mut rng = seeded("account-content");
    let users: Vec<(UserIdentityKeyPair, UserAddress)> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|n| {
            let address = UserAddress::new(b"kinseal.example", n.as_bytes()).unwrap();
            (UserIdentityKeyPair::generate(&mut rng), address)
        })
        .collect();
    let [alice, bob, carol, dave] = [&users[0], &users[1], &users[2], &users[3]];
    let members = [bob, carol].map(|(k, a)| (k.public_key().clone(), a.clone()));
    let (state0, genesis) = GroupState::create(&mut rng, &alice.0, 1, &alice.1, members).unwrap();
    let group = *state0.group_id();
    let genesis_bytes = genesis.to_bytes();
    let add_dave = GroupOp::Add {
        key: dave.0.public_key().clone(),
        address: dave.1.clone(),
        role: GroupRole::Member,
    };
    let change = GroupChange::new(&state0, &alice.0, 1, [add_dave]).unwrap();
    let change_bytes = change.to_bytes();
    let state0_bytes = state0.to_bytes();
    let mut welcome_body = (state0_bytes.len() as u32).to_be_bytes().to_vec();
    welcome_body.extend_from_slice(&state0_bytes);
    welcome_body.extend_from_slice(&change_bytes);
    let state1 = state0.apply(&change.clone().verify().unwrap()).unwrap();
    let sender = SenderKey::generate(&mut rng, group, 1);
    let distribution = sender.distribution().to_secret_bytes();
    let app = b"see you at eight".to_vec();

    let cases = vec![
        case(
            "an app message",
            0x01,
            &app,
            ContentFrame::Message(&app).to_vec(),
        ),
        case(
            "an empty app message",
            0x01,
            b"",
            ContentFrame::Message(b"").to_vec(),
        ),
        case(
            "a sender-key distribution",
            0x02,
            distribution.as_bytes(),
            ContentFrame::Distribution(distribution.as_bytes()).to_vec(),
        ),
        case(
            "a genesis",
            0x03,
            &genesis_bytes,
            ContentFrame::GroupChange(&genesis_bytes).to_vec(),
        ),
        case(
            "a change",
            0x03,
            &change_bytes,
            ContentFrame::GroupChange(&change_bytes).to_vec(),
        ),
        case(
            "a welcome",
            0x04,
            &welcome_body,
            ContentFrame::Welcome {
                state: &state0_bytes,
                change: &change_bytes,
            }
            .to_vec(),
        ),
        case(
            "a state sync",
            0x05,
            &state1.to_bytes(),
            ContentFrame::StateSync(&state1.to_bytes()).to_vec(),
        ),
    ];

    // What a receiving account makes of the group contents: who joins.
    let joins = json!([
        {"content": 3, "recipient": hex(bob.0.public_key().as_bytes()), "joins": true, "epoch": 0},
        {"content": 3, "recipient": hex(dave.0.public_key().as_bytes()), "error": "NotGroupMember"},
        {"content": 5, "recipient": hex(dave.0.public_key().as_bytes()), "joins": true, "epoch": 1},
        {"content": 6, "recipient": hex(dave.0.public_key().as_bytes()), "joins": true, "epoch": 1},
    ]);
    let other = GroupChange::new(
        &state1,
        &alice.0,
        1,
        [GroupOp::Remove {
            key: bob.0.public_key().clone(),
        }],
    )
    .unwrap()
    .to_bytes();
    let state1_bytes = state1.to_bytes();
    let mut removes_bob = (state1_bytes.len() as u32).to_be_bytes().to_vec();
    removes_bob.extend_from_slice(&state1_bytes);
    removes_bob.extend_from_slice(&other);
    let mut wrong_base = (state0_bytes.len() as u32).to_be_bytes().to_vec();
    wrong_base.extend_from_slice(&state0_bytes);
    wrong_base.extend_from_slice(&other);
    let mut short_state = 114u32.to_be_bytes().to_vec();
    short_state.extend_from_slice(&[0; 114]);
    let mut short_change = (state0_bytes.len() as u32).to_be_bytes().to_vec();
    short_change.extend_from_slice(&state0_bytes);
    short_change.extend_from_slice(&change_bytes[..209]);
    let negative = json!([
        {"description": "no kind", "content": hex(&[0x01, TYPE_CONTENT]), "error": "Truncated"},
        {"description": "another version", "content": hex(&[0x02, TYPE_CONTENT, 0x01]), "error": "UnsupportedVersion"},
        {"description": "another type", "content": hex(&[0x01, 0x60, 0x01]), "error": "UnexpectedType"},
        {"description": "kind 0x00", "content": hex(&by_hand(0x00, b"x")), "error": "InvalidField"},
        {"description": "kind 0x06", "content": hex(&by_hand(0x06, b"")), "error": "InvalidField"},
        {"description": "a welcome whose state is shorter than any state", "content": hex(&by_hand(0x04, &short_state)), "error": "LengthOutOfRange"},
        {"description": "a welcome whose change is shorter than any change", "content": hex(&by_hand(0x04, &short_change)), "error": "Truncated"},
        {"description": "a welcome whose change is not built on its state", "content": hex(&by_hand(0x04, &wrong_base)), "recipient": hex(dave.0.public_key().as_bytes()), "error": "WrongBase"},
        {"description": "a welcome to a user not in the state it makes", "content": hex(&by_hand(0x04, &removes_bob)), "recipient": hex(bob.0.public_key().as_bytes()), "error": "NotGroupMember"},
    ]);
    json!({
        "description": "Account contents (PROTOCOL.md §17): the kind byte before every pairwise plaintext. `joins` says what an account with no record of the group makes of the genesis (cases[3]), the welcome (cases[5]) and the state sync from its own user (cases[6]): it joins at `epoch` if the state they make has its user (`recipient`, a user key) as a member",
        "content_type_byte": TYPE_CONTENT,
        "max_app_plaintext_len": crate::limits::MAX_APP_PLAINTEXT_LEN,
        "cases": cases,
        "joins": joins,
        "negative": negative,
    })
}
