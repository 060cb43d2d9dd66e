//! vodozemac (Olm, crates.io) doing what `benches/kinseal.rs` measures for
//! kinseal, with the same plaintexts and the same criterion settings:
//! outbound session creation with the first message, inbound session
//! creation (which decrypts the first message), same-chain encrypt and
//! decrypt at 100 B, 1 KiB and 64 KiB, a message carrying a new ratchet
//! key (encrypt and decrypt), and a ping-pong round.
//!
//! Olm session config version 1 (the one vodozemac creates inbound sessions
//! for without the experimental feature). Fresh state for one-shot
//! operations comes from pickles restored outside the timed region;
//! decryption outputs are dropped inside it, as in benches/kinseal.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use vodozemac::olm::{Account, AccountPickle, OlmMessage, Session, SessionConfig, SessionPickle};

const SIZES: [usize; 3] = [100, 1024, 64 * 1024];
const SMALL: usize = 100;
/// Fresh state comes in small batches, as in benches/kinseal.rs.
const FRESH: BatchSize = BatchSize::NumIterations(16);

fn config() -> SessionConfig {
    SessionConfig::version_1()
}

/// Bob's account with one published one-time key, and Alice's account.
struct Parties {
    alice: Account,
    bob: Account,
    bob_otk: vodozemac::Curve25519PublicKey,
}

fn parties() -> Parties {
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let bob_otk = *bob.one_time_keys().values().next().unwrap();
    bob.mark_keys_as_published();
    Parties {
        alice,
        bob,
        bob_otk,
    }
}

fn session_json(s: &Session) -> String {
    serde_json::to_string(&s.pickle()).unwrap()
}

fn session_from(json: &str) -> Session {
    Session::from_pickle(serde_json::from_str::<SessionPickle>(json).unwrap())
}

fn account_json(a: &Account) -> String {
    serde_json::to_string(&a.pickle()).unwrap()
}

fn account_from(json: &str) -> Account {
    Account::from_pickle(serde_json::from_str::<AccountPickle>(json).unwrap())
}

fn prekey(m: &OlmMessage) -> &vodozemac::olm::PreKeyMessage {
    match m {
        OlmMessage::PreKey(p) => p,
        OlmMessage::Normal(_) => panic!("expected a pre-key message"),
    }
}

/// An established pair: Alice created the session, Bob answered and Alice
/// read the answer, so the next message from Alice carries a new ratchet
/// key. Each call uses a fresh one-time key of a fresh Bob.
fn established() -> (Session, Session) {
    let mut p = parties();
    let mut alice = p
        .alice
        .create_outbound_session(config(), p.bob.curve25519_key(), p.bob_otk)
        .unwrap();
    let first = alice.encrypt(b"hello").unwrap();
    let mut bob = p
        .bob
        .create_inbound_session(config(), p.alice.curve25519_key(), prekey(&first))
        .unwrap()
        .session;
    let reply = bob.encrypt(b"hello back").unwrap();
    alice.decrypt(&reply).unwrap();
    (alice, bob)
}

fn sessions(c: &mut Criterion) {
    let p = parties();
    let plaintext = [0x5au8; SMALL];
    let mut g = c.benchmark_group("vodozemac");
    // What kinseal's handshake/initiate does minus the bundle signatures
    // and the KEM: a base key, 3DH, the first message.
    g.bench_function("outbound_session", |b| {
        b.iter(|| {
            let mut s = p
                .alice
                .create_outbound_session(config(), p.bob.curve25519_key(), black_box(p.bob_otk))
                .unwrap();
            let m = s.encrypt(plaintext).unwrap();
            (s, m)
        })
    });
    // Inbound creation consumes the one-time key: a fresh copy of Bob's
    // account each time.
    let mut alice = p
        .alice
        .create_outbound_session(config(), p.bob.curve25519_key(), p.bob_otk)
        .unwrap();
    let first = alice.encrypt(plaintext).unwrap();
    let bob_json = account_json(&p.bob);
    let alice_key = p.alice.curve25519_key();
    g.bench_function("inbound_session", |b| {
        b.iter_batched_ref(
            || account_from(&bob_json),
            |bob| {
                bob.create_inbound_session(config(), alice_key, prekey(&first))
                    .unwrap()
            },
            FRESH,
        )
    });

    // Same chain. The encrypting pair runs ahead; decryption has its own
    // pair kept in step by encrypting the next message in the setup.
    let (mut sender, _) = established();
    let (mut alice, mut bob) = established();
    sender.encrypt(b"start").unwrap();
    bob.decrypt(&alice.encrypt(b"start").unwrap()).unwrap();
    for size in SIZES {
        let plaintext = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encrypt", size), &plaintext, |b, pt| {
            b.iter(|| sender.encrypt(pt).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("decrypt", size), &plaintext, |b, pt| {
            b.iter_batched_ref(
                || alice.encrypt(pt).unwrap(),
                |m| drop(bob.decrypt(m).unwrap()),
                in_cache(size),
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("vodozemac");
    let (mut alice, mut bob) = established();
    let alice_ready = session_json(&alice);
    let new_key_message = alice.encrypt(plaintext).unwrap();
    g.bench_function("new_key_encrypt", |b| {
        b.iter_batched_ref(
            || session_from(&alice_ready),
            |s| drop(s.encrypt(plaintext).unwrap()),
            FRESH,
        )
    });
    let bob_ready = session_json(&bob);
    g.bench_function("new_key_decrypt", |b| {
        b.iter_batched_ref(
            || session_from(&bob_ready),
            |s| drop(s.decrypt(&new_key_message).unwrap()),
            FRESH,
        )
    });
    bob.decrypt(&new_key_message).unwrap();
    let mut round = || {
        bob.decrypt(&alice.encrypt(plaintext).unwrap()).unwrap();
        alice.decrypt(&bob.encrypt(plaintext).unwrap()).unwrap()
    };
    round();
    g.bench_function("ping_pong", |b| b.iter(&mut round));
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
    sessions(&mut c);
    c.final_summary();
}
