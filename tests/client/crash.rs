//! Crash safety and concurrency of an `Account` over `SqliteStore`, with
//! real processes.
//!
//! - A child process decrypting a stream of messages is killed (SIGKILL)
//!   at random moments, over and over. The child takes each plaintext
//!   through `Account::decrypt_with`, so it reports a message *before*
//!   the commit. After each kill: every message it reported but the last
//!   fails as a duplicate (no message key is used twice); the last one was
//!   either committed (a duplicate) or not (it decrypts again: delivered
//!   at least once); the next one decrypts — a message is never committed
//!   without having been delivered, so none is lost; one-time prekeys are
//!   gone exactly when the first message naming them was committed; and
//!   SQLite's integrity check passes.
//! - Two processes (and two threads with separate store handles) decrypt
//!   disjoint halves of one sender's stream from the same database at the
//!   same time: every message decrypts exactly once, with no error, and the
//!   session goes on working in both directions.
//!
//! The children are this test binary run again (`worker`, selected by
//! environment variables), so they use exactly this build.

use crate::common::learn_list;
use crate::crash_support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crash_support::*;

use chacha20::ChaCha20Rng;
use kinseal::client::store::{KemPreKeyStore, OneTimePreKeyStore};
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, MemoryStore, SqliteStore, StorageKey,
    StorageKeyring,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{Error, OsRng, PreKeyMessage, ProtocolError};
use rand_core::{Rng, SeedableRng};

/// "Now" for every operation: 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
/// One-time prekeys of each kind the receiver publishes: one per sender
/// and more, so every sender's first message consumes one of each.
const ONE_TIME_TARGET: usize = 6;

/// The storage keyring of the receiving device, parent and children alike.
pub(crate) fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[0x4b; 32]))
}

pub(crate) fn sender_address(sender: u8) -> DeviceAddress {
    let app: &[u8] = [b"chirp".as_slice(), b"parley", b"natter"][usize::from(sender) % 3];
    DeviceAddress::new(
        app,
        format!("sender-{sender}").as_bytes(),
        u32::from(sender) + 1,
    )
    .unwrap()
}

pub(crate) fn receiver_address() -> DeviceAddress {
    DeviceAddress::new(b"chirp", b"receiver", 1).unwrap()
}

fn config() -> AccountConfig {
    AccountConfig::default()
        .with_one_time_prekey_target(ONE_TIME_TARGET)
        .unwrap()
}

/// Decrypts `stream[first]`, `stream[first + step]`, … with its own
/// `Account` over its own `SqliteStore` at `db`, reporting each result.
fn decrypt_each(
    db: &Path,
    stream: &[Item],
    first: usize,
    step: usize,
    gate: Option<&Path>,
    mut report: impl FnMut(usize, Result<(), String>),
) {
    let account = Account::open(SqliteStore::open(db).unwrap(), keyring()).unwrap();
    if let Some(gate) = gate {
        pass_gate(gate, first);
    }
    for (i, item) in stream.iter().enumerate().skip(first).step_by(step) {
        let from = sender_address(item.sender);
        // The plaintext is reported inside the transaction, before the
        // commit, as an app stores it with `decrypt_with`.
        let deliver = |d: &kinseal::client::Decrypted| {
            if d.plaintext() == item.plaintext {
                report(i, Ok(()));
                Ok(())
            } else {
                Err("another plaintext".to_owned())
            }
        };
        match account.decrypt_with(&mut OsRng, &from, &item.ciphertext, NOW, deliver) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => report(i, Err(e)),
            Err(e) => report(i, Err(format!("{e:?}"))),
        }
        if gate.is_some() {
            // Messages arrive paced, not in one burst. SQLite's lock is not
            // fair: a waiter polls with growing sleeps (up to 100 ms), and
            // a decryptor going back to back would keep the lock until it
            // is done, so the two would not interleave at all.
            std::thread::sleep(Duration::from_millis(2 + (i % 4) as u64));
        }
    }
}

/// The child process: runs only when the crash tests start it.
#[test]
#[ignore = "run by the crash tests, in a child process"]
fn worker() {
    let Some(db) = std::env::var_os(ENV_DB) else {
        return;
    };
    let var = |name| std::env::var(name).unwrap();
    let stream = read_stream(Path::new(&var(ENV_STREAM)));
    if let Ok(batch) = std::env::var(ENV_BATCH) {
        let first = var(ENV_FIRST).parse().unwrap();
        crate::batch_crash::worker(Path::new(&db), &stream, first, batch.parse().unwrap());
        return;
    }
    let gate = std::env::var_os(ENV_GATE).map(PathBuf::from);
    let mut out = std::io::stdout().lock();
    decrypt_each(
        Path::new(&db),
        &stream,
        var(ENV_FIRST).parse().unwrap(),
        var(ENV_STEP).parse().unwrap(),
        gate.as_deref(),
        |i, result| {
            // Written and flushed before the decrypt commits.
            match result {
                Ok(()) => writeln!(out, "{MARK}decrypted {i} at {}", clock_ns()).unwrap(),
                Err(e) => writeln!(out, "{MARK}error {i} {e}").unwrap(),
            }
            out.flush().unwrap();
        },
    );
}

/// The receiving device over its SQLite file, and the senders, each an
/// account over memory with a session started from the receiver's bundle.
pub(crate) struct World {
    receiver: Account<SqliteStore>,
    senders: Vec<Account<MemoryStore>>,
    /// The receiver's one-time prekeys (X25519, ML-KEM) before any message.
    one_time: BTreeSet<u32>,
    kem: BTreeSet<u32>,
}

impl World {
    pub(crate) fn new(db: &Path, senders: u8) -> World {
        let directory = MemoryDirectory::new();
        let receiver = Account::create(
            SqliteStore::open(db).unwrap(),
            keyring(),
            &mut OsRng,
            &receiver_address(),
            NOW,
        )
        .unwrap()
        .with_config(config());
        directory
            .register(&receiver_address(), receiver.identity_key())
            .unwrap();
        let update = receiver.refresh_prekeys(&mut OsRng, NOW, None).unwrap();
        directory
            .upload(
                &receiver_address(),
                &receiver.upload_bytes(&update).unwrap(),
            )
            .unwrap();
        let senders = (0..senders)
            .map(|s| {
                let at = sender_address(s);
                let sender = Account::create(MemoryStore::new(), keyring(), &mut OsRng, &at, NOW)
                    .unwrap()
                    .with_config(config());
                // Each learns the other's device list, as from a directory.
                learn_list(&sender, &receiver);
                learn_list(&receiver, &sender);
                let bundle = directory
                    .take_bundle(&receiver_address())
                    .unwrap()
                    .into_bundle()
                    .verify()
                    .unwrap();
                sender
                    .start_session(&mut OsRng, &receiver_address(), &bundle, NOW)
                    .unwrap();
                sender
            })
            .collect();
        let mut txn = receiver.store().transaction().unwrap();
        let one_time = txn.one_time_prekey_ids().unwrap().into_iter().collect();
        let kem = txn.kem_prekey_ids().unwrap().into_iter().collect();
        drop(txn);
        World {
            receiver,
            senders,
            one_time,
            kem,
        }
    }

    /// `per_sender` messages from each sender, interleaved at random, and
    /// with some of each sender's messages swapped with the next one, so
    /// that skipped keys are stored and used.
    pub(crate) fn stream(&self, rng: &mut ChaCha20Rng, per_sender: usize, tag: &str) -> Vec<Item> {
        let mut queues: Vec<Vec<Item>> = self
            .senders
            .iter()
            .enumerate()
            .map(|(s, account)| {
                let sender = u8::try_from(s).unwrap();
                let mut items: Vec<Item> = (0..per_sender)
                    .map(|k| {
                        let plaintext = format!("{tag}: message {k} from sender {s}").into_bytes();
                        let ciphertext = account
                            .encrypt(&mut OsRng, &receiver_address(), &plaintext, NOW)
                            .unwrap();
                        Item {
                            sender,
                            ciphertext,
                            plaintext,
                        }
                    })
                    .collect();
                for k in 0..per_sender.saturating_sub(1) {
                    if rng.next_u32().is_multiple_of(3) {
                        items.swap(k, k + 1);
                    }
                }
                items.reverse(); // popped from the back
                items
            })
            .collect();
        let mut stream = Vec::new();
        while queues.iter().any(|q| !q.is_empty()) {
            let s = rng.next_u32() as usize % queues.len();
            if let Some(item) = queues[s].pop() {
                stream.push(item);
            }
        }
        stream
    }

    /// Each sender's session answered: the receiver writes to every sender
    /// and they decrypt, so their next messages ratchet.
    pub(crate) fn replies(&self) {
        for (s, sender) in self.senders.iter().enumerate() {
            let from = sender_address(u8::try_from(s).unwrap());
            let reply = self
                .receiver
                .encrypt(&mut OsRng, &from, b"reply", NOW)
                .unwrap();
            let got = sender
                .decrypt(&mut OsRng, &receiver_address(), &reply, NOW)
                .unwrap();
            assert_eq!(got.plaintext(), b"reply");
        }
    }

    /// Decrypting `item` again: a duplicate.
    pub(crate) fn assert_duplicate(&self, i: usize, item: &Item) {
        match self.decrypt(item) {
            Err(Error::Protocol(ProtocolError::Duplicate { .. })) => {}
            other => panic!("message {i} committed, then {other:?}"),
        }
    }

    pub(crate) fn decrypt(&self, item: &Item) -> kinseal::Result<Vec<u8>> {
        self.receiver
            .decrypt(
                &mut OsRng,
                &sender_address(item.sender),
                &item.ciphertext,
                NOW,
            )
            .map(|d| d.into_plaintext())
    }

    /// The one-time prekeys left: those left before `stream` minus
    /// exactly those its first `committed` messages name.
    fn expected_prekeys(
        &self,
        stream: &[Item],
        committed: usize,
    ) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let mut one_time = self.one_time.clone();
        let mut kem = self.kem.clone();
        for item in &stream[..committed] {
            if let Ok(m) = PreKeyMessage::from_bytes(&item.ciphertext) {
                if let Some(id) = m.one_time_prekey_id() {
                    one_time.remove(&id);
                }
                kem.remove(&m.kem_prekey_id());
            }
        }
        (one_time, kem)
    }

    /// Records that every message of `stream` was decrypted.
    pub(crate) fn settle(&mut self, stream: &[Item]) {
        (self.one_time, self.kem) = self.expected_prekeys(stream, stream.len());
    }

    /// The one-time prekeys left are exactly those no committed message
    /// named (`stream[..committed]` and earlier streams), and the database
    /// file is sound.
    pub(crate) fn assert_prekeys_and_integrity(&self, stream: &[Item], committed: usize) {
        let (one_time, kem) = self.expected_prekeys(stream, committed);
        let mut txn = self.receiver.store().transaction().unwrap();
        let found: BTreeSet<u32> = txn.one_time_prekey_ids().unwrap().into_iter().collect();
        assert_eq!(
            found, one_time,
            "one-time prekeys after {committed} messages"
        );
        let found: BTreeSet<u32> = txn.kem_prekey_ids().unwrap().into_iter().collect();
        assert_eq!(found, kem, "KEM prekeys after {committed} messages");
        drop(txn);
        self.receiver.store().check_integrity().unwrap();
    }
}

/// A seed for the random choices, from the clock, printed so that a
/// failure can be replayed with `KINSEAL_CRASH_SEED`.
pub(crate) fn seeded_rng() -> ChaCha20Rng {
    let seed = std::env::var("KINSEAL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("KINSEAL_CRASH_SEED={seed}");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    ChaCha20Rng::from_seed(bytes)
}

/// How each message of a killed run got decrypted.
#[derive(Default, Debug)]
struct Tally {
    rounds: usize,
    /// Rounds in which the child was killed before the end of the stream.
    killed_mid_stream: usize,
    /// Messages the child reported decrypted.
    by_child: usize,
    /// Messages the child reported but was killed before it committed:
    /// delivered again after the kill.
    delivered_twice: usize,
    /// Messages the parent decrypted after a kill.
    by_parent: usize,
}

#[test]
fn a_child_killed_while_decrypting_loses_nothing_and_reuses_no_key() {
    const SENDERS: u8 = 3;
    const PER_SENDER: usize = 15;
    const SEGMENTS: usize = 3;
    // Segments run beyond `SEGMENTS` only while fewer kills than that
    // landed mid-stream (a fast machine can decrypt a whole segment
    // inside the first window), up to this many.
    const MAX_SEGMENTS: usize = 8;
    let started = Instant::now();
    let dir = TempDir::new("killed");
    let (db, stream_path) = (dir.join("receiver.db"), dir.join("stream"));
    let mut rng = seeded_rng();
    let mut world = World::new(&db, SENDERS);
    let mut tally = Tally::default();
    let mut window = KillWindow::new(40, 4, 10);
    let mut segment = 0;
    while segment < SEGMENTS || (tally.killed_mid_stream < SEGMENTS && segment < MAX_SEGMENTS) {
        if segment > 0 {
            world.replies();
        }
        // Segment 0 is all PreKeyMessages (the senders have had no answer
        // yet); the first of each sender consumes one-time prekeys.
        let stream = world.stream(&mut rng, PER_SENDER, &format!("segment {segment}"));
        write_stream(&stream_path, &stream);
        let mut next = 0;
        while next < stream.len() {
            let child = spawn_worker(&db, &stream_path, next, 1, None);
            let reported = kill_after(child, window.delay(rng.next_u64()), next);
            let after = check_after_kill(
                &stream,
                &reported,
                next,
                |item| world.decrypt(item),
                |e| matches!(e, Error::Protocol(ProtocolError::Duplicate { .. })),
            );
            tally.rounds += 1;
            tally.by_child += reported.len();
            tally.delivered_twice += usize::from(after.delivered_twice);
            tally.killed_mid_stream += usize::from(after.by_parent);
            tally.by_parent += usize::from(after.by_parent);
            next += reported.len() + usize::from(after.by_parent);
            world.assert_prekeys_and_integrity(&stream, next);
            window.adapt(reported.len(), !after.by_parent && next >= stream.len());
        }
        for (i, item) in stream.iter().enumerate() {
            world.assert_duplicate(i, item);
        }
        world.settle(&stream);
        if segment == 0 {
            // Each sender's handshake consumed its one-time prekeys, once.
            let left = ONE_TIME_TARGET - usize::from(SENDERS);
            assert_eq!((world.one_time.len(), world.kem.len()), (left, left));
        }
        segment += 1;
    }
    eprintln!("{tally:?}, in {:?}", started.elapsed());
    assert!(tally.killed_mid_stream >= SEGMENTS, "{tally:?}");
}

/// Runs two decryptors over the halves (even, odd) of `stream`; they
/// start decrypting together (see [`ENV_GATE`]).
type Pair = fn(db: &Path, stream_path: &Path, stream: &[Item], gate: &Path) -> [Report; 2];

/// Two processes, each with its own connection.
fn two_processes(db: &Path, stream_path: &Path, _: &[Item], gate: &Path) -> [Report; 2] {
    let children = [0, 1].map(|first| spawn_worker(db, stream_path, first, 2, Some(gate)));
    open_gate(gate, &[0, 1]);
    children.map(finish)
}

/// Two threads, each with its own `SqliteStore` on the file.
fn two_threads(db: &Path, _: &Path, stream: &[Item], gate: &Path) -> [Report; 2] {
    std::thread::scope(|s| {
        let threads = [0, 1].map(|first| {
            s.spawn(move || {
                let mut report = Report::default();
                decrypt_each(db, stream, first, 2, Some(gate), |i, result| match result {
                    Ok(()) => {
                        report.decrypted.push(i);
                        report.times.push(clock_ns());
                    }
                    Err(e) => report.errors.push(format!("error {i} {e}")),
                });
                report
            })
        });
        open_gate(gate, &[0, 1]);
        threads.map(|t| t.join().unwrap())
    })
}

/// One sender's stream, halved between two decryptors running at once
/// against one database, in two phases: `PreKeyMessage`s (both race to
/// set up the session from the same handshake, consuming the one-time
/// prekeys once), then, after a reply, `Message`s on a new ratchet key.
fn halves_decrypt_exactly_once(name: &str, pair: Pair) {
    const PER_PHASE: usize = 60;
    let started = Instant::now();
    let dir = TempDir::new(name);
    let (db, stream_path) = (dir.join("receiver.db"), dir.join("stream"));
    let mut rng = seeded_rng();
    let mut world = World::new(&db, 1);
    for phase in 0..2 {
        if phase > 0 {
            world.replies();
        }
        let stream = world.stream(&mut rng, PER_PHASE, &format!("phase {phase}"));
        write_stream(&stream_path, &stream);
        let gate = dir.join(&format!("gate-{phase}"));
        std::fs::create_dir(&gate).unwrap();
        let reports = pair(&db, &stream_path, &stream, &gate);
        let mut times_decrypted = vec![0; stream.len()];
        for report in &reports {
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            for &i in &report.decrypted {
                times_decrypted[i] += 1;
            }
        }
        assert!(
            times_decrypted.iter().all(|&n| n == 1),
            "{times_decrypted:?}"
        );
        // The two took turns, rather than one waiting for the other to
        // finish: their transactions really did contend.
        let turns = alternations(&reports);
        eprintln!("{name}, phase {phase}: {turns} alternations between the two");
        assert!(turns >= 2, "{name}: one decryptor ran only after the other");
        for (i, item) in stream.iter().enumerate() {
            world.assert_duplicate(i, item);
        }
        world.assert_prekeys_and_integrity(&stream, stream.len());
        world.settle(&stream);
    }
    // The session the two left behind goes on, both ways.
    for item in world.stream(&mut rng, 5, "after") {
        assert_eq!(world.decrypt(&item).unwrap(), item.plaintext);
    }
    world.replies();
    eprintln!("{name}: {:?}", started.elapsed());
}

#[test]
fn two_processes_decrypting_from_one_peer_each_message_once() {
    halves_decrypt_exactly_once("two-processes", two_processes);
}

#[test]
fn two_threads_with_their_own_stores_each_message_once() {
    halves_decrypt_exactly_once("two-threads", two_threads);
}
