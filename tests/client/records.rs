//! `MemoryStore`'s records as keyed bytes (the bridge to a store kinseal
//! cannot write synchronously, such as IndexedDB): the journal reports
//! what committed transactions changed and nothing a dropped one did; a
//! store rebuilt from the exported records, or from the journal applied
//! to an app-side copy, continues the conversation; keys that do not
//! decode are refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use kinseal::OsRng;
use kinseal::StorageError;
use kinseal::client::store::IdentityStore;
use kinseal::client::{Account, ClientStore, MemoryStore};
use kinseal::server::MemoryDirectory;

use crate::common::{Device, NOW, address, config, device, keyring, register};

/// The app's copy of a store: what IndexedDB would hold.
type Copy = BTreeMap<Vec<u8>, Vec<u8>>;

/// Applies the journal to the app's copy, as one IndexedDB transaction
/// would.
fn apply(copy: &mut Copy, store: &MemoryStore) -> usize {
    let changes = store.take_changes();
    for change in &changes {
        match &change.value {
            Some(v) => copy.insert(change.key.clone(), v.clone()),
            None => copy.remove(&change.key),
        };
    }
    changes.len()
}

/// The account over a store rebuilt from `records`.
fn reopen(records: &Copy) -> Account<Arc<MemoryStore>> {
    let store = MemoryStore::from_records(records.iter()).unwrap();
    Account::open(Arc::new(store), keyring())
        .unwrap()
        .with_config(config())
}

#[test]
fn the_journal_applied_to_a_copy_reopens_and_continues() {
    let directory = MemoryDirectory::new();
    let store = Arc::new(MemoryStore::journaled());
    let alice = register(&directory, address("chirp", "alice", 1), store.clone());
    let bob = device(&directory, "chirp", "bob", 1);
    let mut copy = Copy::new();
    assert!(apply(&mut copy, &store) > 0, "creation and the upload");
    assert_eq!(apply(&mut copy, &store), 0, "the journal was emptied");

    alice.start(&directory, &bob);
    let hello = alice.send(&bob, "hello");
    assert_eq!(bob.receive(&alice, &hello).unwrap(), b"hello");
    let reply = bob.send(&alice, "hi");
    assert_eq!(alice.receive(&bob, &reply).unwrap(), b"hi");
    apply(&mut copy, &store);
    assert_eq!(copy, store.export_records().into_iter().collect::<Copy>());

    // The tab reloads: the account comes back from the copy alone.
    let alice = Device {
        address: alice.address.clone(),
        account: reopen(&copy),
    };
    let again = alice.send(&bob, "after the reload");
    assert_eq!(bob.receive(&alice, &again).unwrap(), b"after the reload");
    let reply = bob.send(&alice, "welcome back");
    assert_eq!(alice.receive(&bob, &reply).unwrap(), b"welcome back");
}

#[test]
fn a_dropped_transaction_is_not_journaled_and_removals_are() {
    let store = MemoryStore::journaled();
    {
        let mut txn = store.transaction().unwrap();
        txn.put_account(b"sealed").unwrap();
        // Dropped without commit.
    }
    assert!(store.take_changes().is_empty());
    let mut txn = store.transaction().unwrap();
    txn.put_account(b"sealed").unwrap();
    kinseal::client::StoreTransaction::commit(txn).unwrap();
    let changes = store.take_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].key, vec![0]);
    assert_eq!(changes[0].value.as_deref(), Some(&b"sealed"[..]));

    let directory = MemoryDirectory::new();
    let store = Arc::new(MemoryStore::journaled());
    let alice = register(&directory, address("chirp", "alice", 1), store.clone());
    let bob = device(&directory, "chirp", "bob", 1);
    store.take_changes();
    bob.start(&directory, &alice);
    let first = bob.send(&alice, "uses a one-time prekey");
    alice.receive(&bob, &first).unwrap();
    let changes = store.take_changes();
    assert!(
        changes.iter().any(|c| c.value.is_none()),
        "the one-time prekeys the handshake used are reported removed"
    );
}

#[test]
fn a_plain_store_keeps_no_journal() {
    let directory = MemoryDirectory::new();
    let store = Arc::new(MemoryStore::new());
    let _alice = register(&directory, address("chirp", "alice", 1), store.clone());
    assert!(store.take_changes().is_empty());
    assert!(!store.export_records().is_empty());
}

#[test]
fn keys_that_do_not_decode_are_refused() {
    let invalid = |records: Vec<(Vec<u8>, Vec<u8>)>| {
        matches!(
            MemoryStore::from_records(records),
            Err(StorageError::InvalidRecord { .. })
        )
    };
    assert!(invalid(vec![(vec![], b"x".to_vec())]), "no tag");
    assert!(invalid(vec![(vec![99], b"x".to_vec())]), "unknown tag");
    assert!(invalid(vec![(vec![0, 1], b"x".to_vec())]), "trailing bytes");
    assert!(invalid(vec![(vec![3, 0, 0], b"x".to_vec())]), "short id");
    assert!(
        invalid(vec![(vec![2, 0, 0, 1, b'a'], b"x".to_vec())]),
        "empty app id"
    );
    assert!(
        invalid(vec![(vec![2, 1, b'a', 0, 5, b'b'], b"x".to_vec())]),
        "short user id"
    );
    assert!(
        invalid(vec![([8].into_iter().chain([0; 32]).collect(), vec![1, 2])]),
        "a handshake value of two bytes"
    );
    assert!(
        invalid(vec![(vec![0], b"x".to_vec()), (vec![0], b"y".to_vec())]),
        "the same key twice"
    );
    assert!(MemoryStore::from_records(vec![(vec![0], b"x".to_vec())]).is_ok());
}

#[test]
fn every_record_survives_export_and_import() {
    let directory = MemoryDirectory::new();
    let store = Arc::new(MemoryStore::new());
    let alice = register(&directory, address("chirp", "alice", 1), store.clone());
    let bob = device(&directory, "chirp", "bob", 1);
    let carol = device(&directory, "chirp", "carol", 1);
    alice.start(&directory, &bob);
    alice.start(&directory, &carol);
    for peer in [&bob, &carol] {
        let m = alice.send(peer, "hi");
        peer.receive(&alice, &m).unwrap();
    }
    let users = [bob.address.user().clone(), carol.address.user().clone()];
    let (group, fan_out) = alice.account.create_group(&mut OsRng, &users, NOW).unwrap();
    for e in fan_out.envelopes() {
        let to = if e.recipient() == &bob.address {
            &bob
        } else {
            &carol
        };
        to.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
    }
    let sent = alice
        .account
        .group_send(&mut OsRng, &group, b"to all", NOW)
        .unwrap();
    for e in sent.distributions().envelopes() {
        let to = if e.recipient() == &bob.address {
            &bob
        } else {
            &carol
        };
        to.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
    }

    let exported = store.export_records();
    let rebuilt = MemoryStore::from_records(exported.clone()).unwrap();
    assert_eq!(rebuilt.export_records(), exported, "byte for byte");
    let tags: std::collections::BTreeSet<u8> = exported.iter().map(|(k, _)| k[0]).collect();
    assert!(tags.is_superset(&[0, 2, 3, 4, 5, 6, 7, 9].into_iter().collect()));

    let alice = Device {
        address: alice.address.clone(),
        account: reopen(&exported.into_iter().collect()),
    };
    assert!(alice.account.group_state(&group).unwrap().is_some());
    let more = alice
        .account
        .group_send(&mut OsRng, &group, b"still here", NOW)
        .unwrap();
    let read = bob
        .account
        .group_decrypt(&mut OsRng, &alice.address, more.message())
        .unwrap();
    assert_eq!(read.plaintext(), b"still here");
}
