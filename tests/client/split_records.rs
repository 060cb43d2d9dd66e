//! Session sets stored in two seals (STORAGE.md §2.5), through the
//! account: a same-chain message keeps the cold part's bytes and a
//! ratchet step rewrites them; a hot part that was altered, or written for
//! another cold part, is refused and changes nothing; a set sealed whole
//! (the layout before split records) is read, and written split next.

use std::sync::Arc;

use kinseal::client::store::{SessionStore, StoreTransaction};
use kinseal::client::{ClientStore, MemoryStore, RecordKey};
use kinseal::server::MemoryDirectory;
use kinseal::{Error, OsRng, StorageError};

use crate::common::{Device, device, keyring};

/// The type byte of a split record, and of a record sealed whole.
const SPLIT: u8 = 0x3e;
const WHOLE: u8 = 0x30;

/// Alice and Bob with a session each way: Alice has heard Bob's reply.
fn talking() -> (MemoryDirectory, Device, Device) {
    let directory = MemoryDirectory::new();
    let alice = device(&directory, "chirp", "alice", 1);
    let bob = device(&directory, "parley", "bob", 1);
    alice.start(&directory, &bob);
    let hello = alice.send(&bob, "hello");
    assert_eq!(bob.receive(&alice, &hello).unwrap(), b"hello");
    let reply = bob.send(&alice, "hi");
    assert_eq!(alice.receive(&bob, &reply).unwrap(), b"hi");
    (directory, alice, bob)
}

fn store_of(d: &Device) -> &Arc<MemoryStore> {
    d.account.store()
}

/// The record `of` holds for its sessions with `with`.
fn record(of: &Device, with: &Device) -> Vec<u8> {
    let mut txn = store_of(of).transaction().unwrap();
    txn.sessions(&with.address).unwrap().unwrap()
}

fn put(of: &Device, with: &Device, bytes: &[u8]) {
    let mut txn = store_of(of).transaction().unwrap();
    txn.put_sessions(&with.address, bytes).unwrap();
    txn.commit().unwrap();
}

/// A split record's cold and hot parts.
fn parts(value: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(value[..2], [0x01, SPLIT]);
    let cold_len = u32::from_be_bytes(value[2..6].try_into().unwrap()) as usize;
    value[6..].split_at(cold_len)
}

fn join(cold: &[u8], hot: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01, SPLIT];
    out.extend_from_slice(&u32::try_from(cold.len()).unwrap().to_be_bytes());
    out.extend_from_slice(cold);
    out.extend_from_slice(hot);
    out
}

#[test]
fn a_same_chain_message_keeps_the_cold_part_and_a_ratchet_step_rewrites_it() {
    let (_dir, alice, bob) = talking();
    // Alice's first message after Bob's reply starts her new sending chain
    // (a ratchet step: the whole set is sealed again); the next ones are
    // on that chain.
    let mut sent = vec![alice.send(&bob, "a new chain")];
    let r0 = record(&alice, &bob);
    let mut hots = vec![parts(&r0).1.to_vec()];
    for i in 1..6 {
        sent.push(alice.send(&bob, &format!("same chain {i}")));
        let r = record(&alice, &bob);
        assert!(
            parts(&r).0 == parts(&r0).0,
            "message {i} rewrote the cold part"
        );
        // Each write seals a new hot part, well under the set's size.
        assert!(!hots.iter().any(|h| h == parts(&r).1));
        assert!(parts(&r).1.len() < 200, "{} bytes", parts(&r).1.len());
        hots.push(parts(&r).1.to_vec());
    }
    // The same on the receiving side, once the first message of the
    // chain has started Bob's receiving chain.
    assert_eq!(bob.receive(&alice, &sent[0]).unwrap(), b"a new chain");
    let b0 = record(&bob, &alice);
    for (i, m) in sent.iter().enumerate().skip(1) {
        assert_eq!(
            bob.receive(&alice, m).unwrap(),
            format!("same chain {i}").as_bytes()
        );
        let b = record(&bob, &alice);
        assert!(
            parts(&b).0 == parts(&b0).0,
            "message {i} rewrote Bob's cold part"
        );
    }
    // Bob's answer starts a new chain: Alice's set changes shape, and the
    // whole set is sealed again.
    let answer = bob.send(&alice, "Bob's new chain");
    assert_eq!(alice.receive(&bob, &answer).unwrap(), b"Bob's new chain");
    let r1 = record(&alice, &bob);
    assert!(
        parts(&r1).0 != parts(&r0).0,
        "a ratchet step kept the cold part"
    );

    // A fresh account over the same store (nothing cached) reads the
    // split record and goes on.
    let reopened = Device {
        address: alice.address.clone(),
        account: kinseal::client::Account::open(Arc::clone(store_of(&alice)), keyring())
            .unwrap()
            .with_config(crate::common::config()),
    };
    let m = reopened.send(&bob, "after reopening");
    assert_eq!(bob.receive(&reopened, &m).unwrap(), b"after reopening");
}

#[test]
fn an_altered_or_mismatched_hot_part_is_refused_and_changes_nothing() {
    let (_dir, alice, bob) = talking();
    let before = record(&alice, &bob);
    let _ = alice.send(&bob, "one");
    let patched = record(&alice, &bob);
    let (cold, hot) = parts(&patched);
    // A second conversation's record: another cold part.
    let (_dir2, carol, dave) = talking();
    let other = record(&carol, &dave);
    let (_, other_hot) = parts(&other);

    let mut altered_hot = hot.to_vec();
    let last = altered_hot.len() - 1;
    altered_hot[last] ^= 1;
    let mut altered_cold = cold.to_vec();
    altered_cold[40] ^= 1;
    for bad in [
        join(cold, other_hot),
        join(cold, &altered_hot),
        join(&altered_cold, hot),
        join(hot, cold),
        // The cold part alone, as if it were a record sealed whole.
        cold.to_vec(),
    ] {
        put(&alice, &bob, &bad);
        for result in [
            alice
                .account
                .encrypt(&mut OsRng, &bob.address, b"refused", crate::common::NOW)
                .map(|_| ()),
            alice
                .account
                .decrypt(&mut OsRng, &bob.address, &before, crate::common::NOW)
                .map(|_| ()),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::Storage(
                        StorageError::SealBroken { table: "sessions" }
                            | StorageError::InvalidRecord { table: "sessions" }
                    ))
                ),
                "{result:?}"
            );
        }
        assert!(
            record(&alice, &bob) == bad,
            "a refused record was rewritten"
        );
    }
    // Put back, the record opens and the conversation goes on.
    put(&alice, &bob, &patched);
    let m = alice.send(&bob, "two");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"two");
}

#[test]
fn a_set_sealed_whole_is_read_and_written_split_next() {
    let (_dir, alice, bob) = talking();
    let ring = keyring();
    let here = RecordKey::Sessions(&bob.address);
    let split = record(&alice, &bob);
    let set = ring.open(here, &split).unwrap();
    let whole = ring.seal(&mut OsRng, here, &set).unwrap();
    assert_eq!(whole[1], WHOLE);
    put(&alice, &bob, &whole);
    let m = alice.send(&bob, "from a whole record");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"from a whole record");
    let after = record(&alice, &bob);
    assert_eq!(after[1], SPLIT);
    // The next message patches the split record written from it.
    let _ = alice.send(&bob, "patched");
    assert!(parts(&record(&alice, &bob)).0 == parts(&after).0);
}
