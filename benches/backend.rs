//! The `aws-lc` feature against the default backend (issue 19): the
//! handshake on both sides, signing and verification, each timed with
//! whichever backend this build has. Run it once per backend, one after
//! the other:
//!
//!     cargo bench --bench backend
//!     cargo bench --bench backend --features aws-lc
//!
//! and compare the medians (criterion also prints the change from the
//! previous run). The last benchmark is the price of making ed25519-dalek's
//! batch verification exactly as strict as `verify_strict` (docs/
//! PERFORMANCE.md, "Faster primitives"): a prime-order-subgroup check of
//! one signature's `R`. Nothing asserts on a timing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, Criterion};
use curve25519_dalek::edwards::CompressedEdwardsY;
use kinseal::{
    IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, Session,
    SessionConfig, SignedPreKeyPair,
};
use rand_core::SeedableRng;

const NOW: u64 = 1_767_225_600;

fn main() {
    let backend = if cfg!(feature = "aws-lc") {
        "aws-lc"
    } else {
        "dalek"
    };
    println!("backend: {backend}");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut r = ChaCha20Rng::from_seed([19; 32]);
    let bob = IdentityKeyPair::generate(&mut r);
    let spk = SignedPreKeyPair::generate(&mut r, &bob, 1, NOW);
    let opk = OneTimePreKeyPair::generate(&mut r, 2);
    let kem = KemPreKeyPair::generate(&mut r, &bob, 3, false, NOW);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        Some(*opk.public()),
        kem.public().clone(),
    );
    let alice = IdentityKeyPair::generate(&mut r);
    let plaintext = [0x42u8; 100];

    let mut g = c.benchmark_group("backend");
    // Bundle verification (two signatures), the base key pair, four DHs,
    // ML-KEM encapsulation and the first 100-byte message.
    g.bench_function("initiate_and_first_message", |b| {
        b.iter_batched(
            || bundle.clone(),
            |bundle| {
                let verified = bundle.verify().unwrap();
                let mut s =
                    Session::initiate(&mut r, &alice, &verified, SessionConfig::default()).unwrap();
                let first = s.encrypt(&mut r, &plaintext).unwrap();
                (s, first)
            },
            BatchSize::SmallInput,
        )
    });
    let first = Session::initiate(
        &mut r,
        &alice,
        &bundle.clone().verify().unwrap(),
        SessionConfig::default(),
    )
    .unwrap()
    .encrypt(&mut r, &plaintext)
    .unwrap();
    // Decoding the first message, four DHs, ML-KEM decapsulation, the
    // first decryption.
    g.bench_function("respond", |b| {
        b.iter(|| {
            let m = PreKeyMessage::from_bytes(black_box(&first)).unwrap();
            Session::respond(&bob, &spk, Some(&opk), &kem, &m, SessionConfig::default()).unwrap()
        })
    });
    // An X25519 key pair and one Ed25519 signature.
    g.bench_function("signed_prekey_generate", |b| {
        b.iter(|| SignedPreKeyPair::generate(&mut r, &bob, 9, NOW))
    });
    // Two Ed25519 verifications (and the bundle's key checks).
    g.bench_function("bundle_verify", |b| {
        b.iter_batched(
            || bundle.clone(),
            |bundle| bundle.verify().unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // Batch verification made strict: the per-signature check it would
    // need, that R is in the prime-order subgroup (decompression and
    // [ℓ]R = O), whichever backend.
    let r_bytes = CompressedEdwardsY(bob.public_key().to_bytes());
    c.bench_function("strict_batch/r_subgroup_check", |b| {
        b.iter(|| {
            black_box(&r_bytes)
                .decompress()
                .is_some_and(|p| p.is_torsion_free())
        })
    });
    c.final_summary();
}
