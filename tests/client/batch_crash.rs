//! Crash safety of `Account::decrypt_batch` over `SqliteStore`, with real
//! processes: a child decrypting a stream in batches is killed (SIGKILL)
//! at random moments, over and over. A batch commits once, for all its
//! messages, so after each kill every batch before the last one the child
//! reported from is committed (its messages are duplicates), and that
//! last batch is all or nothing: either every one of its messages is a
//! duplicate (it committed) or every one decrypts again (it did not; the
//! child had delivered some, so they are delivered twice, never lost).
//! The one-time prekeys left are exactly those no committed message named.

use std::io::Write;
use std::path::Path;

use kinseal::client::{Account, SqliteStore};
use kinseal::{Envelope, Error, OsRng, ProtocolError};
use rand_core::Rng;

use crate::crash::{World, keyring, receiver_address, seeded_rng, sender_address};
use crate::crash_support::*;

/// "Now" for every operation (as in `crash.rs`).
const NOW: u64 = 1_767_225_600;
/// Messages per `decrypt_batch` call in the child.
const BATCH: usize = 4;

/// The child's work: `stream[first..]`, `batch` messages per call, each
/// plaintext reported inside the transaction, before the commit.
pub(crate) fn worker(db: &Path, stream: &[Item], first: usize, batch: usize) {
    let account = Account::open(SqliteStore::open(db).unwrap(), keyring()).unwrap();
    let mut out = std::io::stdout().lock();
    let mut start = first;
    while start < stream.len() {
        let items = &stream[start..(start + batch).min(stream.len())];
        let envelopes: Vec<Envelope> = items
            .iter()
            .map(|i| {
                Envelope::new(
                    sender_address(i.sender),
                    receiver_address(),
                    i.ciphertext.clone(),
                )
                .unwrap()
            })
            .collect();
        let outcomes = account
            .decrypt_batch(&mut OsRng, &envelopes, NOW, |j, d| {
                if d.plaintext() != items[j].plaintext {
                    return Err("another plaintext");
                }
                writeln!(out, "{MARK}decrypted {} at {}", start + j, clock_ns()).unwrap();
                out.flush().unwrap();
                Ok(())
            })
            .unwrap();
        for (j, outcome) in outcomes.iter().enumerate() {
            if let Err(e) = outcome {
                writeln!(out, "{MARK}error {} {e:?}", start + j).unwrap();
            }
        }
        start += items.len();
    }
}

fn duplicate(e: &Error) -> bool {
    matches!(e, Error::Protocol(ProtocolError::Duplicate { .. }))
}

#[test]
fn a_child_killed_during_a_batch_commits_all_of_it_or_none() {
    const SENDERS: u8 = 3;
    const PER_SENDER: usize = 40;
    const SEGMENTS: usize = 3;
    // Segments run beyond `SEGMENTS` only while no kill has landed inside
    // a batch (a fast machine can decrypt a whole segment inside the
    // first window), up to this many.
    const MAX_SEGMENTS: usize = 8;
    let dir = TempDir::new("batch-killed");
    let (db, stream_path) = (dir.join("receiver.db"), dir.join("stream"));
    let mut rng = seeded_rng();
    let mut world = World::new(&db, SENDERS);
    let (mut rounds, mut whole_batches_lost, mut killed_mid_batch) = (0, 0, 0);
    let mut window = KillWindow::new(15, 2 * BATCH, 5);
    let mut segment = 0;
    while segment < SEGMENTS
        || (killed_mid_batch + whole_batches_lost == 0 && segment < MAX_SEGMENTS)
    {
        if segment > 0 {
            world.replies();
        }
        let stream = world.stream(&mut rng, PER_SENDER, &format!("batch segment {segment}"));
        write_stream(&stream_path, &stream);
        let mut next = 0;
        while next < stream.len() {
            let child = spawn_batch_worker(&db, &stream_path, next, BATCH);
            let reported = kill_after(child, window.delay(rng.next_u64()), next);
            rounds += 1;
            // Batches before the one of the last message reported had
            // committed: the child went on past them.
            let last_batch = reported
                .last()
                .map_or(next, |&last| next + (last - next) / BATCH * BATCH);
            for (i, item) in stream.iter().enumerate().take(last_batch).skip(next) {
                match world.decrypt(item) {
                    Err(e) if duplicate(&e) => {}
                    other => panic!("message {i} of a committed batch, then {other:?}"),
                }
            }
            // That batch: all of it committed, or none of it.
            let end = (last_batch + BATCH).min(stream.len());
            let results: Vec<_> = (last_batch..end)
                .map(|i| world.decrypt(&stream[i]))
                .collect();
            let committed = results.iter().all(|r| matches!(r, Err(e) if duplicate(e)));
            if !committed {
                for (k, r) in results.iter().enumerate() {
                    match r {
                        Ok(p) => assert_eq!(*p, stream[last_batch + k].plaintext),
                        Err(e) => {
                            panic!("message {} lost or half committed: {e:?}", last_batch + k)
                        }
                    }
                }
                let delivered = reported.iter().filter(|&&i| i >= last_batch).count();
                whole_batches_lost += usize::from(delivered == end - last_batch);
                killed_mid_batch += usize::from(delivered > 0 && delivered < end - last_batch);
            }
            next = end;
            world.assert_prekeys_and_integrity(&stream, next);
            window.adapt(reported.len(), committed && next >= stream.len());
        }
        for (i, item) in stream.iter().enumerate() {
            world.assert_duplicate(i, item);
        }
        world.settle(&stream);
        segment += 1;
    }
    eprintln!(
        "{segment} segments, {rounds} rounds: {killed_mid_batch} killed mid-batch, \
         {whole_batches_lost} between the last delivery and the commit"
    );
    assert!(
        killed_mid_batch + whole_batches_lost >= 1,
        "no kill landed inside a batch"
    );
}
