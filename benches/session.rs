//! Benchmarks of kinseal's public API: key generation, bundle
//! verification, the two halves of session setup, ratchet messages of a few
//! sizes, a ping-pong round, and session persistence.
//!
//! `cargo bench --bench session`, or for a quick look
//! `cargo bench --bench session -- --quick --noplot`.
//!
//! Every input comes from a seeded generator, so runs are comparable. Each
//! routine runs once, untimed, before it is measured, and every result of a
//! timed call is checked too: if any call fails, the run fails, so no
//! number here is ever the cost of an error path.

use std::error::Error as StdError;
use std::hint::black_box;

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use kinseal::{
    IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, Result,
    Session, SessionConfig, SignedPreKeyPair, VerifiedBundle,
};
use rand_core::SeedableRng;

/// Seconds since the Unix epoch stamped on generated prekeys.
const NOW: u64 = 1_767_225_600;
/// Plaintext sizes for the ratchet benchmarks: a chat line, a long message,
/// a large one.
const SIZES: [usize; 3] = [100, 1024, 64 * 1024];

type BenchResult<T = ()> = std::result::Result<T, Box<dyn StdError>>;

/// Counts failed calls inside timed loops; checked after each benchmark.
#[derive(Default)]
struct Failures(usize);

impl Failures {
    fn note<T>(&mut self, result: Result<T>) -> Option<T> {
        if result.is_err() {
            self.0 += 1;
        }
        result.ok()
    }

    fn check(&self, what: &str) -> BenchResult {
        match self.0 {
            0 => Ok(()),
            n => Err(format!("{what}: {n} timed calls failed").into()),
        }
    }
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

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

fn parties(rng: &mut ChaCha20Rng) -> Result<Parties> {
    let bob = IdentityKeyPair::generate(rng);
    let spk = SignedPreKeyPair::generate(rng, &bob, 1, NOW);
    let opk = OneTimePreKeyPair::generate(rng, 2);
    let kem = KemPreKeyPair::generate(rng, &bob, 3, false, NOW);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        Some(*opk.public()),
        kem.public().clone(),
    );
    let bundle_bytes = bundle.to_bytes();
    let verified = bundle.clone().verify()?;
    Ok(Parties {
        alice: IdentityKeyPair::generate(rng),
        bob,
        spk,
        opk,
        kem,
        bundle,
        bundle_bytes,
        verified,
    })
}

/// An established pair of sessions: Alice started, Bob replied, Alice has
/// read the reply, so both send plain `Message`s.
fn established(rng: &mut ChaCha20Rng, p: &Parties) -> Result<(Session, Session)> {
    let mut alice = Session::initiate(rng, &p.alice, &p.verified, SessionConfig::default())?;
    let first = alice.encrypt(rng, b"hello")?;
    let inbound = Session::respond(
        &p.bob,
        &p.spk,
        Some(&p.opk),
        &p.kem,
        &PreKeyMessage::from_bytes(&first)?,
        SessionConfig::default(),
    )?;
    let mut bob = inbound.session;
    let reply = bob.encrypt(rng, b"hello back")?;
    alice.decrypt(&reply)?;
    Ok((alice, bob))
}

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
    g.finish();
}

fn bundle(c: &mut Criterion, p: &Parties) -> BenchResult {
    // Sanity: both routines succeed on this input.
    p.bundle.clone().verify()?;
    PreKeyBundle::from_bytes(&p.bundle_bytes)?.verify()?;

    let mut f = Failures::default();
    let mut g = c.benchmark_group("bundle");
    // Two Ed25519 signature checks.
    g.bench_function("verify", |b| {
        b.iter_batched(
            || p.bundle.clone(),
            |bundle| f.note(bundle.verify()),
            BatchSize::SmallInput,
        )
    });
    // What an initiator does with bytes from a server: decode, validate
    // every key (including the ML-KEM encapsulation-key check), verify.
    g.bench_function("decode_and_verify", |b| {
        b.iter(|| {
            f.note(
                PreKeyBundle::from_bytes(black_box(&p.bundle_bytes)).and_then(PreKeyBundle::verify),
            )
        })
    });
    g.finish();
    f.check("bundle")
}

fn handshake(c: &mut Criterion, p: &Parties) -> BenchResult {
    let mut r = rng(2);
    let initiate = |r: &mut ChaCha20Rng| -> Result<Vec<u8>> {
        let mut s = Session::initiate(r, &p.alice, &p.verified, SessionConfig::default())?;
        s.encrypt(r, b"hi Bob")
    };
    let first = initiate(&mut r)?;
    // `respond` consumes nothing (deleting the one-time prekeys is the
    // caller's job), so the same first message can be answered each time.
    let respond = |bytes: &[u8]| -> Result<Vec<u8>> {
        let m = PreKeyMessage::from_bytes(bytes)?;
        let inbound = Session::respond(
            &p.bob,
            &p.spk,
            Some(&p.opk),
            &p.kem,
            &m,
            SessionConfig::default(),
        )?;
        Ok(inbound.plaintext)
    };
    respond(&first)?;

    let mut f = Failures::default();
    let mut g = c.benchmark_group("handshake");
    g.bench_function("initiate_and_first_encrypt", |b| {
        b.iter(|| f.note(initiate(&mut r)))
    });
    g.bench_function("respond_with_first_decrypt", |b| {
        b.iter(|| f.note(respond(black_box(&first))))
    });
    g.finish();
    f.check("handshake")
}

fn chain(c: &mut Criterion, p: &Parties) -> BenchResult {
    let mut r = rng(3);
    // Two pairs: the encrypt benchmark runs Alice's chain far ahead of
    // anything Bob sees, so decryption gets a pair of its own that stays
    // in step.
    let (mut sender, _) = established(&mut r, p)?;
    let (mut alice, mut bob) = established(&mut r, p)?;
    let mut f = Failures::default();
    let mut g = c.benchmark_group("chain");
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        g.throughput(Throughput::Bytes(size as u64));
        // Every call moves the sending chain one step: no DH ratchet.
        sender.encrypt(&mut r, &plaintext)?;
        g.bench_with_input(BenchmarkId::new("encrypt", size), &plaintext, |b, pt| {
            b.iter(|| f.note(sender.encrypt(&mut r, pt)))
        });
        // Each message can be decrypted once, so the untimed setup encrypts
        // a fresh one, in order, and only the decryption is timed.
        bob.decrypt(&alice.encrypt(&mut r, &plaintext)?)?;
        g.bench_with_input(BenchmarkId::new("decrypt", size), &plaintext, |b, pt| {
            b.iter_batched(
                || alice.encrypt(&mut r, pt),
                |m| f.note(m.and_then(|m| bob.decrypt(&m))),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
    f.check("chain")?;
    // Every message was decrypted in order: nothing was skipped.
    if bob.stored_skipped_keys() != 0 {
        return Err("chain: the receiver fell out of step".into());
    }
    Ok(())
}

fn ratchet(c: &mut Criterion, p: &Parties) -> BenchResult {
    let mut r = rng(4);
    let (mut alice, mut bob) = established(&mut r, p)?;
    // Alice → Bob, Bob → Alice, 100 bytes each: each direction change is a
    // DH ratchet step on both sides.
    let mut round = |r: &mut ChaCha20Rng| -> Result<Vec<u8>> {
        let pt = [0x5a; 100];
        bob.decrypt(&alice.encrypt(r, &pt)?)?;
        alice.decrypt(&bob.encrypt(r, &pt)?)
    };
    round(&mut r)?;
    let mut f = Failures::default();
    let mut g = c.benchmark_group("ratchet");
    g.bench_function("ping_pong_round_100B", |b| b.iter(|| f.note(round(&mut r))));
    g.finish();
    f.check("ratchet")
}

fn record(c: &mut Criterion, p: &Parties) -> BenchResult {
    let mut r = rng(5);
    let (mut alice, mut bob) = established(&mut r, p)?;
    // A session with some history: a few turns, and two messages still in
    // flight, so the record holds old chains and skipped keys.
    for _ in 0..3 {
        bob.decrypt(&alice.encrypt(&mut r, b"ping")?)?;
        alice.decrypt(&bob.encrypt(&mut r, b"pong")?)?;
    }
    let _late_1 = bob.encrypt(&mut r, b"late 1")?;
    let _late_2 = bob.encrypt(&mut r, b"late 2")?;
    alice.decrypt(&bob.encrypt(&mut r, b"on time")?)?;
    let bytes = alice.to_bytes();
    Session::from_bytes(&bytes)?;

    let mut f = Failures::default();
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("to_bytes", |b| b.iter(|| black_box(&alice).to_bytes()));
    g.bench_function("from_bytes", |b| {
        b.iter(|| f.note(Session::from_bytes(black_box(&bytes))))
    });
    g.finish();
    f.check("record")
}

fn main() -> BenchResult {
    let mut c = Criterion::default().configure_from_args();
    let p = parties(&mut rng(0))?;
    keys(&mut c);
    bundle(&mut c, &p)?;
    handshake(&mut c, &p)?;
    chain(&mut c, &p)?;
    ratchet(&mut c, &p)?;
    record(&mut c, &p)?;
    c.final_summary();
    Ok(())
}
