//! `negative.json`: inputs that MUST be rejected, each with its reason and
//! the error kind kinseal reports.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};

use super::conversation::error_name;
use super::handshake::{self, Case};
use super::{hex, seeded};
use crate::error::Error;
use crate::keys::{
    IdentityKey, IdentityKeyPair, KemPreKey, OneTimePreKeyPair, PreKeyBundle, PreKeyUpload,
    SignedPreKeyPair,
};
use crate::message::{IncomingMessage, PreKeyMessage};
use crate::ratchet::OurSide;
use crate::session::{Session, SessionConfig};
use crate::wire::TAG_LEN;

/// One negative case: decode (and for bundles, verify) `input` as `kind`.
fn case(kind: &str, reason: &str, input: &[u8], result: Result<(), Error>) -> Value {
    let Err(e) = result else {
        panic!("negative vector was accepted: {reason}");
    };
    json!({"kind": kind, "reason": reason, "input": hex(input), "error": error_name(&e)})
}

fn bundle_result(bytes: &[u8]) -> Result<(), Error> {
    PreKeyBundle::from_bytes(bytes)
        .and_then(|b| b.verify())
        .map(|_| ())
}

fn message_result(bytes: &[u8]) -> Result<(), Error> {
    IncomingMessage::from_bytes(bytes).map(|_| ())
}

fn record_result(bytes: &[u8]) -> Result<(), Error> {
    Session::from_bytes(bytes).map(|_| ())
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

pub(super) fn unhex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap_or_default();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The bundle with its KEM prekey's signature replaced.
fn with_kem_signature(bundle: &[u8], signature: [u8; 64]) -> Vec<u8> {
    let b = PreKeyBundle::from_bytes(bundle).unwrap();
    let k = b.kem_prekey();
    let forged = KemPreKey::from_parts(
        k.id(),
        k.is_last_resort(),
        k.created_at(),
        k.public_key(),
        &signature,
    )
    .unwrap();
    PreKeyBundle::new(
        b.identity_key().clone(),
        b.signed_prekey().clone(),
        b.one_time_prekey().copied(),
        forged,
    )
    .to_bytes()
}

/// A valid Ed25519 point whose encoding is not canonical (y ≥ p) and that is
/// not of small order, found by search over y = p + k.
pub(super) fn non_canonical_identity() -> [u8; 32] {
    for k in 0u8..19 {
        for sign in [0u8, 0x80] {
            let mut b = [0xffu8; 32];
            b[0] = 0xed + k;
            b[31] = 0x7f | sign;
            if let Ok(vk) = VerifyingKey::from_bytes(&b)
                && !vk.is_weak()
            {
                return b;
            }
        }
    }
    panic!("no non-canonical point of large order found");
}

pub(super) fn negative_file() -> Value {
    let mut rng = seeded("negative");
    let setup = handshake::run(
        &mut rng,
        &Case::new("setup for negative vectors", true, false),
        b"first",
    );
    let bundle = unhex(&setup.json["bundle"]);
    let prekey = unhex(&setup.json["prekey_message"]);
    let setup_bob = Session::from_bytes(&setup.bob.to_bytes()).unwrap();
    let mut bob = setup.bob;
    let reply = bob.encrypt(&mut rng, b"reply").unwrap();
    let record = bob.to_bytes().to_vec();

    let small_order = EIGHT_TORSION[1].compress().to_bytes();
    let non_canonical = non_canonical_identity();
    assert!(IdentityKey::from_bytes(&non_canonical).is_err());
    // Bundle offsets (PROTOCOL.md 4.1); this bundle has a one-time prekey.
    let (ik, spk, spk_sig, opk_flag) = (3, 47, 79, 143);
    let kem_id = 144 + 4 + 32;
    let (kem_kind, kem_pk) = (kem_id + 4, kem_id + 4 + 1 + 8);
    let kem_sig = kem_pk + 1184;
    // Ed25519 group order L, little-endian, to make S non-canonical.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    let other = IdentityKeyPair::generate(&mut rng);
    let kem_body = unhex(&setup.json["responder"]["kem_prekey"]["signed_body"]);
    let kem_signed_by_other = with_kem_signature(
        &bundle,
        other.sign(crate::crypto::labels::SIG_KEM_PREKEY, &[&kem_body]),
    );
    let kem_with_spk_label = with_kem_signature(
        &bundle,
        setup
            .responder
            .identity
            .sign(crate::crypto::labels::SIG_SIGNED_PREKEY, &[&kem_body]),
    );

    let mut cases = Vec::new();
    let mut add_bundle = |reason: &str, input: Vec<u8>| {
        let r = bundle_result(&input);
        cases.push(case("bundle", reason, &input, r));
    };
    add_bundle("version byte 0x02", edit(&bundle, |b| b[0] = 2));
    add_bundle("type byte of a Message", edit(&bundle, |b| b[1] = 1));
    add_bundle("unknown suite 0x02", edit(&bundle, |b| b[2] = 2));
    add_bundle("truncated by one byte", bundle[..bundle.len() - 1].to_vec());
    add_bundle("one trailing byte", edit(&bundle, |b| b.push(0)));
    add_bundle(
        "one-time prekey flag 0x02",
        edit(&bundle, |b| b[opk_flag] = 2),
    );
    add_bundle(
        "KEM last-resort flag 0x02",
        edit(&bundle, |b| b[kem_kind] = 2),
    );
    add_bundle(
        "identity key of small order",
        edit(&bundle, |b| b[ik..ik + 32].copy_from_slice(&small_order)),
    );
    add_bundle(
        "identity key encoded non-canonically (y >= p)",
        edit(&bundle, |b| b[ik..ik + 32].copy_from_slice(&non_canonical)),
    );
    add_bundle(
        "identity key not on the curve",
        edit(&bundle, |b| {
            // y = 2 has no x on edwards25519.
            let mut y = [0u8; 32];
            y[0] = 2;
            b[ik..ik + 32].copy_from_slice(&y)
        }),
    );
    add_bundle(
        "signed prekey with the top bit set",
        edit(&bundle, |b| b[spk + 31] |= 0x80),
    );
    add_bundle(
        "signed prekey equal to p",
        edit(&bundle, |b| {
            b[spk..spk + 32].copy_from_slice(&[0xff; 32]);
            b[spk] = 0xed;
            b[spk + 31] = 0x7f;
        }),
    );
    add_bundle(
        "KEM key with a coefficient >= q",
        edit(&bundle, |b| {
            b[kem_pk] = 0xff;
            b[kem_pk + 1] |= 0x0f;
        }),
    );
    add_bundle(
        "signed prekey signature with one bit flipped",
        edit(&bundle, |b| b[spk_sig + 5] ^= 1),
    );
    add_bundle(
        "signed prekey signature with S + L (non-canonical S)",
        edit(&bundle, |b| {
            let s = &mut b[spk_sig + 32..spk_sig + 64];
            let mut carry = 0u16;
            for (x, y) in s.iter_mut().zip(l.iter()) {
                let t = u16::from(*x) + u16::from(*y) + carry;
                *x = t as u8;
                carry = t >> 8;
            }
        }),
    );
    add_bundle(
        "signed prekey id changed after signing",
        edit(&bundle, |b| b[35] ^= 1),
    );
    add_bundle(
        "signed prekey created_at changed after signing",
        edit(&bundle, |b| b[46] ^= 1),
    );
    add_bundle(
        "KEM prekey id changed after signing",
        edit(&bundle, |b| b[kem_id + 3] ^= 1),
    );
    add_bundle(
        "KEM kind changed after signing",
        edit(&bundle, |b| b[kem_kind] ^= 1),
    );
    add_bundle(
        "KEM signature with one bit flipped",
        edit(&bundle, |b| b[kem_sig] ^= 1),
    );
    add_bundle("KEM prekey signed by another identity", kem_signed_by_other);
    add_bundle(
        "KEM prekey signed under the signed-prekey label",
        kem_with_spk_label,
    );

    let mut add_message = |reason: &str, input: Vec<u8>| {
        let r = message_result(&input);
        cases.push(case("message", reason, &input, r));
    };
    add_message("empty input", Vec::new());
    add_message("version byte 0x00", edit(&reply, |b| b[0] = 0));
    add_message("unknown type byte 0x05", edit(&reply, |b| b[1] = 5));
    add_message(
        "ratchet key with the top bit set",
        edit(&reply, |b| b[2 + 31] |= 0x80),
    );
    add_message(
        "ciphertext length 16: no room for the padding's end marker (PROTOCOL.md 7.6)",
        edit(&reply, |b| {
            b[46..50].copy_from_slice(&16u32.to_be_bytes());
            b.truncate(66 + 16);
        }),
    );
    add_message(
        "ciphertext length above the maximum",
        edit(&reply, |b| {
            b[46..50].copy_from_slice(&((crate::MAX_CIPHERTEXT_LEN + 1) as u32).to_be_bytes())
        }),
    );
    add_message(
        "ciphertext length longer than the input",
        edit(&reply, |b| {
            let n = u32::from_be_bytes([b[46], b[47], b[48], b[49]]) + 1;
            b[46..50].copy_from_slice(&n.to_be_bytes());
        }),
    );
    add_message("one trailing byte", edit(&reply, |b| b.push(0)));
    add_message(
        "PreKeyMessage with unknown suite",
        edit(&prekey, |b| b[2] = 0),
    );
    add_message(
        "PreKeyMessage with a small-order identity key",
        edit(&prekey, |b| b[3..35].copy_from_slice(&small_order)),
    );
    add_message(
        "PreKeyMessage with one-time flag 0x02",
        edit(&prekey, |b| b[39] = 2),
    );
    add_message(
        "PreKeyMessage truncated inside the KEM ciphertext",
        prekey[..600].to_vec(),
    );
    add_message(
        "PreKeyMessage whose embedded message has a trailing byte",
        edit(&prekey, |b| b.push(0)),
    );
    add_message(
        "PreKeyMessage whose embedded message has version 0x02",
        edit(&prekey, |b| b[44 + 4 + 1088] = 2),
    );

    // Record offsets (PROTOCOL.md 4.4, revision 2): 4 header bytes, seven
    // 32-byte public fields (each identity followed by its X25519 form),
    // the padding block and flag, the root key and the next header key,
    // then the three bounds and the ratchet flag, the ratchet private key
    // and its public key.
    let padding_at = 4 + 7 * 32;
    let bounds_at = padding_at + 3 + 2 * 32;
    let ratchet_flag = bounds_at + 12;
    let mut add_record = |reason: &str, input: Vec<u8>| {
        let r = record_result(&input);
        cases.push(case("session_record", reason, &input, r));
    };
    add_record(
        "max_forward_jump 0",
        edit(&record, |b| {
            b[bounds_at..bounds_at + 4].copy_from_slice(&0u32.to_be_bytes())
        }),
    );
    add_record(
        "max_skipped_keys above the limit",
        edit(&record, |b| {
            b[bounds_at + 4..bounds_at + 8].copy_from_slice(&50_001u32.to_be_bytes())
        }),
    );
    add_record(
        "padding block 0",
        edit(&record, |b| b[padding_at..padding_at + 2].fill(0)),
    );
    add_record(
        "padding block above the limit (4097)",
        edit(&record, |b| {
            b[padding_at..padding_at + 2].copy_from_slice(&4097u16.to_be_bytes())
        }),
    );
    add_record(
        "padding Padme flag 0x02",
        edit(&record, |b| b[padding_at + 2] = 2),
    );
    add_record("role flag 0x02", edit(&record, |b| b[3] = 2));
    add_record(
        "responder record relabelled as initiator, with its ratchet key removed",
        edit(&record, |b| {
            b[3] = 0;
            b[ratchet_flag] = 0;
            b.drain(ratchet_flag + 1..ratchet_flag + 65);
        }),
    );
    add_record("one trailing byte", edit(&record, |b| b.push(0)));
    // Revision 2's stored values are checked for their encodings: y or u
    // at or above p = 2^255 - 19 (here 2^255 - 1).
    let mut above_p = [0xff; 32];
    above_p[31] = 0x7f;
    for (reason, at) in [
        ("revision 2: local identity key with y >= p", 4),
        ("revision 2: local identity's X25519 form >= p", 36),
        ("revision 2: remote identity's X25519 form >= p", 100),
        ("revision 2: our ratchet public key >= p", ratchet_flag + 33),
    ] {
        add_record(
            reason,
            edit(&record, |b| b[at..at + 32].copy_from_slice(&above_p)),
        );
    }
    add_record(
        "revision 2 type with a revision 1 layout",
        edit(&crate::wire::revision_1(&record), |b| b[1] = 0x11),
    );
    add_record("truncated", record[..record.len() - 2].to_vec());

    // Decryption failures, against the setup's responder keys.
    let mut tampered_ct = prekey.clone();
    tampered_ct[44 + 100] ^= 1;
    let first_len = crate::Padding::DEFAULT.padded_len("first".len());
    // The embedded message's offsets (PROTOCOL.md 4.2, 4.3: the prefix has
    // a one-time prekey id): its index ends 21 bytes before the ciphertext
    // of the padded plaintext (the length and the header tag follow it).
    let embedded = 1136;
    let index_byte = prekey.len() - TAG_LEN - first_len - 21;
    assert_eq!(index_byte, embedded + 45);
    let zero_base_key = edit(&prekey, |b| {
        let at = embedded + 2;
        b[at..at + 32].copy_from_slice(&[0; 32]);
    });
    let respond_cases = [
        (
            "KEM ciphertext with one bit flipped (implicit rejection, then the AEAD fails)",
            "",
            tampered_ct.clone(),
        ),
        (
            "responder uses a different context",
            "another context",
            prekey.clone(),
        ),
        (
            "tag with one bit flipped",
            "",
            edit(&prekey, |b| {
                let n = b.len();
                b[n - 1] ^= 1
            }),
        ),
        (
            "message index changed (the header tag fails)",
            "",
            edit(&prekey, |b| b[index_byte] ^= 1),
        ),
        (
            "header tag with one bit flipped",
            "",
            edit(&prekey, |b| b[embedded + 50] ^= 1),
        ),
        (
            "base key of small order (u = 0; rejected when decoded, before any DH)",
            "",
            zero_base_key,
        ),
    ];
    let r = &setup.responder;
    let mut decrypt_cases = Vec::new();
    for (reason, context, input) in respond_cases {
        let config = SessionConfig::default()
            .with_context(context.as_bytes())
            .unwrap();
        let result = PreKeyMessage::from_bytes(&input).and_then(|m| {
            Session::respond(
                &r.identity,
                &r.signed_prekey,
                r.one_time_prekey.as_ref(),
                &r.kem_prekey,
                &m,
                config,
            )
        });
        let Err(e) = result else {
            panic!("respond case accepted: {reason}")
        };
        decrypt_cases.push(
            json!({"operation": "respond", "reason": reason, "context": hex(context.as_bytes()),
                                  "input": hex(&input), "error": error_name(&e)}),
        );
    }

    // Deliveries to the setup's sessions right after the handshake (Alice
    // has sent the first message, Bob has answered it but not sent).
    let other = handshake::run(&mut rng, &Case::new("another session", false, false), b"x");
    let mut other_bob = other.bob;
    let foreign = other_bob
        .encrypt(&mut rng, b"from another session")
        .unwrap();
    let other_identity = IdentityKeyPair::generate(&mut rng);
    // Bob's next header key (his own first sending chain's, which Alice
    // also holds) and Alice's first chain's: re-tagging a header with them
    // makes a header the peer could have sent, so that the checks after
    // the header tag are reached.
    let bob_next = *setup_bob.ratchet().next_header_key().bytes();
    let OurSide::Sending { chain, .. } = setup.alice.ratchet().side() else {
        panic!("an initiator sends first");
    };
    let alice_first = *chain.header_key().bytes();
    let ad = *setup_bob.session_ad();
    let retag = |mut b: Vec<u8>, at: usize, key: &[u8; 32]| {
        let tag = crate::crypto::kdf::header_tag(key, &ad, &b[at..at + 50]);
        b[at + 50..at + 66].copy_from_slice(&tag);
        b
    };
    // Bob's reply on a ratchet key with a small-order component added,
    // re-tagged: its header authenticates, so the new key is checked (and
    // refused) before any DH (PROTOCOL.md 3.2, 7.4 step 4.3).
    let reply_key = *crate::Message::from_bytes(&reply).unwrap().ratchet_key();
    let torsioned_reply = retag(
        replaced(&reply, 2, &reply_key, &torsioned_x25519(&reply_key)),
        0,
        &bob_next,
    );
    let deliver_cases = [
        (
            "alice",
            "a Message whose ratchet key is u(P + T), T of order 8, with a valid header tag: \
             refused as it starts a new chain, before the DH",
            torsioned_reply,
        ),
        (
            "alice",
            "the initiator receives a PreKeyMessage",
            prekey.clone(),
        ),
        (
            "bob",
            "a repeated PreKeyMessage whose KEM ciphertext was altered",
            tampered_ct,
        ),
        (
            "bob",
            "a repeated PreKeyMessage under another identity key",
            edit(&prekey, |b| {
                b[3..35].copy_from_slice(other_identity.public_key().as_bytes())
            }),
        ),
        (
            "bob",
            "a message of another session (its header tag fails)",
            foreign.clone(),
        ),
        (
            "bob",
            "a new ratchet key before the responder has sent (header tagged with the next header key)",
            retag(foreign, 0, &bob_next),
        ),
        (
            "bob",
            "message index 2^32 - 1 (header tag recomputed)",
            retag(
                edit(&prekey, |b| {
                    b[index_byte - 3..=index_byte].copy_from_slice(&[0xff; 4])
                }),
                embedded,
                &alice_first,
            ),
        ),
        (
            "bob",
            "message index 2^32 - 1 (header tag not recomputed)",
            edit(&prekey, |b| {
                b[index_byte - 3..=index_byte].copy_from_slice(&[0xff; 4])
            }),
        ),
        (
            "bob",
            "a copy of the first message, already decrypted, with its previous length changed: \
             not a Duplicate, its header does not authenticate",
            edit(&prekey, |b| b[embedded + 41] ^= 1),
        ),
        (
            "bob",
            "a copy of the first message, already decrypted, with its AEAD tag changed: \
             the header authenticates, so Duplicate",
            edit(&prekey, |b| {
                let n = b.len();
                b[n - 1] ^= 1
            }),
        ),
    ];
    // Authenticated messages whose padded plaintext is not one (PROTOCOL.md
    // 7.6), sealed by copies of the senders so that the receivers' states
    // stay those above. Each is refused after its AEAD tag verified.
    let copy = |s: &Session| Session::from_bytes(&s.to_bytes()).unwrap();
    let mut bob_copy = copy(&setup_bob);
    let mut alice_copy = copy(&setup.alice);
    let mut bad_marker = b"hi".to_vec();
    bad_marker.push(0x81);
    bad_marker.resize(160, 0);
    let mut too_long = vec![0x01u8; crate::MAX_PLAINTEXT_LEN + 1];
    too_long.push(0x80);
    let padding_cases = [
        (
            "alice",
            "a new chain whose padded plaintext has no end marker (160 zero bytes)",
            bob_copy.encrypt_raw_body(&mut rng, &[0u8; 160]).unwrap(),
        ),
        (
            "alice",
            "a message whose last non-zero byte is 0x81, not the end marker 0x80",
            bob_copy.encrypt_raw_body(&mut rng, &bad_marker).unwrap(),
        ),
        (
            "bob",
            "a repeated PreKeyMessage whose padded plaintext holds 262 145 bytes \
             (MAX_PLAINTEXT_LEN + 1) before its end marker",
            alice_copy.encrypt_raw_body(&mut rng, &too_long).unwrap(),
        ),
    ];
    let (mut alice, mut bob) = (setup.alice, setup_bob);
    for (to, reason, input) in deliver_cases.into_iter().chain(padding_cases) {
        let session = if to == "alice" { &mut alice } else { &mut bob };
        let before = session.to_bytes();
        let Err(e) = session.decrypt(&input) else {
            panic!("delivery accepted: {reason}")
        };
        assert_eq!(session.to_bytes(), before);
        decrypt_cases.push(json!({"operation": "deliver", "to": to, "reason": reason,
                                  "input": hex(&input), "error": error_name(&e)}));
    }

    // Every place a key appears, with a key outside the prime-order
    // subgroup (PROTOCOL.md 3.1, 3.2).
    let (more, upload) = subgroup_cases(
        &mut rng,
        &setup.json,
        &bundle,
        &prekey,
        &record,
        &setup.responder.identity,
    );
    cases.extend(more);

    json!({
        "description": "Inputs that MUST be rejected (PROTOCOL.md 9); see test-vectors/README.md.",
        "setup": setup.json,
        "record": hex(&record),
        "record_revision_1": hex(&crate::wire::revision_1(&record)),
        "cases": cases,
        "decrypt_cases": decrypt_cases,
        "upload": hex(&upload),
    })
}

mod subgroup;
use subgroup::{replaced, subgroup_cases, torsioned_x25519};
