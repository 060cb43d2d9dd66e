//! Transactional decryption: for every kind of error `decrypt` can return,
//! the session's bytes are identical before and after, and the session
//! goes on working.

use crate::common;

use common::*;
use kinseal::{
    DecodeError, Error, MisuseError, PreKeyMessage, ProtocolError, Session, SessionConfig, WireType,
};

/// Replaces the ratchet key (offsets 2..34) of a `Message`.
fn with_ratchet_key(message: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let mut b = message.to_vec();
    b[2..34].copy_from_slice(key);
    b
}

/// Sets the big-endian u32 at `offset`.
fn with_u32(message: &[u8], offset: usize, value: u32) -> Vec<u8> {
    let mut b = message.to_vec();
    b[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    b
}

const PREVIOUS_LENGTH: usize = 38;
const INDEX: usize = 42;

/// `message` with its header tag recomputed for `receiver`, as its peer
/// would tag it, so the checks after the header tag are reached.
fn retag(receiver: &Session, message: &[u8]) -> Vec<u8> {
    RecordView::parse(&receiver.to_bytes()).retag(message)
}

/// Some canonical X25519 encodings of points of small order.
fn small_order_keys() -> Vec<[u8; 32]> {
    let zero = [0u8; 32];
    let mut one = [0u8; 32];
    one[0] = 1;
    // The order-8 points' u-coordinate (from the X25519 literature).
    let order8 = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ];
    vec![zero, one, order8]
}

#[test]
fn decode_errors_change_nothing() {
    let mut rng = rng(200);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let m = c.send(&mut rng, Side::Bob);
    let mut bad_version = m.bytes.clone();
    bad_version[0] = 2;
    let mut bad_type = m.bytes.clone();
    bad_type[1] = 0x03;
    let mut bad_length = m.bytes.clone();
    bad_length[46..50].copy_from_slice(&16u32.to_be_bytes());
    let mut non_canonical_key = m.bytes.clone();
    non_canonical_key[33] |= 0x80;
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (
            Vec::new(),
            Error::Decode(DecodeError::Truncated {
                wire_type: WireType::Message,
                needed: 1,
                available: 0,
            }),
        ),
        (
            bad_version,
            Error::Decode(DecodeError::UnsupportedVersion { found: 2 }),
        ),
        (
            bad_type,
            Error::Decode(DecodeError::UnexpectedType {
                expected: WireType::Message,
                found: 3,
            }),
        ),
        (
            bad_length,
            Error::Decode(DecodeError::LengthOutOfRange {
                wire_type: WireType::Message,
                min: kinseal::MIN_CIPHERTEXT_LEN,
                max: kinseal::MAX_CIPHERTEXT_LEN,
                found: 16,
            }),
        ),
        (
            non_canonical_key,
            Error::Decode(DecodeError::InvalidKey {
                kind: kinseal::KeyKind::X25519,
            }),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decrypt_fails_unchanged(&mut c.alice, &bytes), expected);
    }
    c.deliver(&m);
}

#[test]
fn decryption_failures_change_nothing() {
    let mut rng = rng(201);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let (_bob2, other) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let mut other = Conversation::new(other);
    let m = c.send(&mut rng, Side::Bob);
    // A flipped tag byte.
    let mut bad_tag = m.bytes.clone();
    *bad_tag.last_mut().unwrap() ^= 1;
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &bad_tag),
        Error::DecryptionFailed
    );
    // A changed header field (bound into the AD): previous_length.
    let bad_header = with_u32(&m.bytes, PREVIOUS_LENGTH, 77);
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &bad_header),
        Error::DecryptionFailed
    );
    // A forward index (would advance the chain if committed).
    let ahead = with_u32(&m.bytes, INDEX, index_of(&m.bytes) + 3);
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &ahead),
        Error::DecryptionFailed
    );
    // Messages of another session: an unknown ratchet key, so a ratchet
    // step is computed and thrown away.
    let foreign = other.send(&mut rng, Side::Bob);
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &foreign.bytes),
        Error::DecryptionFailed
    );
    let foreign = other.send(&mut rng, Side::Alice);
    assert_eq!(
        decrypt_fails_unchanged(&mut c.bob, &foreign.bytes),
        Error::DecryptionFailed
    );
    // A message with a fresh (valid) ratchet key and a new-chain header
    // that would also skip keys on the current chain.
    let fresh = kinseal::IdentityKeyPair::generate(&mut rng);
    let new_chain = with_u32(
        &with_ratchet_key(&m.bytes, fresh.public_key().x25519_public()),
        PREVIOUS_LENGTH,
        index_of(&m.bytes) + 10,
    );
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &new_chain),
        Error::DecryptionFailed
    );
    c.deliver(&m);
    let m = c.send(&mut rng, Side::Alice);
    c.deliver(&m);
}

#[test]
fn duplicates_change_nothing() {
    let mut rng = rng(202);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let skipped = c.send(&mut rng, Side::Bob);
    let m = c.send(&mut rng, Side::Bob);
    c.deliver(&m);
    // In order, and with a skipped key still stored.
    assert_eq!(c.alice.stored_skipped_keys(), 1);
    c.redeliver(&m);
    assert_eq!(c.alice.stored_skipped_keys(), 1);
    c.deliver(&skipped);
    c.redeliver(&skipped);
}

#[test]
fn expired_keys_change_nothing() {
    let mut rng = rng(203);
    let config = SessionConfig::default().with_max_skipped_keys(1).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    let msgs: Vec<InFlight> = (0..4).map(|_| c.send(&mut rng, Side::Bob)).collect();
    c.deliver(&msgs[3]);
    assert_eq!(c.alice.stored_skipped_keys(), 1);
    for m in &msgs[..2] {
        assert_eq!(
            decrypt_fails_unchanged(&mut c.alice, &m.bytes),
            Error::Protocol(ProtocolError::MessageKeyExpired {
                index: index_of(&m.bytes)
            })
        );
    }
    c.deliver(&msgs[2]);
}

#[test]
fn too_far_ahead_changes_nothing_on_every_path() {
    let mut rng = rng(204);
    let config = SessionConfig::default().with_max_forward_jump(4).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    // 1. The current chain.
    let msgs: Vec<InFlight> = (0..7).map(|_| c.send(&mut rng, Side::Bob)).collect();
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &msgs[5].bytes),
        Error::Protocol(ProtocolError::TooFarAhead { max: 4, found: 5 })
    );
    for m in &msgs {
        c.deliver(m);
    }
    // 2. A new chain whose own index is too far.
    let msgs: Vec<InFlight> = (0..6).map(|_| c.send(&mut rng, Side::Alice)).collect();
    assert_eq!(
        decrypt_fails_unchanged(&mut c.bob, &msgs[5].bytes),
        Error::Protocol(ProtocolError::TooFarAhead { max: 4, found: 5 })
    );
    c.deliver(&msgs[0]);
    // 3. A new chain whose previous_length is too far ahead of the current one.
    let reply = c.send(&mut rng, Side::Bob);
    c.deliver(&reply);
    let next = c.send(&mut rng, Side::Alice);
    assert_eq!(
        kinseal::Message::from_bytes(&next.bytes)
            .unwrap()
            .previous_length(),
        6
    );
    let forged = retag(&c.bob, &with_u32(&next.bytes, PREVIOUS_LENGTH, 100));
    assert_eq!(
        decrypt_fails_unchanged(&mut c.bob, &forged),
        Error::Protocol(ProtocolError::TooFarAhead { max: 4, found: 99 })
    );
    // The genuine one needs a jump of 5 on the old chain (1 -> 6): too far too.
    assert_eq!(
        decrypt_fails_unchanged(&mut c.bob, &next.bytes),
        Error::Protocol(ProtocolError::TooFarAhead { max: 4, found: 5 })
    );
    c.deliver(&msgs[1]);
    c.deliver(&next);
    for m in &msgs[2..] {
        c.deliver(m);
    }
}

#[test]
fn unexpected_prekey_messages_change_nothing() {
    let mut rng = rng(205);
    let bob = Bob::new(&mut rng);
    let p1 = pair_with(
        &mut rng,
        &bob,
        BundleChoice::FULL,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let p2 = pair_with(
        &mut rng,
        &bob,
        BundleChoice::FULL,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let (mut alice1, mut bob1) = (p1.alice, p1.bob);
    // Another session's setup message, at the responder.
    assert_eq!(
        decrypt_fails_unchanged(&mut bob1, &p2.first),
        Error::Protocol(ProtocolError::UnexpectedPreKeyMessage)
    );
    // A setup message at an initiator, even its own.
    assert_eq!(
        decrypt_fails_unchanged(&mut alice1, &p1.first),
        Error::Protocol(ProtocolError::UnexpectedPreKeyMessage)
    );
    // Its own setup message with another initiator identity (and the same
    // base key) at the responder.
    let mut other_identity = p1.first.clone();
    let mallory = kinseal::IdentityKeyPair::generate(&mut rng);
    other_identity[3..35].copy_from_slice(mallory.public_key().as_bytes());
    assert_eq!(
        decrypt_fails_unchanged(&mut bob1, &other_identity),
        Error::Protocol(ProtocolError::UnexpectedPreKeyMessage)
    );
    let m = alice1.encrypt(&mut rng, b"still fine").unwrap();
    assert_eq!(bob1.decrypt(&m).unwrap(), b"still fine");
}

#[test]
fn unexpected_ratchet_key_changes_nothing() {
    let mut rng = rng(206);
    let (bob, p) = pair(&mut rng);
    let (mut alice, mut bob_s) = (p.alice, p.bob);
    // Bob has not sent yet, so he has no ratchet key to answer a new one with.
    let second = alice.encrypt(&mut rng, b"second").unwrap();
    let embedded = PreKeyMessage::from_bytes(&second)
        .unwrap()
        .message()
        .to_bytes();
    let fresh = kinseal::IdentityKeyPair::generate(&mut rng);
    let forged = with_ratchet_key(&embedded, fresh.public_key().x25519_public());
    // Untagged for the new key, it fails at its header tag; tagged with
    // the next header key (which the initiator holds), it is unexpected.
    assert_eq!(
        decrypt_fails_unchanged(&mut bob_s, &forged),
        Error::DecryptionFailed
    );
    let tagged = retag(&bob_s, &forged);
    assert_eq!(
        decrypt_fails_unchanged(&mut bob_s, &tagged),
        Error::Protocol(ProtocolError::UnexpectedRatchetKey)
    );
    // A genuine message of another session (a ratchet key Bob never saw):
    // its header does not authenticate here.
    let (_bob2, mut p2) = established(&mut rng, SessionConfig::default());
    let foreign = p2.alice.encrypt(&mut rng, b"x").unwrap();
    assert_eq!(
        decrypt_fails_unchanged(&mut bob_s, &foreign),
        Error::DecryptionFailed
    );
    // The embedded message of a genuine copy still works (as a Message).
    assert_eq!(bob_s.decrypt(&embedded).unwrap(), b"second");
    drop(bob);
}

#[test]
fn small_order_ratchet_keys_change_nothing() {
    let mut rng = rng(207);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let m = c.send(&mut rng, Side::Bob);
    for key in small_order_keys() {
        let forged = retag(&c.alice, &with_ratchet_key(&m.bytes, &key));
        assert_eq!(
            decrypt_fails_unchanged(&mut c.alice, &forged),
            Error::Decode(kinseal::DecodeError::InvalidKey {
                kind: kinseal::KeyKind::X25519
            }),
            "key {key:02x?}"
        );
    }
    c.deliver(&m);
}

#[test]
fn exhausted_index_changes_nothing() {
    let mut rng = rng(208);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let m = c.send(&mut rng, Side::Bob);
    let forged = retag(&c.alice, &with_u32(&m.bytes, INDEX, u32::MAX));
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &forged),
        Error::Protocol(ProtocolError::ChainExhausted)
    );
    c.deliver(&m);
}

#[test]
fn encrypt_errors_change_nothing() {
    let mut rng = rng(209);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let too_long = vec![0u8; kinseal::MAX_PLAINTEXT_LEN + 1];
    let e = fails_unchanged(&mut c.alice, |s| s.encrypt(&mut rng, &too_long));
    assert_eq!(
        e,
        Error::Misuse(MisuseError::PlaintextTooLong {
            max: kinseal::MAX_PLAINTEXT_LEN,
            found: kinseal::MAX_PLAINTEXT_LEN + 1,
        })
    );
    // The largest plaintext is fine.
    let max = vec![7u8; kinseal::MAX_PLAINTEXT_LEN];
    let bytes = c.alice.encrypt(&mut rng, &max).unwrap();
    assert_eq!(c.bob.decrypt(&bytes).unwrap(), max);
}

#[test]
fn a_run_of_failures_of_every_kind_then_the_session_still_works() {
    // Interleave failures of all kinds with real traffic, checking after
    // each failure that the record is unchanged, and that the restored
    // record decrypts the pending message.
    let mut rng = rng(210);
    let config = SessionConfig::default()
        .with_max_forward_jump(3)
        .unwrap()
        .with_max_skipped_keys(2)
        .unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    for round in 0..6 {
        // Each round starts a new chain, so msgs[i] has index i.
        let from = if round % 2 == 0 {
            Side::Alice
        } else {
            Side::Bob
        };
        let msgs: Vec<InFlight> = (0..9).map(|_| c.send(&mut rng, from)).collect();
        assert_eq!(index_of(&msgs[8].bytes), 8);
        let to = from.other();
        c.deliver(&msgs[3]); // keeps the keys of 1 and 2, not of 0
        let s = c.session(to);
        assert_eq!(
            decrypt_fails_unchanged(s, &msgs[8].bytes),
            Error::Protocol(ProtocolError::TooFarAhead { max: 3, found: 4 })
        );
        assert_eq!(decrypt_fails_unchanged(s, &msgs[3].bytes), duplicate(3));
        assert_eq!(
            decrypt_fails_unchanged(s, &msgs[0].bytes),
            Error::Protocol(ProtocolError::MessageKeyExpired { index: 0 })
        );
        let mut bad = msgs[4].bytes.clone();
        bad[50] ^= 0x10;
        assert_eq!(decrypt_fails_unchanged(s, &bad), Error::DecryptionFailed);
        assert!(matches!(
            decrypt_fails_unchanged(s, &bad[..20]),
            Error::Decode(DecodeError::Truncated { .. })
        ));
        *s = Session::from_bytes(&snapshot(s)).unwrap();
        for m in &msgs[4..] {
            c.deliver(m);
        }
        c.deliver(&msgs[2]);
    }
}
