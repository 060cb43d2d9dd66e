//! Draining a queue: a phone coming back online with 1 000 messages (990
//! from 10 contacts, and the first messages of 10 new ones), decrypted one by one (one
//! durable commit each) and with `Account::decrypt_batch` (one commit);
//! and the sending side, one message to each of 100 conversations, one by
//! one and with `Account::encrypt_to_each`. On a SQLite file
//! (`synchronous = FULL`, the store's setting) and in memory.
//!
//! `cargo bench --bench queue`. Nothing asserts on a timing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, MemoryStore, SqliteStore,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{Envelope, OsRng};

#[path = "support/accounts.rs"]
mod accounts;
use accounts::{NOW, introduce, temp_db};
/// Senders in the queue, and messages from each.
const SENDERS: usize = 10;
const PER_SENDER: usize = 99;
/// New senders in each queue, one first message each.
const NEW_SENDERS: usize = 10;
/// Conversations the sending side writes to.
const PEERS: usize = 100;

/// An account, registered, with `prekeys` one-time prekeys of each kind
/// published.
fn account<S: ClientStore>(
    dir: &MemoryDirectory,
    at: &DeviceAddress,
    store: S,
    prekeys: usize,
) -> Account<S> {
    let config = AccountConfig::default()
        .with_one_time_prekey_target(prekeys)
        .unwrap()
        .with_session_cache(128)
        .unwrap();
    accounts::account_with(dir, at, store, config)
}

/// The receiver (over `store`) and `n` senders in answered sessions
/// (their messages are `Message`s), and the directory for new senders.
struct Queue<S: ClientStore> {
    dir: MemoryDirectory,
    receiver: Account<S>,
    at: DeviceAddress,
    senders: Vec<(DeviceAddress, Account<Arc<MemoryStore>>)>,
    fresh: std::cell::Cell<usize>,
}

impl<S: ClientStore> Queue<S> {
    fn new(store: S, n: usize) -> Self {
        let dir = MemoryDirectory::new();
        let at = DeviceAddress::new(b"parley", b"bob", 1).unwrap();
        let receiver = account(&dir, &at, store, 100);
        let mut q = Queue {
            dir,
            receiver,
            at,
            senders: Vec::new(),
            fresh: std::cell::Cell::new(0),
        };
        q.senders = (0..n)
            .map(|i| {
                let (a, sender, first) = q.new_sender(&format!("s{i}"));
                q.receiver
                    .decrypt_envelope(&mut OsRng, &first, NOW)
                    .unwrap();
                let reply = q.receiver.encrypt(&mut OsRng, &a, b"hi", NOW).unwrap();
                sender.decrypt(&mut OsRng, &q.at, &reply, NOW).unwrap();
                (a, sender)
            })
            .collect();
        q
    }

    /// A sender the receiver has not heard from, and its first message.
    fn new_sender(&self, name: &str) -> (DeviceAddress, Account<Arc<MemoryStore>>, Envelope) {
        let a = DeviceAddress::new(b"chirp", name.as_bytes(), 1).unwrap();
        // Senders only send: one prekey each is enough.
        let sender = account(&self.dir, &a, Arc::new(MemoryStore::new()), 1);
        introduce(&sender, &self.receiver);
        let bundle = self
            .dir
            .take_bundle(&self.at)
            .unwrap()
            .into_bundle()
            .verify()
            .unwrap();
        sender
            .start_session(&mut OsRng, &self.at, &bundle, NOW)
            .unwrap();
        let m = sender
            .encrypt(&mut OsRng, &self.at, &[0x42; 100], NOW)
            .unwrap();
        let first = Envelope::new(a.clone(), self.at.clone(), m).unwrap();
        (a, sender, first)
    }

    /// A queue of 100 B messages: `per_sender` from each answered sender,
    /// interleaved, then the first messages of `new` senders never seen.
    fn messages(&self, per_sender: usize, new: usize) -> Vec<Envelope> {
        let mut out = Vec::with_capacity(per_sender * self.senders.len() + new);
        for _ in 0..per_sender {
            for (a, s) in &self.senders {
                let m = s.encrypt(&mut OsRng, &self.at, &[0x42; 100], NOW).unwrap();
                out.push(Envelope::new(a.clone(), self.at.clone(), m).unwrap());
            }
        }
        for _ in 0..new {
            let k = self.fresh.get() + 1;
            self.fresh.set(k);
            out.push(self.new_sender(&format!("new{k}")).2);
        }
        out
    }
}

fn drain<S: ClientStore>(c: &mut Criterion, label: &str, store: impl Fn() -> S) {
    let mut g = c.benchmark_group("queue");
    g.sample_size(10);
    // 990 `Message`s from 10 answered senders and the first messages of
    // 10 new ones (each a `PreKeyMessage` that sets a session up).
    let q = Queue::new(store(), SENDERS);
    g.bench_function(
        format!("decrypt 1000 queued one by one ({label})"),
        |bench| {
            bench.iter_batched(
                || q.messages(PER_SENDER, NEW_SENDERS),
                |queue| {
                    for e in &queue {
                        q.receiver.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
                    }
                },
                BatchSize::PerIteration,
            )
        },
    );
    let q = Queue::new(store(), SENDERS);
    g.bench_function(format!("decrypt_batch 1000 queued ({label})"), |bench| {
        bench.iter_batched(
            || q.messages(PER_SENDER, NEW_SENDERS),
            |queue| {
                let outcomes = q
                    .receiver
                    .decrypt_batch(&mut OsRng, &queue, NOW, |_, _| Ok::<(), ()>(()))
                    .unwrap();
                assert!(outcomes.iter().all(Result::is_ok));
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn send<S: ClientStore>(c: &mut Criterion, label: &str, store: impl Fn() -> S) {
    let mut g = c.benchmark_group("queue");
    g.sample_size(10);
    // The receiver of `Queue` sends now: one message to each of `PEERS`
    // conversations, answered first so no send is a first message.
    let q = Queue::new(store(), PEERS);
    let peers: Vec<DeviceAddress> = q.senders.iter().map(|(a, _)| a.clone()).collect();
    g.bench_function(
        format!("encrypt to 100 peers one by one ({label})"),
        |bench| {
            bench.iter(|| {
                for p in &peers {
                    q.receiver
                        .encrypt(&mut OsRng, p, &[0x42; 100], NOW)
                        .unwrap();
                }
            })
        },
    );
    g.bench_function(format!("encrypt_to_each 100 peers ({label})"), |bench| {
        bench.iter(|| {
            q.receiver
                .encrypt_to_each(&mut OsRng, &peers, &[0x42; 100], NOW)
                .unwrap()
        })
    });
    g.finish();
}

fn queue(c: &mut Criterion) {
    let n = std::cell::Cell::new(0);
    let file = || {
        n.set(n.get() + 1);
        SqliteStore::open(temp_db(&format!("queue-{}", n.get()))).unwrap()
    };
    drain(c, "SQLite file", file);
    drain(c, "memory store", || Arc::new(MemoryStore::new()));
    send(c, "SQLite file", file);
    send(c, "memory store", || Arc::new(MemoryStore::new()));
}

criterion_group!(benches, queue);
criterion_main!(benches);
