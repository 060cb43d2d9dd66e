//! Faster primitives, measured before adopted (issue 19): X25519 and
//! Ed25519 from `aws-lc-rs` (AWS-LC, with formally verified assembly for
//! both curves) against the dalek crates kinseal uses, each pair measured
//! in alternation in one run; ed25519-dalek's batch verification of 100
//! signatures against 100 strict verifications (the server's upload
//! path); and kinseal's initiator setup in the same run, with what it
//! would cost with the faster primitives put in.
//!
//! `cargo bench -p kinseal-bench-peer --bench backends`. Prints a table;
//! nothing asserts on a timing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../support/paired.rs"]
mod paired;

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey as SigKey};
use chacha20::ChaCha20Rng;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use kinseal::{
    IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle, Session, SessionConfig,
    SignedPreKeyPair,
};
use paired::{paired, paired_budget};
use rand_core::{Rng, SeedableRng};
use x25519_dalek::{PublicKey, StaticSecret};

const NOW: u64 = 1_767_225_600;
/// The server's upload: signatures verified at once.
const BATCH: usize = 100;

fn timed(n: u32, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed()
}

fn row(name: &str, (ratio, a, b): (f64, f64, f64), what: (&str, &str)) -> f64 {
    println!(
        "| {name} | {:.2} µs ({}) | {:.2} µs ({}) | {ratio:.2} |",
        a / 1e3,
        what.0,
        b / 1e3,
        what.1
    );
    a - b
}

fn main() {
    let budget = paired_budget() * 2;
    let mut r = ChaCha20Rng::from_seed([7; 32]);
    let mut seed = [0u8; 32];
    r.fill_bytes(&mut seed);
    println!("| primitive | dalek | aws-lc-rs | dalek / aws-lc |");
    println!("|---|---:|---:|---:|");

    // X25519: a key pair, and a Diffie-Hellman with a fixed peer.
    let keygen = paired(
        |n| {
            timed(n, || {
                let s = StaticSecret::random_from_rng(&mut r);
                black_box(PublicKey::from(&s));
            })
        },
        |n| {
            timed(n, || {
                let k = PrivateKey::generate(&X25519).unwrap();
                black_box(k.compute_public_key().unwrap());
            })
        },
        budget,
    );
    let keygen_saved = row("X25519 key pair", keygen, ("x25519-dalek", "aws-lc-rs"));
    let ours = StaticSecret::from(seed);
    let peer_secret = StaticSecret::from([9u8; 32]);
    let peer = PublicKey::from(&peer_secret);
    let aws_ours = PrivateKey::from_private_key(&X25519, &seed).unwrap();
    let aws_peer = UnparsedPublicKey::new(&X25519, *peer.as_bytes());
    // The same shared secret from both.
    let mut shared = [0u8; 32];
    agreement::agree(&aws_ours, aws_peer, (), |k| {
        shared.copy_from_slice(k);
        Ok(())
    })
    .unwrap();
    assert_eq!(&shared, ours.diffie_hellman(&peer).as_bytes());
    let dh = paired(
        |n| timed(n, || drop(black_box(ours.diffie_hellman(black_box(&peer))))),
        |n| {
            timed(n, || {
                agreement::agree(&aws_ours, aws_peer, (), |k| {
                    black_box(k);
                    Ok(())
                })
                .unwrap()
            })
        },
        budget,
    );
    let dh_saved = row("X25519 DH", dh, ("x25519-dalek", "aws-lc-rs"));

    // Ed25519 over a signed prekey's 70-byte body.
    let body = [0x5au8; 70];
    let signing = SigningKey::from_bytes(&seed);
    let aws_pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let sig = signing.sign(&body);
    assert_eq!(aws_pair.sign(&body).as_ref(), sig.to_bytes());
    let sign = paired(
        |n| {
            timed(n, || {
                black_box(signing.sign(black_box(&body)));
            })
        },
        |n| {
            timed(n, || {
                black_box(aws_pair.sign(black_box(&body)));
            })
        },
        budget,
    );
    row("Ed25519 sign (70 B)", sign, ("ed25519-dalek", "aws-lc-rs"));
    let verifying: VerifyingKey = signing.verifying_key();
    let aws_key = SigKey::new(&ED25519, aws_pair.public_key().as_ref().to_vec());
    let verify = paired(
        |n| timed(n, || verifying.verify_strict(&body, &sig).unwrap()),
        |n| timed(n, || aws_key.verify(&body, &sig.to_bytes()).unwrap()),
        budget,
    );
    let verify_saved = row(
        "Ed25519 verify (70 B)",
        verify,
        ("ed25519-dalek `verify_strict`", "aws-lc-rs"),
    );

    // The upload path: 100 signatures, one by one (strict) or at once.
    let keys: Vec<SigningKey> = (0..BATCH)
        .map(|_| {
            let mut s = [0u8; 32];
            r.fill_bytes(&mut s);
            SigningKey::from_bytes(&s)
        })
        .collect();
    let messages: Vec<Vec<u8>> = (0..BATCH).map(|i| vec![i as u8; 70]).collect();
    let sigs: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
    let vks: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let batch = paired(
        |n| {
            timed(n, || {
                for ((k, m), s) in vks.iter().zip(&messages).zip(&sigs) {
                    k.verify_strict(m, s).unwrap();
                }
            })
        },
        |n| {
            timed(n, || {
                ed25519_dalek::verify_batch(&refs, &sigs, &vks).unwrap()
            })
        },
        budget,
    );
    println!(
        "| 100 Ed25519 verifications | {:.1} µs (one by one, strict) | {:.1} µs (`verify_batch`) | {:.2} |",
        batch.1 / 1e3,
        batch.2 / 1e3,
        batch.0
    );

    // kinseal's initiator setup in the same run (bundle verification, base
    // key pair, four DHs, ML-KEM encapsulation, the first message).
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
    let mut setup_ns = Vec::new();
    let start = Instant::now();
    while setup_ns.len() < 20 || start.elapsed() < budget {
        let b = bundle.clone();
        let t = Instant::now();
        let verified = b.verify().unwrap();
        let mut s = Session::initiate(&mut r, &alice, &verified, SessionConfig::default()).unwrap();
        black_box(s.encrypt(&mut r, &[0x42; 100]).unwrap());
        setup_ns.push(t.elapsed().as_nanos() as f64);
    }
    setup_ns.sort_by(f64::total_cmp);
    let setup = setup_ns[setup_ns.len() / 2];
    let saved = keygen_saved + 4.0 * dh_saved + 2.0 * verify_saved;
    println!(
        "\ninitiator setup + first 100 B message: {:.1} µs; with aws-lc-rs's X25519 and \
         Ed25519 verification put in (1 key pair, 4 DHs, 2 verifications): {:.1} µs, {:.2}x faster",
        setup / 1e3,
        (setup - saved) / 1e3,
        setup / (setup - saved)
    );
}
