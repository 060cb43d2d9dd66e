//! Crash safety of group decryption over `SqliteStore`, with real
//! processes, as `crash.rs` does for pairwise messages.
//!
//! A child process decrypting a stream of group messages from three
//! senders (interleaved, some swapped, so skipped keys are stored and
//! used) is killed (SIGKILL) at random moments, over and over. The child
//! takes each plaintext through `Account::group_decrypt_with`, so it
//! reports a message *before* the commit. After each kill: every message
//! it reported but the last is a duplicate (no message key is used
//! twice); the last was either committed (a duplicate) or not (it
//! decrypts again: delivered at least once); the next one decrypts (none
//! is lost); and SQLite's integrity check passes.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::common::{Device, NOW, device, fetch, keyring, learn_list, register};
use crate::crash_support::*;

use chacha20::ChaCha20Rng;
use kinseal::client::{Account, DeviceAddress, SqliteStore};
use kinseal::server::MemoryDirectory;
use kinseal::{Error, GroupError, GroupId, OsRng};
use rand_core::{Rng, SeedableRng};

/// The full name of the worker below: what a child runs.
const GROUP_WORKER: &str = "group_crash::worker";
const APPS: [&str; 3] = ["chirp", "parley", "murmur"];

fn sender_address(sender: u8) -> DeviceAddress {
    let name = format!("sender-{sender}");
    crate::common::address(APPS[usize::from(sender) % 3], &name, 1)
}

/// The child process: runs only when the test starts it.
#[test]
#[ignore = "run by the group crash test, in a child process"]
fn worker() {
    let Some(db) = std::env::var_os(ENV_DB) else {
        return;
    };
    let var = |name| std::env::var(name).unwrap();
    let stream = read_stream(Path::new(&var(ENV_STREAM)));
    let first: usize = var(ENV_FIRST).parse().unwrap();
    let account = Account::open(SqliteStore::open(Path::new(&db)).unwrap(), keyring()).unwrap();
    let mut out = std::io::stdout().lock();
    for (i, item) in stream.iter().enumerate().skip(first) {
        let from = sender_address(item.sender);
        // Reported inside the transaction, before the commit, as an app
        // stores the plaintext.
        let result = account.group_decrypt_with(&mut OsRng, &from, &item.ciphertext, |d| {
            if d.plaintext() != item.plaintext {
                return Err("another plaintext".to_owned());
            }
            writeln!(out, "{MARK}decrypted {i} at {}", clock_ns()).unwrap();
            out.flush().unwrap();
            Ok(())
        });
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => writeln!(out, "{MARK}error {i} {e}").unwrap(),
            Err(e) => writeln!(out, "{MARK}error {i} {e:?}").unwrap(),
        }
    }
}

/// The receiver over its SQLite file in a group with three senders (over
/// memory), every sender key distributed.
struct World {
    receiver: Device<SqliteStore>,
    senders: Vec<Device>,
    group: GroupId,
}

impl World {
    fn new(db: &Path) -> World {
        let dir = MemoryDirectory::new();
        let receiver = register(
            &dir,
            crate::common::address("chirp", "receiver", 1),
            SqliteStore::open(db).unwrap(),
        );
        let senders: Vec<Device> = (0..3u8)
            .map(|s| device(&dir, APPS[usize::from(s)], &format!("sender-{s}"), 1))
            .collect();
        for a in &senders {
            learn_list(&receiver.account, &a.account);
            learn_list(&a.account, &receiver.account);
            for b in &senders {
                if a.address != b.address {
                    learn_list(&a.account, &b.account);
                }
            }
        }
        for a in &senders {
            for user in senders
                .iter()
                .map(|d| d.address.user())
                .chain([receiver.address.user()])
            {
                if user != a.address.user() {
                    a.account
                        .sync_sessions(&mut OsRng, user, &mut fetch(&dir), NOW)
                        .unwrap();
                }
            }
        }
        let users: Vec<_> = senders[1..]
            .iter()
            .map(|d| d.address.user().clone())
            .chain([receiver.address.user().clone()])
            .collect();
        let (group, genesis) = senders[0]
            .account
            .create_group(&mut OsRng, &users, NOW)
            .unwrap();
        let world = World {
            receiver,
            senders,
            group,
        };
        world.deliver(genesis.envelopes());
        world
    }

    /// Delivers pairwise envelopes to the devices they name.
    fn deliver(&self, envelopes: &[kinseal::Envelope]) {
        for e in envelopes {
            if e.recipient() == &self.receiver.address {
                self.receiver
                    .account
                    .decrypt_envelope(&mut OsRng, e, NOW)
                    .unwrap();
            } else if let Some(d) = self.senders.iter().find(|d| &d.address == e.recipient()) {
                d.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
            }
        }
    }

    /// `per_sender` group messages from each sender (distributions
    /// delivered first), interleaved at random, some swapped with the next.
    fn stream(&self, rng: &mut ChaCha20Rng, per_sender: usize) -> Vec<Item> {
        let mut queues: Vec<Vec<Item>> = Vec::new();
        for (s, d) in self.senders.iter().enumerate() {
            let mut items = Vec::new();
            for k in 0..per_sender {
                let plaintext = format!("group message {k} from sender {s}").into_bytes();
                let sent = d
                    .account
                    .group_send(&mut OsRng, &self.group, &plaintext, NOW)
                    .unwrap();
                self.deliver(sent.distributions().envelopes());
                items.push(Item {
                    sender: u8::try_from(s).unwrap(),
                    ciphertext: sent.message().to_vec(),
                    plaintext,
                });
            }
            for k in 0..per_sender.saturating_sub(1) {
                if rng.next_u32().is_multiple_of(3) {
                    items.swap(k, k + 1);
                }
            }
            items.reverse(); // popped from the back
            queues.push(items);
        }
        let mut stream = Vec::new();
        while queues.iter().any(|q| !q.is_empty()) {
            let s = rng.next_u32() as usize % queues.len();
            if let Some(item) = queues[s].pop() {
                stream.push(item);
            }
        }
        stream
    }

    fn decrypt(&self, item: &Item) -> kinseal::Result<Vec<u8>> {
        self.receiver
            .account
            .group_decrypt(&mut OsRng, &sender_address(item.sender), &item.ciphertext)
            .map(|d| d.into_plaintext())
    }

    fn assert_duplicate(&self, i: usize, item: &Item) {
        match self.decrypt(item) {
            Err(Error::Group(GroupError::Duplicate { .. })) => {}
            other => panic!("group message {i} committed, then {other:?}"),
        }
    }
}

#[test]
fn a_child_killed_while_group_decrypting_loses_nothing_and_reuses_no_key() {
    const PER_SENDER: usize = 40;
    const MIN_KILLS: usize = 3;
    const MAX_STREAMS: usize = 6;
    let started = Instant::now();
    let dir = TempDir::new("group-killed");
    let (db, stream_path) = (dir.join("receiver.db"), dir.join("stream"));
    let seed = std::env::var("KINSEAL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(clock_ns) as u64;
    eprintln!("KINSEAL_CRASH_SEED={seed}");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = ChaCha20Rng::from_seed(bytes);
    let world = World::new(&db);
    let (mut rounds, mut killed_mid_stream, mut delivered_twice) = (0, 0, 0);
    let mut window = KillWindow::new(40, 4, 10);
    // More streams (the senders go on sending) while fewer than
    // `MIN_KILLS` kills have landed mid-stream: a fast machine can decrypt
    // a whole stream inside the first window.
    let mut streams = 0;
    while streams == 0 || (killed_mid_stream < MIN_KILLS && streams < MAX_STREAMS) {
        let stream = world.stream(&mut rng, PER_SENDER);
        write_stream(&stream_path, &stream);
        let mut next = 0;
        while next < stream.len() {
            let child = spawn_named(GROUP_WORKER, &db, &stream_path, next, 1, None);
            let reported = kill_after(child, window.delay(rng.next_u64()), next);
            let after = check_after_kill(
                &stream,
                &reported,
                next,
                |item| world.decrypt(item),
                |e| matches!(e, Error::Group(GroupError::Duplicate { .. })),
            );
            rounds += 1;
            delivered_twice += usize::from(after.delivered_twice);
            killed_mid_stream += usize::from(after.by_parent);
            next += reported.len() + usize::from(after.by_parent);
            world.receiver.account.store().check_integrity().unwrap();
            window.adapt(reported.len(), !after.by_parent && next >= stream.len());
        }
        for (i, item) in stream.iter().enumerate() {
            world.assert_duplicate(i, item);
        }
        streams += 1;
    }
    eprintln!(
        "{streams} streams, {rounds} rounds, {killed_mid_stream} killed mid-stream, \
         {delivered_twice} delivered twice, in {:?}",
        started.elapsed()
    );
    assert!(
        killed_mid_stream >= MIN_KILLS,
        "{killed_mid_stream} kills mid-stream in {streams} streams"
    );
}
