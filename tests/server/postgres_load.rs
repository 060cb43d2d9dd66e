//! Exactly-once at full scale on PostgreSQL (issue 18): 4 processes × 8
//! connections taking 10^5 bundles for the same 1 000 users while uploads
//! and signed-prekey rotations run: no key handed out twice, none lost.
//!
//! The processes are this test binary run again (`current_exe`) with this
//! test as the filter and [`WORKER`] set: each worker regenerates its
//! users' keys from their seeds, takes from 8 threads (a directory each,
//! as separate server processes would), uploads and rotates for its
//! quarter of the users from a ninth thread, and writes what it took to a
//! file. The parent provisions the users first and checks everything at
//! the end. Skipped without a server (see `pg`).

#![cfg(feature = "postgres")]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Instant;

use chacha20::ChaCha20Rng;
use kinseal::server::{DeviceAddress, PostgresDirectory, PreKeyDirectory, PreKeyUpload};
use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair};
use rand_core::SeedableRng;

use crate::pg::fresh_schema;

const PROCESSES: usize = 4;
const CONNECTIONS: usize = 8;
const USERS: usize = 1_000;
const TAKES_PER_CONNECTION: usize = 3_125;
/// One-time X25519 keys per user and upload: ids 1..=50 before the takes
/// start, 51..=100 uploaded while they run.
const BATCH: u32 = 50;
/// One-time ML-KEM keys per user and upload: ids 2..=5, then 6..=9 (1 is
/// the last-resort key). Few: each costs a signature check.
const KEM_BATCH: u32 = 4;
const NOW: u64 = 1_767_225_600;

/// Set in a worker's environment: its number.
const WORKER: &str = "KINSEAL_LOAD_WORKER";
/// Set in a worker's environment: the directory's parameters.
const PARAMS: &str = "KINSEAL_LOAD_PARAMS";
/// Set in a worker's environment: the file it writes what it took to.
const OUT: &str = "KINSEAL_LOAD_OUT";
/// This test's path in the binary, the filter a worker runs with.
const NAME: &str = "postgres_load::four_processes_hand_out_each_key_once";

/// One user's keys, made again identically in every process from the
/// user's number.
struct User {
    address: DeviceAddress,
    identity: IdentityKeyPair,
    /// Signed prekey 1, the last-resort key, the first one-time keys.
    first: Vec<u8>,
    /// The second one-time keys.
    second: Vec<u8>,
    /// Signed prekey 2: the rotation.
    rotation: Vec<u8>,
}

fn user(i: usize) -> User {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 18;
    let mut rng = ChaCha20Rng::from_seed(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW);
    let last_resort = KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW);
    let one_time = OneTimePreKeyPair::generate_batch(&mut rng, 1, 2 * BATCH as usize).unwrap();
    let kem =
        KemPreKeyPair::generate_batch(&mut rng, &identity, 2, 2 * KEM_BATCH as usize, NOW).unwrap();
    let (otk1, otk2) = one_time.split_at(BATCH as usize);
    let (kem1, kem2) = kem.split_at(KEM_BATCH as usize);
    let first = PreKeyUpload::builder(&identity)
        .signed_prekey(spk.public())
        .last_resort_prekey(last_resort.public())
        .one_time_prekeys(otk1.iter().map(OneTimePreKeyPair::public))
        .kem_prekeys(kem1.iter().map(KemPreKeyPair::public))
        .to_bytes()
        .unwrap();
    let second = PreKeyUpload::builder(&identity)
        .one_time_prekeys(otk2.iter().map(OneTimePreKeyPair::public))
        .kem_prekeys(kem2.iter().map(KemPreKeyPair::public))
        .to_bytes()
        .unwrap();
    let spk2 = SignedPreKeyPair::generate(&mut rng, &identity, 2, NOW + 86_400);
    let rotation = PreKeyUpload::builder(&identity)
        .signed_prekey(spk2.public())
        .to_bytes()
        .unwrap();
    let address = DeviceAddress::new(b"load", format!("user-{i}").as_bytes(), 1).unwrap();
    User {
        address,
        identity,
        first,
        second,
        rotation,
    }
}

/// The users of worker `k`'s uploader: every `PROCESSES`-th from `k`.
fn users_of(k: usize) -> impl Iterator<Item = usize> {
    (k..USERS).step_by(PROCESSES)
}

/// A worker: 8 takers and an uploader, then what was taken, one take a
/// line (`user one_time_id kem_id`, 0 for none or the last-resort key).
fn worker(k: usize, params: &str, out: &Path) {
    let mine: Vec<User> = users_of(k).map(user).collect();
    let lines = thread::scope(|s| {
        let uploader = s.spawn(|| {
            let dir = PostgresDirectory::connect(params).unwrap();
            for u in &mine {
                dir.upload(&u.address, &u.second).unwrap();
                dir.upload(&u.address, &u.rotation).unwrap();
            }
        });
        let takers: Vec<_> = (0..CONNECTIONS)
            .map(|t| {
                s.spawn(move || {
                    let dir = PostgresDirectory::connect(params).unwrap();
                    let mut lines = String::new();
                    let c = k * CONNECTIONS + t;
                    for i in 0..TAKES_PER_CONNECTION {
                        let u = (c * 7_919 + i * 31) % USERS;
                        let address =
                            DeviceAddress::new(b"load", format!("user-{u}").as_bytes(), 1).unwrap();
                        let taken = dir.take_bundle(&address).unwrap();
                        let ids = taken.prekey_ids();
                        let kem = if taken.used_last_resort() {
                            0
                        } else {
                            ids.kem_prekey_id()
                        };
                        let otk = ids.one_time_prekey_id().unwrap_or(0);
                        lines.push_str(&format!("{u} {otk} {kem}\n"));
                    }
                    lines
                })
            })
            .collect();
        uploader.join().unwrap();
        takers
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<String>()
    });
    let mut file = std::fs::File::create(out).unwrap();
    file.write_all(lines.as_bytes()).unwrap();
}

#[test]
fn four_processes_hand_out_each_key_once() {
    if let Ok(k) = std::env::var(WORKER) {
        let params = std::env::var(PARAMS).unwrap();
        let out = PathBuf::from(std::env::var(OUT).unwrap());
        worker(k.parse().unwrap(), &params, &out);
        return;
    }
    let Some(params) = fresh_schema(module_path!(), "four_processes") else {
        return;
    };
    let started = Instant::now();
    let dir = PostgresDirectory::connect(&params).unwrap();
    // Provisioned from CONNECTIONS threads: key generation and signature
    // checks are most of it.
    let users: Vec<User> = thread::scope(|s| {
        let parts: Vec<_> = (0..CONNECTIONS)
            .map(|t| {
                let dir = &dir;
                s.spawn(move || {
                    (t..USERS)
                        .step_by(CONNECTIONS)
                        .map(|i| {
                            let u = user(i);
                            dir.register(&u.address, u.identity.public_key()).unwrap();
                            dir.upload(&u.address, &u.first).unwrap();
                            (i, u)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, User)> =
            parts.into_iter().flat_map(|p| p.join().unwrap()).collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, u)| u).collect()
    });
    let provisioned = started.elapsed();
    let tmp = std::env::temp_dir().join(format!("kinseal-load-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let exe = std::env::current_exe().unwrap();
    let workers: Vec<_> = (0..PROCESSES)
        .map(|k| {
            let out = tmp.join(format!("worker-{k}.txt"));
            let child = Command::new(&exe)
                .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
                .env(WORKER, k.to_string())
                .env(PARAMS, &params)
                .env(OUT, &out)
                // The harness's lines; a failing worker's panic is on stderr.
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let mut took: Vec<Vec<(u32, u32)>> = vec![Vec::new(); USERS];
    let mut takes = 0usize;
    for (mut child, out) in workers {
        let status = child.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
        for line in std::fs::read_to_string(&out).unwrap().lines() {
            let v: Vec<u32> = line.split(' ').map(|x| x.parse().unwrap()).collect();
            took[v[0] as usize].push((v[1], v[2]));
            takes += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let ran = started.elapsed() - provisioned;
    assert_eq!(takes, PROCESSES * CONNECTIONS * TAKES_PER_CONNECTION);
    let (mut duplicates, mut lost, mut one_time_taken, mut kem_taken) = (0, 0, 0, 0);
    for (i, u) in users.iter().enumerate() {
        let mut one_time = BTreeSet::new();
        let mut kem = BTreeSet::new();
        for (otk, k) in &took[i] {
            if *otk != 0 && !one_time.insert(*otk) {
                duplicates += 1;
            }
            if *k != 0 && !kem.insert(*k) {
                duplicates += 1;
            }
        }
        assert!(one_time.iter().all(|id| (1..=2 * BATCH).contains(id)));
        assert!(kem.iter().all(|id| (2..=2 * KEM_BATCH + 1).contains(id)));
        let info = dir.device(&u.address).unwrap();
        assert_eq!(info.signed_prekey_id(), Some(2), "user {i}: not rotated");
        // Every key uploaded is handed out or still held: a key neither is
        // lost (and one both would be handed out twice, later).
        let counts = info.counts();
        let accounted = |taken: usize, held: usize, uploaded: u32| {
            (i64::from(uploaded) - i64::try_from(taken + held).unwrap()).abs()
        };
        lost += accounted(one_time.len(), counts.one_time(), 2 * BATCH);
        lost += accounted(kem.len(), counts.kem(), 2 * KEM_BATCH);
        one_time_taken += one_time.len();
        kem_taken += kem.len();
    }
    eprintln!(
        "four_processes: {takes} takes by {PROCESSES} processes x {CONNECTIONS} connections \
         over {USERS} users in {:.1} s ({:.0} takes/s; provisioning {:.1} s): \
         {one_time_taken} one-time X25519 and {kem_taken} one-time ML-KEM keys handed out, \
         {duplicates} twice, {lost} lost",
        ran.as_secs_f64(),
        takes as f64 / ran.as_secs_f64(),
        provisioned.as_secs_f64(),
    );
    assert_eq!(duplicates, 0, "keys handed out twice");
    assert_eq!(lost, 0, "keys lost");
}
