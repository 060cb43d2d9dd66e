//! `identity.json` and `handshake.json`.

use chacha20::ChaCha20Rng;
use rand_core::Rng;
use serde_json::{Value, json};

use super::{hex, seeded};
use crate::crypto::{dh, kdf, kem, labels};
use crate::keys::{
    IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle, SignedPreKeyPair,
};
use crate::message::PreKeyMessage;
use crate::ratchet::OurSide;
use crate::session::{Padding, Session, SessionConfig};
use crate::wire::SUITE_V1;
use crate::wire::{PROTOCOL_VERSION, TAG_LEN};

pub(super) fn identity_file() -> Value {
    let mut rng = seeded("identity");
    let cases: Vec<Value> = (0..4)
        .map(|_| {
            let id = IdentityKeyPair::generate(&mut rng);
            let x_private = id.dh_secret().to_bytes();
            let x_public = id.public_key().x25519_public();
            assert_eq!(&dh::public_of(id.dh_secret()), x_public);
            json!({
                "ed25519_secret": hex(&id.to_secret_bytes()),
                "identity_public": hex(id.public_key().as_bytes()),
                "x25519_private": hex(&x_private),
                "x25519_public": hex(x_public),
            })
        })
        .collect();
    json!({
        "description": "Identity keys: the Ed25519 secret, the public key, and the X25519 form \
                        (PROTOCOL.md 3.1). x25519_private = SHA-512(secret)[0..32], unclamped.",
        "cases": cases,
    })
}

/// A complete handshake, with every private input, for the conversation
/// vectors to continue from.
pub(super) struct Setup {
    pub(super) alice: Session,
    pub(super) bob: Session,
    pub(super) json: Value,
    pub(super) responder: Responder,
}

/// The responder's long-term and prekey material.
pub(super) struct Responder {
    pub(super) identity: IdentityKeyPair,
    pub(super) signed_prekey: SignedPreKeyPair,
    pub(super) one_time_prekey: Option<OneTimePreKeyPair>,
    pub(super) kem_prekey: KemPreKeyPair,
}

/// Options of one handshake case.
pub(super) struct Case {
    pub(super) description: &'static str,
    pub(super) one_time_prekey: bool,
    pub(super) last_resort: bool,
    pub(super) context: &'static [u8],
    /// Both sides' configuration; the responder's padding may differ.
    pub(super) config: SessionConfig,
    /// The responder's padding, if not the configuration's.
    pub(super) responder_padding: Option<Padding>,
}

impl Case {
    pub(super) fn new(description: &'static str, one_time_prekey: bool, last_resort: bool) -> Self {
        Case {
            description,
            one_time_prekey,
            last_resort,
            context: b"",
            config: SessionConfig::default(),
            responder_padding: None,
        }
    }
}

pub(super) fn handshake_file() -> Value {
    let mut rng = seeded("handshake");
    let cases = [
        Case::new("one-time EC prekey, one-time KEM prekey", true, false),
        Case::new("no one-time EC prekey, one-time KEM prekey", false, false),
        Case::new("one-time EC prekey, last-resort KEM prekey", true, true),
        Case::new("no one-time EC prekey, last-resort KEM prekey", false, true),
        Case {
            context: b"chirp.example/alice/1 parley.example/bob/3",
            ..Case::new("with a session context", true, false)
        },
    ];
    let cases: Vec<Value> = cases
        .iter()
        .map(|c| run(&mut rng, c, b"Hello Bob, this is the first message.").json)
        .collect();
    json!({
        "description": "Session setup (PROTOCOL.md 6): every private input, every DH output, \
                        the KEM secret, the transcript hash, the derived keys, the session AD, \
                        the handshake id, and the first PreKeyMessage with its message key.",
        "cases": cases,
    })
}

/// A padding policy as the vectors write it.
pub(super) fn padding_json(p: Padding) -> Value {
    json!({"block": p.block(), "padme": p.padme()})
}

/// Runs one handshake through the library and recomputes it by hand.
pub(super) fn run(rng: &mut ChaCha20Rng, case: &Case, first: &[u8]) -> Setup {
    let alice_id = IdentityKeyPair::generate(rng);
    let bob_id = IdentityKeyPair::generate(rng);
    let ids = [rng.next_u32(), rng.next_u32(), rng.next_u32()];
    let spk = SignedPreKeyPair::generate(rng, &bob_id, ids[0], 1_760_000_000);
    let opk = OneTimePreKeyPair::generate(rng, ids[1]);
    let kem_pre = KemPreKeyPair::generate(rng, &bob_id, ids[2], case.last_resort, 1_760_000_100);
    let bundle = PreKeyBundle::new(
        bob_id.public_key().clone(),
        spk.public().clone(),
        case.one_time_prekey.then(|| *opk.public()),
        kem_pre.public().clone(),
    );
    let bundle_bytes = bundle.to_bytes();
    let verified = PreKeyBundle::from_bytes(&bundle_bytes)
        .unwrap()
        .verify()
        .unwrap();

    // The initiator draws 32 bytes for its base key, then 32 for ML-KEM's m.
    let mut probe = super::fork(rng);
    let mut m = [0u8; 32];
    probe.fill_bytes(&mut m);
    probe.fill_bytes(&mut m);

    let config = case.config.clone().with_context(case.context).unwrap();
    let responder_padding = case.responder_padding.unwrap_or(config.padding());
    let mut alice = Session::initiate(rng, &alice_id, &verified, config.clone()).unwrap();
    let OurSide::Sending { ours: base, chain } = alice.ratchet().side() else {
        panic!("an initiator sends first");
    };
    let base_private = base.secret().to_bytes();
    let base_public = *base.public().as_bytes();
    let base_secret = x25519_dalek::StaticSecret::from(base_private);
    let chain_key_0 = *chain.chain().bytes();
    let header_key_0 = *chain.header_key().bytes();
    let next_header_key_0 = *alice.ratchet().next_header_key().bytes();
    let root_key_0 = *alice.ratchet().root().bytes();
    let prekey_message = alice.encrypt(rng, first).unwrap();
    let ct = Box::new(*alice.pending_kem_ciphertext().unwrap());

    // By hand, from the spec.
    let ik_a = alice_id.public_key();
    let ik_b = bob_id.public_key();
    let dh1 = dh::agree(alice_id.dh_secret(), spk.public().public_key()).unwrap();
    let dh2 = dh::agree(&base_secret, ik_b.x25519_public()).unwrap();
    let dh3 = dh::agree(&base_secret, spk.public().public_key()).unwrap();
    let dh4 = case
        .one_time_prekey
        .then(|| dh::agree(&base_secret, opk.public().public_key()).unwrap());
    let (ct_again, ss) = kem::encapsulate_deterministic(kem_pre.public().public_key(), &m);
    assert_eq!(ct_again, ct, "ML-KEM randomness draw order changed");
    assert_eq!(*kem::decapsulate(kem_pre.secret(), &ct), *ss);

    let mut th_input = Vec::new();
    for part in [
        labels::TRANSCRIPT,
        &[PROTOCOL_VERSION, SUITE_V1],
        ik_a.as_bytes(),
        ik_b.as_bytes(),
        &spk.id().to_be_bytes(),
        spk.public().public_key(),
    ] {
        th_input.extend_from_slice(part);
    }
    if case.one_time_prekey {
        th_input.push(1);
        th_input.extend_from_slice(&opk.id().to_be_bytes());
        th_input.extend_from_slice(opk.public().public_key());
    } else {
        th_input.push(0);
    }
    th_input.extend_from_slice(&kem_pre.id().to_be_bytes());
    th_input.extend_from_slice(&kem_pre.public().public_key()[..]);
    th_input.extend_from_slice(&base_public);
    th_input.extend_from_slice(&ct[..]);
    let th = kdf::sha256(&[&th_input]);

    let mut ikm = vec![0xFF; 32];
    for d in [Some(&dh1), Some(&dh2), Some(&dh3), dh4.as_ref()]
        .into_iter()
        .flatten()
    {
        ikm.extend_from_slice(&d[..]);
    }
    ikm.extend_from_slice(&ss[..]);
    let (rk, ck, hk_a, hk_b) = kdf::handshake(&ikm, &th).into_parts();
    assert_eq!(*rk, root_key_0);
    assert_eq!(*ck, chain_key_0);
    assert_eq!(*hk_a, header_key_0);
    assert_eq!(*hk_b, next_header_key_0);

    let ctx_len = (case.context.len() as u32).to_be_bytes();
    let ad = kdf::sha256(&[
        labels::SESSION_AD,
        &[PROTOCOL_VERSION, SUITE_V1],
        ik_a.as_bytes(),
        ik_b.as_bytes(),
        &ctx_len,
        case.context,
    ]);
    assert_eq!(&ad, alice.session_ad());

    let (seed, _) = kdf::chain_step(&ck);
    let message_key = kdf::message_key(&seed).to_okm();

    let parsed = PreKeyMessage::from_bytes(&prekey_message).unwrap();
    let inbound = Session::respond(
        &bob_id,
        &spk,
        case.one_time_prekey.then_some(&opk),
        &kem_pre,
        &parsed,
        config.clone().with_padding(responder_padding),
    )
    .unwrap();
    assert_eq!(inbound.plaintext, first);
    assert_eq!(inbound.session.session_ad(), &ad);
    let opk_id = if case.one_time_prekey { opk.id() } else { 0 };
    let hid = kdf::sha256(&[
        labels::HANDSHAKE_ID,
        &[SUITE_V1],
        ik_a.as_bytes(),
        &base_public,
        &spk.id().to_be_bytes(),
        &[u8::from(case.one_time_prekey)],
        &opk_id.to_be_bytes(),
        &kem_pre.id().to_be_bytes(),
        &ct[..],
    ]);
    assert_eq!(inbound.handshake_id.as_bytes(), &hid);
    assert!(prekey_message.len() > TAG_LEN);

    let spk_body = [
        &[SUITE_V1][..],
        &spk.id().to_be_bytes(),
        &spk.public().created_at().to_be_bytes(),
        spk.public().public_key(),
    ]
    .concat();
    let kem_body = [
        &[SUITE_V1][..],
        &kem_pre.id().to_be_bytes(),
        &[u8::from(case.last_resort)],
        &kem_pre.public().created_at().to_be_bytes(),
        &kem_pre.public().public_key()[..],
    ]
    .concat();

    let json = json!({
        "description": case.description,
        "context": hex(case.context),
        "padding": {
            "initiator": padding_json(config.padding()),
            "responder": padding_json(responder_padding),
        },
        "initiator": {
            "identity_secret": hex(&alice_id.to_secret_bytes()),
            "identity_public": hex(ik_a.as_bytes()),
            "base_private": hex(&base_private),
            "base_public": hex(&base_public),
            "kem_encaps_m": hex(&m),
        },
        "responder": {
            "identity_secret": hex(&bob_id.to_secret_bytes()),
            "identity_public": hex(ik_b.as_bytes()),
            "signed_prekey": {
                "id": spk.id(),
                "created_at": spk.public().created_at(),
                "private": hex(&spk.secret().to_bytes()),
                "public": hex(spk.public().public_key()),
                "signed_body": hex(&spk_body),
                "signature": hex(spk.public().signature()),
            },
            "one_time_prekey": if case.one_time_prekey {
                json!({
                    "id": opk.id(),
                    "private": hex(&opk.secret().to_bytes()),
                    "public": hex(opk.public().public_key()),
                })
            } else {
                Value::Null
            },
            "kem_prekey": {
                "id": kem_pre.id(),
                "last_resort": case.last_resort,
                "created_at": kem_pre.public().created_at(),
                "seed": hex(kem_pre.secret().seed()),
                "public": hex(&kem_pre.public().public_key()[..]),
                "signed_body": hex(&kem_body),
                "signature": hex(kem_pre.public().signature()),
            },
        },
        "bundle": hex(&bundle_bytes),
        "dh1": hex(&dh1[..]),
        "dh2": hex(&dh2[..]),
        "dh3": hex(&dh3[..]),
        "dh4": dh4.map_or(Value::Null, |d| Value::String(hex(&d[..]))),
        "kem_ciphertext": hex(&ct[..]),
        "kem_shared_secret": hex(&ss[..]),
        "transcript_hash": hex(&th),
        "root_key": hex(&rk[..]),
        "chain_key": hex(&ck[..]),
        "initiator_header_key": hex(&hk_a[..]),
        "responder_header_key": hex(&hk_b[..]),
        "session_ad": hex(&ad),
        "handshake_id": hex(&hid),
        "first_plaintext": hex(first),
        "first_message_key_seed": hex(&seed[..]),
        "first_message_key": hex(&message_key[..32]),
        "first_message_nonce": hex(&message_key[32..]),
        "first_padded_length": config.padding().padded_len(first.len()),
        "prekey_message": hex(&prekey_message),
    });
    Setup {
        alice,
        bob: inbound.session,
        json,
        responder: Responder {
            identity: bob_id,
            signed_prekey: spk,
            one_time_prekey: case.one_time_prekey.then_some(opk),
            kem_prekey: kem_pre,
        },
    }
}
