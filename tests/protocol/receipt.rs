//! Decryption-error receipts (PROTOCOL.md §14): the locator names the
//! failed message, receipts round trip and verify, every edit and every
//! rejection path is refused with its kind, and a receipt is tied to a
//! device list only under the key the list names.

use curve25519_dalek::constants::EIGHT_TORSION;
use kinseal::wire::{MAX_RECEIPT_LEN, MIN_RECEIPT_LEN, TYPE_RECEIPT};
use kinseal::{
    DecodeError, DecryptionErrorReceipt, DeviceAddress, DeviceList, Envelope, Error, FailedMessage,
    IdentityKeyPair, IncomingMessage, KeyKind, Message, MessageKind, PreKeyMessage, ProtocolError,
    ReceiptReason, SignedObject, UserAddress, UserIdentityKeyPair, VerifiedReceipt, WireType,
};
use proptest::prelude::*;

use crate::common::{established, pair, rng};
use kinseal::SessionConfig;

const NOW: u64 = 1_767_225_600;
const REASONS: [ReceiptReason; 4] = [
    ReceiptReason::NoSession,
    ReceiptReason::DecryptionFailed,
    ReceiptReason::UnknownPreKey,
    ReceiptReason::UnknownDevice,
];

fn bob_device() -> DeviceAddress {
    DeviceAddress::new(b"parley", b"bob@parley.example", 7).unwrap()
}

fn alice_device() -> DeviceAddress {
    DeviceAddress::new(b"chirp", b"alice", 1).unwrap()
}

/// The offsets in a receipt from `bob_device()` to `alice_device()`.
const REASON_AT: usize = 3 + (1 + 6 + 2 + 18 + 4) + (1 + 5 + 2 + 5 + 4);
const KIND_AT: usize = REASON_AT + 1;

/// A failing device, and the bytes of a real `PreKeyMessage` and a real
/// `Message` it could not decrypt.
struct Fixture {
    failing: IdentityKeyPair,
    prekey_message: Vec<u8>,
    message: Vec<u8>,
}

fn fixture(seed: u64) -> Fixture {
    let mut r = rng(seed);
    let (bob, mut p) = established(&mut r, SessionConfig::default());
    let message = p.alice.encrypt(&mut r, b"lost").unwrap();
    Fixture {
        failing: bob.identity,
        prekey_message: p.first,
        message,
    }
}

fn receipt(f: &Fixture, bytes: &[u8], reason: ReceiptReason) -> DecryptionErrorReceipt {
    let failed = FailedMessage::of(bytes).unwrap();
    DecryptionErrorReceipt::new(
        &f.failing,
        &bob_device(),
        &alice_device(),
        failed,
        reason,
        NOW,
    )
}

fn decode(bytes: &[u8]) -> kinseal::Result<VerifiedReceipt> {
    DecryptionErrorReceipt::from_bytes(bytes)?.verify()
}

fn invalid_field(field: &'static str, found: u32) -> Error {
    Error::Decode(DecodeError::InvalidField {
        wire_type: WireType::DecryptionErrorReceipt,
        field,
        found,
    })
}

const BAD_SIGNATURE: Error = Error::Protocol(ProtocolError::InvalidSignature {
    object: SignedObject::DecryptionErrorReceipt,
});

#[test]
fn the_locator_names_the_failed_message() {
    let f = fixture(1);
    let pk = PreKeyMessage::from_bytes(&f.prekey_message).unwrap();
    let located = FailedMessage::of(&f.prekey_message).unwrap();
    assert_eq!(
        located,
        FailedMessage::PreKey {
            handshake_id: pk.handshake_id()
        }
    );
    assert_eq!(located.kind(), MessageKind::PreKeyMessage);
    let m = Message::from_bytes(&f.message).unwrap();
    let located = FailedMessage::of(&f.message).unwrap();
    assert_eq!(
        located,
        FailedMessage::Message {
            ratchet_key: *m.ratchet_key(),
            index: m.index(),
            previous_length: m.previous_length(),
        }
    );
    assert_eq!(located.kind(), MessageKind::Message);
    // The message sent after the round trip is on Alice's second chain:
    // index 0, after one message on her first.
    assert_eq!((m.index(), m.previous_length()), (0, 1));
    // The same from a decoded message, and from an envelope's message.
    for bytes in [&f.prekey_message, &f.message] {
        let decoded = IncomingMessage::from_bytes(bytes).unwrap();
        assert_eq!(
            FailedMessage::from(&decoded),
            FailedMessage::of(bytes).unwrap()
        );
        let envelope = Envelope::new(alice_device(), bob_device(), bytes.clone()).unwrap();
        let received = Envelope::from_bytes(&envelope.to_bytes()).unwrap();
        assert_eq!(
            FailedMessage::of(received.message()).unwrap(),
            FailedMessage::of(bytes).unwrap()
        );
    }
    // Another handshake, another locator.
    let other = fixture(2);
    assert_ne!(
        FailedMessage::of(&other.prekey_message).unwrap(),
        FailedMessage::of(&f.prekey_message).unwrap()
    );
}

#[test]
fn every_copy_of_a_first_message_has_one_locator_and_each_message_its_own() {
    let mut r = rng(3);
    let (_bob, mut p) = pair(&mut r);
    // Alice has not heard back: her next messages are PreKeyMessages of
    // the same handshake.
    let again = p.alice.encrypt(&mut r, b"again").unwrap();
    assert_eq!(
        FailedMessage::of(&again).unwrap(),
        FailedMessage::of(&p.first).unwrap()
    );
    let reply = p.bob.encrypt(&mut r, b"one").unwrap();
    let reply2 = p.bob.encrypt(&mut r, b"two").unwrap();
    let (a, b) = (
        FailedMessage::of(&reply).unwrap(),
        FailedMessage::of(&reply2).unwrap(),
    );
    assert_ne!(a, b);
    let (
        FailedMessage::Message {
            ratchet_key: k1,
            index: 0,
            ..
        },
        FailedMessage::Message {
            ratchet_key: k2,
            index: 1,
            ..
        },
    ) = (a, b)
    else {
        panic!("{a:?} {b:?}");
    };
    assert_eq!(k1, k2);
}

#[test]
fn a_receipt_round_trips_and_verifies() {
    let f = fixture(4);
    for bytes in [&f.prekey_message, &f.message] {
        for reason in REASONS {
            let r = receipt(&f, bytes, reason);
            let enc = r.to_bytes();
            assert_eq!(enc[..3], [1, TYPE_RECEIPT, 1]);
            let decoded = DecryptionErrorReceipt::from_bytes(&enc).unwrap();
            assert_eq!(decoded, r);
            assert_eq!(decoded.to_bytes(), enc);
            let v = decoded.verify().unwrap();
            assert_eq!(v.to_bytes(), enc);
            assert_eq!(v.from(), &bob_device());
            assert_eq!(v.to(), &alice_device());
            assert_eq!(v.reason(), reason);
            assert_eq!(v.failed(), &FailedMessage::of(bytes).unwrap());
            assert_eq!(v.created_at(), NOW);
            assert_eq!(v.identity_key(), f.failing.public_key());
            assert_eq!(v.receipt(), &r);
            assert_eq!(v.into_receipt(), r);
        }
    }
    // The documented bounds.
    let short = DecryptionErrorReceipt::new(
        &f.failing,
        &DeviceAddress::new(b"a", b"b", 0).unwrap(),
        &DeviceAddress::new(b"c", b"d", 0).unwrap(),
        FailedMessage::of(&f.prekey_message).unwrap(),
        ReceiptReason::UnknownPreKey,
        0,
    );
    assert_eq!(short.to_bytes().len(), MIN_RECEIPT_LEN);
    let long_id = DeviceAddress::new(&[b'a'; 64], &[b'u'; 256], u32::MAX).unwrap();
    let long = DecryptionErrorReceipt::new(
        &f.failing,
        &long_id,
        &long_id,
        FailedMessage::of(&f.message).unwrap(),
        ReceiptReason::DecryptionFailed,
        u64::MAX,
    );
    assert_eq!(long.to_bytes().len(), MAX_RECEIPT_LEN);
    for r in [short, long] {
        assert_eq!(decode(&r.to_bytes()).unwrap().receipt(), &r);
    }
}

#[test]
fn every_edited_byte_and_every_truncation_is_refused() {
    let f = fixture(5);
    for bytes in [&f.prekey_message, &f.message] {
        let enc = receipt(&f, bytes, ReceiptReason::NoSession).to_bytes();
        for at in 0..enc.len() {
            for bit in [0x01u8, 0x80] {
                let mut edited = enc.clone();
                edited[at] ^= bit;
                assert!(decode(&edited).is_err(), "byte {at} ^ {bit:#x} accepted");
            }
        }
        for cut in 0..enc.len() {
            assert!(matches!(
                DecryptionErrorReceipt::from_bytes(&enc[..cut]),
                Err(Error::Decode(DecodeError::Truncated {
                    wire_type: WireType::DecryptionErrorReceipt,
                    ..
                }))
            ));
        }
        let long = [&enc[..], &[0]].concat();
        assert_eq!(
            DecryptionErrorReceipt::from_bytes(&long),
            Err(Error::Decode(DecodeError::TrailingBytes {
                wire_type: WireType::DecryptionErrorReceipt,
                count: 1
            }))
        );
    }
}

#[test]
fn each_rejection_has_its_kind() {
    let f = fixture(6);
    let enc = receipt(&f, &f.message, ReceiptReason::DecryptionFailed).to_bytes();
    let set = |at: usize, by: &[u8]| {
        let mut b = enc.clone();
        b[at..at + by.len()].copy_from_slice(by);
        b
    };
    assert_eq!(enc[KIND_AT], 0x01);
    assert_eq!(
        decode(&set(0, &[2])),
        Err(Error::Decode(DecodeError::UnsupportedVersion { found: 2 }))
    );
    assert_eq!(
        decode(&set(1, &[0x60])),
        Err(Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::DecryptionErrorReceipt,
            found: 0x60
        }))
    );
    assert_eq!(
        decode(&set(2, &[2])),
        Err(Error::Decode(DecodeError::UnsupportedSuite { found: 2 }))
    );
    assert_eq!(
        decode(&set(3, &[0])),
        Err(Error::Decode(DecodeError::LengthOutOfRange {
            wire_type: WireType::DecryptionErrorReceipt,
            min: 1,
            max: 64,
            found: 0
        }))
    );
    for code in [0u8, 5, 0xff] {
        assert_eq!(
            decode(&set(REASON_AT, &[code])),
            Err(invalid_field("reason", code.into()))
        );
    }
    for kind in [0u8, 3, 0x61] {
        assert_eq!(
            decode(&set(KIND_AT, &[kind])),
            Err(invalid_field("failed_kind", kind.into()))
        );
    }
    let key_at = enc.len() - 64 - 32;
    let invalid_key = Err(Error::Decode(DecodeError::InvalidKey {
        kind: KeyKind::Identity,
    }));
    assert_eq!(
        decode(&set(key_at, &EIGHT_TORSION[1].compress().to_bytes())),
        invalid_key
    );
    // Another valid identity key than the signer's.
    let other = IdentityKeyPair::generate(&mut rng(7));
    assert_eq!(
        decode(&set(key_at, other.public_key().as_bytes())),
        Err(BAD_SIGNATURE)
    );
    // Another valid reason after signing.
    assert_eq!(decode(&set(REASON_AT, &[0x01])), Err(BAD_SIGNATURE));
    // The same body signed by another device: it verifies only under the
    // key it names, so naming the other key makes it that device's.
    let forged = DecryptionErrorReceipt::new(
        &other,
        &bob_device(),
        &alice_device(),
        FailedMessage::of(&f.message).unwrap(),
        ReceiptReason::DecryptionFailed,
        NOW,
    );
    let v = decode(&forged.to_bytes()).unwrap();
    assert_eq!(v.identity_key(), other.public_key());
    let mut spliced = forged.to_bytes();
    spliced[key_at..key_at + 32].copy_from_slice(f.failing.public_key().as_bytes());
    assert_eq!(decode(&spliced), Err(BAD_SIGNATURE));
    // Decoding does not check the signature; verifying does.
    let unsigned = set(enc.len() - 64, &[0; 64]);
    assert!(DecryptionErrorReceipt::from_bytes(&unsigned).is_ok());
    assert_eq!(decode(&unsigned), Err(BAD_SIGNATURE));
}

#[test]
fn the_locator_refuses_what_is_not_a_message() {
    let f = fixture(8);
    let r = receipt(&f, &f.message, ReceiptReason::NoSession).to_bytes();
    let envelope = Envelope::new(alice_device(), bob_device(), f.message.clone())
        .unwrap()
        .to_bytes();
    for (bytes, found) in [(&r, TYPE_RECEIPT), (&envelope, 0x60)] {
        assert_eq!(
            FailedMessage::of(bytes),
            Err(Error::Decode(DecodeError::UnexpectedType {
                expected: WireType::Message,
                found
            }))
        );
    }
    assert!(matches!(
        FailedMessage::of(&f.message[..f.message.len() - 1]),
        Err(Error::Decode(DecodeError::Truncated {
            wire_type: WireType::Message,
            ..
        }))
    ));
    assert!(matches!(
        FailedMessage::of(&f.prekey_message[..100]),
        Err(Error::Decode(DecodeError::Truncated {
            wire_type: WireType::PreKeyMessage,
            ..
        }))
    ));
    // Structure only: a small-order identity key still has a locator.
    let mut weak = f.prekey_message.clone();
    weak[3..35].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes());
    assert!(PreKeyMessage::from_bytes(&weak).is_err());
    assert!(matches!(
        FailedMessage::of(&weak),
        Ok(FailedMessage::PreKey { .. })
    ));
}

#[test]
fn only_the_key_the_device_list_names_is_listed() {
    let f = fixture(9);
    let mut r = rng(10);
    let user = UserIdentityKeyPair::generate(&mut r);
    let stranger = IdentityKeyPair::generate(&mut r);
    let bob_user = UserAddress::new(b"parley", b"bob@parley.example").unwrap();
    let v = decode(&receipt(&f, &f.message, ReceiptReason::DecryptionFailed).to_bytes()).unwrap();
    let list = |address: &UserAddress, devices: &[(u32, &IdentityKeyPair)]| {
        DeviceList::first(
            &user,
            address,
            NOW,
            devices.iter().map(|(id, k)| (*id, k.public_key(), NOW)),
        )
        .unwrap()
    };
    // Device 7 with the receipt's key.
    assert!(v.is_listed_in(&list(&bob_user, &[(7, &f.failing), (8, &stranger)])));
    // Device 7 under another key: a replaced device, or a forgery.
    assert!(!v.is_listed_in(&list(&bob_user, &[(7, &stranger), (8, &f.failing)])));
    // No device 7.
    assert!(!v.is_listed_in(&list(&bob_user, &[(8, &f.failing)])));
    // Another user's list.
    let elsewhere = UserAddress::new(b"chirp", b"bob@parley.example").unwrap();
    assert!(!v.is_listed_in(&list(&elsewhere, &[(7, &f.failing)])));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_receipt_round_trips(
        app in proptest::collection::vec(any::<u8>(), 1..=64),
        user in proptest::collection::vec(any::<u8>(), 1..=256),
        device in any::<u32>(),
        reason in 0..4usize,
        message in any::<bool>(),
        key in any::<[u8; 32]>(),
        index in any::<u32>(),
        previous_length in any::<u32>(),
        created_at in any::<u64>(),
    ) {
        let signer = IdentityKeyPair::from_secret_bytes(&key).unwrap();
        let from = DeviceAddress::new(&app, &user, device).unwrap();
        let to = DeviceAddress::new(&user[..user.len().min(64)], &app, !device).unwrap();
        let failed = if message {
            FailedMessage::Message { ratchet_key: key, index, previous_length }
        } else {
            FailedMessage::PreKey { handshake_id: kinseal::HandshakeId::from_bytes(key) }
        };
        let r = DecryptionErrorReceipt::new(&signer, &from, &to, failed, REASONS[reason], created_at);
        let enc = r.to_bytes();
        prop_assert!((MIN_RECEIPT_LEN..=MAX_RECEIPT_LEN).contains(&enc.len()));
        let v = decode(&enc).unwrap();
        prop_assert_eq!(v.receipt(), &r);
        prop_assert_eq!(v.failed(), &failed);
        prop_assert_eq!(v.from(), &from);
        prop_assert_eq!(v.to(), &to);
        prop_assert_eq!(v.created_at(), created_at);
    }
}
