//! `receipt.json`: decryption-error receipts (PROTOCOL.md §14) for real
//! failed messages, with every field, the signed body and the signature;
//! receipts that decoding or verifying must refuse; and the locators of
//! messages, valid and not.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use super::conversation::error_name;
use super::handshake::{self, Case};
use super::{hex, seeded};
use crate::address::DeviceAddress;
use crate::crypto::labels::{SIG_DEVICE_LIST, SIG_RECEIPT};
use crate::error::{Error, KeyKind, WireType};
use crate::keys::IdentityKeyPair;
use crate::limits::{MAX_APP_ID_LEN, MAX_RECEIPT_LEN, MAX_USER_ID_LEN, MIN_RECEIPT_LEN};
use crate::message::{DecryptionErrorReceipt, FailedMessage, PreKeyMessage};
use crate::wire::{ReceiptReason, SUITE_V1, TYPE_RECEIPT};

/// Seconds since the Unix epoch: 2026-01-01.
const T0: u64 = 1_767_225_600;

fn reason_name(r: ReceiptReason) -> &'static str {
    match r {
        ReceiptReason::NoSession => "NoSession",
        ReceiptReason::DecryptionFailed => "DecryptionFailed",
        ReceiptReason::UnknownPreKey => "UnknownPreKey",
        ReceiptReason::UnknownDevice => "UnknownDevice",
    }
}

fn device_json(a: &DeviceAddress) -> Value {
    json!({"app_id": hex(a.app_id()), "user_id": hex(a.user_id()), "device_id": a.device_id()})
}

fn failed_json(f: &FailedMessage) -> Value {
    match f {
        FailedMessage::Message {
            ratchet_key,
            index,
            previous_length,
        } => json!({
            "kind": "Message",
            "ratchet_key": hex(ratchet_key),
            "index": index,
            "previous_length": previous_length,
        }),
        FailedMessage::PreKey { handshake_id } => json!({
            "kind": "PreKeyMessage",
            "handshake_id": hex(handshake_id.as_bytes()),
        }),
    }
}

/// The embedded form of a device address, byte by byte (§4.5).
fn embedded(a: &DeviceAddress) -> Vec<u8> {
    let mut b = vec![a.app_id().len() as u8];
    b.extend_from_slice(a.app_id());
    b.extend_from_slice(&(a.user_id().len() as u16).to_be_bytes());
    b.extend_from_slice(a.user_id());
    b.extend_from_slice(&a.device_id().to_be_bytes());
    b
}

/// The body of a receipt, byte by byte as PROTOCOL.md §14.1 lays it out.
fn body_by_hand(r: &DecryptionErrorReceipt, reason_code: u8) -> Vec<u8> {
    let mut b = vec![1, TYPE_RECEIPT, SUITE_V1];
    b.extend_from_slice(&embedded(r.from()));
    b.extend_from_slice(&embedded(r.to()));
    b.push(reason_code);
    match r.failed() {
        FailedMessage::Message {
            ratchet_key,
            index,
            previous_length,
        } => {
            b.push(0x01);
            b.extend_from_slice(ratchet_key);
            b.extend_from_slice(&index.to_be_bytes());
            b.extend_from_slice(&previous_length.to_be_bytes());
        }
        FailedMessage::PreKey { handshake_id } => {
            b.push(0x02);
            b.extend_from_slice(handshake_id.as_bytes());
        }
    }
    b.extend_from_slice(&r.created_at().to_be_bytes());
    b.extend_from_slice(r.identity_key().as_bytes());
    b
}

/// One receipt for a real failed message, every value recomputed from the
/// primitives and compared with the library's.
#[allow(clippy::too_many_arguments)]
fn receipt_json(
    description: &str,
    signer: &IdentityKeyPair,
    from: &DeviceAddress,
    to: &DeviceAddress,
    message: &[u8],
    reason: (ReceiptReason, u8),
    created_at: u64,
) -> (DecryptionErrorReceipt, Value) {
    let failed = FailedMessage::of(message).unwrap();
    if let FailedMessage::PreKey { handshake_id } = failed {
        let decoded = PreKeyMessage::from_bytes(message).unwrap();
        assert_eq!(decoded.handshake_id(), handshake_id);
    }
    let r = DecryptionErrorReceipt::new(signer, from, to, failed, reason.0, created_at);
    let body = body_by_hand(&r, reason.1);
    let encoding = r.to_bytes();
    assert_eq!(&encoding[..encoding.len() - 64], &body[..]);
    let secret: [u8; 32] = signer.to_secret_bytes().as_bytes().try_into().unwrap();
    let mut signed = SIG_RECEIPT.to_vec();
    signed.extend_from_slice(&body);
    let signature = SigningKey::from_bytes(&secret).sign(&signed).to_bytes();
    assert_eq!(&encoding[encoding.len() - 64..], &signature[..]);
    let decoded = DecryptionErrorReceipt::from_bytes(&encoding).unwrap();
    assert_eq!(decoded, r);
    assert_eq!(decoded.verify().unwrap().receipt(), &r);
    let json = json!({
        "description": description,
        "from": device_json(from),
        "to": device_json(to),
        "reason": reason_name(reason.0),
        "reason_code": reason.1,
        "failed_message": hex(message),
        "failed": failed_json(&failed),
        "created_at": created_at,
        "identity_public": hex(signer.public_key().as_bytes()),
        "body": hex(&body),
        "signed_message": hex(&signed),
        "signature": hex(&signature),
        "encoding": hex(&encoding),
    });
    (r, json)
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

/// `A + T`, `T` of order 8: canonical, of large order, outside the subgroup.
fn torsioned(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

/// One receipt to make: description, from, to, the failed message, the
/// reason and its code as §14.1 gives it.
type Spec<'a> = (
    &'a str,
    &'a DeviceAddress,
    &'a DeviceAddress,
    &'a [u8],
    ReceiptReason,
    u8,
);

pub(super) fn receipt_file() -> Value {
    let mut rng = seeded("receipt");
    let setup = handshake::run(
        &mut rng,
        &Case::new("setup for receipt vectors", true, false),
        b"first",
    );
    let prekey_message = super::negative::unhex(&setup.json["prekey_message"]);
    let (mut alice, mut bob) = (setup.alice, setup.bob);
    let reply = bob.encrypt(&mut rng, b"reply").unwrap();
    alice.decrypt(&reply).unwrap();
    let second = alice.encrypt(&mut rng, b"second").unwrap();
    let third = alice.encrypt(&mut rng, b"third").unwrap();
    let failing = setup.responder.identity;
    let other = IdentityKeyPair::generate(&mut rng);

    let bob_device = DeviceAddress::new(b"parley", b"bob@parley.example", 7).unwrap();
    let alice_device = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let short = (
        DeviceAddress::new(b"a", b"b", 0).unwrap(),
        DeviceAddress::new(b"c", b"d", 1).unwrap(),
    );
    let long = (
        DeviceAddress::new(&[b'p'; MAX_APP_ID_LEN], &[b'b'; MAX_USER_ID_LEN], u32::MAX).unwrap(),
        DeviceAddress::new(&[b'c'; MAX_APP_ID_LEN], &[b'a'; MAX_USER_ID_LEN], 0).unwrap(),
    );
    let specs: Vec<Spec<'_>> = vec![
        (
            "a PreKeyMessage naming a one-time prekey the device no longer holds",
            &bob_device,
            &alice_device,
            &prekey_message,
            ReceiptReason::UnknownPreKey,
            0x03,
        ),
        (
            "a Message (index 1, previous chain length 1) that decrypted under no session",
            &bob_device,
            &alice_device,
            &third,
            ReceiptReason::DecryptionFailed,
            0x02,
        ),
        (
            "a Message (index 0) from a device the failing device has no session with",
            &bob_device,
            &alice_device,
            &second,
            ReceiptReason::NoSession,
            0x01,
        ),
        (
            "a PreKeyMessage from a device not on its user's device list",
            &bob_device,
            &alice_device,
            &prekey_message,
            ReceiptReason::UnknownDevice,
            0x04,
        ),
        (
            "the shortest receipt: one-byte ids and a PreKeyMessage's locator",
            &short.0,
            &short.1,
            &prekey_message,
            ReceiptReason::UnknownPreKey,
            0x03,
        ),
        (
            "the longest receipt: the longest ids and a Message's locator",
            &long.0,
            &long.1,
            &third,
            ReceiptReason::DecryptionFailed,
            0x02,
        ),
    ];
    let (receipts, cases): (Vec<DecryptionErrorReceipt>, Vec<Value>) = specs
        .iter()
        .enumerate()
        .map(|(i, (d, from, to, m, reason, code))| {
            receipt_json(d, &failing, from, to, m, (*reason, *code), T0 + i as u64)
        })
        .unzip();
    assert_eq!(receipts[4].to_bytes().len(), MIN_RECEIPT_LEN);
    assert_eq!(receipts[5].to_bytes().len(), MAX_RECEIPT_LEN);

    let negative = negative_cases(
        &failing,
        &other,
        &receipts[1].to_bytes(),
        &receipts[0].to_bytes(),
    );
    let locators = locator_cases(&prekey_message, &third, &receipts[0].to_bytes());

    json!({
        "description": "Decryption-error receipts (PROTOCOL.md 14). Each receipt is for a \
                        real failed message (failed_message) and is signed by the identity \
                        key of identity_secret; body is every byte before the signature; \
                        signed_message is signature_label || body. negative are receipts \
                        that decoding and verifying must refuse, with the first failing \
                        check's kind; locators are the failed-message locators of messages \
                        (structure only, no key validated), or the error kind.",
        "type_byte": TYPE_RECEIPT,
        "signature_label": hex(SIG_RECEIPT),
        "identity_secret": hex(failing.to_secret_bytes().as_bytes()),
        "receipts": cases,
        "negative": negative,
        "locators": locators,
    })
}

/// Decode-or-verify rejections, each an edit of `message` (a receipt with
/// a Message's locator; `prekey` one with a PreKeyMessage's), with the
/// error kind kinseal reports.
fn negative_cases(
    signer: &IdentityKeyPair,
    other: &IdentityKeyPair,
    message: &[u8],
    prekey: &[u8],
) -> Vec<Value> {
    let mut cases = Vec::new();
    let mut add = |reason: &str, input: Vec<u8>| {
        let result = DecryptionErrorReceipt::from_bytes(&input).and_then(|r| r.verify());
        let Err(e) = result else {
            panic!("negative receipt accepted: {reason}");
        };
        if let Error::Decode(d) = &e {
            let named = format!("{d:?}");
            assert!(
                named.contains("DecryptionErrorReceipt")
                    || matches!(
                        d,
                        crate::DecodeError::UnsupportedVersion { .. }
                            | crate::DecodeError::UnsupportedSuite { .. }
                            | crate::DecodeError::InvalidKey {
                                kind: KeyKind::Identity
                            }
                    ),
                "{reason}: {e:?} names another layout than {:?}",
                WireType::DecryptionErrorReceipt
            );
        }
        cases.push(json!({"reason": reason, "input": hex(&input), "error": error_name(&e)}));
    };
    // Offsets in `message`: from = parley / bob@parley.example / 7, to =
    // chirp / alice / 1.
    let from_at = 3;
    let from_user_len_at = from_at + 1 + 6;
    let from_device_at = from_user_len_at + 2 + 18;
    let to_at = from_device_at + 4;
    let to_user_len_at = to_at + 1 + 5;
    let reason_at = to_user_len_at + 2 + 5 + 4;
    let kind_at = reason_at + 1;
    let index_at = kind_at + 1 + 32;
    let created_at = index_at + 8;
    let key_at = created_at + 8;
    let sig_at = key_at + 32;
    assert_eq!(message.len(), sig_at + 64);
    assert_eq!(&message[from_at..from_at + 7], b"\x06parley");
    assert_eq!(message[kind_at], 0x01);
    let key: [u8; 32] = message[key_at..sig_at].try_into().unwrap();
    let set = |at: usize, by: &[u8]| edit(message, |b| b[at..at + by.len()].copy_from_slice(by));
    let resign = |b: &[u8], with: &IdentityKeyPair, label: &[u8]| {
        let mut out = b[..b.len() - 64].to_vec();
        let s = with.sign(label, &[&out]);
        out.extend_from_slice(&s);
        out
    };

    add("version byte 0x02", set(0, &[2]));
    add("type byte 0x60 (an envelope's)", set(1, &[0x60]));
    add("type byte 0x52 (a device list's)", set(1, &[0x52]));
    add("suite 0x02", set(2, &[2]));
    add("only the header", message[..3].to_vec());
    add(
        "the last byte missing",
        message[..message.len() - 1].to_vec(),
    );
    add("a byte after the signature", edit(message, |b| b.push(0)));
    add("from: app_id_len 0", set(from_at, &[0]));
    add("from: app_id_len 65", set(from_at, &[65]));
    add("to: user_id_len 0", set(to_user_len_at, &[0, 0]));
    add("to: user_id_len 257", set(to_user_len_at, &[1, 1]));
    add("reason 0x00", set(reason_at, &[0]));
    add("reason 0x05", set(reason_at, &[5]));
    add("reason 0xff", set(reason_at, &[0xff]));
    add(
        "reason 0x00 and nothing after it: the code is refused when its byte is read",
        edit(message, |b| {
            b[reason_at] = 0;
            b.truncate(reason_at + 1);
        }),
    );
    add("failed_kind 0x00", set(kind_at, &[0]));
    add("failed_kind 0x03", set(kind_at, &[3]));
    add("failed_kind 0x61 (a receipt's type)", set(kind_at, &[0x61]));
    add(
        "failed_kind 0x02 with a Message's locator: 8 bytes left over",
        resign(&set(kind_at, &[2]), signer, SIG_RECEIPT),
    );
    add(
        "failed_kind 0x01 with a PreKeyMessage's locator: 8 bytes short",
        edit(prekey, |b| b[kind_at] = 1),
    );
    add(
        "identity key of small order",
        set(key_at, &EIGHT_TORSION[1].compress().to_bytes()),
    );
    add(
        "identity key A + T, T of order 8",
        set(key_at, &torsioned(&key)),
    );
    add(
        "identity key not canonical (y >= p), a point of large order",
        set(key_at, &super::negative::non_canonical_identity()),
    );
    add(
        "identity key A + T and a byte after the signature: structure is checked first",
        edit(&set(key_at, &torsioned(&key)), |b| b.push(0)),
    );
    add(
        "reason 0x00 and an identity key of small order: structure is checked first",
        edit(&set(key_at, &EIGHT_TORSION[1].compress().to_bytes()), |b| {
            b[reason_at] = 0
        }),
    );
    add(
        "signed by another identity key than the one it names",
        resign(message, other, SIG_RECEIPT),
    );
    add(
        "another valid identity key in place of the signer's",
        set(key_at, other.public_key().as_bytes()),
    );
    add(
        "created_at changed after signing",
        edit(message, |b| b[created_at + 7] ^= 1),
    );
    add(
        "reason changed to another valid code after signing",
        set(reason_at, &[0x01]),
    );
    add(
        "the index changed after signing",
        edit(message, |b| b[index_at + 3] ^= 1),
    );
    add(
        "the ratchet key changed after signing",
        edit(message, |b| b[kind_at + 1] ^= 1),
    );
    add(
        "the handshake id changed after signing",
        edit(prekey, |b| b[kind_at + 1] ^= 0x80),
    );
    add(
        "from's device id changed after signing",
        edit(message, |b| b[from_device_at + 3] ^= 1),
    );
    add(
        "a byte of to's user id changed after signing",
        edit(message, |b| b[to_user_len_at + 2] ^= 0x20),
    );
    add(
        "signature over the body without the label",
        resign(message, signer, b""),
    );
    add(
        "signature under the device list label",
        resign(message, signer, SIG_DEVICE_LIST),
    );
    // S + L: the same signature with a non-canonical S.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    add(
        "signature with S + L (not reduced)",
        edit(message, |b| {
            let mut carry = 0u16;
            for i in 0..32 {
                let s = u16::from(b[sig_at + 32 + i]) + u16::from(l[i]) + carry;
                b[sig_at + 32 + i] = s as u8;
                carry = s >> 8;
            }
        }),
    );
    add(
        "signature R replaced by a point of small order",
        set(sig_at, &EIGHT_TORSION[2].compress().to_bytes()),
    );
    cases
}

/// `FailedMessage::of` on messages: the locator, or the error kind.
fn locator_cases(prekey_message: &[u8], message: &[u8], receipt: &[u8]) -> Vec<Value> {
    let case = |reason: &str, input: Vec<u8>| match FailedMessage::of(&input) {
        Ok(f) => json!({"reason": reason, "input": hex(&input), "failed": failed_json(&f)}),
        Err(e) => json!({"reason": reason, "input": hex(&input), "error": error_name(&e)}),
    };
    // The identity key of a PreKeyMessage replaced by one of small order:
    // the message's decoder refuses it, its locator is still defined.
    let weak = edit(prekey_message, |b| {
        b[3..35].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes())
    });
    assert!(PreKeyMessage::from_bytes(&weak).is_err());
    let bad_ratchet = edit(message, |b| b[2..34].fill(0xff));
    let mut bad_flag = prekey_message.to_vec();
    bad_flag[39] = 2;
    vec![
        case("a PreKeyMessage", prekey_message.to_vec()),
        case("a Message", message.to_vec()),
        case(
            "a PreKeyMessage whose identity key is of small order: no key is validated",
            weak,
        ),
        case(
            "a Message whose ratchet key is not canonical: no key is validated",
            bad_ratchet,
        ),
        case("empty", Vec::new()),
        case("version byte 0x02", edit(message, |b| b[0] = 2)),
        case("type byte 0x03 (a bundle's)", edit(message, |b| b[1] = 3)),
        case("a receipt", receipt.to_vec()),
        case(
            "a Message one byte short",
            message[..message.len() - 1].to_vec(),
        ),
        case(
            "a Message with a byte after it",
            edit(message, |b| b.push(0)),
        ),
        case("a PreKeyMessage whose one_time_present is 2", bad_flag),
        case(
            "a PreKeyMessage one byte short",
            prekey_message[..prekey_message.len() - 1].to_vec(),
        ),
    ]
}
