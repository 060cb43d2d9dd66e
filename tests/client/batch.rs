//! Draining a queue with `Account::decrypt_batch`: one transaction, each
//! message on its own savepoint, every outcome reported, and the store
//! left as one-by-one decryption would leave it.

use std::sync::Arc;

use kinseal::client::{BatchFailure, ClientStore, Decrypted, SqliteStore};
use kinseal::server::MemoryDirectory;
use kinseal::{AccountError, Envelope, Error, OsRng, ProtocolError};

use crate::atomic::{FailingStore, through_every_failure};
use crate::common::{Device, NOW, device, learn_list, register};
use crate::crash_support::TempDir;

fn envelope(from: &Device<impl ClientStore>, to: &Device<impl ClientStore>, m: &[u8]) -> Envelope {
    Envelope::new(from.address.clone(), to.address.clone(), m.to_vec()).unwrap()
}

/// What each outcome came to, as text, for one comparison.
fn summary<T>(outcomes: &[Result<(Decrypted, T), BatchFailure<&str>>]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok((d, _)) => format!("ok {}", String::from_utf8_lossy(d.plaintext())),
            Err(BatchFailure::Refused(why)) => format!("refused {why}"),
            Err(BatchFailure::Failed(e)) => format!("failed {e:?}"),
        })
        .collect()
}

#[test]
fn a_queue_from_many_senders_is_taken_in_one_batch_and_each_outcome_reported() {
    let directory = MemoryDirectory::new();
    let bob = device(&directory, "parley", "bob", 1);
    mixed_queue(&directory, &bob);
}

#[test]
fn on_sqlite_each_failed_message_is_rolled_back_alone() {
    let dir = TempDir::new("batch");
    let directory = MemoryDirectory::new();
    let store = SqliteStore::open(dir.join("bob.db")).unwrap();
    let bob = register(
        &directory,
        crate::common::address("parley", "bob", 1),
        store,
    );
    mixed_queue(&directory, &bob);
    bob.account.store().check_integrity().unwrap();
}

/// Bob, over any store, takes a queue with every kind of outcome in it.
fn mixed_queue<S: ClientStore>(directory: &MemoryDirectory, bob: &Device<S>) {
    let alice = device(directory, "chirp", "alice", 1);
    let carol = device(directory, "murmur", "carol", 1);
    let dave = device(directory, "chirp", "dave", 1);
    alice.start(directory, bob);
    carol.start(directory, bob);
    // Dave knows Bob's list; Bob has not fetched Dave's yet.
    learn_list(&dave.account, &bob.account);
    dave.account
        .start_session(
            &mut OsRng,
            &bob.address,
            &crate::common::bundle(directory, &bob.address),
            NOW,
        )
        .unwrap();

    let a: Vec<Vec<u8>> = (1..=5).map(|k| alice.send(bob, &format!("a{k}"))).collect();
    let c1 = carol.send(bob, "c1");
    let d1 = dave.send(bob, "d1");
    let mut forged = alice.send(bob, "a6");
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let queue = vec![
        envelope(&alice, bob, &a[0]),
        envelope(&carol, bob, &c1),
        envelope(&alice, bob, &a[1]),
        envelope(&alice, bob, &a[0]), // a duplicate within the batch
        envelope(&alice, bob, &forged),
        envelope(&alice, &carol, &a[2]), // for another device
        envelope(&alice, bob, &a[3]),    // refused by the app
        envelope(&dave, bob, &d1),       // no list on record
        envelope(&alice, bob, &a[4]),
    ];
    let mut stored = Vec::new();
    let outcomes = bob
        .account
        .decrypt_batch(&mut OsRng, &queue, NOW, |i, d| {
            if i == 6 {
                return Err("disk full");
            }
            stored.push(d.plaintext().to_vec());
            Ok(i)
        })
        .unwrap();
    let s = summary(&outcomes);
    assert_eq!(&s[..3], ["ok a1", "ok c1", "ok a2"]);
    assert_eq!(
        s[3],
        format!(
            "failed {:?}",
            Error::Protocol(ProtocolError::Duplicate { index: 0 })
        )
    );
    assert_eq!(s[4], format!("failed {:?}", Error::DecryptionFailed));
    assert!(
        s[5].starts_with("failed Account(WrongRecipient"),
        "{}",
        s[5]
    );
    assert_eq!(s[6], "refused disk full");
    assert!(s[7].starts_with("failed Account(NoDeviceList"), "{}", s[7]);
    assert_eq!(s[8], "ok a5");
    assert_eq!(
        stored,
        [
            b"a1".to_vec(),
            b"c1".to_vec(),
            b"a2".to_vec(),
            b"a5".to_vec()
        ]
    );
    assert!(outcomes[0].as_ref().unwrap().0.new_session());
    assert_eq!(outcomes[8].as_ref().unwrap().1, 8);

    // What was taken is committed: decrypting it again is a duplicate.
    for m in [&a[0], &a[1], &a[4]] {
        assert!(matches!(
            bob.receive(&alice, m),
            Err(Error::Protocol(ProtocolError::Duplicate { .. }))
        ));
    }
    assert!(bob.receive(&carol, &c1).is_err());
    // What was not is still to take: the refused message, and Dave's once
    // his list is on record; a3 is Bob's to read too.
    assert_eq!(bob.receive(&alice, &a[3]).unwrap(), b"a4");
    assert_eq!(bob.receive(&alice, &a[2]).unwrap(), b"a3");
    assert!(matches!(
        bob.receive(&dave, &d1),
        Err(Error::Account(AccountError::NoDeviceList { .. }))
    ));
    learn_list(&bob.account, &dave.account);
    assert_eq!(bob.receive(&dave, &d1).unwrap(), b"d1");
    // And the sessions go on, both ways.
    let reply = bob.send(&alice, "back");
    assert_eq!(alice.receive(bob, &reply).unwrap(), b"back");
}

#[test]
fn a_batch_leaves_the_store_as_one_by_one_would() {
    let directory = MemoryDirectory::new();
    let bob = device(&directory, "parley", "bob", 1);
    let twin = device(&directory, "parley", "bob-twin", 1);
    let senders: Vec<_> = (0..3)
        .map(|s| device(&directory, "chirp", &format!("s{s}"), 1))
        .collect();
    for s in &senders {
        s.start(&directory, &bob);
        s.start(&directory, &twin);
    }
    let mut to_bob = Vec::new();
    let mut to_twin = Vec::new();
    for k in 0..12 {
        let s = &senders[k % 3];
        to_bob.push(envelope(s, &bob, &s.send(&bob, &format!("m{k}"))));
        to_twin.push((k % 3, s.send(&twin, &format!("m{k}"))));
    }
    let batch = bob
        .account
        .decrypt_batch(&mut OsRng, &to_bob, NOW, |_, d| {
            Ok::<_, &str>(d.plaintext().to_vec())
        })
        .unwrap();
    let singly: Vec<Vec<u8>> = to_twin
        .iter()
        .map(|(s, m)| twin.receive(&senders[*s], m).unwrap())
        .collect();
    let batched: Vec<Vec<u8>> = batch.into_iter().map(|o| o.unwrap().1).collect();
    assert_eq!(batched, singly);
    // The prekeys each used up are the same: one per sender on each.
    let ids = |d: &Device| {
        let mut t = d.account.store().transaction().unwrap();
        use kinseal::client::store::{KemPreKeyStore, OneTimePreKeyStore};
        (
            t.one_time_prekey_ids().unwrap().len(),
            t.kem_prekey_ids().unwrap().len(),
        )
    };
    assert_eq!(ids(&bob), ids(&twin));
}

#[test]
fn a_store_failure_anywhere_in_a_batch_leaves_nothing() {
    let directory = MemoryDirectory::new();
    let alice = device(&directory, "chirp", "alice", 1);
    let carol = device(&directory, "murmur", "carol", 1);
    let store = Arc::new(FailingStore::new());
    let bob = register(
        &directory,
        crate::common::address("parley", "bob", 1),
        Arc::clone(&store),
    );
    alice.start(&directory, &bob);
    carol.start(&directory, &bob);
    let queue = vec![
        envelope(&alice, &bob, &alice.send(&bob, "one")),
        envelope(&carol, &bob, &carol.send(&bob, "two")),
        envelope(&alice, &bob, &alice.send(&bob, "three")),
    ];
    let (outcomes, writes) = through_every_failure(&store, &[], || {
        bob.account.decrypt_batch(&mut OsRng, &queue, NOW, |_, d| {
            Ok::<_, &str>(d.plaintext().to_vec())
        })
    });
    let texts: Vec<_> = outcomes.into_iter().map(|o| o.unwrap().1).collect();
    assert_eq!(texts, [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    assert!(writes > 3, "{writes} writes");
}
