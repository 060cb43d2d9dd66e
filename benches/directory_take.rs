//! `take_bundle` throughput and latency with 8 concurrent clients, each
//! with a directory (a connection) of its own, as separate server
//! processes: the PostgreSQL directory on the server `KINSEAL_POSTGRES_URL`
//! names, next to the SQLite directory (a WAL file with `synchronous =
//! FULL`) in the same run. 64 users, takes spread over them.
//!
//! `KINSEAL_POSTGRES_URL=... cargo bench --features postgres --bench
//! directory_take` (`bash .ci/postgres` starts a server for the tests;
//! see docs/SERVER.md). Without the variable only SQLite runs. Nothing
//! asserts on a timing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use chacha20::ChaCha20Rng;
use kinseal::server::{
    DeviceAddress, PostgresDirectory, PreKeyDirectory, PreKeyUpload, SqliteDirectory,
};
use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair};
use rand_core::SeedableRng;

const CLIENTS: usize = 8;
const USERS: usize = 64;
/// One-time X25519 keys per user, uploaded 100 at a time.
const KEYS: usize = 300;
const TAKES_PER_CLIENT: usize = 2_000;
const NOW: u64 = 1_767_225_600;

struct User {
    address: DeviceAddress,
    identity: IdentityKeyPair,
    uploads: Vec<Vec<u8>>,
}

fn users() -> Vec<User> {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    (0..USERS)
        .map(|i| {
            let identity = IdentityKeyPair::generate(&mut rng);
            let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW);
            let last_resort = KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW);
            let mut uploads = vec![
                PreKeyUpload::builder(&identity)
                    .signed_prekey(spk.public())
                    .last_resort_prekey(last_resort.public())
                    .to_bytes()
                    .unwrap(),
            ];
            let one_time = OneTimePreKeyPair::generate_batch(&mut rng, 1, KEYS).unwrap();
            uploads.extend(one_time.chunks(100).map(|chunk| {
                PreKeyUpload::builder(&identity)
                    .one_time_prekeys(chunk.iter().map(OneTimePreKeyPair::public))
                    .to_bytes()
                    .unwrap()
            }));
            let address = DeviceAddress::new(b"bench", format!("user-{i}").as_bytes(), 1).unwrap();
            User {
                address,
                identity,
                uploads,
            }
        })
        .collect()
}

fn run<D: PreKeyDirectory>(name: &str, users: &[User], open: impl Fn() -> D + Sync) {
    let dir = open();
    for u in users {
        dir.register(&u.address, u.identity.public_key()).unwrap();
        for upload in &u.uploads {
            dir.upload(&u.address, upload).unwrap();
        }
    }
    let start = Barrier::new(CLIENTS + 1);
    let (elapsed, mut latencies) = thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (open, start) = (&open, &start);
                s.spawn(move || {
                    let dir = open();
                    start.wait();
                    (0..TAKES_PER_CLIENT)
                        .map(|i| {
                            let u = &users[(c * 31 + i * 7) % USERS];
                            let t = Instant::now();
                            dir.take_bundle(&u.address).unwrap();
                            t.elapsed()
                        })
                        .collect::<Vec<Duration>>()
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let latencies: Vec<Duration> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        (t.elapsed(), latencies)
    });
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{name:<10} {CLIENTS} clients, {} takes: {:>7.0} takes/s, p50 {:>6.2} ms, p99 {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let users = users();
    let tmp = std::env::temp_dir().join(format!("kinseal-bench-take-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let path = tmp.join("directory.sqlite");
    run("sqlite", &users, || SqliteDirectory::open(&path).unwrap());
    let _ = std::fs::remove_dir_all(&tmp);
    match std::env::var("KINSEAL_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            admin
                .batch_execute("DROP SCHEMA IF EXISTS bench_take CASCADE; CREATE SCHEMA bench_take")
                .unwrap();
            let params = if url.contains("://") {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}options=-csearch_path%3Dbench_take")
            } else {
                format!("{url} options='-csearch_path=bench_take'")
            };
            run("postgres", &users, || {
                PostgresDirectory::connect(&params).unwrap()
            });
            admin
                .batch_execute("DROP SCHEMA bench_take CASCADE")
                .unwrap();
        }
        _ => println!("postgres   skipped: KINSEAL_POSTGRES_URL is not set"),
    }
}
