//! Unit tests of the session glue; the behavioural suite is in `tests/`.

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::Error;
use crate::keys::PreKeyBundle;

fn setup(rng: &mut ChaCha20Rng, with_opk: bool) -> (Session, Session, Vec<u8>) {
    let bob = IdentityKeyPair::generate(rng);
    let opk = OneTimePreKeyPair::generate(rng, 5);
    let spk = SignedPreKeyPair::generate(rng, &bob, 1, 100);
    let kem = KemPreKeyPair::generate(rng, &bob, 2, false, 100);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        with_opk.then(|| *opk.public()),
        kem.public().clone(),
    )
    .verify()
    .unwrap();
    let alice = IdentityKeyPair::generate(rng);
    let mut a = Session::initiate(rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let first = a.encrypt(rng, b"first").unwrap();
    let pkm = PreKeyMessage::from_bytes(&first).unwrap();
    let inbound = Session::respond(
        &bob,
        &spk,
        with_opk.then_some(&opk),
        &kem,
        &pkm,
        SessionConfig::default(),
    )
    .unwrap();
    assert_eq!(inbound.plaintext, b"first");
    (a, inbound.session, first)
}

#[test]
fn round_trip_with_and_without_one_time_prekey() {
    for with_opk in [true, false] {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let (mut a, mut b, first) = setup(&mut rng, with_opk);
        // A copy of the first message is a duplicate now.
        assert_eq!(
            b.decrypt(&first),
            Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
        );
        let m = b.encrypt(&mut rng, b"reply").unwrap();
        assert_eq!(a.decrypt(&m).unwrap(), b"reply");
        assert!(!a.sends_prekey_messages());
        let m = a.encrypt(&mut rng, b"again").unwrap();
        assert_eq!(
            crate::message_kind(&m).unwrap(),
            crate::MessageKind::Message
        );
        assert_eq!(b.decrypt(&m).unwrap(), b"again");
    }
}

#[test]
fn record_round_trips_byte_for_byte() {
    let mut rng = ChaCha20Rng::from_seed([8; 32]);
    let (mut a, mut b, _) = setup(&mut rng, true);
    let mut late = Vec::new();
    for i in 0..5u8 {
        late.push(b.encrypt(&mut rng, &[i]).unwrap());
    }
    assert_eq!(a.decrypt(&late[4]).unwrap(), [4]);
    for s in [&a, &b] {
        let bytes = s.to_bytes();
        let restored = Session::from_bytes(&bytes).unwrap();
        assert_eq!(restored.to_bytes(), bytes);
    }
    let mut a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(a2.decrypt(&late[1]).unwrap(), [1]);
    assert_eq!(a2.stored_skipped_keys(), 3);
}

#[test]
fn handshake_ids_print_as_hex_and_match_on_both_sides() {
    let mut rng = ChaCha20Rng::from_seed([10; 32]);
    let (a, b, first) = setup(&mut rng, false);
    let id = PreKeyMessage::from_bytes(&first).unwrap().handshake_id();
    assert_eq!(a.handshake_id(), &id);
    assert_eq!(b.handshake_id(), &id);
    let hex: String = id.as_bytes().iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(format!("{id:?}"), format!("HandshakeId({hex})"));
    assert_eq!(HandshakeId::from_bytes(*id.as_bytes()), id);
}

/// The typed entry point decrypts what the bytes entry point does, with the
/// same errors, and a decoded message can be tried on several sessions.
#[test]
fn decrypt_incoming_matches_decrypt() {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let (mut a, mut b, first) = setup(&mut rng, true);
    let again = IncomingMessage::from_bytes(&first).unwrap();
    assert_eq!(
        b.decrypt_incoming(&again),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );
    assert_eq!(
        a.decrypt_incoming(&again),
        Err(Error::Protocol(ProtocolError::UnexpectedPreKeyMessage))
    );
    let reply = b.encrypt(&mut rng, b"reply").unwrap();
    let decoded = IncomingMessage::from_bytes(&reply).unwrap();
    let mut copy = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(a.decrypt_incoming(&decoded).unwrap(), b"reply");
    assert_eq!(copy.decrypt(&reply).unwrap(), b"reply");
    assert_eq!(a.to_bytes(), copy.to_bytes());
    assert_eq!(
        a.decrypt_incoming(&decoded),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );
}

/// A record with several faults reports the first in the order the checks
/// always ran: the bounds, the envelope's keys, the ratchet's keys, the rest.
#[test]
fn record_checks_keep_their_order() {
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let (_a, b, _) = setup(&mut rng, true);
    let record = b.to_bytes().to_vec();
    // Offsets in the layout of `wire::SessionFrame`.
    // Revision 2: each identity key is followed by its X25519 form.
    let (local_identity, base_key, max_forward_jump) = (4, 4 + 5 * 32, 4 + 7 * 32 + 3 + 2 * 32);
    // The one receiving chain ends 5 bytes before the end (no skipped keys,
    // no pending data); its ratchet key opens it.
    let chain_ratchet_key = record.len() - 1 - 4 - 108;
    let bad_bounds = (max_forward_jump..max_forward_jump + 4, 0);
    let bad_identity = (local_identity..local_identity + 32, 0xff);
    let bad_base = (base_key..base_key + 32, 0xff);
    let bad_chain = (chain_ratchet_key..chain_ratchet_key + 32, 0xff);
    let load = |faults: &[(core::ops::Range<usize>, u8)]| {
        let mut r = record.clone();
        for (at, byte) in faults {
            r[at.clone()].fill(*byte);
        }
        Session::from_bytes(&r).err()
    };
    assert!(load(&[]).is_none());
    let x25519 = Some(Error::Decode(crate::DecodeError::InvalidKey {
        kind: crate::KeyKind::X25519,
    }));
    assert_eq!(load(core::slice::from_ref(&bad_chain)), x25519);
    assert_eq!(load(&[bad_base.clone(), bad_chain.clone()]), x25519);
    assert_eq!(
        load(&[bad_identity.clone(), bad_base.clone(), bad_chain.clone()]),
        Some(Error::Decode(crate::DecodeError::InvalidKey {
            kind: crate::KeyKind::Identity,
        }))
    );
    assert!(matches!(
        load(&[bad_bounds, bad_identity, bad_base, bad_chain]),
        Some(Error::Misuse(MisuseError::ConfigOutOfRange {
            parameter: "max_forward_jump",
            ..
        }))
    ));
}

/// A state of revision 1 (type `0x10`, no derived values) still loads, with
/// every key validated, to the session the current revision restores; a
/// torsioned key that revision 2 would take as stored is refused there.
#[test]
fn revision_1_records_still_load() {
    let mut rng = ChaCha20Rng::from_seed([13; 32]);
    let (mut a, mut b, _) = setup(&mut rng, true);
    let reply = b.encrypt(&mut rng, b"reply").unwrap();
    for s in [&a, &b] {
        let record = s.to_bytes();
        assert_eq!(record[1], 0x11);
        let old = crate::wire::revision_1(&record);
        assert_eq!(old[1], 0x10);
        assert_eq!(old.len() + 64 + 32, record.len());
        let restored = Session::from_bytes(&old).unwrap();
        assert_eq!(restored.to_bytes(), record);
    }
    let mut old_a = Session::from_bytes(&crate::wire::revision_1(&a.to_bytes())).unwrap();
    assert_eq!(old_a.decrypt(&reply).unwrap(), b"reply");
    assert_eq!(a.decrypt(&reply).unwrap(), b"reply");
    assert_eq!(old_a.to_bytes(), a.to_bytes());
    // The neutral element (y = 1) as the remote identity: canonically
    // encoded, so revision 2 takes it as stored; revision 1 validates the
    // key and refuses it (small order).
    let mut old = crate::wire::revision_1(&a.to_bytes());
    old[36..68].copy_from_slice(&[0u8; 32]);
    old[36] = 1;
    assert!(Session::from_bytes(&old).is_err());
    let mut new = a.to_bytes().to_vec();
    new[68..100].copy_from_slice(&[0u8; 32]);
    new[68] = 1;
    assert!(Session::from_bytes(&new).is_ok());
}

/// A record's length is known exactly before it is written, so encoding
/// never outgrows the buffer it starts in: a reallocation would leave a
/// copy of the secrets behind in freed memory. Every optional part, with
/// and without a one-time prekey.
#[test]
fn records_encode_without_reallocating() {
    let mut rng = ChaCha20Rng::from_seed([12; 32]);
    for one_time in [true, false] {
        let (mut a, mut b, _) = setup(&mut rng, one_time);
        let fresh_responder = b.to_bytes();
        let mut late = Vec::new();
        for i in 0..3u8 {
            late.push(b.encrypt(&mut rng, &[i]).unwrap());
        }
        let pending = a.to_bytes();
        assert_eq!(a.decrypt(&late[2]).unwrap(), [2]);
        for record in [fresh_responder, pending, a.to_bytes(), b.to_bytes()] {
            let frame = <crate::wire::SessionFrame as crate::wire::Frame>::decode(&record).unwrap();
            assert_eq!(record.len(), crate::wire::Frame::encoded_len(&frame));
        }
    }
}

/// Offsets in a `Message` (PROTOCOL.md 4.2).
const PN_AT: usize = 38;
const N_AT: usize = 42;

fn with_u32(bytes: &[u8], at: usize, value: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + 4].copy_from_slice(&value.to_be_bytes());
    b
}

/// Delivers `bytes` to `s`, expecting `want`; the session must be unchanged.
/// (That a forgery allocates nothing is measured by the benchmark report,
/// `benches/peer`, which counts allocations; the crate has no `unsafe`.)
fn rejects(s: &mut Session, bytes: &[u8], want: Error) {
    let before = s.to_bytes();
    assert_eq!(s.decrypt(bytes), Err(want));
    assert_eq!(
        s.to_bytes(),
        before,
        "a rejected message changed the session"
    );
}

/// A header from anyone without the session's current secrets fails at its
/// tag, before any chain work: whatever the counters say (a jump at the
/// bound, past it, the last index) it is `DecryptionFailed` (not
/// `TooFarAhead` or `ChainExhausted`), and the session is unchanged — on a new ratchet key and on a
/// known chain alike.
#[test]
fn forged_headers_fail_at_the_tag() {
    let mut rng = ChaCha20Rng::from_seed([13; 32]);
    let (mut a, mut b, _) = setup(&mut rng, true);
    let first = b.encrypt(&mut rng, b"one").unwrap();
    let second = b.encrypt(&mut rng, b"two").unwrap();
    let jump = crate::limits::DEFAULT_MAX_FORWARD_JUMP;
    // A new ratchet key: a forged index at the bound, past it, the last.
    for n in [jump, jump + 1, u32::MAX] {
        rejects(&mut a, &with_u32(&first, N_AT, n), Error::DecryptionFailed);
    }
    // With the previous chain's catch-up at the bound too.
    let both = with_u32(&with_u32(&first, N_AT, jump), PN_AT, jump);
    rejects(&mut a, &both, Error::DecryptionFailed);
    // A random header tag under an honest header.
    let mut random_tag = first.clone();
    random_tag[50..66].copy_from_slice(&[0x5a; 16]);
    rejects(&mut a, &random_tag, Error::DecryptionFailed);
    assert_eq!(a.decrypt(&first).unwrap(), b"one");
    // A known chain.
    for n in [jump, jump + 1, u32::MAX] {
        rejects(&mut a, &with_u32(&second, N_AT, n), Error::DecryptionFailed);
    }
    assert_eq!(a.stored_skipped_keys(), 0);
    assert_eq!(a.decrypt(&second).unwrap(), b"two");
}

/// Only a message whose header authenticates is called a `Duplicate`: a
/// copy of a read message with its header changed is `DecryptionFailed`;
/// one with only its ciphertext changed has an authentic header, and is.
#[test]
fn only_an_authentic_header_is_a_duplicate() {
    let mut rng = ChaCha20Rng::from_seed([14; 32]);
    let (mut a, mut b, _) = setup(&mut rng, true);
    let m = b.encrypt(&mut rng, b"one").unwrap();
    assert_eq!(a.decrypt(&m).unwrap(), b"one");
    let duplicate = Error::Protocol(ProtocolError::Duplicate { index: 0 });
    rejects(&mut a, &m, duplicate.clone());
    rejects(&mut a, &with_u32(&m, PN_AT, 1), Error::DecryptionFailed);
    let mut tampered_tag = m.clone();
    tampered_tag[60] ^= 1;
    rejects(&mut a, &tampered_tag, Error::DecryptionFailed);
    let mut tampered_body = m.clone();
    let last = tampered_body.len() - 1;
    tampered_body[last] ^= 1;
    rejects(&mut a, &tampered_body, duplicate);
}

/// The checks after the header tag still report their own kinds for a
/// header the peer did tag: the bound on a known chain, the bound on a new
/// ratchet key (its previous chain's catch-up included).
#[test]
fn authentic_headers_still_get_their_error_kinds() {
    let mut rng = ChaCha20Rng::from_seed([15; 32]);
    let config = SessionConfig::default().with_max_forward_jump(3).unwrap();
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, 100);
    let kem = KemPreKeyPair::generate(&mut rng, &bob, 2, false, 100);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        None,
        kem.public().clone(),
    )
    .verify()
    .unwrap();
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate(&mut rng, &alice, &bundle, config.clone()).unwrap();
    let first = PreKeyMessage::from_bytes(&a.encrypt(&mut rng, b"0").unwrap()).unwrap();
    let mut b = Session::respond(&bob, &spk, None, &kem, &first, config)
        .unwrap()
        .session;
    let sent: Vec<_> = (0..6).map(|_| b.encrypt(&mut rng, b"x").unwrap()).collect();
    // A new ratchet key, 5 ahead of a bound of 3.
    let too_far = Error::Protocol(ProtocolError::TooFarAhead { max: 3, found: 5 });
    rejects(&mut a, &sent[5], too_far);
    assert_eq!(a.decrypt(&sent[0]).unwrap(), b"x");
    // A known chain, 4 ahead.
    let too_far = Error::Protocol(ProtocolError::TooFarAhead { max: 3, found: 4 });
    rejects(&mut a, &sent[5], too_far);
}

/// A new ratchet key is checked against the prime-order subgroup once its
/// header authenticated, and not before: a forged header naming a key with
/// a small-order component added is `DecryptionFailed` (the forger made the
/// receiver do one HMAC, not the subgroup check), while the same key under
/// the header key the peer holds is `InvalidKey`, with the session
/// unchanged either way (PROTOCOL.md §3.2, §7.4 step 4.3). A key the
/// session already holds is never checked again.
#[test]
fn a_new_ratchet_key_is_checked_after_its_header_tag() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::montgomery::MontgomeryPoint;

    let mut rng = ChaCha20Rng::from_seed([16; 32]);
    let (mut a, mut b, _) = setup(&mut rng, true);
    let first = b.encrypt(&mut rng, b"one").unwrap();
    let key: [u8; 32] = first[2..34].try_into().unwrap();
    let torsioned = (MontgomeryPoint(key).to_edwards(0).unwrap() + EIGHT_TORSION[1])
        .to_montgomery()
        .to_bytes();
    assert!(crate::crypto::dh::is_canonical_public(&torsioned));
    let mut forged = first.clone();
    forged[2..34].copy_from_slice(&torsioned);
    // Decoding checks the encoding only.
    assert!(crate::Message::from_bytes(&forged).is_ok());
    rejects(&mut a, &forged, Error::DecryptionFailed);
    // Re-tagged under the header key of Bob's first chain, which Alice
    // holds as her next header key: the header authenticates.
    let next = *a.ratchet().next_header_key().bytes();
    let tag = crate::crypto::kdf::header_tag(&next, a.session_ad(), &forged[..50]);
    forged[50..66].copy_from_slice(&tag);
    let invalid = Error::Decode(crate::DecodeError::InvalidKey {
        kind: crate::KeyKind::X25519,
    });
    rejects(&mut a, &forged, invalid);
    assert_eq!(a.decrypt(&first).unwrap(), b"one");
}
