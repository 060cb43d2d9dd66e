//! `group-messages.json`: a sender key (chain key, signing secret), its
//! distribution, group messages at several iterations with every
//! intermediate (PROTOCOL.md §16.3), a receiver's deliveries in and out of
//! order with what each gives, a late member's, negative cases with their
//! error kinds, and the records both sides end with (§16.4).

use serde_json::{Value, json};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::address::DeviceAddress;
use crate::crypto::{kdf, labels};
use crate::group::{GroupId, ReceivedSenderKey, SenderKey, SenderKeyDistribution};
use crate::limits::MAX_GROUP_FORWARD_JUMP;
use crate::wire::DeviceAddressFrame;

fn outcome(r: crate::Result<Vec<u8>>) -> Value {
    match r {
        Ok(pt) => json!({"plaintext": hex(&pt)}),
        Err(e) => json!({"error": error_name(&e)}),
    }
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

pub(super) fn group_file() -> Value {
    let mut rng = seeded("group-messages");
    let group = GroupId::generate(&mut rng);
    let epoch = 7u64;
    let mut sender = SenderKey::generate(&mut rng, group, epoch);
    let alice = DeviceAddress::new(b"chirp", b"alice@example.org", 3).unwrap();
    let mallory = DeviceAddress::new(b"chirp", b"mallory@example.org", 1).unwrap();
    let record0 = sender.to_secret_bytes();
    let chain_key0: [u8; 32] = record0[51..83].try_into().unwrap();
    let signing_secret: [u8; 32] = record0[83..115].try_into().unwrap();
    let dist0 = sender.distribution();
    let dist0_bytes = dist0.to_secret_bytes();
    let sender_embedded = DeviceAddressFrame::of(&alice).embedded();

    // Messages 0..8; the chain recomputed alongside.
    let plaintexts: Vec<Vec<u8>> = (0..8)
        .map(|i| match i {
            5 => vec![0x61; 200],
            6 => Vec::new(),
            _ => format!("group message {i}").into_bytes(),
        })
        .collect();
    let mut ck = zeroize::Zeroizing::new(chain_key0);
    let mut messages = Vec::new();
    let mut encodings = Vec::new();
    for (i, pt) in plaintexts.iter().enumerate() {
        let bytes = sender.encrypt(&alice, pt).unwrap();
        let (seed, next) = kdf::group_chain_step(&ck);
        let okm = kdf::group_message_key(&seed).to_okm();
        let header = &bytes[..55];
        let ad = [
            labels::GROUP_MESSAGE_AD,
            group.as_bytes(),
            &epoch.to_be_bytes(),
            &sender_embedded,
            header,
        ]
        .concat();
        messages.push(json!({
            "iteration": i,
            "plaintext": hex(pt),
            "chain_key": hex(&ck[..]),
            "seed": hex(&seed[..]),
            "aead_key": hex(&okm[..32]),
            "nonce": hex(&okm[32..]),
            "associated_data": hex(&ad),
            "signature": hex(&bytes[bytes.len() - 64..]),
            "encoding": hex(&bytes),
        }));
        encodings.push(bytes);
        ck = next;
    }
    let sender_record = sender.to_secret_bytes();

    // A receiver from iteration 0, deliveries out of order.
    let order = [0usize, 3, 1, 3, 7, 2, 0, 5, 6, 4, 4];
    let mut receiver = ReceivedSenderKey::from_distribution(&dist0, &alice);
    let deliveries: Vec<Value> = order
        .iter()
        .map(|&i| {
            let mut o = outcome(receiver.decrypt(&alice, &encodings[i]));
            o["message"] = json!(i);
            o
        })
        .collect();
    let receiver_record = receiver.to_secret_bytes();

    // A member given the distribution at iteration 4 (before message 4).
    let late_dist = {
        let mut s = SenderKey::from_bytes(&record0).unwrap();
        for pt in &plaintexts[..4] {
            s.encrypt(&alice, pt).unwrap();
        }
        s.distribution()
    };
    let late_bytes = late_dist.to_secret_bytes();
    let mut late = ReceivedSenderKey::from_distribution(&late_dist, &alice);
    let late_deliveries: Vec<Value> = [2usize, 5, 4, 3]
        .iter()
        .map(|&i| {
            let mut o = outcome(late.decrypt(&alice, &encodings[i]));
            o["message"] = json!(i);
            o
        })
        .collect();

    // Negative cases, each against a fresh receiver from iteration 0.
    let m = &encodings[1];
    let far = {
        let mut s = SenderKey::from_bytes(&record0).unwrap();
        let mut last = Vec::new();
        for _ in 0..=MAX_GROUP_FORWARD_JUMP + 1 {
            last = s.encrypt(&alice, b"far").unwrap();
        }
        last
    };
    let other_group = {
        let g = GroupId::generate(&mut rng);
        let mut s = SenderKey::generate(&mut rng, g, epoch);
        s.encrypt(&alice, b"x").unwrap()
    };
    let other_epoch = {
        let mut s = SenderKey::generate(&mut rng, group, epoch + 1);
        s.encrypt(&alice, b"x").unwrap()
    };
    let other_key = {
        let mut s = SenderKey::generate(&mut rng, group, epoch);
        s.encrypt(&alice, b"x").unwrap()
    };
    let as_mallory = sender.encrypt(&mallory, b"claims mallory").unwrap();
    let cases: Vec<(&str, Vec<u8>, &DeviceAddress)> = vec![
        ("truncated", m[..m.len() - 1].to_vec(), &alice),
        ("a trailing byte", [&m[..], &[0]].concat(), &alice),
        ("version 2", edit(m, |b| b[0] = 2), &alice),
        ("type 0x71", edit(m, |b| b[1] = 0x71), &alice),
        ("suite 2", edit(m, |b| b[2] = 2), &alice),
        (
            "ciphertext_len 16",
            edit(m, |b| b[51..55].copy_from_slice(&16u32.to_be_bytes())),
            &alice,
        ),
        ("another group", other_group, &alice),
        ("another epoch", other_epoch, &alice),
        ("another key id", other_key, &alice),
        ("received from another sender", m.clone(), &mallory),
        ("encrypted as another sender", as_mallory, &alice),
        ("a flipped ciphertext bit", edit(m, |b| b[60] ^= 1), &alice),
        (
            "a flipped signature bit",
            edit(m, |b| *b.last_mut().unwrap() ^= 1),
            &alice,
        ),
        ("a flipped iteration bit", edit(m, |b| b[50] ^= 1), &alice),
        ("a jump of MAX_GROUP_FORWARD_JUMP + 1", far, &alice),
    ];
    let negative: Vec<Value> = cases
        .into_iter()
        .map(|(reason, input, from)| {
            let mut r = ReceivedSenderKey::from_distribution(&dist0, &alice);
            let before = r.to_secret_bytes();
            let err = r.decrypt(from, &input).unwrap_err();
            assert_eq!(r.to_secret_bytes(), before);
            json!({
                "reason": reason,
                "from": {"app_id": hex(from.app_id()), "user_id": hex(from.user_id()), "device_id": from.device_id()},
                "input": hex(&input),
                "error": error_name(&err),
            })
        })
        .collect();

    // Distributions that must be refused.
    let bad_dist: Vec<Value> = [
        ("small-order signing key", {
            let mut id = [0u8; 32];
            id[0] = 1;
            edit(&dist0_bytes, |b| b[83..].copy_from_slice(&id))
        }),
        ("truncated", dist0_bytes[..114].to_vec()),
        ("type 0x70", edit(&dist0_bytes, |b| b[1] = 0x70)),
    ]
    .into_iter()
    .map(|(reason, input)| {
        let err = SenderKeyDistribution::from_bytes(&input).unwrap_err();
        json!({"reason": reason, "input": hex(&input), "error": error_name(&err)})
    })
    .collect();

    json!({
        "description": "Sender keys (PROTOCOL.md §16.1-§16.4). Every hex string is bytes. \
            A receiver's deliveries run in order on one state; each negative case runs on a \
            fresh receiver made from `distribution`, and leaves it unchanged.",
        "labels": {
            "group_chain": hex(labels::GROUP_CHAIN),
            "group_message_key": hex(labels::GROUP_MESSAGE_KEY),
            "group_message_ad": hex(labels::GROUP_MESSAGE_AD),
            "sig_group_message": hex(labels::SIG_GROUP_MESSAGE),
        },
        "max_group_forward_jump": MAX_GROUP_FORWARD_JUMP,
        "max_group_skipped_keys": crate::limits::MAX_GROUP_SKIPPED_KEYS,
        "group_id": hex(group.as_bytes()),
        "epoch": epoch,
        "key_id": sender.key_id(),
        "sender": {"app_id": hex(alice.app_id()), "user_id": hex(alice.user_id()), "device_id": alice.device_id()},
        "sender_embedded": hex(&sender_embedded),
        "chain_key": hex(&chain_key0),
        "signing_secret": hex(&signing_secret),
        "signing_public": hex(&dist0.signing_key()),
        "sender_record_at_start": hex(&record0),
        "distribution": hex(&dist0_bytes),
        "messages": messages,
        "sender_record_after": hex(&sender_record),
        "deliveries": deliveries,
        "receiver_record_after": hex(&receiver_record),
        "late_distribution": hex(&late_bytes),
        "late_deliveries": late_deliveries,
        "negative": negative,
        "bad_distributions": bad_dist,
    })
}
