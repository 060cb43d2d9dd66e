//! The security properties kinseal claims (docs/SECURITY.md), each as a
//! test that would fail if the property did not hold:
//!
//! - forward secrecy, in one chain and across ratchet steps;
//! - post-compromise security after one round trip, and its limit (skipped
//!   keys of a compromised chain);
//! - harvest-now-decrypt-later resistance: the ML-KEM secret is in the keys;
//! - replayed `PreKeyMessage`s, against a modelled responder key store;
//! - identity misbinding (unknown-key-share) attempts by a third party, and
//!   the limit of implicit authentication (key-compromise impersonation);
//! - binding of the session context and identities into every message.
//!
//! "The attacker" below is an independent implementation of the KDFs of
//! PROTOCOL.md §6.2 and §7 that tries every key a stolen session record
//! holds (and every 32-byte window of it), so "the stolen state cannot
//! decrypt m" means more than "`Session::decrypt` says no".

use crate::common;

use std::collections::{HashMap, HashSet};

use common::*;
use kinseal::{
    Error, IdentityKey, IdentityKeyPair, IncomingMessage, KemPreKeyPair, OneTimePreKeyPair,
    PreKeyBundle, PreKeyMessage, ProtocolError, Session, SessionConfig, SignedPreKeyPair,
    VerifiedBundle,
};
use rand_core::Rng;

fn text(tag: &str, i: usize) -> Vec<u8> {
    format!("{tag} #{i}").into_bytes()
}

/// An attacker holding key material, with the protocol's KDFs written out
/// from PROTOCOL.md (not calling kinseal).
mod attacker {
    use chacha20poly1305::aead::AeadInOut;
    use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
    use hkdf::Hkdf;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256, Sha512};
    use x25519_dalek::{PublicKey, StaticSecret};

    use super::*;

    pub(crate) const ROOT_INFO: &[u8] = b"KINSEAL-v1 root\0";
    pub(crate) const MESSAGE_KEY_INFO: &[u8] = b"KINSEAL-v1 message key\0";
    pub(crate) const HANDSHAKE_INFO: &[u8] = b"KINSEAL-v1 X25519 ML-KEM-768 SHA-256\0";
    pub(crate) const TRANSCRIPT: &[u8] = b"KINSEAL-v1 transcript\0";
    pub(crate) const SESSION_AD: &[u8] = b"KINSEAL-v1 session AD\0";

    /// How far the attacker follows each chain key it holds.
    pub(crate) const WALK: usize = 64;

    fn hmac(key: &[u8; 32], byte: u8) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
        mac.update(&[byte]);
        mac.finalize().into_bytes().into()
    }

    /// KDF_CK: (seed, next chain key).
    pub(crate) fn kdf_ck(ck: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
        (hmac(ck, 0x01), hmac(ck, 0x02))
    }

    /// KDF_RK: (next root key, chain key).
    pub(crate) fn kdf_rk(rk: &[u8; 32], dh: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
        let mut okm = [0u8; 96];
        Hkdf::<Sha256>::new(Some(rk), dh)
            .expand(ROOT_INFO, &mut okm)
            .unwrap();
        (
            okm[..32].try_into().unwrap(),
            okm[32..64].try_into().unwrap(),
        )
    }

    pub(crate) fn dh(secret: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
        StaticSecret::from(*secret)
            .diffie_hellman(&PublicKey::from(*public))
            .to_bytes()
    }

    pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    /// The X25519 form of an Ed25519 identity secret: SHA-512(sk)[0..32].
    pub(crate) fn identity_x25519_secret(sk: &[u8]) -> [u8; 32] {
        Sha512::digest(sk)[..32].try_into().unwrap()
    }

    /// The `Message` inside some bytes (itself, or a `PreKeyMessage`'s).
    pub(crate) fn embedded(bytes: &[u8]) -> Vec<u8> {
        match IncomingMessage::from_bytes(bytes).unwrap() {
            IncomingMessage::Message(m) => m.to_bytes(),
            IncomingMessage::PreKey(p) => p.message().to_bytes(),
        }
    }

    /// Opens a message (either kind) with a message-key seed and a session AD.
    pub(crate) fn open(seed: &[u8; 32], session_ad: &[u8; 32], bytes: &[u8]) -> Option<Vec<u8>> {
        let m = embedded(bytes);
        let (header, rest) = m.split_at(66);
        let (ct, tag) = rest.split_at(rest.len() - 16);
        let mut key_nonce = [0u8; 44];
        Hkdf::<Sha256>::from_prk(seed)
            .unwrap()
            .expand(MESSAGE_KEY_INFO, &mut key_nonce)
            .unwrap();
        let cipher = ChaCha20Poly1305::new((&key_nonce[..32]).try_into().unwrap());
        let nonce = Nonce::from(<[u8; 12]>::try_from(&key_nonce[32..]).unwrap());
        let ad = [&session_ad[..], header].concat();
        let mut body = ct.to_vec();
        let tag = Tag::from(<[u8; 16]>::try_from(tag).unwrap());
        cipher
            .decrypt_inout_detached(&nonce, &ad, body.as_mut_slice().into(), &tag)
            .ok()?;
        // PROTOCOL.md §7.6: the plaintext ends at the last non-zero byte,
        // the 0x80 end marker.
        let end = body.iter().rposition(|&b| b != 0)?;
        (body[end] == 0x80).then(|| body[..end].to_vec())
    }

    /// TH of PROTOCOL.md §6.2 for a handshake by the holder of `ik_a` with
    /// `bundle`, base key `base_key` and KEM ciphertext `ct`.
    pub(crate) fn transcript_hash(
        ik_a: &[u8; 32],
        bundle: &PreKeyBundle,
        base_key: &[u8; 32],
        ct: &[u8],
    ) -> [u8; 32] {
        let spk = bundle.signed_prekey();
        let mut parts: Vec<Vec<u8>> = vec![
            TRANSCRIPT.to_vec(),
            vec![1, 1],
            ik_a.to_vec(),
            bundle.identity_key().to_bytes().to_vec(),
            spk.id().to_be_bytes().to_vec(),
            spk.public_key().to_vec(),
        ];
        match bundle.one_time_prekey() {
            Some(o) => {
                parts.push(vec![1]);
                parts.push(o.id().to_be_bytes().to_vec());
                parts.push(o.public_key().to_vec());
            }
            None => parts.push(vec![0]),
        }
        let kem = bundle.kem_prekey();
        parts.push(kem.id().to_be_bytes().to_vec());
        parts.push(kem.public_key().to_vec());
        parts.push(base_key.to_vec());
        parts.push(ct.to_vec());
        sha256(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
    }

    /// CK0 of PROTOCOL.md §6.2 from the DH outputs, the KEM secret (if the
    /// attacker has one) and TH.
    /// CK0 and HK_A of PROTOCOL.md §6.2.
    pub(crate) fn first_chain_key(
        dhs: &[[u8; 32]],
        ss: Option<&[u8]>,
        th: &[u8; 32],
    ) -> ([u8; 32], [u8; 32]) {
        let mut ikm = vec![0xFF; 32];
        for d in dhs {
            ikm.extend_from_slice(d);
        }
        if let Some(ss) = ss {
            ikm.extend_from_slice(ss);
        }
        let mut okm = [0u8; 128];
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm)
            .expand_multi_info(&[HANDSHAKE_INFO, th], &mut okm)
            .unwrap();
        (
            okm[32..64].try_into().unwrap(),
            okm[64..96].try_into().unwrap(),
        )
    }

    /// AD_s of PROTOCOL.md §6.3.
    pub(crate) fn session_ad(initiator: &[u8; 32], responder: &[u8; 32], ctx: &[u8]) -> [u8; 32] {
        sha256(&[
            SESSION_AD,
            &[1, 1],
            initiator,
            responder,
            &(ctx.len() as u32).to_be_bytes(),
            ctx,
        ])
    }

    /// A complete `Message` (PROTOCOL.md §4.2, §7.3) on the initiator's
    /// first chain (receiver hint 0), its header tagged with `header_key`,
    /// sealed with the key of `seed`, its plaintext padded by the default
    /// policy.
    pub(crate) fn seal(
        seed: &[u8; 32],
        header_key: &[u8; 32],
        session_ad: &[u8; 32],
        ratchet_key: &[u8; 32],
        pn: u32,
        n: u32,
        plaintext: &[u8],
    ) -> Vec<u8> {
        let mut m = vec![1, 1];
        m.extend_from_slice(ratchet_key);
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&pn.to_be_bytes());
        m.extend_from_slice(&n.to_be_bytes());
        // Padded as a session pads by default (PROTOCOL.md §7.6).
        let padded_len = kinseal::Padding::DEFAULT.padded_len(plaintext.len());
        m.extend_from_slice(&(padded_len as u32 + 16).to_be_bytes());
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(header_key).unwrap();
        mac.update(b"KINSEAL-v1 header tag\0");
        mac.update(session_ad);
        mac.update(&m);
        let header_tag = mac.finalize().into_bytes();
        m.extend_from_slice(&header_tag[..16]);
        let mut key_nonce = [0u8; 44];
        Hkdf::<Sha256>::from_prk(seed)
            .unwrap()
            .expand(MESSAGE_KEY_INFO, &mut key_nonce)
            .unwrap();
        let cipher = ChaCha20Poly1305::new((&key_nonce[..32]).try_into().unwrap());
        let nonce = Nonce::from(<[u8; 12]>::try_from(&key_nonce[32..]).unwrap());
        let ad = [&session_ad[..], &m].concat();
        let mut body = plaintext.to_vec();
        body.push(0x80);
        body.resize(padded_len, 0);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &ad, body.as_mut_slice().into())
            .unwrap();
        m.extend_from_slice(&body);
        m.extend_from_slice(&tag);
        m
    }

    /// Every message-key seed reachable from a session record: the stored
    /// skipped seeds; every chain key it holds (sending and receiving)
    /// followed `WALK` steps; the chain a new peer ratchet key `their_key`
    /// would start from the root key and our ratchet key, followed `WALK`
    /// steps; and every 32-byte window of the record taken as a seed.
    pub(crate) fn seeds(record: &[u8], their_key: &[u8; 32]) -> Vec<[u8; 32]> {
        let view = RecordView::parse(record);
        let mut seeds: Vec<[u8; 32]> = view.skipped.iter().map(|s| s.2).collect();
        let mut chain_keys: Vec<[u8; 32]> = view.chains.iter().map(|c| c.chain_key).collect();
        chain_keys.extend(view.sending.map(|(k, _)| k));
        if let Some(ours) = &view.ratchet_secret {
            chain_keys.push(kdf_rk(&view.root_key, &dh(ours, their_key)).1);
        }
        for mut ck in chain_keys {
            for _ in 0..WALK {
                let (seed, next) = kdf_ck(&ck);
                seeds.push(seed);
                ck = next;
            }
        }
        seeds.extend(record.windows(32).map(|w| <[u8; 32]>::try_from(w).unwrap()));
        seeds
    }

    /// Whether the key material in `record` opens `bytes` (to anything).
    pub(crate) fn decrypt_with_record(record: &[u8], bytes: &[u8]) -> Option<Vec<u8>> {
        let view = RecordView::parse(record);
        let m = embedded(bytes);
        let their_key: [u8; 32] = m[2..34].try_into().unwrap();
        seeds(record, &their_key)
            .iter()
            .find_map(|s| open(s, &view.session_ad, bytes))
    }
}

use attacker::decrypt_with_record;

/// Asserts that neither the restored state nor the attacker opens `bytes`.
fn stolen_state_cannot_open(record: &[u8], bytes: &[u8], what: &str) {
    let mut s = Session::from_bytes(record).unwrap();
    let e = decrypt_fails_unchanged(&mut s, bytes);
    assert!(
        matches!(
            e,
            Error::DecryptionFailed
                | Error::Protocol(ProtocolError::Duplicate { .. })
                | Error::Protocol(ProtocolError::MessageKeyExpired { .. })
        ),
        "{what}: {e:?}"
    );
    assert_eq!(
        decrypt_with_record(record, bytes),
        None,
        "{what}: the key material in the state opens it"
    );
}

// ------------------------------------------------------- Forward secrecy

/// Decrypts `bytes`, which must give `text(label, i)`, and records it.
fn receive(
    session: &mut Session,
    opened: &mut Vec<(String, Vec<u8>)>,
    bytes: &[u8],
    label: &str,
    i: usize,
) {
    assert_eq!(session.decrypt(bytes).unwrap(), text(label, i));
    opened.push((format!("{label}{i}"), bytes.to_vec()));
}

/// Neither a restored copy of `record` nor the attacker opens any of `opened`.
fn opens_none(record: &[u8], opened: &[(String, Vec<u8>)]) {
    for (what, m) in opened {
        stolen_state_cannot_open(record, m, what);
    }
}

#[test]
fn forward_secrecy_a_state_copied_after_message_n_opens_nothing_up_to_n() {
    let mut rng = rng(900);
    let (_keys, p) = established(&mut rng, SessionConfig::default());
    let (mut alice, mut bob) = (p.alice, p.bob);
    let mut opened = Vec::new();

    // One chain: Bob sends y0..y5 (chain indices 1..=6; 0 was his first).
    let y: Vec<Vec<u8>> = (0..6)
        .map(|i| bob.encrypt(&mut rng, &text("y", i)).unwrap())
        .collect();
    receive(&mut alice, &mut opened, &y[0], "y", 0);
    receive(&mut alice, &mut opened, &y[2], "y", 2); // y1's key is kept
    // Control: the attacker finds a kept skipped key.
    assert_eq!(
        decrypt_with_record(&alice.to_bytes(), &y[1]),
        Some(text("y", 1))
    );
    receive(&mut alice, &mut opened, &y[1], "y", 1); // and now used
    receive(&mut alice, &mut opened, &y[3], "y", 3);
    // A copy taken after y3 opens none of y0..y3...
    opens_none(&alice.to_bytes(), &opened);
    // ...but does hold the chain key for what is still to come (forward
    // secrecy is about the past): control for the attacker's chain walk.
    assert_eq!(
        decrypt_with_record(&alice.to_bytes(), &y[4]),
        Some(text("y", 4))
    );

    // Across ratchet steps: Alice replies on a new ratchet key; Bob
    // ratchets and sends z0..z2 on a new chain, announcing that the old one
    // ended at 7. Alice gets z1 first (z0 kept, and y4, y5 kept from the
    // old chain), then the late y4 and z0.
    let x0 = alice.encrypt(&mut rng, b"x0").unwrap();
    assert_eq!(bob.decrypt(&x0).unwrap(), b"x0");
    let z: Vec<Vec<u8>> = (0..3)
        .map(|i| bob.encrypt(&mut rng, &text("z", i)).unwrap())
        .collect();
    receive(&mut alice, &mut opened, &z[1], "z", 1);
    receive(&mut alice, &mut opened, &y[4], "y", 4);
    receive(&mut alice, &mut opened, &z[0], "z", 0);
    let copy = alice.to_bytes();
    opens_none(&copy, &opened);
    // Still to come: y5 (a kept key of the old chain) and z2 (the new
    // chain's key). A state copy exposes those, as it must.
    assert_eq!(decrypt_with_record(&copy, &y[5]), Some(text("y", 5)));
    assert_eq!(decrypt_with_record(&copy, &z[2]), Some(text("z", 2)));
    receive(&mut alice, &mut opened, &y[5], "y", 5);
    receive(&mut alice, &mut opened, &z[2], "z", 2);
    let copy = alice.to_bytes();
    opens_none(&copy, &opened);
    assert_eq!(RecordView::parse(&copy).skipped, vec![]);

    // The other direction: Bob's state after x0 opens neither x0 nor the
    // PreKeyMessage that set the session up.
    let bob_copy = bob.to_bytes();
    stolen_state_cannot_open(&bob_copy, &x0, "x0");
    stolen_state_cannot_open(&bob_copy, &p.first, "first PreKeyMessage");
}

// ---------------------------------------------- Post-compromise security

/// Alice and Bob after setup, each having sent and received; Alice then
/// sends two messages on a fresh ratchet key, which Bob receives. Returns
/// the sessions and the RNG.
fn mid_conversation(seed: u64) -> (Session, Session, chacha20::ChaCha20Rng) {
    let mut rng = rng(seed);
    let (_keys, p) = established(&mut rng, SessionConfig::default());
    let (mut alice, mut bob) = (p.alice, p.bob);
    for i in 0..2 {
        let x = alice.encrypt(&mut rng, &text("x", i)).unwrap();
        assert_eq!(bob.decrypt(&x).unwrap(), text("x", i));
    }
    (alice, bob, rng)
}

fn copy(s: &Session) -> Session {
    Session::from_bytes(&s.to_bytes()).unwrap()
}

#[test]
fn post_compromise_security_after_one_round_trip() {
    let (mut alice, mut bob, mut rng) = mid_conversation(910);

    // The attacker copies Alice's whole state. `eve` is the attacker's live
    // copy, which follows the conversation passively (decrypts whatever it
    // can of Bob's messages).
    let stolen = alice.to_bytes();
    let mut eve = Session::from_bytes(&stolen).unwrap();

    // While the chains continue, the stolen state reads both directions...
    let x2 = alice.encrypt(&mut rng, b"x2").unwrap();
    assert_eq!(decrypt_with_record(&stolen, &x2), Some(b"x2".to_vec()));
    let y0 = bob.encrypt(&mut rng, b"y0").unwrap(); // Bob's new ratchet key
    assert_eq!(eve.decrypt(&y0).unwrap(), b"y0");
    // ...and forges messages Bob accepts as Alice's.
    let forged = Session::from_bytes(&stolen)
        .unwrap()
        .encrypt(&mut rng, b"forged before healing")
        .unwrap();
    assert_eq!(
        copy(&bob).decrypt(&forged).unwrap(),
        b"forged before healing"
    );

    // One round trip: Alice receives Bob's new ratchet key and replies with
    // a fresh one of her own, which Bob receives.
    assert_eq!(bob.decrypt(&x2).unwrap(), b"x2");
    assert_eq!(alice.decrypt(&y0).unwrap(), b"y0");
    let x3 = alice.encrypt(&mut rng, b"x3").unwrap();
    assert_eq!(bob.decrypt(&x3).unwrap(), b"x3");

    // Healed. Forgeries: from the state as stolen (its old chain, at the
    // next index and further on), and from the followed copy (which starts
    // a new chain with its own ratchet key): Bob refuses them all.
    let y1 = bob.encrypt(&mut rng, b"y1").unwrap();
    let x4 = alice.encrypt(&mut rng, b"x4").unwrap();
    let eve_before_sending = eve.to_bytes();
    let mut as_stolen = Session::from_bytes(&stolen).unwrap();
    for i in 0..3 {
        let f = as_stolen.encrypt(&mut rng, &text("forged", i)).unwrap();
        let e = decrypt_fails_unchanged(&mut bob, &f);
        assert!(
            matches!(
                e,
                Error::DecryptionFailed | Error::Protocol(ProtocolError::Duplicate { .. })
            ),
            "{e:?}"
        );
    }
    for i in 0..2 {
        let f = eve.encrypt(&mut rng, &text("eve", i)).unwrap();
        assert_eq!(
            decrypt_fails_unchanged(&mut bob, &f),
            Error::DecryptionFailed
        );
    }
    // Reads: new messages in either direction are out of reach of the
    // stolen state and of the attacker's copy, whether or not that copy
    // has run the sending half of the ratchet itself (which would give it
    // Alice's new ratchet key, were that key computable from the state).
    let eve_after_sending = eve.to_bytes();
    for (record, who) in [
        (&stolen, "stolen state"),
        (&eve_before_sending, "followed copy"),
        (&eve_after_sending, "followed copy after sending"),
    ] {
        stolen_state_cannot_open(record, &y1, &format!("{who}: Bob's next message"));
        for m in [&x3, &x4] {
            assert_eq!(decrypt_with_record(record, m), None, "{who}");
        }
    }
    assert_eq!(alice.decrypt(&y1).unwrap(), b"y1");
    assert_eq!(bob.decrypt(&x4).unwrap(), b"x4");

    // The conversation goes on, healed, both ways.
    let y2 = bob.encrypt(&mut rng, b"y2").unwrap();
    assert_eq!(alice.decrypt(&y2).unwrap(), b"y2");
    stolen_state_cannot_open(&eve.to_bytes(), &y2, "followed copy, later");
}

/// The limit of healing (as in the Double Ratchet): a key the peer keeps
/// for a skipped message of a chain the attacker knew stays usable by the
/// attacker until the real message arrives or the key is evicted.
#[test]
fn healing_does_not_cover_kept_skipped_keys_of_a_compromised_chain() {
    let (mut alice, mut bob, mut rng) = mid_conversation(920);
    let stolen = alice.to_bytes();
    let lost = alice.encrypt(&mut rng, b"x2, lost").unwrap();
    let y0 = bob.encrypt(&mut rng, b"y0").unwrap();
    assert_eq!(alice.decrypt(&y0).unwrap(), b"y0");
    let x3 = alice.encrypt(&mut rng, b"x3").unwrap();
    assert_eq!(bob.decrypt(&x3).unwrap(), b"x3"); // keeps x2's key
    assert_eq!(bob.stored_skipped_keys(), 1);

    let forged = Session::from_bytes(&stolen)
        .unwrap()
        .encrypt(&mut rng, b"forged after healing")
        .unwrap();
    assert_eq!(index_of(&forged), index_of(&lost));
    assert_eq!(
        copy(&bob).decrypt(&forged).unwrap(),
        b"forged after healing"
    );
    // Had the real message arrived first, the key would be gone.
    assert_eq!(bob.decrypt(&lost).unwrap(), b"x2, lost");
    assert_eq!(
        decrypt_fails_unchanged(&mut bob, &forged),
        duplicate(index_of(&lost))
    );
}

// ------------------------------------ Harvest now, decrypt later (ML-KEM)

/// An adversary who records the handshake and later breaks X25519 (so it
/// knows every X25519 secret: Alice's identity scalar and her base key)
/// still lacks the ML-KEM shared secret, and with it the session keys.
/// With the shared secret (control) the same derivation opens the message,
/// which also checks PROTOCOL.md §6.2 independently.
#[test]
fn harvest_now_decrypt_later_needs_the_ml_kem_secret() {
    use attacker::dh;

    for (n, choice) in BundleChoice::ALL.into_iter().enumerate() {
        let mut rng = rng(930 + n as u64 * 10);
        let bob = Bob::new(&mut rng);
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundle = bob.verified_bundle(choice);
        // Replay the RNG draws of `initiate`: the base key, then ML-KEM's m.
        let mut probe = common::rng(935 + n as u64 * 10);
        let mut ek = [0u8; 32];
        probe.fill_bytes(&mut ek);
        let mut m = [0u8; 32];
        probe.fill_bytes(&mut m);
        let mut session = Session::initiate(
            &mut common::rng(935 + n as u64 * 10),
            &alice,
            &bundle,
            SessionConfig::default(),
        )
        .unwrap();
        assert_eq!(&dh(&ek, &basepoint()), session.base_key());
        let first = session.encrypt(&mut rng, b"harvested").unwrap();
        let pkm = PreKeyMessage::from_bytes(&first).unwrap();
        let ct = &first[first.len() - pkm.message().to_bytes().len() - 1088..][..1088];

        let b = bundle.bundle();
        let x_ik_a = attacker::identity_x25519_secret(&alice.to_secret_bytes());
        let spk = b.signed_prekey().public_key();
        let mut dhs = vec![
            dh(&x_ik_a, spk),
            dh(&ek, b.identity_key().x25519_public()),
            dh(&ek, spk),
        ];
        if let Some(o) = b.one_time_prekey() {
            dhs.push(dh(&ek, o.public_key()));
        }
        let th =
            attacker::transcript_hash(alice.public_key().as_bytes(), b, session.base_key(), ct);
        let ad = attacker::session_ad(
            alice.public_key().as_bytes(),
            b.identity_key().as_bytes(),
            b"",
        );
        let try_open = |ss: Option<&[u8]>| {
            let (ck0, _) = attacker::first_chain_key(&dhs, ss, &th);
            attacker::open(&attacker::kdf_ck(&ck0).0, &ad, &first)
        };
        let kem = b.kem_prekey();

        // Control: the real shared secret (re-encapsulating with m).
        let pk = libcrux_ml_kem::mlkem768::MlKem768PublicKey::from(kem.public_key());
        let (ct_again, ss) = libcrux_ml_kem::mlkem768::encapsulate(&pk, m);
        assert_eq!(ct_again.as_slice()[..], ct[..]);
        assert_eq!(
            try_open(Some(&ss)),
            Some(b"harvested".to_vec()),
            "{choice:?}"
        );
        // Every X25519 secret, but not the KEM secret: nothing.
        assert_eq!(try_open(None), None, "{choice:?}: keys without SS");
        assert_eq!(try_open(Some(&[0u8; 32])), None, "{choice:?}");
        let mut other = m;
        other[0] ^= 1;
        let (_, wrong) = libcrux_ml_kem::mlkem768::encapsulate(&pk, other);
        assert_eq!(try_open(Some(&wrong)), None, "{choice:?}");
    }
}

/// The limit of implicit authentication (as in X3DH): whoever holds Bob's
/// signed prekey secret can set up a session to Bob claiming any identity,
/// here Alice's, without any of Alice's secrets (key-compromise
/// impersonation). The first message is built from PROTOCOL.md alone.
/// Control: with a wrong signed prekey secret, Bob refuses it.
#[test]
fn a_stolen_signed_prekey_lets_the_thief_claim_any_identity_to_its_owner() {
    use attacker::dh;

    for (n, choice) in BundleChoice::ALL.into_iter().enumerate() {
        let seed = 970 + n as u64;
        // `Bob::new` draws the identity seed, then the signed prekey secret.
        let mut probe = common::rng(seed);
        let mut spk_secret = [0u8; 32];
        probe.fill_bytes(&mut spk_secret);
        probe.fill_bytes(&mut spk_secret);
        let mut rng = common::rng(seed);
        let bob = Bob::new(&mut rng);
        assert_eq!(
            &dh(&spk_secret, &basepoint()),
            bob.spk.public().public_key()
        );
        let alice = IdentityKeyPair::generate(&mut rng).public_key().clone();
        let bundle = bob.verified_bundle(choice);
        let b = bundle.bundle();

        // The thief's own base key and KEM encapsulation.
        let mut ek = [0u8; 32];
        rng.fill_bytes(&mut ek);
        let ek_public = dh(&ek, &basepoint());
        let mut m = [0u8; 32];
        rng.fill_bytes(&mut m);
        let pk = libcrux_ml_kem::mlkem768::MlKem768PublicKey::from(b.kem_prekey().public_key());
        let (ct, ss) = libcrux_ml_kem::mlkem768::encapsulate(&pk, m);
        let ct = ct.as_slice().to_vec();

        let forge = |spk_secret: &[u8; 32]| -> Vec<u8> {
            let spk = b.signed_prekey().public_key();
            let mut dhs = vec![
                // DH1 = DH(IK_A, SPK_B), computed from the other side.
                dh(spk_secret, alice.x25519_public()),
                dh(&ek, b.identity_key().x25519_public()),
                dh(&ek, spk),
            ];
            let mut prefix = vec![1, 2, 1];
            prefix.extend_from_slice(alice.as_bytes());
            prefix.extend_from_slice(&b.signed_prekey().id().to_be_bytes());
            match b.one_time_prekey() {
                Some(o) => {
                    dhs.push(dh(&ek, o.public_key()));
                    prefix.push(1);
                    prefix.extend_from_slice(&o.id().to_be_bytes());
                }
                None => prefix.push(0),
            }
            prefix.extend_from_slice(&b.kem_prekey().id().to_be_bytes());
            prefix.extend_from_slice(&ct);
            let th = attacker::transcript_hash(alice.as_bytes(), b, &ek_public, &ct);
            let (ck0, hk_a) = attacker::first_chain_key(&dhs, Some(&ss), &th);
            let ad = attacker::session_ad(alice.as_bytes(), b.identity_key().as_bytes(), b"");
            let seed = attacker::kdf_ck(&ck0).0;
            let message = attacker::seal(&seed, &hk_a, &ad, &ek_public, 0, 0, b"this is alice");
            [prefix, message].concat()
        };

        let guessed = forge(&[7u8; 32]);
        assert_eq!(
            bob.respond_bytes(&guessed, SessionConfig::default())
                .unwrap_err(),
            Error::DecryptionFailed,
            "{choice:?}"
        );
        let inbound = bob
            .respond_bytes(&forge(&spk_secret), SessionConfig::default())
            .unwrap();
        assert_eq!(inbound.session.remote_identity(), &alice, "{choice:?}");
        assert_eq!(inbound.plaintext, b"this is alice");
    }
}

fn basepoint() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = 9;
    b
}

// ------------------------------------------ Replayed PreKeyMessages

/// A responder's key storage: prekeys by id, one-time EC and KEM prekeys
/// deleted once a session they set up is stored, and the handshake ids
/// accepted on the last-resort KEM prekey (PROTOCOL.md §3.6, §6.4).
struct KeyStore {
    identity: IdentityKeyPair,
    signed: HashMap<u32, SignedPreKeyPair>,
    one_time: HashMap<u32, OneTimePreKeyPair>,
    kem: HashMap<u32, KemPreKeyPair>,
    last_resort_handshakes: HashSet<kinseal::HandshakeId>,
}

/// A responder device: its key store (persistent) and its sessions, keyed
/// by the initiator's base key (PROTOCOL.md §8.2).
struct Responder {
    store: KeyStore,
    sessions: HashMap<[u8; 32], Session>,
}

#[derive(Debug, Clone, PartialEq)]
enum Refused {
    NoSignedPreKey(u32),
    NoOneTimePreKey(u32),
    NoKemPreKey(u32),
    ReplayedHandshake,
    Library(Error),
}

impl Responder {
    fn new(rng: &mut chacha20::ChaCha20Rng) -> Responder {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPreKeyPair::generate(rng, &identity, SPK_ID, CREATED_AT);
        let one_time = OneTimePreKeyPair::generate_batch(rng, 100, 3).unwrap();
        let mut kem = KemPreKeyPair::generate_batch(rng, &identity, 200, 3, CREATED_AT).unwrap();
        kem.push(KemPreKeyPair::generate(
            rng,
            &identity,
            KEM_LAST_RESORT_ID,
            true,
            CREATED_AT,
        ));
        Responder {
            store: KeyStore {
                identity,
                signed: HashMap::from([(SPK_ID, spk)]),
                one_time: one_time.into_iter().map(|k| (k.id(), k)).collect(),
                kem: kem.into_iter().map(|k| (k.id(), k)).collect(),
                last_resort_handshakes: HashSet::new(),
            },
            sessions: HashMap::new(),
        }
    }

    /// The bundle a server hands out with these prekeys.
    fn bundle(&self, one_time: Option<u32>, kem: u32) -> VerifiedBundle {
        let s = &self.store;
        PreKeyBundle::new(
            s.identity.public_key().clone(),
            s.signed[&SPK_ID].public().clone(),
            one_time.map(|id| *s.one_time[&id].public()),
            s.kem[&kem].public().clone(),
        )
        .verify()
        .unwrap()
    }

    /// Receives a `PreKeyMessage`: to its session if one exists for the
    /// base key, else a new session from the prekeys it names. Returns the
    /// sender's identity and the plaintext.
    fn receive(&mut self, bytes: &[u8]) -> Result<(IdentityKey, Vec<u8>), Refused> {
        let m = PreKeyMessage::from_bytes(bytes).map_err(Refused::Library)?;
        if let Some(s) = self.sessions.get_mut(m.base_key()) {
            let before = s.to_bytes();
            let result = s.decrypt(bytes);
            if result.is_err() {
                assert_eq!(s.to_bytes(), before);
            }
            return result
                .map(|p| (s.remote_identity().clone(), p))
                .map_err(Refused::Library);
        }
        let st = &mut self.store;
        let spk = st
            .signed
            .get(&m.signed_prekey_id())
            .ok_or(Refused::NoSignedPreKey(m.signed_prekey_id()))?;
        let opk = match m.one_time_prekey_id() {
            Some(id) => Some(st.one_time.get(&id).ok_or(Refused::NoOneTimePreKey(id))?),
            None => None,
        };
        let kem_id = m.kem_prekey_id();
        let kem = st.kem.get(&kem_id).ok_or(Refused::NoKemPreKey(kem_id))?;
        let last_resort = kem.is_last_resort();
        if last_resort && st.last_resort_handshakes.contains(&m.handshake_id()) {
            return Err(Refused::ReplayedHandshake);
        }
        let inbound = Session::respond(&st.identity, spk, opk, kem, &m, SessionConfig::default())
            .map_err(Refused::Library)?;
        // One transaction: store the session, delete the one-time prekeys,
        // remember a last-resort handshake.
        if let Some(id) = m.one_time_prekey_id() {
            st.one_time.remove(&id);
        }
        if last_resort {
            assert!(st.last_resort_handshakes.insert(inbound.handshake_id));
        } else {
            st.kem.remove(&kem_id);
        }
        let identity = inbound.session.remote_identity().clone();
        self.sessions
            .insert(*inbound.session.base_key(), inbound.session);
        Ok((identity, inbound.plaintext))
    }

    /// A new process with the same (persisted) key store and no session
    /// for the replayed base key: the session was deleted, or the attacker
    /// sends to another process of the device.
    fn restart(self) -> Responder {
        Responder {
            store: self.store,
            sessions: HashMap::new(),
        }
    }
}

#[test]
fn a_replayed_prekey_message_is_refused() {
    let mut rng = rng(940);
    let alice = IdentityKeyPair::generate(&mut rng);
    // (one-time EC prekey, KEM prekey, what refuses a replay to a new process)
    let cases = [
        (Some(100), 200, Refused::NoOneTimePreKey(100)),
        (None, 201, Refused::NoKemPreKey(201)),
        (Some(101), KEM_LAST_RESORT_ID, Refused::NoOneTimePreKey(101)),
        (None, KEM_LAST_RESORT_ID, Refused::ReplayedHandshake),
    ];
    let mut responder = Responder::new(&mut rng);
    for (opk, kem, refusal) in cases {
        let bundle = responder.bundle(opk, kem);
        let mut a = Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
        let first = a.encrypt(&mut rng, b"first").unwrap();
        let second = a.encrypt(&mut rng, b"second").unwrap();
        let (from, pt) = responder.receive(&first).unwrap();
        assert_eq!((&from, pt.as_slice()), (alice.public_key(), &b"first"[..]));
        if let Some(id) = opk {
            assert!(!responder.store.one_time.contains_key(&id));
        }
        assert_eq!(
            responder.store.kem.contains_key(&kem),
            kem == KEM_LAST_RESORT_ID
        );

        // A replay to the process holding the session: a typed duplicate.
        assert_eq!(
            responder.receive(&first),
            Err(Refused::Library(duplicate(0)))
        );
        // (The initiator's repeats of its setup data still work.)
        assert_eq!(responder.receive(&second).unwrap().1, b"second");

        // A replay to a fresh process: the prekeys it names are gone, or
        // (last-resort KEM, no one-time prekey) its handshake id is known.
        responder = responder.restart();
        assert_eq!(responder.receive(&first), Err(refusal.clone()));
        assert_eq!(responder.receive(&second), Err(refusal.clone()));
        if refusal == Refused::ReplayedHandshake {
            // Without that record the library alone would accept it again
            // (responding is a pure function of the message and the keys).
            let s = &responder.store;
            let m = PreKeyMessage::from_bytes(&first).unwrap();
            let again = Session::respond(
                &s.identity,
                &s.signed[&SPK_ID],
                None,
                &s.kem[&KEM_LAST_RESORT_ID],
                &m,
                SessionConfig::default(),
            )
            .unwrap();
            assert_eq!(again.plaintext, b"first");
        }

        // Altering the replay to name other prekeys than the consumed ones
        // changes the keys: it fails to decrypt.
        let m = PreKeyMessage::from_bytes(&first).unwrap();
        let kem_at = if opk.is_some() { 44 } else { 40 };
        if opk.is_some() {
            // Drop the one-time prekey from the message.
            let mut stripped = first[..39].to_vec();
            stripped.push(0);
            stripped.extend_from_slice(&first[44..]);
            let s = PreKeyMessage::from_bytes(&stripped).unwrap();
            assert_eq!(s.one_time_prekey_id(), None);
            assert_ne!(s.handshake_id(), m.handshake_id());
            // With a one-time KEM prekey, that is gone too; with the
            // last-resort one, the changed handshake is new but its keys
            // are not the ones the embedded message was sealed under.
            let expected = if kem == KEM_LAST_RESORT_ID {
                Refused::Library(Error::DecryptionFailed)
            } else {
                Refused::NoKemPreKey(kem)
            };
            assert_eq!(responder.receive(&stripped), Err(expected));
        }
        // Point the message at another KEM prekey that still exists.
        let other_kem = *responder.store.kem.keys().find(|&&id| id != kem).unwrap();
        let mut retargeted = first.clone();
        retargeted[kem_at..kem_at + 4].copy_from_slice(&other_kem.to_be_bytes());
        assert_eq!(
            PreKeyMessage::from_bytes(&retargeted)
                .unwrap()
                .kem_prekey_id(),
            other_kem
        );
        let result = responder.receive(&retargeted);
        assert!(
            matches!(
                result,
                Err(Refused::Library(Error::DecryptionFailed) | Refused::NoOneTimePreKey(_))
            ),
            "{result:?}"
        );
    }
    // Every one-time prekey used was consumed exactly once.
    assert_eq!(responder.store.one_time.len(), 1);
    assert_eq!(responder.store.kem.len(), 2);
    assert_eq!(responder.store.last_resort_handshakes.len(), 2);
}

// ------------------------------------------------ Identity misbinding

/// The `PreKeyMessage` prefix (everything before the embedded message).
fn prefix(bytes: &[u8]) -> &[u8] {
    let embedded = PreKeyMessage::from_bytes(bytes)
        .unwrap()
        .message()
        .to_bytes()
        .len();
    &bytes[..bytes.len() - embedded]
}

#[test]
fn a_third_party_cannot_rebind_a_first_message_to_her_identity() {
    let mut rng = rng(950);
    let mut bob = Responder::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let to_bob = |who: &IdentityKeyPair,
                  opk: Option<u32>,
                  kem: u32,
                  pt: &[u8],
                  rng: &mut chacha20::ChaCha20Rng| {
        let bundle = bob.bundle(opk, kem);
        let mut s = Session::initiate(rng, who, &bundle, SessionConfig::default()).unwrap();
        s.encrypt(rng, pt).unwrap()
    };
    let from_alice = to_bob(&alice, Some(100), 200, b"from alice", &mut rng);
    let from_mallory = to_bob(&mallory, Some(101), 201, b"from mallory", &mut rng);
    let last_resort_alice = to_bob(&alice, None, KEM_LAST_RESORT_ID, b"alice, lr", &mut rng);

    for original in [&from_alice, &last_resort_alice] {
        // 1. Alice's message, under Mallory's identity key.
        let mut swapped = original.clone();
        swapped[3..35].copy_from_slice(mallory.public_key().as_bytes());
        assert_eq!(
            PreKeyMessage::from_bytes(&swapped).unwrap().identity_key(),
            mallory.public_key()
        );
        // 2. Alice's embedded message re-wrapped in Mallory's own
        //    PreKeyMessage (her identity, her prekey ids, her KEM ciphertext).
        let rewrapped = [prefix(&from_mallory), &original[prefix(original).len()..]].concat();
        assert_eq!(
            PreKeyMessage::from_bytes(&rewrapped)
                .unwrap()
                .identity_key(),
            mallory.public_key()
        );
        // 3. Mallory's embedded message under Alice's setup data (Mallory
        //    claiming to be Alice).
        let claimed = [
            prefix(original),
            &from_mallory[prefix(&from_mallory).len()..],
        ]
        .concat();
        for (what, bytes) in [
            ("swapped identity", &swapped),
            ("re-wrapped", &rewrapped),
            ("claimed", &claimed),
        ] {
            assert_eq!(
                bob.receive(bytes),
                Err(Refused::Library(Error::DecryptionFailed)),
                "{what}"
            );
            assert!(bob.sessions.is_empty(), "{what}: a session was stored");
        }
    }
    // Nothing was consumed by the attempts; the genuine messages are
    // attributed to their senders.
    assert_eq!(
        bob.receive(&from_alice).unwrap(),
        (alice.public_key().clone(), b"from alice".to_vec())
    );
    assert_eq!(
        bob.receive(&from_mallory).unwrap(),
        (mallory.public_key().clone(), b"from mallory".to_vec())
    );
    // Once Alice's session exists (keyed by her base key), a re-wrapped
    // copy reaches it and is refused there: it names another handshake.
    let rewrapped = [
        prefix(&from_mallory),
        &from_alice[prefix(&from_alice).len()..],
    ]
    .concat();
    assert_eq!(
        bob.receive(&rewrapped),
        Err(Refused::Library(Error::Protocol(
            ProtocolError::UnexpectedPreKeyMessage
        )))
    );
    assert_eq!(bob.sessions.len(), 2);
}

#[test]
fn a_message_resent_on_another_session_fails() {
    let mut rng = rng(955);
    let keys = Bob::new(&mut rng);
    let config = SessionConfig::default;
    // Alice ↔ Bob, and Mallory ↔ Bob, both established.
    let mut ab = pair_with(&mut rng, &keys, BundleChoice::FULL, config(), config());
    let mut mb = pair_with(&mut rng, &keys, BundleChoice::FULL, config(), config());
    for p in [&mut ab, &mut mb] {
        let r = p.bob.encrypt(&mut rng, b"reply").unwrap();
        p.alice.decrypt(&r).unwrap();
    }
    let from_alice = ab.alice.encrypt(&mut rng, b"alice to bob").unwrap();
    let from_mallory = mb.alice.encrypt(&mut rng, b"mallory to bob").unwrap();
    // Mallory delivers Alice's bytes as hers, on her session with Bob (and
    // her own bytes on Alice's), including the first PreKeyMessages.
    assert_eq!(
        decrypt_fails_unchanged(&mut mb.bob, &from_alice),
        Error::DecryptionFailed
    );
    assert_eq!(
        decrypt_fails_unchanged(&mut ab.bob, &from_mallory),
        Error::DecryptionFailed
    );
    for (session, first) in [(&mut mb.bob, &ab.first), (&mut ab.bob, &mb.first)] {
        assert_eq!(
            decrypt_fails_unchanged(session, first),
            Error::Protocol(ProtocolError::UnexpectedPreKeyMessage)
        );
    }
    // Each session still takes its own.
    assert_eq!(ab.bob.decrypt(&from_alice).unwrap(), b"alice to bob");
    assert_eq!(mb.bob.decrypt(&from_mallory).unwrap(), b"mallory to bob");
}

// ------------------------------------------------------------ AD binding

fn session_ad(initiator: &IdentityKey, responder: &IdentityKey, context: &[u8]) -> [u8; 32] {
    attacker::session_ad(initiator.as_bytes(), responder.as_bytes(), context)
}

#[test]
fn the_session_context_and_identities_are_bound_into_every_message() {
    let mut rng = rng(960);
    let keys = Bob::new(&mut rng);
    let ctx = |c: &[u8]| SessionConfig::default().with_context(c).unwrap();
    let ours: &[u8] = b"app:chat.example alice:1 -> bob:3";

    // At setup: the responder's context differs from the initiator's.
    let alice = IdentityKeyPair::generate(&mut rng);
    for other in [&b"app:chat.example alice:1 -> bob:4"[..], b"", b"app:mail"] {
        let mut a = Session::initiate(
            &mut rng,
            &alice,
            &keys.verified_bundle(BundleChoice::FULL),
            ctx(ours),
        )
        .unwrap();
        let first = a.encrypt(&mut rng, b"hi").unwrap();
        assert_eq!(
            keys.respond_bytes(&first, ctx(other)).unwrap_err(),
            Error::DecryptionFailed
        );
        assert_eq!(
            keys.respond_bytes(&first, ctx(ours)).unwrap().plaintext,
            b"hi"
        );
    }

    // In an established session: the stored AD is exactly PROTOCOL.md §6.3
    // (initiator first), and replacing it — another context, or the
    // identities in the other order — makes every later message fail.
    let mut p = pair_with(&mut rng, &keys, BundleChoice::FULL, ctx(ours), ctx(ours));
    let ik_a = p.alice.local_identity().clone();
    let ik_b = p.bob.local_identity().clone();
    let expected = session_ad(&ik_a, &ik_b, ours);
    for s in [&p.alice, &p.bob] {
        assert_eq!(RecordView::parse(&s.to_bytes()).session_ad, expected);
    }
    let to_bob = p.alice.encrypt(&mut rng, b"to bob").unwrap();
    let reply = p.bob.encrypt(&mut rng, b"to alice").unwrap();
    let wrong_ads = [
        session_ad(&ik_a, &ik_b, b"app:chat.example alice:1 -> bob:4"),
        session_ad(&ik_b, &ik_a, ours),
        session_ad(&ik_a, &ik_a, ours),
    ];
    for (session, bytes, pt) in [
        (&p.bob, &to_bob, &b"to bob"[..]),
        (&p.alice, &reply, &b"to alice"[..]),
    ] {
        let record = session.to_bytes().to_vec();
        for wrong in wrong_ads {
            let mut altered = record.clone();
            altered[RECORD_SESSION_AD_OFFSET..RECORD_SESSION_AD_OFFSET + 32]
                .copy_from_slice(&wrong);
            let mut s = Session::from_bytes(&altered).unwrap();
            assert_eq!(
                decrypt_fails_unchanged(&mut s, bytes),
                Error::DecryptionFailed
            );
        }
        assert_eq!(
            Session::from_bytes(&record)
                .unwrap()
                .decrypt(bytes)
                .unwrap(),
            pt
        );
    }
}
