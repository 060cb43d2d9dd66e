//! Every kinseal operation, and in the same run the primitives each one is
//! built from (the "floor"), measured with the same crates and features
//! kinseal links.
//!
//! `cargo bench --bench kinseal`; a quick smoke run:
//! `cargo bench --bench kinseal -- --quick --noplot`. The full comparison
//! with vodozemac and the report in `docs/PERFORMANCE.md` come from
//! `cargo run --release -p kinseal-bench-peer --bin report` (see the
//! README), which runs this benchmark and reads its results.
//!
//! Benchmark ids are what the report reads (`target/criterion/<group>/<id>`);
//! renaming one means updating the recipe table in
//! `benches/peer/src/bin/report.rs`, which lists, per operation, exactly
//! which primitives and how many make its floor.
//!
//! Every input comes from a seeded generator. Each routine runs once,
//! untimed, before it is measured, and every result of a timed call is
//! checked: if a call fails, the run fails, so no number here is the cost
//! of an error path. A message can be decrypted only once, so decryption
//! benchmarks get fresh state from `iter_batched_ref` (a restored session
//! record or the next message in order), built outside the timed region and
//! dropped outside it too. Outputs are dropped inside the timed region, as
//! `iter` does for encryption: collecting them instead grows the heap by a
//! batch of plaintexts, and the page faults that costs were charged to
//! decryption alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use kinseal::{
    IdentityKeyPair, KemPreKeyPair, Message, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage,
    Session, SessionConfig, SignedPreKeyPair, VerifiedBundle,
};
use rand_core::{Rng, SeedableRng};

/// Seconds since the Unix epoch stamped on generated prekeys.
const NOW: u64 = 1_767_225_600;
/// Plaintext sizes of the ratchet benchmarks: a chat line, a long message,
/// a large one.
const SIZES: [usize; 3] = [100, 1024, 64 * 1024];
/// The plaintext size of setup, new-ratchet-key and ping-pong messages.
const SMALL: usize = 100;
/// Forward jumps measured (messages skipped before the one decrypted).
const JUMPS: [u32; 2] = [1_000, 25_000];

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// Bob's keys, a bundle for them, and Alice's identity.
struct Parties {
    alice: IdentityKeyPair,
    bob: IdentityKeyPair,
    spk: SignedPreKeyPair,
    opk: OneTimePreKeyPair,
    kem: KemPreKeyPair,
    bundle: PreKeyBundle,
    bundle_bytes: Vec<u8>,
    verified: VerifiedBundle,
}

fn parties(r: &mut ChaCha20Rng) -> Parties {
    let bob = IdentityKeyPair::generate(r);
    let spk = SignedPreKeyPair::generate(r, &bob, 1, NOW);
    let opk = OneTimePreKeyPair::generate(r, 2);
    let kem = KemPreKeyPair::generate(r, &bob, 3, false, NOW);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        Some(*opk.public()),
        kem.public().clone(),
    );
    let bundle_bytes = bundle.to_bytes();
    let verified = bundle.clone().verify().unwrap();
    Parties {
        alice: IdentityKeyPair::generate(r),
        bob,
        spk,
        opk,
        kem,
        bundle,
        bundle_bytes,
        verified,
    }
}

/// Bob's side of a first message.
fn respond(p: &Parties, first: &[u8], config: SessionConfig) -> kinseal::InboundSession {
    let m = PreKeyMessage::from_bytes(first).unwrap();
    Session::respond(&p.bob, &p.spk, Some(&p.opk), &p.kem, &m, config).unwrap()
}

/// An established pair: Alice started, Bob replied, Alice read the reply,
/// so both send plain `Message`s; Bob's sending chain is current, and the
/// next message from Alice carries a new ratchet key.
fn established(r: &mut ChaCha20Rng, p: &Parties, config: &SessionConfig) -> (Session, Session) {
    let mut alice = Session::initiate(r, &p.alice, &p.verified, config.clone()).unwrap();
    let first = alice.encrypt(r, b"hello").unwrap();
    let mut bob = respond(p, &first, config.clone()).session;
    let reply = bob.encrypt(r, b"hello back").unwrap();
    alice.decrypt(&reply).unwrap();
    (alice, bob)
}

/// Batches of fresh sessions: small, so a batch of restored sessions (up
/// to a few MB with 25 000 stored keys) stays small.
const FRESH: BatchSize = BatchSize::NumIterations(16);

/// A session's record, for fresh copies of its state.
fn record(s: &Session) -> Vec<u8> {
    s.to_bytes().to_vec()
}

fn restore(bytes: &[u8]) -> Session {
    Session::from_bytes(bytes).unwrap()
}

// ---------------------------------------------------------------------------
// Floor: the primitives, through the crates kinseal uses
// ---------------------------------------------------------------------------

/// Lengths of the hashed and signed inputs, from `docs/PROTOCOL.md` and
/// `src/crypto/labels.rs` (each label includes its NUL byte).
mod len {
    /// Signed prekey signature input: label (25) ‖ suite ‖ id ‖ created_at ‖ public.
    pub(crate) const SIGNED_SPK: usize = 25 + 1 + 4 + 8 + 32;
    /// KEM prekey signature input: label (22) ‖ suite ‖ id ‖ kind ‖ created_at ‖ public.
    pub(crate) const SIGNED_KEM: usize = 22 + 1 + 4 + 1 + 8 + 1184;
    /// Transcript hash input with a one-time prekey (§6.2).
    pub(crate) const TRANSCRIPT: usize =
        22 + 2 + 32 + 32 + 4 + 32 + (1 + 4 + 32) + 4 + 1184 + 32 + 1088;
    /// Session AD input with an empty context (§6.3).
    pub(crate) const SESSION_AD: usize = 22 + 2 + 32 + 32 + 4;
    /// Handshake id input (§6.5).
    pub(crate) const HANDSHAKE_ID: usize = 24 + 1 + 32 + 32 + 4 + 1 + 4 + 4 + 1088;
    /// Handshake HKDF input: F ‖ DH1..DH4 ‖ SS.
    pub(crate) const HANDSHAKE_IKM: usize = 32 * 6;
    /// HANDSHAKE_INFO (37) is followed by the 32-byte transcript hash.
    pub(crate) const HANDSHAKE_INFO: usize = 37;
    pub(crate) const ROOT_INFO: usize = 16;
    pub(crate) const MESSAGE_KEY_INFO: usize = 23;
    /// The AEAD associated data: session AD ‖ header.
    pub(crate) const AEAD_AD: usize = 32 + 46;
}

fn floor(c: &mut Criterion) {
    use chacha20poly1305::aead::AeadInOut;
    use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
    use hkdf::Hkdf;
    use hmac::{Hmac, KeyInit, Mac};
    use libcrux_ml_kem::mlkem768;
    use sha2::{Digest, Sha256};
    use x25519_dalek::{PublicKey, StaticSecret};
    type HmacSha256 = Hmac<Sha256>;

    let mut r = rng(10);
    let mut g = c.benchmark_group("floor");

    // X25519 (x25519-dalek, precomputed tables, as kinseal).
    g.bench_function("x25519_keygen", |b| {
        b.iter(|| {
            let s = StaticSecret::random_from_rng(&mut r);
            PublicKey::from(&s)
        })
    });
    let ours = StaticSecret::random_from_rng(&mut r);
    let theirs = PublicKey::from(&StaticSecret::random_from_rng(&mut r));
    g.bench_function("x25519_dh", |b| {
        b.iter(|| black_box(&ours).diffie_hellman(black_box(&theirs)))
    });

    // Ed25519 (ed25519-dalek): key generation, signing and strict
    // verification of the two signed bodies, and the checks and the map to
    // X25519 that parsing an identity key needs.
    let mut seed = [0u8; 32];
    r.fill_bytes(&mut seed);
    g.bench_function("ed25519_keygen", |b| {
        b.iter(|| SigningKey::from_bytes(black_box(&seed)))
    });
    let signing = SigningKey::from_bytes(&seed);
    g.bench_function("ed25519_scalar_bytes", |b| {
        b.iter(|| black_box(&signing).to_scalar_bytes())
    });
    let spk_body = vec![0x11u8; len::SIGNED_SPK];
    let kem_body = vec![0x22u8; len::SIGNED_KEM];
    g.bench_function("ed25519_sign_spk", |b| {
        b.iter(|| signing.sign(black_box(&spk_body)))
    });
    g.bench_function("ed25519_sign_kem", |b| {
        b.iter(|| signing.sign(black_box(&kem_body)))
    });
    let vk = signing.verifying_key();
    let spk_sig = signing.sign(&spk_body);
    let kem_sig = signing.sign(&kem_body);
    g.bench_function("ed25519_verify_strict_spk", |b| {
        b.iter(|| vk.verify_strict(black_box(&spk_body), &spk_sig).unwrap())
    });
    g.bench_function("ed25519_verify_strict_kem", |b| {
        b.iter(|| vk.verify_strict(black_box(&kem_body), &kem_sig).unwrap())
    });
    let vk_bytes = vk.to_bytes();
    g.bench_function("ed25519_decompress", |b| {
        b.iter(|| VerifyingKey::from_bytes(black_box(&vk_bytes)).unwrap())
    });
    g.bench_function("ed25519_is_weak", |b| b.iter(|| black_box(&vk).is_weak()));
    g.bench_function("ed25519_to_montgomery", |b| {
        b.iter(|| black_box(&vk).to_montgomery())
    });

    // ML-KEM-768 (libcrux-ml-kem, the same features as kinseal).
    let mut kem_seed = [0u8; 64];
    r.fill_bytes(&mut kem_seed);
    g.bench_function("mlkem768_keygen", |b| {
        b.iter(|| mlkem768::generate_key_pair(black_box(kem_seed)))
    });
    let (sk, pk) = mlkem768::generate_key_pair(kem_seed).into_parts();
    let sk_bytes: [u8; 2400] = sk.into();
    let pk_bytes: [u8; 1184] = pk.into();
    g.bench_function("mlkem768_validate_public_key", |b| {
        b.iter(|| {
            mlkem768::validate_public_key(&mlkem768::MlKem768PublicKey::from(black_box(&pk_bytes)))
        })
    });
    let m = [7u8; 32];
    g.bench_function("mlkem768_encapsulate", |b| {
        b.iter(|| {
            let pk = mlkem768::MlKem768PublicKey::from(black_box(&pk_bytes));
            mlkem768::encapsulate(&pk, m)
        })
    });
    let (ct, _) = mlkem768::encapsulate(&mlkem768::MlKem768PublicKey::from(&pk_bytes), m);
    let ct_bytes: [u8; 1088] = ct.into();
    g.bench_function("mlkem768_decapsulate", |b| {
        b.iter(|| {
            let sk = mlkem768::MlKem768PrivateKey::from(black_box(&sk_bytes));
            let ct = mlkem768::MlKem768Ciphertext::from(&ct_bytes);
            mlkem768::decapsulate(&sk, &ct)
        })
    });

    // SHA-256 over the inputs kinseal hashes.
    for (name, n) in [
        ("sha256_transcript", len::TRANSCRIPT),
        ("sha256_session_ad", len::SESSION_AD),
        ("sha256_handshake_id", len::HANDSHAKE_ID),
    ] {
        let data = vec![0x33u8; n];
        g.bench_function(name, |b| b.iter(|| Sha256::digest(black_box(&data))));
    }

    // HKDF and HMAC, called as src/crypto/kdf.rs calls them.
    let ikm = [0x44u8; len::HANDSHAKE_IKM];
    let hs_info = [0x55u8; len::HANDSHAKE_INFO];
    let th = [0x66u8; 32];
    g.bench_function("hkdf_handshake", |b| {
        b.iter(|| {
            let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), black_box(&ikm));
            let mut okm = [0u8; 64];
            hk.expand_multi_info(&[&hs_info, &th], &mut okm).unwrap();
            okm
        })
    });
    let rk = [0x77u8; 32];
    let dh = [0x88u8; 32];
    let root_info = [0x99u8; len::ROOT_INFO];
    g.bench_function("hkdf_root", |b| {
        b.iter(|| {
            let hk = Hkdf::<Sha256>::new(Some(black_box(&rk)), &dh);
            let mut okm = [0u8; 64];
            hk.expand(&root_info, &mut okm).unwrap();
            okm
        })
    });
    let mk_info = [0xaau8; len::MESSAGE_KEY_INFO];
    g.bench_function("hkdf_expand_44", |b| {
        b.iter(|| {
            let hk = Hkdf::<Sha256>::from_prk(black_box(&rk)).unwrap();
            let mut okm = [0u8; 44];
            hk.expand(&mk_info, &mut okm).unwrap();
            okm
        })
    });
    // One chain step: the keyed state computed once, cloned for two MACs.
    g.bench_function("hmac_chain_step", |b| {
        b.iter(|| {
            let keyed = <HmacSha256 as KeyInit>::new_from_slice(black_box(&rk)).unwrap();
            let mut seed = keyed.clone();
            seed.update(&[1]);
            let mut next = keyed;
            next.update(&[2]);
            (seed.finalize().into_bytes(), next.finalize().into_bytes())
        })
    });
    // Passing an index whose key is not kept: one MAC.
    g.bench_function("hmac_chain_advance", |b| {
        b.iter(|| {
            let mut mac = <HmacSha256 as KeyInit>::new_from_slice(black_box(&rk)).unwrap();
            mac.update(&[2]);
            mac.finalize().into_bytes()
        })
    });

    // ChaCha20-Poly1305, 78-byte associated data, detached 16-byte tag,
    // through each implementation kinseal may call.
    let key = [0xbbu8; 32];
    let nonce = [0xccu8; 12];
    let ad = [0xddu8; len::AEAD_AD];
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let plaintext = vec![0x5au8; size];
        let mut body = plaintext.clone();
        g.bench_function(BenchmarkId::new("aead_seal_rustcrypto", size), |b| {
            b.iter(|| {
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(black_box(&key).into());
                cipher
                    .encrypt_inout_detached(&nonce.into(), &ad, body.as_mut_slice().into())
                    .unwrap()
            })
        });
        let mut out = vec![0u8; size];
        g.bench_function(BenchmarkId::new("aead_seal_libcrux", size), |b| {
            b.iter(|| {
                let mut tag = [0u8; 16];
                libcrux_chacha20poly1305::encrypt_detached(
                    black_box(&key),
                    &plaintext,
                    &mut out,
                    &mut tag,
                    &ad,
                    &nonce,
                )
                .unwrap();
                tag
            })
        });
        let mut ct = vec![0u8; size];
        let mut tag = [0u8; 16];
        libcrux_chacha20poly1305::encrypt_detached(
            &key, &plaintext, &mut ct, &mut tag, &ad, &nonce,
        )
        .unwrap();
        g.bench_function(BenchmarkId::new("aead_open_rustcrypto", size), |b| {
            b.iter(|| {
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(black_box(&key).into());
                cipher
                    .decrypt_inout_detached(
                        &nonce.into(),
                        &ad,
                        chacha20poly1305::aead::inout::InOutBuf::new(&ct, &mut out).unwrap(),
                        &tag.into(),
                    )
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("aead_open_libcrux", size), |b| {
            b.iter(|| {
                libcrux_chacha20poly1305::decrypt_detached(
                    black_box(&key),
                    &mut out,
                    &ct,
                    &tag,
                    &ad,
                    &nonce,
                )
                .unwrap()
                .len()
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// kinseal
// ---------------------------------------------------------------------------

fn keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("keys");
    let mut r = rng(1);
    let identity = IdentityKeyPair::generate(&mut r);
    g.bench_function("identity_generate", |b| {
        b.iter(|| IdentityKeyPair::generate(&mut r))
    });
    g.bench_function("signed_prekey_generate", |b| {
        b.iter(|| SignedPreKeyPair::generate(&mut r, &identity, 1, NOW))
    });
    g.bench_function("one_time_prekey_generate", |b| {
        b.iter(|| OneTimePreKeyPair::generate(&mut r, 1))
    });
    g.bench_function("kem_prekey_generate", |b| {
        b.iter(|| KemPreKeyPair::generate(&mut r, &identity, 1, false, NOW))
    });
    g.bench_function("one_time_prekey_batch_100", |b| {
        b.iter(|| OneTimePreKeyPair::generate_batch(&mut r, 1, 100).unwrap())
    });
    g.sample_size(10);
    g.bench_function("kem_prekey_batch_100", |b| {
        b.iter(|| KemPreKeyPair::generate_batch(&mut r, &identity, 1, 100, NOW).unwrap())
    });
    g.finish();
}

fn bundle_and_parse(c: &mut Criterion, p: &Parties) {
    let mut r = rng(2);
    let mut g = c.benchmark_group("bundle");
    // Two strict Ed25519 verifications of a bundle already decoded.
    g.bench_function("verify", |b| {
        b.iter_batched(
            || p.bundle.clone(),
            |bundle| bundle.verify().unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // Decoding each wire type (keys validated; bundle signatures are
    // `bundle/verify`; the session record is `record/deserialize`).
    let mut alice =
        Session::initiate(&mut r, &p.alice, &p.verified, SessionConfig::default()).unwrap();
    let first = alice.encrypt(&mut r, &[0x5a; SMALL]).unwrap();
    let mut bob = respond(p, &first, SessionConfig::default()).session;
    let reply = bob.encrypt(&mut r, &[0x5a; SMALL]).unwrap();
    let mut g = c.benchmark_group("parse");
    g.bench_function("bundle", |b| {
        b.iter(|| PreKeyBundle::from_bytes(black_box(&p.bundle_bytes)).unwrap())
    });
    g.bench_function("prekey_message", |b| {
        b.iter(|| PreKeyMessage::from_bytes(black_box(&first)).unwrap())
    });
    g.bench_function("message", |b| {
        b.iter(|| Message::from_bytes(black_box(&reply)).unwrap())
    });
    g.finish();
}

fn handshake(c: &mut Criterion, p: &Parties) {
    let mut r = rng(3);
    let plaintext = [0x5au8; SMALL];
    let mut g = c.benchmark_group("handshake");
    // From a decoded bundle: verify both signatures, derive the session,
    // encrypt the first (100-byte) message into a PreKeyMessage.
    g.bench_function("initiate", |b| {
        b.iter_batched(
            || p.bundle.clone(),
            |bundle| {
                let verified = bundle.verify().unwrap();
                let mut s =
                    Session::initiate(&mut r, &p.alice, &verified, SessionConfig::default())
                        .unwrap();
                let first = s.encrypt(&mut r, &plaintext).unwrap();
                (s, first)
            },
            BatchSize::SmallInput,
        )
    });
    // From the PreKeyMessage's bytes: decode, derive, decrypt the first
    // message. `respond` consumes nothing (deleting the one-time prekeys
    // is the caller's job), so the same message can be answered each time.
    let first = Session::initiate(&mut r, &p.alice, &p.verified, SessionConfig::default())
        .unwrap()
        .encrypt(&mut r, &plaintext)
        .unwrap();
    g.bench_function("respond", |b| {
        b.iter(|| {
            let m = PreKeyMessage::from_bytes(black_box(&first)).unwrap();
            Session::respond(
                &p.bob,
                &p.spk,
                Some(&p.opk),
                &p.kem,
                &m,
                SessionConfig::default(),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn chain(c: &mut Criterion, p: &Parties) {
    let mut r = rng(4);
    let config = SessionConfig::default();
    // Two pairs: the encrypt benchmark runs its sender far ahead of any
    // receiver, so decryption gets a pair of its own that stays in step.
    let (mut sender, _) = established(&mut r, p, &config);
    let (mut alice, mut bob) = established(&mut r, p, &config);
    // Start both sending chains, so every timed call is a same-chain step.
    sender.encrypt(&mut r, b"start").unwrap();
    bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
        .unwrap();
    let mut g = c.benchmark_group("chain");
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encrypt", size), &plaintext, |b, pt| {
            b.iter(|| sender.encrypt(&mut r, pt).unwrap())
        });
        // The untimed setup encrypts the next message, in order; only the
        // decryption is timed.
        g.bench_with_input(BenchmarkId::new("decrypt", size), &plaintext, |b, pt| {
            b.iter_batched_ref(
                || alice.encrypt(&mut r, pt).unwrap(),
                |m| drop(bob.decrypt(m).unwrap()),
                in_cache(size),
            )
        });
    }
    g.finish();
    assert_eq!(
        bob.stored_skipped_keys(),
        0,
        "the receiver fell out of step"
    );
}

fn ratchet(c: &mut Criterion, p: &Parties) {
    let mut r = rng(5);
    let config = SessionConfig::default();
    let plaintext = [0x5au8; SMALL];
    let (mut alice, mut bob) = established(&mut r, p, &config);
    let mut g = c.benchmark_group("ratchet");

    // Alice has read Bob's reply, so her next message starts a new sending
    // chain: a key generation, a DH and a root step, then the chain step.
    let alice_ready = record(&alice);
    let new_key_message = alice.encrypt(&mut r, &plaintext).unwrap();
    g.bench_function("new_key_encrypt", |b| {
        b.iter_batched_ref(
            || restore(&alice_ready),
            |s| drop(s.encrypt(&mut r, &plaintext).unwrap()),
            FRESH,
        )
    });
    // Bob receives that message: a DH and a root step for the new chain.
    let bob_ready = record(&bob);
    g.bench_function("new_key_decrypt", |b| {
        b.iter_batched_ref(
            || restore(&bob_ready),
            |s| drop(s.decrypt(&new_key_message).unwrap()),
            FRESH,
        )
    });
    bob.decrypt(&new_key_message).unwrap();

    // Alice → Bob, Bob → Alice: each direction change is a DH ratchet step
    // on both sides.
    let mut round = |r: &mut ChaCha20Rng| {
        bob.decrypt(&alice.encrypt(r, &plaintext).unwrap()).unwrap();
        alice.decrypt(&bob.encrypt(r, &plaintext).unwrap()).unwrap()
    };
    round(&mut r);
    g.bench_function("ping_pong", |b| b.iter(|| round(&mut r)));
    g.finish();
}

/// Decrypting a message `jump` indices ahead on the current chain, with a
/// configuration that keeps every skipped key (so the work is the same for
/// each skipped index), then a late message out of the store.
fn jumps(c: &mut Criterion, p: &Parties) {
    let mut r = rng(6);
    let config = SessionConfig::default()
        .with_max_forward_jump(25_000)
        .unwrap()
        .with_max_skipped_keys(25_000)
        .unwrap();
    let plaintext = [0x5au8; SMALL];
    let mut g = c.benchmark_group("jump");
    g.sample_size(10);
    let mut late = None;
    for jump in JUMPS {
        let (mut alice, mut bob) = established(&mut r, p, &config);
        bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
            .unwrap();
        let bob_ready = record(&bob);
        let mut skipped = Vec::new();
        for _ in 0..jump {
            skipped.push(alice.encrypt(&mut r, &plaintext).unwrap());
        }
        let target = alice.encrypt(&mut r, &plaintext).unwrap();
        g.throughput(Throughput::Elements(u64::from(jump)));
        g.bench_function(BenchmarkId::new("decrypt", jump), |b| {
            b.iter_batched_ref(
                || restore(&bob_ready),
                |s| drop(s.decrypt(&target).unwrap()),
                FRESH,
            )
        });
        if late.is_none() {
            bob.decrypt(&target).unwrap();
            assert_eq!(bob.stored_skipped_keys(), jump as usize);
            // A message from the middle of the gap, out of the store.
            late = Some((record(&bob), skipped.swap_remove(skipped.len() / 2)));
        }
    }
    g.finish();

    let (bob_after, message) = late.unwrap();
    let mut g = c.benchmark_group("skipped");
    g.bench_function("decrypt_late", |b| {
        b.iter_batched_ref(
            || restore(&bob_after),
            |s| drop(s.decrypt(&message).unwrap()),
            FRESH,
        )
    });
    g.finish();
}

fn persistence(c: &mut Criterion, p: &Parties) {
    let mut r = rng(7);
    let (mut alice, mut bob) = established(&mut r, p, &SessionConfig::default());
    // A session with some history: a few turns and two messages still in
    // flight, so the record holds old chains and skipped keys.
    for _ in 0..3 {
        bob.decrypt(&alice.encrypt(&mut r, b"ping").unwrap())
            .unwrap();
        alice
            .decrypt(&bob.encrypt(&mut r, b"pong").unwrap())
            .unwrap();
    }
    let _late_1 = bob.encrypt(&mut r, b"late 1").unwrap();
    let _late_2 = bob.encrypt(&mut r, b"late 2").unwrap();
    alice
        .decrypt(&bob.encrypt(&mut r, b"on time").unwrap())
        .unwrap();
    let bytes = record(&alice);

    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("serialize", |b| b.iter(|| black_box(&alice).to_bytes()));
    g.bench_function("deserialize", |b| {
        b.iter(|| Session::from_bytes(black_box(&bytes)).unwrap())
    });
    g.finish();
}

/// Batches of messages to decrypt small enough to stay in cache, as the
/// floor's buffers and the encryption benchmarks' plaintexts do (with
/// criterion's default batches of a tenth of the iterations, 100 000
/// messages waited in memory and every decryption started with cache
/// misses on its input).
fn in_cache(size: usize) -> BatchSize {
    BatchSize::NumIterations(if size >= 64 * 1024 { 4 } else { 64 })
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let p = parties(&mut rng(0));
    floor(&mut c);
    keys(&mut c);
    bundle_and_parse(&mut c, &p);
    handshake(&mut c, &p);
    chain(&mut c, &p);
    ratchet(&mut c, &p);
    jumps(&mut c, &p);
    persistence(&mut c, &p);
    c.final_summary();
}
