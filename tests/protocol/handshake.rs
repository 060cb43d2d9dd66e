//! The hybrid handshake and the bundle: signatures, identity-key
//! validation, the session context, the four prekey combinations, KEM
//! tampering and wrong keys, last-resort replay detection, and unknown
//! versions and suites.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::*;
use curve25519_dalek::edwards::CompressedEdwardsY;
use kinseal::{
    DecodeError, Error, IdentityKey, IdentityKeyPair, KemPreKey, KemPreKeyPair, KeyKind,
    MisuseError, OneTimePreKey, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, PreKeyRole,
    ProtocolError, Session, SessionConfig, SignedObject, SignedPreKey, SignedPreKeyPair, WireType,
    message_kind,
};

fn hex32(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn invalid_identity() -> Error {
    Error::Decode(DecodeError::InvalidKey {
        kind: KeyKind::Identity,
    })
}

fn invalid_signature(object: SignedObject) -> Error {
    Error::Protocol(ProtocolError::InvalidSignature { object })
}

// ------------------------------------------------------------ Signatures

#[test]
fn signed_prekey_signed_by_another_identity_is_rejected() {
    let mut rng = rng(300);
    let bob = Bob::new(&mut rng);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let forged_spk = SignedPreKeyPair::generate(&mut rng, &mallory, SPK_ID, CREATED_AT);
    let bundle = PreKeyBundle::new(
        bob.identity.public_key().clone(),
        forged_spk.public().clone(),
        Some(*bob.opk.public()),
        bob.kem.public().clone(),
    );
    let bytes = bundle.to_bytes();
    assert_eq!(
        PreKeyBundle::from_bytes(&bytes)
            .and_then(PreKeyBundle::verify)
            .unwrap_err(),
        invalid_signature(SignedObject::SignedPreKey)
    );
    assert_eq!(
        forged_spk.public().verify(bob.identity.public_key()),
        Err(invalid_signature(SignedObject::SignedPreKey))
    );
    assert!(forged_spk.public().verify(mallory.public_key()).is_ok());
}

#[test]
fn kem_prekey_signed_by_another_identity_is_rejected() {
    let mut rng = rng(301);
    let bob = Bob::new(&mut rng);
    let mallory = IdentityKeyPair::generate(&mut rng);
    for last_resort in [false, true] {
        let forged_kem = KemPreKeyPair::generate(&mut rng, &mallory, KEM_ID, last_resort, 5);
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            bob.spk.public().clone(),
            None,
            forged_kem.public().clone(),
        );
        let bytes = bundle.to_bytes();
        assert_eq!(
            PreKeyBundle::from_bytes(&bytes)
                .and_then(PreKeyBundle::verify)
                .unwrap_err(),
            invalid_signature(SignedObject::KemPreKey)
        );
    }
}

#[test]
fn a_bundle_claiming_another_identity_is_rejected() {
    let mut rng = rng(302);
    let bob = Bob::new(&mut rng);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::new(
        mallory.public_key().clone(),
        bob.spk.public().clone(),
        Some(*bob.opk.public()),
        bob.kem.public().clone(),
    );
    assert_eq!(
        bundle.verify().unwrap_err(),
        invalid_signature(SignedObject::SignedPreKey)
    );
}

#[test]
fn signatures_cover_every_signed_field() {
    let mut rng = rng(303);
    let bob = Bob::new(&mut rng);
    let ik = bob.identity.public_key();
    let spk = bob.spk.public();
    let kem = bob.kem.public();
    assert!(spk.verify(ik).is_ok());
    assert!(kem.verify(ik).is_ok());
    let bad_spk = [
        SignedPreKey::from_parts(
            spk.id() + 1,
            spk.created_at(),
            spk.public_key(),
            spk.signature(),
        ),
        SignedPreKey::from_parts(
            spk.id(),
            spk.created_at() + 1,
            spk.public_key(),
            spk.signature(),
        ),
        SignedPreKey::from_parts(
            spk.id(),
            spk.created_at(),
            bob.opk.public().public_key(),
            spk.signature(),
        ),
        // The KEM prekey's signature does not transfer.
        SignedPreKey::from_parts(
            spk.id(),
            spk.created_at(),
            spk.public_key(),
            kem.signature(),
        ),
    ];
    for s in bad_spk {
        assert_eq!(
            s.unwrap().verify(ik),
            Err(invalid_signature(SignedObject::SignedPreKey))
        );
    }
    let other_kem = KemPreKeyPair::generate(&mut rng, &bob.identity, KEM_ID, false, CREATED_AT);
    let bad_kem = [
        KemPreKey::from_parts(
            kem.id() + 1,
            kem.is_last_resort(),
            kem.created_at(),
            kem.public_key(),
            kem.signature(),
        ),
        // One-time and last-resort are not interchangeable.
        KemPreKey::from_parts(
            kem.id(),
            !kem.is_last_resort(),
            kem.created_at(),
            kem.public_key(),
            kem.signature(),
        ),
        KemPreKey::from_parts(
            kem.id(),
            kem.is_last_resort(),
            kem.created_at() + 1,
            kem.public_key(),
            kem.signature(),
        ),
        KemPreKey::from_parts(
            kem.id(),
            kem.is_last_resort(),
            kem.created_at(),
            other_kem.public().public_key(),
            kem.signature(),
        ),
        KemPreKey::from_parts(
            kem.id(),
            kem.is_last_resort(),
            kem.created_at(),
            kem.public_key(),
            spk.signature(),
        ),
    ];
    for k in bad_kem {
        assert_eq!(
            k.unwrap().verify(ik),
            Err(invalid_signature(SignedObject::KemPreKey))
        );
    }
}

// -------------------------------------------------------- Identity keys

/// The eight canonical encodings of the Ed25519 points of small order.
const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

/// Non-canonical encodings (y + p in place of y, either x sign) of points
/// that are not of small order, with their canonical encodings.
fn non_canonical_identities() -> Vec<([u8; 32], [u8; 32])> {
    let mut out = Vec::new();
    for y in 2u8..=18 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        let Some(point) = CompressedEdwardsY(canonical).decompress() else {
            continue;
        };
        if point.is_small_order() {
            continue;
        }
        // p = 2^255 - 19 little-endian is ed ff .. ff 7f.
        let mut plus_p = [0xffu8; 32];
        plus_p[0] = 0xed + y;
        plus_p[31] = 0x7f;
        for sign in [0u8, 0x80] {
            let mut nc = plus_p;
            nc[31] |= sign;
            let mut c = canonical;
            c[31] |= sign;
            // Premise: the curve library reads both as the same point.
            let a = CompressedEdwardsY(nc).decompress().unwrap();
            let b = CompressedEdwardsY(c).decompress().unwrap();
            assert_eq!(a, b);
            out.push((nc, c));
        }
    }
    assert!(!out.is_empty(), "no small y gave a point");
    out
}

#[test]
fn weak_identity_keys_are_rejected_everywhere() {
    let mut rng = rng(310);
    let bob = Bob::new(&mut rng);
    let bundle = bob.bundle(BundleChoice::FULL).to_bytes();
    let (_bob, p) = pair(&mut rng);
    for s in SMALL_ORDER {
        let key = hex32(s);
        let point = CompressedEdwardsY(key).decompress().unwrap();
        assert!(point.is_small_order(), "{s} is not of small order");
        assert_eq!(
            IdentityKey::from_bytes(&key).unwrap_err(),
            invalid_identity()
        );
        let mut b = bundle.clone();
        b[3..35].copy_from_slice(&key);
        assert_eq!(
            PreKeyBundle::from_bytes(&b).unwrap_err(),
            invalid_identity()
        );
        let mut m = p.first.clone();
        m[3..35].copy_from_slice(&key);
        assert_eq!(
            PreKeyMessage::from_bytes(&m).unwrap_err(),
            invalid_identity()
        );
    }
}

#[test]
fn non_canonical_identity_encodings_are_rejected() {
    let mut rng = rng(311);
    let bob = Bob::new(&mut rng);
    let bundle = bob.bundle(BundleChoice::FULL).to_bytes();
    let (_bob, p) = pair(&mut rng);
    for (non_canonical, canonical) in non_canonical_identities() {
        // Only y <= 18 has a second encoding; such points are not always in
        // the prime-order subgroup, and then their canonical encoding is
        // refused too (PROTOCOL.md §3.1 item 3).
        let point = CompressedEdwardsY(canonical).decompress().unwrap();
        match IdentityKey::from_bytes(&canonical) {
            Ok(key) => {
                assert!(point.is_torsion_free());
                assert_eq!(key.to_bytes(), canonical);
            }
            Err(e) => {
                assert!(!point.is_torsion_free());
                assert_eq!(e, invalid_identity());
            }
        }
        assert_eq!(
            IdentityKey::from_bytes(&non_canonical).unwrap_err(),
            invalid_identity()
        );
        let mut b = bundle.clone();
        b[3..35].copy_from_slice(&non_canonical);
        assert_eq!(
            PreKeyBundle::from_bytes(&b).unwrap_err(),
            invalid_identity()
        );
        let mut m = p.first.clone();
        m[3..35].copy_from_slice(&non_canonical);
        assert_eq!(
            PreKeyMessage::from_bytes(&m).unwrap_err(),
            invalid_identity()
        );
    }
    // Bytes that are no point at all.
    let mut not_a_point = 0;
    for y in 2u8..=40 {
        let mut key = [0u8; 32];
        key[0] = y;
        if CompressedEdwardsY(key).decompress().is_none() {
            not_a_point += 1;
            assert_eq!(
                IdentityKey::from_bytes(&key).unwrap_err(),
                invalid_identity()
            );
        }
    }
    assert!(not_a_point > 0);
}

// -------------------------------------------------------------- Context

#[test]
fn a_mismatched_context_fails_on_respond() {
    let mut rng = rng(320);
    let bob = Bob::new(&mut rng);
    let ctx = |c: &[u8]| SessionConfig::default().with_context(c).unwrap();
    let cases: [(&[u8], &[u8]); 4] = [
        (b"app:chat/alice:1 -> bob:3", b"app:chat/alice:1 -> bob:4"),
        (b"app:chat", b""),
        (b"", b"app:chat"),
        (b"\x00", b""),
    ];
    for (alice_ctx, bob_ctx) in cases {
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundle = bob.verified_bundle(BundleChoice::FULL);
        let mut a = Session::initiate(&mut rng, &alice, &bundle, ctx(alice_ctx)).unwrap();
        let first = a.encrypt(&mut rng, b"hi").unwrap();
        assert_eq!(
            bob.respond_bytes(&first, ctx(bob_ctx)).unwrap_err(),
            Error::DecryptionFailed
        );
        // With the same context it works.
        let inbound = bob.respond_bytes(&first, ctx(alice_ctx)).unwrap();
        assert_eq!(inbound.plaintext, b"hi");
    }
    let too_long = vec![0u8; kinseal::MAX_CONTEXT_LEN + 1];
    assert_eq!(
        SessionConfig::default()
            .with_context(&too_long)
            .unwrap_err(),
        Error::Misuse(MisuseError::ContextTooLong {
            max: kinseal::MAX_CONTEXT_LEN,
            found: kinseal::MAX_CONTEXT_LEN + 1,
        })
    );
    let longest = vec![1u8; kinseal::MAX_CONTEXT_LEN];
    let mut p = pair_with(
        &mut rng,
        &bob,
        BundleChoice::FULL,
        ctx(&longest),
        ctx(&longest),
    );
    assert_eq!(p.bob.decrypt(&p.first).unwrap_err(), duplicate(0));
}

// --------------------------------------------------------------- Hybrid

#[test]
fn all_four_prekey_combinations_set_up_working_sessions() {
    let mut rng = rng(330);
    let bob = Bob::new(&mut rng);
    for choice in BundleChoice::ALL {
        let verified = bob.verified_bundle(choice);
        let b = verified.bundle();
        assert_eq!(b.one_time_prekey().is_some(), choice.one_time_ec);
        assert_eq!(b.kem_prekey().is_last_resort(), choice.last_resort_kem);
        let p = pair_with(
            &mut rng,
            &bob,
            choice,
            SessionConfig::default(),
            SessionConfig::default(),
        );
        let first = PreKeyMessage::from_bytes(&p.first).unwrap();
        assert_eq!(first.signed_prekey_id(), SPK_ID);
        assert_eq!(
            first.one_time_prekey_id(),
            choice.one_time_ec.then_some(OPK_ID)
        );
        assert_eq!(
            first.kem_prekey_id(),
            if choice.last_resort_kem {
                KEM_LAST_RESORT_ID
            } else {
                KEM_ID
            }
        );
        assert_eq!(first.identity_key(), p.alice.local_identity());
        assert_eq!(p.bob.remote_identity(), p.alice.local_identity());
        assert_eq!(p.alice.remote_identity(), bob.identity.public_key());
        assert_eq!(first.base_key(), p.alice.base_key());
        assert_eq!(p.bob.base_key(), p.alice.base_key());
        assert!(p.alice.is_initiator() && !p.bob.is_initiator());
        let mut c = Conversation::new(p);
        for i in 0..12 {
            let from = if (i / 3) % 2 == 0 {
                Side::Bob
            } else {
                Side::Alice
            };
            let m = c.send(&mut rng, from);
            c.deliver(&m);
        }
    }
}

/// Alice's first message to Bob, and Bob's keys.
fn first_message(seed: u64, choice: BundleChoice) -> (Bob, Session, Vec<u8>) {
    let mut rng = rng(seed);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = bob.verified_bundle(choice);
    let mut a = Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let first = a.encrypt(&mut rng, b"first").unwrap();
    (bob, a, first)
}

/// Offset of the KEM ciphertext in a `PreKeyMessage`.
fn kem_ciphertext_offset(message: &PreKeyMessage) -> usize {
    if message.one_time_prekey_id().is_some() {
        48
    } else {
        44
    }
}

#[test]
fn a_tampered_kem_ciphertext_fails_authentication_and_changes_nothing() {
    for choice in BundleChoice::ALL {
        let (bob, mut alice, first) = first_message(340, choice);
        let decoded = PreKeyMessage::from_bytes(&first).unwrap();
        let start = kem_ciphertext_offset(&decoded);
        let len = kinseal::wire::KEM_CIPHERTEXT_LEN;
        // Implicit rejection: decapsulation "succeeds" with another secret,
        // and the first message's AEAD catches it.
        for i in [0, 1, 500, 1023, 1024, len - 2, len - 1] {
            let mut bad = first.clone();
            bad[start + i] ^= 0x04;
            assert_eq!(
                bob.respond_bytes(&bad, SessionConfig::default())
                    .unwrap_err(),
                Error::DecryptionFailed,
                "{choice:?}, ciphertext byte {i}"
            );
        }
        // A well-formed ciphertext for the same key, from another encapsulation.
        let other = {
            let mut rng = rng(341);
            let alice2 = IdentityKeyPair::generate(&mut rng);
            let mut a2 = Session::initiate(
                &mut rng,
                &alice2,
                &bob.verified_bundle(choice),
                SessionConfig::default(),
            )
            .unwrap();
            a2.encrypt(&mut rng, b"x").unwrap()
        };
        let mut swapped = first.clone();
        swapped[start..start + len].copy_from_slice(&other[start..start + len]);
        assert_eq!(
            bob.respond_bytes(&swapped, SessionConfig::default())
                .unwrap_err(),
            Error::DecryptionFailed
        );
        // At the session the genuine first message set up, a copy with a
        // changed ciphertext belongs to another handshake: refused, and
        // nothing changes, whether the copy's message was decrypted already
        // (`first`) or not (`second`).
        let inbound = bob.respond_bytes(&first, SessionConfig::default()).unwrap();
        let mut session = inbound.session;
        let second = alice.encrypt(&mut rng(342), b"second").unwrap();
        let mut bad_first = first.clone();
        bad_first[start + 17] ^= 0x01;
        let mut bad_second = second.clone();
        bad_second[start + 17] ^= 0x01;
        let mut swapped_second = second.clone();
        swapped_second[start..start + len].copy_from_slice(&other[start..start + len]);
        for copy in [&bad_first, &swapped, &bad_second, &swapped_second] {
            assert_eq!(
                decrypt_fails_unchanged(&mut session, copy),
                Error::Protocol(ProtocolError::UnexpectedPreKeyMessage)
            );
        }
        assert_eq!(session.decrypt(&second).unwrap(), b"second");
    }
}

#[test]
fn the_wrong_private_prekey_with_the_right_id_fails_authentication() {
    let mut rng = rng(350);
    let (bob, _alice, first) = first_message(351, BundleChoice::FULL);
    let message = PreKeyMessage::from_bytes(&first).unwrap();
    let wrong_kem = KemPreKeyPair::generate(&mut rng, &bob.identity, KEM_ID, false, CREATED_AT);
    let wrong_spk = SignedPreKeyPair::generate(&mut rng, &bob.identity, SPK_ID, CREATED_AT);
    let wrong_opk = OneTimePreKeyPair::generate(&mut rng, OPK_ID);
    let wrong_identity = IdentityKeyPair::generate(&mut rng);
    let attempts = [
        Session::respond(
            &bob.identity,
            &bob.spk,
            Some(&bob.opk),
            &wrong_kem,
            &message,
            SessionConfig::default(),
        ),
        Session::respond(
            &bob.identity,
            &wrong_spk,
            Some(&bob.opk),
            &bob.kem,
            &message,
            SessionConfig::default(),
        ),
        Session::respond(
            &bob.identity,
            &bob.spk,
            Some(&wrong_opk),
            &bob.kem,
            &message,
            SessionConfig::default(),
        ),
        Session::respond(
            &wrong_identity,
            &bob.spk,
            Some(&bob.opk),
            &bob.kem,
            &message,
            SessionConfig::default(),
        ),
    ];
    for (i, a) in attempts.into_iter().enumerate() {
        assert_eq!(a.unwrap_err(), Error::DecryptionFailed, "attempt {i}");
    }
    assert!(bob.respond(&message, SessionConfig::default()).is_ok());
}

#[test]
fn prekeys_not_named_by_the_message_are_misuse() {
    let mut rng = rng(352);
    let (bob, _alice, first) = first_message(353, BundleChoice::FULL);
    let message = PreKeyMessage::from_bytes(&first).unwrap();
    let other_spk = SignedPreKeyPair::generate(&mut rng, &bob.identity, SPK_ID + 1, CREATED_AT);
    let other_opk = OneTimePreKeyPair::generate(&mut rng, OPK_ID + 1);
    let cfg = SessionConfig::default;
    assert_eq!(
        Session::respond(
            &bob.identity,
            &other_spk,
            Some(&bob.opk),
            &bob.kem,
            &message,
            cfg()
        )
        .unwrap_err(),
        Error::Misuse(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::Signed,
            expected: Some(SPK_ID),
            found: Some(SPK_ID + 1),
        })
    );
    assert_eq!(
        Session::respond(&bob.identity, &bob.spk, None, &bob.kem, &message, cfg()).unwrap_err(),
        Error::Misuse(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::OneTime,
            expected: Some(OPK_ID),
            found: None,
        })
    );
    assert_eq!(
        Session::respond(
            &bob.identity,
            &bob.spk,
            Some(&other_opk),
            &bob.kem,
            &message,
            cfg()
        )
        .unwrap_err(),
        Error::Misuse(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::OneTime,
            expected: Some(OPK_ID),
            found: Some(OPK_ID + 1),
        })
    );
    assert_eq!(
        Session::respond(
            &bob.identity,
            &bob.spk,
            Some(&bob.opk),
            &bob.kem_last_resort,
            &message,
            cfg()
        )
        .unwrap_err(),
        Error::Misuse(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::Kem,
            expected: Some(KEM_ID),
            found: Some(KEM_LAST_RESORT_ID),
        })
    );
    // A one-time prekey given where the message names none.
    let (bob2, _a, first2) = first_message(
        354,
        BundleChoice {
            one_time_ec: false,
            last_resort_kem: true,
        },
    );
    let message2 = PreKeyMessage::from_bytes(&first2).unwrap();
    assert_eq!(
        Session::respond(
            &bob2.identity,
            &bob2.spk,
            Some(&bob2.opk),
            &bob2.kem_last_resort,
            &message2,
            cfg()
        )
        .unwrap_err(),
        Error::Misuse(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::OneTime,
            expected: None,
            found: Some(OPK_ID),
        })
    );
}

#[test]
fn small_order_keys_in_the_handshake_are_non_contributory() {
    let mut rng = rng(360);
    let (bob_m, _a, first) = first_message(361, BundleChoice::FULL);
    // A small-order base key: the embedded message's ratchet key (offset
    // 2 of the message, which starts after the 1136-byte prefix). It is
    // refused when the message is decoded (PROTOCOL.md §3.2), before any DH.
    let message_start = 48 + kinseal::wire::KEM_CIPHERTEXT_LEN;
    let mut bad = first.clone();
    bad[message_start + 2..message_start + 34].copy_from_slice(&[0u8; 32]);
    assert_eq!(
        bob_m
            .respond_bytes(&bad, SessionConfig::default())
            .unwrap_err(),
        Error::Decode(kinseal::DecodeError::InvalidKey {
            kind: kinseal::KeyKind::X25519
        })
    );
    // A small-order one-time prekey cannot even be assembled, so no
    // bundle can carry one to an initiator.
    assert_eq!(
        OneTimePreKey::from_parts(OPK_ID, &[0u8; 32]).unwrap_err(),
        Error::Decode(kinseal::DecodeError::InvalidKey {
            kind: kinseal::KeyKind::X25519
        })
    );
    let _ = &mut rng;
}

// ------------------------------------------------ Last-resort replay check

/// A responder device as the library's documentation asks it to behave:
/// one-time prekeys are deleted once used, and the ids of handshakes made
/// on the last-resort KEM prekey are remembered and refused a second time.
struct Responder {
    bob: Bob,
    one_time_ec_left: bool,
    one_time_kem_left: bool,
    last_resort_handshakes: HashSet<kinseal::HandshakeId>,
    sessions: HashMap<[u8; 32], Session>,
}

#[derive(Debug, PartialEq, Eq)]
enum Refused {
    Replay,
    PreKeyGone,
    Library(Error),
}

impl Responder {
    fn new(bob: Bob) -> Self {
        Responder {
            bob,
            one_time_ec_left: true,
            one_time_kem_left: true,
            last_resort_handshakes: HashSet::new(),
            sessions: HashMap::new(),
        }
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Refused> {
        let message = PreKeyMessage::from_bytes(bytes).map_err(Refused::Library)?;
        if let Some(session) = self.sessions.get_mut(message.base_key()) {
            return session.decrypt(bytes).map_err(Refused::Library);
        }
        let last_resort = message.kem_prekey_id() == KEM_LAST_RESORT_ID;
        if last_resort
            && self
                .last_resort_handshakes
                .contains(&message.handshake_id())
        {
            return Err(Refused::Replay);
        }
        if (!last_resort && !self.one_time_kem_left)
            || (message.one_time_prekey_id().is_some() && !self.one_time_ec_left)
        {
            return Err(Refused::PreKeyGone);
        }
        let inbound = self
            .bob
            .respond(&message, SessionConfig::default())
            .map_err(Refused::Library)?;
        assert_eq!(inbound.handshake_id, message.handshake_id());
        // In one transaction with storing the session:
        if message.one_time_prekey_id().is_some() {
            self.one_time_ec_left = false;
        }
        if last_resort {
            self.last_resort_handshakes.insert(inbound.handshake_id);
        } else {
            self.one_time_kem_left = false;
        }
        self.sessions
            .insert(*inbound.session.base_key(), inbound.session);
        Ok(inbound.plaintext)
    }

    /// The device lost its sessions (or the attacker replays to a device
    /// that has none for this base key), but kept its prekey state.
    fn forget_sessions(&mut self) {
        self.sessions.clear();
    }
}

#[test]
fn handshake_ids_name_handshakes() {
    let (bob, mut alice, first) = first_message(370, BundleChoice::FULL);
    let second = alice.encrypt(&mut rng(371), b"second").unwrap();
    let id1 = PreKeyMessage::from_bytes(&first).unwrap().handshake_id();
    // Two deliveries of one message, and every copy of the setup data.
    assert_eq!(
        id1,
        PreKeyMessage::from_bytes(&first).unwrap().handshake_id()
    );
    assert_eq!(
        id1,
        PreKeyMessage::from_bytes(&second).unwrap().handshake_id()
    );
    let inbound = bob.respond_bytes(&first, SessionConfig::default()).unwrap();
    assert_eq!(inbound.handshake_id, id1);
    // Both sessions know the id, and keep it across a restore.
    assert_eq!(*inbound.session.handshake_id(), id1);
    assert_eq!(*alice.handshake_id(), id1);
    let restored = Session::from_bytes(&snapshot(&inbound.session)).unwrap();
    assert_eq!(*restored.handshake_id(), id1);
    assert_eq!(
        bob.respond_bytes(&first, SessionConfig::default())
            .unwrap()
            .handshake_id,
        id1
    );
    // Another handshake with the same bundle has another id.
    let mut rng = rng(372);
    let alice2 = IdentityKeyPair::generate(&mut rng);
    let mut a2 = Session::initiate(
        &mut rng,
        &alice2,
        &bob.verified_bundle(BundleChoice::FULL),
        SessionConfig::default(),
    )
    .unwrap();
    let other = a2.encrypt(&mut rng, b"x").unwrap();
    assert_ne!(
        PreKeyMessage::from_bytes(&other).unwrap().handshake_id(),
        id1
    );
}

#[test]
fn a_replayed_last_resort_handshake_is_refused() {
    let mut rng = rng(373);
    let bob = Bob::new(&mut rng);
    let choice = BundleChoice {
        one_time_ec: false,
        last_resort_kem: true,
    };
    let bundle = bob.verified_bundle(choice);
    let mut responder = Responder::new(bob);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let first = a.encrypt(&mut rng, b"first").unwrap();
    let second = a.encrypt(&mut rng, b"second").unwrap();
    assert_eq!(responder.receive(&first).unwrap(), b"first");
    // While the session exists, copies go to it.
    assert_eq!(
        responder.receive(&first),
        Err(Refused::Library(duplicate(0)))
    );
    assert_eq!(responder.receive(&second).unwrap(), b"second");
    // Without a session for the base key, the library alone would accept
    // the replay (the response is a pure function of the message and the
    // keys)...
    assert!(
        responder
            .bob
            .respond_bytes(&first, SessionConfig::default())
            .is_ok()
    );
    // ...so the recorded handshake id is what refuses it.
    responder.forget_sessions();
    assert_eq!(responder.receive(&first), Err(Refused::Replay));
    assert_eq!(responder.receive(&second), Err(Refused::Replay));
    // A new handshake on the same last-resort key is accepted.
    let alice2 = IdentityKeyPair::generate(&mut rng);
    let mut a2 = Session::initiate(&mut rng, &alice2, &bundle, SessionConfig::default()).unwrap();
    let other = a2.encrypt(&mut rng, b"other").unwrap();
    assert_eq!(responder.receive(&other).unwrap(), b"other");
    assert_eq!(responder.last_resort_handshakes.len(), 2);
}

#[test]
fn a_replayed_one_time_handshake_finds_its_prekeys_gone() {
    let mut rng = rng(374);
    let bob = Bob::new(&mut rng);
    let bundle = bob.verified_bundle(BundleChoice::FULL);
    let mut responder = Responder::new(bob);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let first = a.encrypt(&mut rng, b"first").unwrap();
    assert_eq!(responder.receive(&first).unwrap(), b"first");
    assert!(responder.last_resort_handshakes.is_empty());
    responder.forget_sessions();
    assert_eq!(responder.receive(&first), Err(Refused::PreKeyGone));
}

// ------------------------------------------------ Versions, suites, types

/// Decodes some bytes as one wire type, returning the error if any.
type Decoder = fn(&[u8]) -> Option<Error>;

#[test]
fn unknown_versions_suites_and_types_are_typed_decode_errors() {
    let mut rng = rng(380);
    let (bob, p) = pair(&mut rng);
    let mut c = Conversation::new(p);
    let reply = c.send(&mut rng, Side::Bob);
    let first = c.alice.encrypt(&mut rng, b"x").unwrap();
    let bundle = bob.bundle(BundleChoice::FULL).to_bytes();
    let record = snapshot(&c.alice);
    let decoders: [(&str, &[u8], Decoder); 5] = [
        ("message", &reply.bytes, |b| {
            kinseal::Message::from_bytes(b).err()
        }),
        ("prekey message", &first, |b| {
            PreKeyMessage::from_bytes(b).err()
        }),
        ("bundle", &bundle, |b| PreKeyBundle::from_bytes(b).err()),
        ("record", &record, |b| Session::from_bytes(b).err()),
        ("message kind", &reply.bytes, |b| message_kind(b).err()),
    ];
    for (name, bytes, decode) in decoders {
        for version in [0u8, 2, 0xff] {
            let mut b = bytes.to_vec();
            b[0] = version;
            assert_eq!(
                decode(&b),
                Some(Error::Decode(DecodeError::UnsupportedVersion {
                    found: version
                })),
                "{name}"
            );
        }
        assert_eq!(decode(bytes), None, "{name}");
    }
    // The suite byte (offset 2) of the types that carry one.
    for (name, bytes, decode) in [
        (
            "prekey message",
            &first,
            (|b| PreKeyMessage::from_bytes(b).err()) as Decoder,
        ),
        ("bundle", &bundle, |b| PreKeyBundle::from_bytes(b).err()),
        ("record", &record, |b| Session::from_bytes(b).err()),
    ] {
        for suite in [0u8, 2, 0x81] {
            let mut b = bytes.clone();
            b[2] = suite;
            assert_eq!(
                decode(&b),
                Some(Error::Decode(DecodeError::UnsupportedSuite {
                    found: suite
                })),
                "{name}"
            );
        }
    }
    // Through the session API, too, with no change.
    let mut b = first.clone();
    b[2] = 2;
    assert_eq!(
        decrypt_fails_unchanged(&mut c.bob, &b),
        Error::Decode(DecodeError::UnsupportedSuite { found: 2 })
    );
    assert_eq!(
        bob.respond_bytes(&b, SessionConfig::default()).unwrap_err(),
        Error::Decode(DecodeError::UnsupportedSuite { found: 2 })
    );
    let mut b = reply.bytes.clone();
    b[0] = 2;
    assert_eq!(
        decrypt_fails_unchanged(&mut c.alice, &b),
        Error::Decode(DecodeError::UnsupportedVersion { found: 2 })
    );
    // Type bytes: each decoder wants its own.
    let mut as_bundle = reply.bytes.clone();
    as_bundle[1] = 0x03;
    assert_eq!(
        message_kind(&as_bundle).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::Message,
            found: 3
        })
    );
    assert_eq!(
        PreKeyBundle::from_bytes(&reply.bytes).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::PreKeyBundle,
            found: 1
        })
    );
    assert_eq!(
        PreKeyMessage::from_bytes(&reply.bytes).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::PreKeyMessage,
            found: 1
        })
    );
    assert_eq!(
        Session::from_bytes(&bundle).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::SessionState,
            found: 3
        })
    );
    assert_eq!(
        kinseal::Message::from_bytes(&first).unwrap_err(),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::Message,
            found: 2
        })
    );
    c.deliver(&reply);
}
