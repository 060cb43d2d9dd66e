//! vodozemac (Olm, crates.io) doing what `benches/kinseal.rs` measures for
//! kinseal, with the same plaintexts and the same criterion settings:
//! outbound session creation with the first message, inbound session
//! creation (which decrypts the first message), same-chain encrypt and
//! decrypt at 100 B, 1 KiB and 64 KiB, a message carrying a new ratchet
//! key (encrypt and decrypt), and a ping-pong round; and Megolm's group
//! encrypt and decrypt at 100 B and 64 KiB, beside kinseal's sender keys.
//!
//! Then kinseal and vodozemac are measured in alternation (as
//! `benches/kinseal.rs` does an operation and its floor) for the jobs with
//! a target against vodozemac, written to `target/criterion/paired_peer.json`.
//!
//! Olm session config version 1 (the one vodozemac creates inbound sessions
//! for without the experimental feature). Fresh state for one-shot
//! operations comes from pickles restored outside the timed region;
//! decryption outputs are dropped inside it, as in benches/kinseal.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../support/paired.rs"]
mod paired;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20::ChaCha20Rng;
use paired::{paired, paired_budget, write_json};
use rand_core::SeedableRng;

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

/// Megolm (session config version 1) doing what `group/encrypt` and
/// `group/decrypt` measure for kinseal's sender keys: one outbound group
/// session, one inbound session made from its session key, fresh messages
/// to decrypt in each batch (Megolm would decrypt a message twice; kinseal
/// refuses the second time, so neither is measured on a replay).
fn megolm(c: &mut Criterion) {
    use vodozemac::megolm::{GroupSession, InboundGroupSession, SessionConfig as MegolmConfig};
    let mut g = c.benchmark_group("megolm");
    let mut sender = GroupSession::new(MegolmConfig::version_1());
    let mut alice = GroupSession::new(MegolmConfig::version_1());
    let mut bob = InboundGroupSession::new(&alice.session_key(), MegolmConfig::version_1());
    for size in GROUP_SIZES {
        let plaintext = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encrypt", size), &plaintext, |b, pt| {
            b.iter(|| sender.encrypt(pt))
        });
        g.bench_with_input(BenchmarkId::new("decrypt", size), &plaintext, |b, pt| {
            b.iter_batched_ref(
                || alice.encrypt(pt),
                |m| drop(bob.decrypt(m).unwrap()),
                in_cache(size),
            )
        });
    }
    g.finish();
}

/// Plaintext sizes of the group benchmarks, as in benches/kinseal.rs.
const GROUP_SIZES: [usize; 2] = [100, 64 * 1024];

/// Batches of messages to decrypt small enough to stay in cache, as the
/// floor's buffers and the encryption benchmarks' plaintexts do (with
/// criterion's default batches of a tenth of the iterations, 100 000
/// messages waited in memory and every decryption started with cache
/// misses on its input).
fn in_cache(size: usize) -> BatchSize {
    BatchSize::NumIterations(if size >= 64 * 1024 { 4 } else { 64 })
}

/// kinseal's side of the paired comparison: Bob's keys and Alice's identity.
struct Kinseal {
    alice: kinseal::IdentityKeyPair,
    bob: kinseal::IdentityKeyPair,
    spk: kinseal::SignedPreKeyPair,
    opk: kinseal::OneTimePreKeyPair,
    kem: kinseal::KemPreKeyPair,
    bundle: kinseal::PreKeyBundle,
}

impl Kinseal {
    fn new(r: &mut ChaCha20Rng) -> Self {
        use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair};
        let bob = IdentityKeyPair::generate(r);
        let spk = SignedPreKeyPair::generate(r, &bob, 1, 1_767_225_600);
        let opk = OneTimePreKeyPair::generate(r, 2);
        let kem = KemPreKeyPair::generate(r, &bob, 3, false, 1_767_225_600);
        let bundle = kinseal::PreKeyBundle::new(
            bob.public_key().clone(),
            spk.public().clone(),
            Some(*opk.public()),
            kem.public().clone(),
        );
        Kinseal {
            alice: IdentityKeyPair::generate(r),
            bob,
            spk,
            opk,
            kem,
            bundle,
        }
    }

    fn initiate(&self, r: &mut ChaCha20Rng, plaintext: &[u8]) -> (kinseal::Session, Vec<u8>) {
        let verified = self.bundle.clone().verify().unwrap();
        let mut s =
            kinseal::Session::initiate(r, &self.alice, &verified, Default::default()).unwrap();
        let first = s.encrypt(r, plaintext).unwrap();
        (s, first)
    }

    fn respond(&self, first: &[u8]) -> kinseal::InboundSession {
        let m = kinseal::PreKeyMessage::from_bytes(first).unwrap();
        kinseal::Session::respond(
            &self.bob,
            &self.spk,
            Some(&self.opk),
            &self.kem,
            &m,
            Default::default(),
        )
        .unwrap()
    }

    /// As `established` for vodozemac.
    fn established(&self, r: &mut ChaCha20Rng) -> (kinseal::Session, kinseal::Session) {
        let (mut alice, first) = self.initiate(r, b"hello");
        let mut bob = self.respond(&first).session;
        alice
            .decrypt(&bob.encrypt(r, b"hello back").unwrap())
            .unwrap();
        (alice, bob)
    }
}

/// kinseal against vodozemac in alternation; ratio = kinseal ÷ vodozemac.
fn against_kinseal() {
    let budget = paired_budget();
    let mut r = ChaCha20Rng::from_seed([9; 32]);
    let k = Kinseal::new(&mut r);
    let plaintext = [0x5au8; SMALL];
    let mut results = Vec::new();

    // Session setup: kinseal verifies the bundle, encapsulates and
    // encrypts the first message; vodozemac creates the session and
    // encrypts the first message.
    let v = parties();
    let id = "handshake/initiate";
    let res = paired(
        |n| {
            let mut out = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for _ in 0..n {
                out.push(k.initiate(&mut r, &plaintext));
            }
            t.elapsed()
        },
        |n| {
            let mut out = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for _ in 0..n {
                let mut s = v
                    .alice
                    .create_outbound_session(config(), v.bob.curve25519_key(), v.bob_otk)
                    .unwrap();
                let m = s.encrypt(plaintext).unwrap();
                out.push((s, m));
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));

    let (_, first) = k.initiate(&mut r, &plaintext);
    let mut v_alice = v
        .alice
        .create_outbound_session(config(), v.bob.curve25519_key(), v.bob_otk)
        .unwrap();
    let v_first = v_alice.encrypt(plaintext).unwrap();
    let bob_json = account_json(&v.bob);
    let alice_key = v.alice.curve25519_key();
    let id = "handshake/respond";
    let res = paired(
        |n| {
            let mut out = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for _ in 0..n {
                out.push(k.respond(&first));
            }
            t.elapsed()
        },
        |n| {
            let mut accounts: Vec<Account> = (0..n).map(|_| account_from(&bob_json)).collect();
            let t = Instant::now();
            for a in &mut accounts {
                drop(
                    a.create_inbound_session(config(), alice_key, prekey(&v_first))
                        .unwrap(),
                );
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));

    // Same chain, 100 bytes.
    let (mut ka, mut kb) = k.established(&mut r);
    kb.decrypt(&ka.encrypt(&mut r, b"start").unwrap()).unwrap();
    let (mut va, mut vb) = established();
    vb.decrypt(&va.encrypt(b"start").unwrap()).unwrap();
    let (mut k_sender, _) = k.established(&mut r);
    k_sender.encrypt(&mut r, b"start").unwrap();
    let (mut v_sender, _) = established();
    v_sender.encrypt(b"start").unwrap();
    let id = "chain/encrypt/100";
    let res = paired(
        |n| {
            let t = Instant::now();
            for _ in 0..n {
                drop(k_sender.encrypt(&mut r, &plaintext).unwrap());
            }
            t.elapsed()
        },
        |n| {
            let t = Instant::now();
            for _ in 0..n {
                drop(v_sender.encrypt(plaintext).unwrap());
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));
    let id = "chain/decrypt/100";
    let res = paired(
        |n| {
            let msgs: Vec<Vec<u8>> = (0..n)
                .map(|_| ka.encrypt(&mut r, &plaintext).unwrap())
                .collect();
            let t = Instant::now();
            for m in &msgs {
                drop(kb.decrypt(m).unwrap());
            }
            t.elapsed()
        },
        |n| {
            let msgs: Vec<OlmMessage> = (0..n).map(|_| va.encrypt(plaintext).unwrap()).collect();
            let t = Instant::now();
            for m in &msgs {
                drop(vb.decrypt(m).unwrap());
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));

    // New ratchet keys, from restored state.
    let (mut ka, kb) = k.established(&mut r);
    let ka_ready = ka.to_bytes().to_vec();
    let kb_ready = kb.to_bytes().to_vec();
    let k_message = ka.encrypt(&mut r, &plaintext).unwrap();
    let (mut va, vb) = established();
    let va_ready = session_json(&va);
    let vb_ready = session_json(&vb);
    let v_message = va.encrypt(plaintext).unwrap();
    let restore = |b: &[u8]| kinseal::Session::from_bytes(b).unwrap();
    let id = "ratchet/new_key_encrypt";
    let res = paired(
        |n| {
            let mut s: Vec<kinseal::Session> = (0..n).map(|_| restore(&ka_ready)).collect();
            let t = Instant::now();
            for s in &mut s {
                drop(s.encrypt(&mut r, &plaintext).unwrap());
            }
            t.elapsed()
        },
        |n| {
            let mut s: Vec<Session> = (0..n).map(|_| session_from(&va_ready)).collect();
            let t = Instant::now();
            for s in &mut s {
                drop(s.encrypt(plaintext).unwrap());
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));
    let id = "ratchet/new_key_decrypt";
    let res = paired(
        |n| {
            let mut s: Vec<kinseal::Session> = (0..n).map(|_| restore(&kb_ready)).collect();
            let t = Instant::now();
            for s in &mut s {
                drop(s.decrypt(&k_message).unwrap());
            }
            t.elapsed()
        },
        |n| {
            let mut s: Vec<Session> = (0..n).map(|_| session_from(&vb_ready)).collect();
            let t = Instant::now();
            for s in &mut s {
                drop(s.decrypt(&v_message).unwrap());
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));

    // Group messages: kinseal's sender key against Megolm, encrypt and
    // decrypt, each decrypting fresh messages made outside the timed loop.
    {
        use kinseal::{DeviceAddress, GroupId, ReceivedSenderKey, SenderKey};
        use vodozemac::megolm::{GroupSession, InboundGroupSession, SessionConfig as MegolmConfig};
        let address = DeviceAddress::new(b"chirp", b"alice@example.org", 1).unwrap();
        let group = GroupId::generate(&mut r);
        // One sender key (and Megolm session) to encrypt with, another
        // whose receiver stays in step to decrypt with.
        let mut ks = SenderKey::generate(&mut r, group, 0);
        let mut kd = SenderKey::generate(&mut r, group, 0);
        let mut kr = ReceivedSenderKey::from_distribution(&kd.distribution(), &address);
        let mut vs = GroupSession::new(MegolmConfig::version_1());
        let mut vd = GroupSession::new(MegolmConfig::version_1());
        let mut vr = InboundGroupSession::new(&vd.session_key(), MegolmConfig::version_1());
        for size in GROUP_SIZES {
            let pt = vec![0x5au8; size];
            let res = paired(
                |n| {
                    let t = Instant::now();
                    for _ in 0..n {
                        black_box(ks.encrypt(&address, &pt).unwrap());
                    }
                    t.elapsed()
                },
                |n| {
                    let t = Instant::now();
                    for _ in 0..n {
                        black_box(vs.encrypt(&pt));
                    }
                    t.elapsed()
                },
                budget,
            );
            results.push((format!("group/encrypt/{size}"), res));
            let res = paired(
                |n| {
                    let ms: Vec<_> = (0..n).map(|_| kd.encrypt(&address, &pt).unwrap()).collect();
                    let t = Instant::now();
                    for m in &ms {
                        drop(kr.decrypt(&address, m).unwrap());
                    }
                    t.elapsed()
                },
                |n| {
                    let ms: Vec<_> = (0..n).map(|_| vd.encrypt(&pt)).collect();
                    let t = Instant::now();
                    for m in &ms {
                        drop(vr.decrypt(m).unwrap());
                    }
                    t.elapsed()
                },
                budget,
            );
            results.push((format!("group/decrypt/{size}"), res));
        }
    }

    // Ping-pong.
    let (mut ka, mut kb) = k.established(&mut r);
    let (mut va, mut vb) = established();
    let id = "ratchet/ping_pong";
    let res = paired(
        |n| {
            let t = Instant::now();
            for _ in 0..n {
                kb.decrypt(&ka.encrypt(&mut r, &plaintext).unwrap())
                    .unwrap();
                drop(
                    ka.decrypt(&kb.encrypt(&mut r, &plaintext).unwrap())
                        .unwrap(),
                );
            }
            t.elapsed()
        },
        |n| {
            let t = Instant::now();
            for _ in 0..n {
                vb.decrypt(&va.encrypt(plaintext).unwrap()).unwrap();
                drop(va.decrypt(&vb.encrypt(plaintext).unwrap()).unwrap());
            }
            t.elapsed()
        },
        budget,
    );
    results.push((id.to_string(), res));

    write_json(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "paired_peer.json",
        &results,
    );
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args();
    sessions(&mut c);
    megolm(&mut c);
    against_kinseal();
    c.final_summary();
}
