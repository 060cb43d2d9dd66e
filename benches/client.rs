//! The client layer: what one `Account` operation costs on top of the
//! session it drives — a store transaction, opening and resealing the
//! records, and (for SQLite) a durable commit.
//!
//! `cargo bench --bench client`. Nothing asserts on a timing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, MAX_HANDSHAKES_PER_LAST_RESORT_KEY,
    MemoryStore, RecordKey, SqliteStore, UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{AccountError, Error, LinkRequest, OsRng, VerifiedBundle};
use rand_core::SeedableRng;

#[path = "support/accounts.rs"]
mod accounts;
use accounts::{NOW, introduce, keyring, temp_db};

/// An account with 100 one-time prekeys of each kind published.
fn account<S: ClientStore>(dir: &MemoryDirectory, at: &DeviceAddress, store: S) -> Account<S> {
    let config = AccountConfig::default()
        .with_one_time_prekey_target(100)
        .unwrap();
    accounts::account_with(dir, at, store, config)
}

/// An account that only sends: no prekeys published.
fn bare_account<S: ClientStore>(store: S, at: &DeviceAddress) -> Account<S> {
    Account::create(store, keyring(), &mut OsRng, at, NOW).unwrap()
}

/// Alice (memory store) and Bob (the given store) with an established session.
fn pair<S: ClientStore>(
    bob_store: S,
) -> (
    Account<Arc<MemoryStore>>,
    Account<S>,
    DeviceAddress,
    DeviceAddress,
) {
    let dir = MemoryDirectory::new();
    let a = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let b = DeviceAddress::new(b"parley", b"bob", 1).unwrap();
    let alice = account(&dir, &a, Arc::new(MemoryStore::new()));
    let bob = account(&dir, &b, bob_store);
    introduce(&alice, &bob);
    accounts::converse(&dir, &alice, &a, &bob, &b);
    (alice, bob, a, b)
}

/// Sealing and opening one record at rest (`StorageKeyring`), at the
/// sizes a store holds: a one-session set is about 800 bytes, a
/// 1 000-device group about 25 kB. The seal switches implementation above
/// 1 536 bytes (`crypto/seal.rs`); the sizes either side show where.
fn storage_seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("storage_seal");
    let ring = keyring();
    let peer = DeviceAddress::new(b"chat.example", b"bob", 1).unwrap();
    let here = RecordKey::Sessions(&peer);
    for n in [120, 800, 1536, 1600, 4096, 25_000] {
        let record = vec![0x5au8; n];
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function(BenchmarkId::new("seal", n), |bench| {
            bench.iter(|| ring.seal(&mut OsRng, here, &record).unwrap())
        });
        let sealed = ring.seal(&mut OsRng, here, &record).unwrap();
        g.bench_function(BenchmarkId::new("open", n), |bench| {
            bench.iter(|| ring.open(here, &sealed).unwrap())
        });
    }
    g.finish();
}

fn same_chain(c: &mut Criterion) {
    let mut g = c.benchmark_group("account");
    let (alice, _bob, _a, b) = pair(Arc::new(MemoryStore::new()));
    let msg = [0x42u8; 100];
    g.bench_function("encrypt 100 B (memory store)", |bench| {
        bench.iter(|| alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap())
    });
    // The same with a user-space CSPRNG: the seal's nonce is the only
    // randomness a same-chain encrypt draws, and `OsRng` asks the kernel
    // for it (a system call per message).
    let mut seeded = ChaCha20Rng::from_seed([7; 32]);
    g.bench_function("encrypt 100 B (memory store, ChaCha20Rng)", |bench| {
        bench.iter(|| alice.encrypt(&mut seeded, &b, &msg, NOW).unwrap())
    });
    // A fresh pair: the messages encrypted above were never delivered, and
    // would leave Bob thousands of skipped keys to store.
    let (alice, bob, a, b) = pair(Arc::new(MemoryStore::new()));
    g.bench_function("decrypt 100 B (memory store)", |bench| {
        bench.iter_batched(
            || alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap(),
            |m| bob.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
            BatchSize::SmallInput,
        )
    });

    // Every operation a cache miss (the app-path table's "miss" rows): the
    // sealed set is opened and decoded, and the session restored from its
    // state, each time. Fresh pairs, as above.
    let no_cache = || AccountConfig::default().with_session_cache(0).unwrap();
    let (alice, _bob, _a, b) = pair(Arc::new(MemoryStore::new()));
    let alice = alice.with_config(no_cache());
    g.bench_function("encrypt 100 B, session cache off (memory store)", |bench| {
        bench.iter(|| alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap())
    });
    let (alice, bob, a, b) = pair(Arc::new(MemoryStore::new()));
    let bob = bob.with_config(no_cache());
    g.bench_function("decrypt 100 B, session cache off (memory store)", |bench| {
        bench.iter_batched(
            || alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap(),
            |m| bob.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
            BatchSize::SmallInput,
        )
    });

    // Bob is the one on the SQLite file.
    let path = temp_db("encrypt");
    let (_alice, bob, a, _b) = pair(SqliteStore::open(&path).unwrap());
    g.bench_function("encrypt 100 B (SQLite file, synchronous=FULL)", |bench| {
        bench.iter(|| bob.encrypt(&mut OsRng, &a, &msg, NOW).unwrap())
    });
    drop(bob);
    let _ = std::fs::remove_file(&path);

    let path = temp_db("decrypt");
    let (alice, bob, a, b) = pair(SqliteStore::open(&path).unwrap());
    g.bench_function("decrypt 100 B (SQLite file, synchronous=FULL)", |bench| {
        bench.iter_batched(
            || alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap(),
            |m| bob.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
            BatchSize::SmallInput,
        )
    });
    drop(bob);
    let _ = std::fs::remove_file(&path);
    g.finish();
}

fn first_message(c: &mut Criterion) {
    let mut g = c.benchmark_group("account");
    g.sample_size(20);
    let dir = MemoryDirectory::new();
    let a = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let b = DeviceAddress::new(b"parley", b"bob", 1).unwrap();
    let alice = account(&dir, &a, Arc::new(MemoryStore::new()));
    let bob = account(&dir, &b, Arc::new(MemoryStore::new()));
    introduce(&alice, &bob);
    let bundle = dir.take_bundle(&b).unwrap().into_bundle().verify().unwrap();
    g.bench_function("start_session + first encrypt (memory store)", |bench| {
        bench.iter(|| {
            alice.start_session(&mut OsRng, &b, &bundle, NOW).unwrap();
            alice.encrypt(&mut OsRng, &b, b"hi", NOW).unwrap()
        })
    });
    // Each iteration answers a new handshake on the last-resort keys, so
    // Bob's one-time keys are never exhausted by the measurement. A
    // last-resort key answers at most MAX_HANDSHAKES_PER_LAST_RESORT_KEY
    // handshakes: before that, the setup moves on to a new Bob (the ones
    // before stay, for the messages of a batch already encrypted to them).
    let bob_on_last_resort = |n: usize| {
        let b = DeviceAddress::new(b"parley", format!("bob{n}").as_bytes(), 1).unwrap();
        let bob = account(&dir, &b, Arc::new(MemoryStore::new()));
        introduce(&alice, &bob);
        while !dir.take_bundle(&b).unwrap().used_last_resort() {}
        let last_resort = dir.take_bundle(&b).unwrap().into_bundle().verify().unwrap();
        (bob, b, last_resort)
    };
    let bobs = std::cell::RefCell::new(vec![bob_on_last_resort(0)]);
    let mut answered = 0;
    g.bench_function("decrypt PreKeyMessage (memory store)", |bench| {
        bench.iter_batched(
            || {
                if answered == MAX_HANDSHAKES_PER_LAST_RESORT_KEY - 10 {
                    let n = bobs.borrow().len();
                    bobs.borrow_mut().push(bob_on_last_resort(n));
                    answered = 0;
                }
                answered += 1;
                let bobs = bobs.borrow();
                let i = bobs.len() - 1;
                let (_, b, last_resort) = &bobs[i];
                alice
                    .start_session(&mut OsRng, b, last_resort, NOW)
                    .unwrap();
                (i, alice.encrypt(&mut OsRng, b, b"hi", NOW).unwrap())
            },
            |(i, m)| bobs.borrow()[i].0.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
            BatchSize::SmallInput,
        )
    });
    drop(bob);
    g.finish();
}

/// A user with `n` devices: the first an account of its own, the others
/// linked to it by QR code (PROTOCOL.md §13), every one registered with
/// the directory with prekeys published. Returns the first device's
/// account (which holds the latest list) and the user's address.
fn linked_user(
    dir: &MemoryDirectory,
    app: &[u8],
    user: &[u8],
    n: u32,
) -> (Account<Arc<MemoryStore>>, UserAddress) {
    let user = UserAddress::new(app, user).unwrap();
    let first = account(dir, &user.device(1), Arc::new(MemoryStore::new()));
    for id in 2..=n {
        let request = LinkRequest::new(&mut OsRng);
        let linked = first
            .link_device(&mut OsRng, &request.code(), id, NOW)
            .unwrap();
        let provisioned = request.open(linked.provisioning_message()).unwrap();
        let device = Account::create_linked(
            Arc::new(MemoryStore::new()),
            keyring(),
            &mut OsRng,
            provisioned,
            NOW,
        )
        .unwrap()
        .with_config(
            AccountConfig::default()
                .with_one_time_prekey_target(1)
                .unwrap(),
        );
        let at = user.device(id);
        dir.register(&at, device.identity_key()).unwrap();
        let update = device.refresh_prekeys(&mut OsRng, NOW, None).unwrap();
        dir.upload(&at, &device.upload_bytes(&update).unwrap())
            .unwrap();
    }
    (first, user)
}

/// Alice, knowing the lists of `users` (each `per_user` devices), with a
/// session with every one of their devices.
fn fan_out_sender<S: ClientStore>(
    store: S,
    users: u32,
    per_user: u32,
) -> (Account<S>, Vec<UserAddress>) {
    let (alice, users, _) = fan_out_parties(store, users, per_user);
    (alice, users)
}

/// As [`fan_out_sender`], with each user's first device kept.
fn fan_out_parties<S: ClientStore>(
    store: S,
    users: u32,
    per_user: u32,
) -> (Account<S>, Vec<UserAddress>, Vec<Account<Arc<MemoryStore>>>) {
    let dir = &MemoryDirectory::new();
    let mut firsts = Vec::new();
    let alice = bare_account(store, &DeviceAddress::new(b"chirp", b"alice", 1).unwrap());
    let mut addresses = Vec::new();
    for u in 0..users {
        let (first, user) = linked_user(dir, b"parley", format!("bob{u}").as_bytes(), per_user);
        let list = first.device_list().unwrap().to_bytes();
        alice.update_device_lists(&mut OsRng, &[list], NOW).unwrap();
        let mut fetch = |d: &DeviceAddress| dir.take_bundle(d)?.into_bundle().verify();
        let report = alice
            .sync_sessions(&mut OsRng, &user, &mut fetch, NOW)
            .unwrap();
        assert_eq!(report.started().len(), per_user as usize);
        addresses.push(user);
        firsts.push(first);
    }
    (alice, addresses, firsts)
}

/// One message to every device of a person (10 devices), and of ten
/// people (100 devices), through `encrypt_to_user(s)`: one transaction,
/// one envelope per device. Next to it, the same ten devices one
/// `encrypt` (one transaction) each, and `encrypt` to one device, the
/// pairwise floor.
fn fan_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan_out");
    g.sample_size(20);
    let msg = [0x42u8; 100];

    let (alice, users) = fan_out_sender(Arc::new(MemoryStore::new()), 1, 10);
    let devices: Vec<DeviceAddress> = (1..=10).map(|d| users[0].device(d)).collect();
    g.bench_function("encrypt 100 B to 1 device (memory store)", |bench| {
        bench.iter(|| alice.encrypt(&mut OsRng, &devices[0], &msg, NOW).unwrap())
    });
    g.bench_function(
        "encrypt 100 B to 10 devices, one by one (memory store)",
        |bench| {
            bench.iter(|| {
                for d in &devices {
                    alice.encrypt(&mut OsRng, d, &msg, NOW).unwrap();
                }
            })
        },
    );
    g.bench_function(
        "encrypt_to_user 100 B, 10 devices (memory store)",
        |bench| {
            bench.iter(|| {
                let out = alice
                    .encrypt_to_user(&mut OsRng, &users[0], &msg, NOW)
                    .unwrap();
                assert_eq!(out.envelopes().len(), 10);
                out
            })
        },
    );
    drop(alice);

    let path = temp_db("fan-out");
    let (alice, users) = fan_out_sender(SqliteStore::open(&path).unwrap(), 1, 10);
    let devices: Vec<DeviceAddress> = (1..=10).map(|d| users[0].device(d)).collect();
    g.bench_function(
        "encrypt 100 B to 10 devices, one by one (SQLite file)",
        |bench| {
            bench.iter(|| {
                for d in &devices {
                    alice.encrypt(&mut OsRng, d, &msg, NOW).unwrap();
                }
            })
        },
    );
    g.bench_function("encrypt_to_user 100 B, 10 devices (SQLite file)", |bench| {
        bench.iter(|| {
            alice
                .encrypt_to_user(&mut OsRng, &users[0], &msg, NOW)
                .unwrap()
        })
    });
    drop(alice);
    let _ = std::fs::remove_file(&path);

    // A hundred devices do not fit the default session cache (32): this
    // account keeps 128 sessions decoded.
    let cache = || AccountConfig::default().with_session_cache(128).unwrap();
    let (alice, users) = fan_out_sender(Arc::new(MemoryStore::new()), 10, 10);
    let alice = alice.with_config(cache());
    g.bench_function(
        "encrypt_to_users 100 B, 10 people x 10 devices (memory store)",
        |bench| {
            bench.iter(|| {
                let out = alice
                    .encrypt_to_users(&mut OsRng, &users, &msg, NOW)
                    .unwrap();
                assert_eq!(out.envelopes().len(), 100);
                out
            })
        },
    );
    let path = temp_db("fan-out-100");
    drop(alice);
    let (alice, users) = fan_out_sender(SqliteStore::open(&path).unwrap(), 10, 10);
    let alice = alice.with_config(cache());
    g.bench_function(
        "encrypt_to_users 100 B, 10 people x 10 devices (SQLite file)",
        |bench| {
            bench.iter(|| {
                alice
                    .encrypt_to_users(&mut OsRng, &users, &msg, NOW)
                    .unwrap()
            })
        },
    );
    drop(alice);
    let _ = std::fs::remove_file(&path);
    g.finish();
}

/// What taking a person's new device list costs an account: verifying it
/// (one signature, a subgroup check per identity key), checking it
/// follows the one on record, and sealing the record. The list is the
/// same each time after the first, so this is the `Unchanged` path plus
/// the verification; the first update (a new user) is measured apart.
fn device_list_update(c: &mut Criterion) {
    let mut g = c.benchmark_group("device_list");
    g.sample_size(20);
    let dir = MemoryDirectory::new();
    for n in [1u32, 16] {
        let (first, _user) = linked_user(&dir, b"parley", format!("dl{n}").as_bytes(), n);
        let list = first.device_list().unwrap().to_bytes();
        g.bench_function(BenchmarkId::new("account_new_user", n), |bench| {
            bench.iter_batched(
                || {
                    bare_account(
                        MemoryStore::new(),
                        &DeviceAddress::new(b"chirp", b"x", 1).unwrap(),
                    )
                },
                |alice| {
                    alice
                        .update_device_lists(&mut OsRng, &[&list], NOW)
                        .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
        let alice = bare_account(
            MemoryStore::new(),
            &DeviceAddress::new(b"chirp", b"y", 1).unwrap(),
        );
        alice
            .update_device_lists(&mut OsRng, &[&list], NOW)
            .unwrap();
        g.bench_function(BenchmarkId::new("account_unchanged", n), |bench| {
            bench.iter(|| {
                alice
                    .update_device_lists(&mut OsRng, &[&list], NOW)
                    .unwrap()
            })
        });
    }
    g.finish();
}

/// Alice, Bob, their addresses and a forged `Message` (see `many_sessions`).
type Many = (
    Account<Arc<MemoryStore>>,
    Account<Arc<MemoryStore>>,
    DeviceAddress,
    DeviceAddress,
    Vec<u8>,
);

/// Alice, Bob, their addresses, the directory and the bundle of Bob's that
/// Alice used first (see `with_sessions`).
type Sessions = (
    Account<Arc<MemoryStore>>,
    Account<Arc<MemoryStore>>,
    DeviceAddress,
    DeviceAddress,
    MemoryDirectory,
    VerifiedBundle,
);

/// Bob with `n` sessions from Alice (the current one answered, `n - 1`
/// archived), a fresh Alice message on the current one, and a forged
/// `Message` to Bob from Alice's address: an honest message of a stranger
/// pair (a ratchet key and receiver hint no session of Bob's has).
fn many_sessions(n: usize, cache: usize) -> Many {
    let (alice, bob, a, b, _, _) = with_sessions(n, cache);
    let (carol, _dave, _c, d) = pair(Arc::new(MemoryStore::new()));
    let forged = carol.encrypt(&mut OsRng, &d, &[0x42; 100], NOW).unwrap();
    (alice, bob, a, b, forged)
}

/// Bob with `n` sessions from Alice (the current one answered, `n - 1`
/// archived), with the directory and the bundle Alice used first (Bob has
/// since used up its one-time prekeys).
fn with_sessions(n: usize, cache: usize) -> Sessions {
    let dir = MemoryDirectory::new();
    let a = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let b = DeviceAddress::new(b"parley", b"bob", 1).unwrap();
    let alice = account(&dir, &a, Arc::new(MemoryStore::new()));
    let bob = account(&dir, &b, Arc::new(MemoryStore::new()));
    introduce(&alice, &bob);
    let config = AccountConfig::default()
        .with_max_archived_sessions(40)
        .unwrap()
        .with_session_cache(cache)
        .unwrap();
    let bob = bob.with_config(config);
    let mut used = None;
    for _ in 0..n {
        // `account` published 100 one-time prekeys: enough for 41.
        let bundle = dir.take_bundle(&b).unwrap().into_bundle().verify().unwrap();
        alice.start_session(&mut OsRng, &b, &bundle, NOW).unwrap();
        let first = alice.encrypt(&mut OsRng, &b, b"hi", NOW).unwrap();
        bob.decrypt(&mut OsRng, &a, &first, NOW).unwrap();
        used.get_or_insert(bundle);
    }
    let reply = bob.encrypt(&mut OsRng, &a, b"hi", NOW).unwrap();
    alice.decrypt(&mut OsRng, &b, &reply, NOW).unwrap();
    (alice, bob, a, b, dir, used.unwrap())
}

/// A bundle of `b`'s with one-time prekeys, topping the directory up
/// first once they ran out (so honest handshakes never fill the
/// last-resort handshake log, however long the measurement).
fn fresh_bundle(
    dir: &MemoryDirectory,
    bob: &Account<Arc<MemoryStore>>,
    b: &DeviceAddress,
) -> VerifiedBundle {
    let taken = dir.take_bundle(b).unwrap();
    if !taken.used_last_resort() {
        return taken.into_bundle().verify().unwrap();
    }
    let update = bob.refresh_prekeys(&mut OsRng, NOW, None).unwrap();
    dir.upload(b, &bob.upload_bytes(&update).unwrap()).unwrap();
    dir.take_bundle(b).unwrap().into_bundle().verify().unwrap()
}

fn forgery(c: &mut Criterion) {
    let mut g = c.benchmark_group("account_forgery");
    let msg = [0x42u8; 100];
    for (cache, label) in [(32, "cached"), (0, "cache off")] {
        for n in [1, 41] {
            let (_alice, bob, a, _b, forged) = many_sessions(n, cache);
            g.bench_function(format!("forged Message, {n} sessions ({label})"), |bench| {
                bench.iter(|| {
                    assert!(bob.decrypt(&mut OsRng, &a, &forged, NOW).is_err());
                })
            });
            let (alice, bob, a, b, _) = many_sessions(n, cache);
            g.bench_function(format!("decrypt 100 B, {n} sessions ({label})"), |bench| {
                bench.iter_batched(
                    || alice.encrypt(&mut OsRng, &b, &msg, NOW).unwrap(),
                    |m| bob.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

/// A `PreKeyMessage` from Alice's address for a handshake none of Bob's
/// `n` sessions has, on one-time prekeys Bob already used (Alice starting
/// again from the bundle Bob answered first): it fails with
/// `UnknownPreKey` before any handshake arithmetic. For comparison, the
/// honest floor: a new handshake Bob answers, the set kept at `n`
/// sessions.
fn prekey_forgery(c: &mut Criterion) {
    let mut g = c.benchmark_group("account_forgery");
    for n in [1, 41] {
        let (alice, bob, a, b, dir, used) = with_sessions(n, 32);
        alice.start_session(&mut OsRng, &b, &used, NOW).unwrap();
        let forged = alice.encrypt(&mut OsRng, &b, b"hi", NOW).unwrap();
        let refused = bob.decrypt(&mut OsRng, &a, &forged, NOW).unwrap_err();
        assert!(
            matches!(refused, Error::Account(AccountError::UnknownPreKey { .. })),
            "{refused:?}"
        );
        g.bench_function(format!("prekey_unknown_handshake/{n}"), |bench| {
            bench.iter(|| {
                assert!(bob.decrypt(&mut OsRng, &a, &forged, NOW).is_err());
            })
        });
        let config = AccountConfig::default()
            .with_max_archived_sessions(n - 1)
            .unwrap()
            .with_session_cache(32)
            .unwrap();
        let bob = bob.with_config(config);
        g.bench_function(format!("prekey_new_handshake/{n}"), |bench| {
            bench.iter_batched(
                || {
                    let bundle = fresh_bundle(&dir, &bob, &b);
                    alice.start_session(&mut OsRng, &b, &bundle, NOW).unwrap();
                    alice.encrypt(&mut OsRng, &b, b"hi", NOW).unwrap()
                },
                |m| bob.decrypt(&mut OsRng, &a, &m, NOW).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// A group of 100 people with 10 devices each (1 000 devices) at the
/// account layer, next to its floor: the same fan-out as one
/// `encrypt_to_users` of a plaintext as long as the group content.
///
/// - a membership change (the admin removes a person, then adds them back,
///   in turn): one signature and one pairwise message to each of the
///   1 000 devices (a welcome to the added person's ten);
/// - a group send with a new sender key: the distribution to 999 devices
///   and one group encryption.
fn groups(c: &mut Criterion) {
    use kinseal::GroupOp;
    let mut g = c.benchmark_group("group_account");
    g.sample_size(10);
    let config = AccountConfig::default().with_session_cache(1024).unwrap();
    let (alice, users, firsts) = fan_out_parties(Arc::new(MemoryStore::new()), 100, 10);
    let alice = alice.with_config(config);
    let (group, genesis) = alice.create_group(&mut OsRng, &users, NOW).unwrap();
    assert_eq!(genesis.envelopes().len(), 1000);
    // Bob (a member's first device) reads the group's messages.
    let bob = &firsts[0];
    bob.update_device_lists(&mut OsRng, &[alice.device_list().unwrap().to_bytes()], NOW)
        .unwrap();
    let deliver = |sent: &kinseal::client::FanOut| {
        for e in sent
            .envelopes()
            .iter()
            .filter(|e| e.recipient() == bob.address())
        {
            bob.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
        }
    };
    deliver(&genesis);
    let msg = [0x42u8; 100];
    g.bench_function(
        "group_decrypt 100 B, 1 000-device group (memory store)",
        |bench| {
            bench.iter_batched(
                || {
                    let sent = alice.group_send(&mut OsRng, &group, &msg, NOW).unwrap();
                    deliver(sent.distributions());
                    sent.into_parts().0
                },
                |m| bob.group_decrypt(&mut OsRng, alice.address(), &m).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
    // The floor: the same decryption on a sender key held in memory.
    let mut r = OsRng;
    let mut key = kinseal::SenderKey::generate(&mut r, group, 0);
    let mut received =
        kinseal::ReceivedSenderKey::from_distribution(&key.distribution(), alice.address());
    g.bench_function("floor: sender-key decrypt 100 B (in memory)", |bench| {
        bench.iter_batched(
            || key.encrypt(alice.address(), &msg).unwrap(),
            |m| received.decrypt(alice.address(), &m).unwrap(),
            BatchSize::SmallInput,
        )
    });
    drop(firsts);
    let state = alice.group_state(&group).unwrap().unwrap();
    let last = state.members().find(|m| m.address() == &users[99]).unwrap();
    let (key, address) = (last.key().clone(), last.address().clone());
    let remove = vec![GroupOp::Remove { key: key.clone() }];
    let add = vec![GroupOp::Add {
        key,
        address,
        role: kinseal::GroupRole::Member,
    }];
    // A change's content: the 3-byte content header and a one-op change
    // (210 bytes for a removal; an addition adds the address and the
    // role, and its welcome to 10 devices carries the 100-member state).
    let change_len = 3 + 210;
    let mut removed = false;
    g.bench_function("change, 1 000 devices (memory store)", |bench| {
        bench.iter(|| {
            let ops = if removed { add.clone() } else { remove.clone() };
            removed = !removed;
            alice.change_group(&mut OsRng, &group, ops, NOW).unwrap()
        })
    });
    if removed {
        alice
            .change_group(&mut OsRng, &group, add.clone(), NOW)
            .unwrap();
    }
    let content = vec![0x42u8; change_len - 3];
    g.bench_function(
        "floor: encrypt_to_users, 1 000 devices, change-sized (memory store)",
        |bench| {
            bench.iter(|| {
                alice
                    .encrypt_to_users(&mut OsRng, &users, &content, NOW)
                    .unwrap()
            })
        },
    );
    // The group's sender key already distributed: one group encryption,
    // and the sender-key record written (rotation set as far off as
    // allowed, so the measurement never distributes a new key).
    let alice = alice.with_config(
        AccountConfig::default()
            .with_session_cache(1024)
            .unwrap()
            .with_group_rotation(
                kinseal::client::MAX_GROUP_ROTATION_MESSAGES,
                7 * 24 * 60 * 60,
            )
            .unwrap(),
    );
    alice.group_send(&mut OsRng, &group, &msg, NOW).unwrap();
    g.bench_function(
        "group_send 100 B, current key, 1 000-device group (memory store)",
        |bench| {
            bench.iter(|| {
                let sent = alice.group_send(&mut OsRng, &group, &msg, NOW).unwrap();
                assert!(sent.distributions().envelopes().is_empty());
                sent
            })
        },
    );
    let mut sender = kinseal::SenderKey::generate(&mut r, group, 0);
    g.bench_function("floor: sender-key encrypt 100 B (in memory)", |bench| {
        bench.iter(|| sender.encrypt(alice.address(), &msg).unwrap())
    });
    // Rotation every message: each send distributes a new key.
    let rotating = AccountConfig::default()
        .with_session_cache(1024)
        .unwrap()
        .with_group_rotation(1, 60 * 60)
        .unwrap();
    let alice = alice.with_config(rotating);
    g.bench_function(
        "group_send 100 B, new key, 1 000 devices (memory store)",
        |bench| {
            bench.iter(|| {
                alice
                    .group_send(&mut OsRng, &group, &[0x42; 100], NOW)
                    .unwrap()
            })
        },
    );
    let distribution = vec![0x42u8; 115];
    g.bench_function(
        "floor: encrypt_to_users, 1 000 devices, distribution-sized (memory store)",
        |bench| {
            bench.iter(|| {
                alice
                    .encrypt_to_users(&mut OsRng, &users, &distribution, NOW)
                    .unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(
    benches,
    storage_seal,
    same_chain,
    first_message,
    fan_out,
    groups,
    device_list_update,
    forgery,
    prekey_forgery
);
criterion_main!(benches);
