//! The `account_device_lists` fuzz target: hostile device lists given to an
//! `Account` that holds a contact's list. Included by `targets.rs`, so the
//! corpus-replay test runs it too.
//!
//! The input is up to four lists, each `u16 length ‖ bytes`. Whatever they
//! hold, `update_device_lists` must not panic; when it fails, nothing in
//! the store changed; when it succeeds, the list on record is Bob's, under
//! Bob's user key, and follows the list held before.

use std::sync::OnceLock;

use kinseal::client::store::{IdentityStore, SessionStore};
use kinseal::client::{
    Account, ClientStore, DeviceAddress, MemoryStore, StorageKey, StorageKeyring,
};
use kinseal::{DeviceList, IdentityKeyPair, UserAddress, UserIdentityKeyPair, VerifiedDeviceList};

use super::rng;

const NOW: u64 = 1_767_225_600;
/// At most this many lists are taken from one input.
const MAX_LISTS: usize = 4;

/// Bob's user key and his lists v1 (one device), v2 (two) and v3 (three),
/// and Alice's account state holding v2, as bytes to restore each run.
struct ListFixture {
    bob_key: kinseal::UserIdentityKey,
    lists: [VerifiedDeviceList; 3],
    alice: Vec<(Vec<u8>, Vec<u8>)>,
}

fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[0x33; 32]))
}

fn alice_at() -> DeviceAddress {
    DeviceAddress::new(b"chirp", b"alice", 1).unwrap()
}

fn bob() -> UserAddress {
    UserAddress::new(b"parley", b"bob").unwrap()
}

fn list_fixture() -> &'static ListFixture {
    static F: OnceLock<ListFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(70);
        let user = UserIdentityKeyPair::generate(&mut r);
        let keys: Vec<IdentityKeyPair> =
            (0..3).map(|_| IdentityKeyPair::generate(&mut r)).collect();
        let v1 = DeviceList::first(&user, &bob(), NOW, [(1, keys[0].public_key(), NOW)]).unwrap();
        let devices = |n: usize| (0..n).map(|i| (i as u32 + 1, keys[i].public_key(), NOW));
        let v2 = v1.next(&user, NOW, devices(2)).unwrap();
        let v3 = v2.next(&user, NOW, devices(3)).unwrap();
        let store = MemoryStore::new();
        let alice = Account::create(&store, keyring(), &mut r, &alice_at(), NOW).unwrap();
        alice
            .update_device_lists(&mut r, &[v1.to_bytes(), v2.to_bytes()], NOW)
            .unwrap();
        drop(alice);
        ListFixture {
            bob_key: user.public_key().clone(),
            lists: [v1, v2, v3],
            alice: dump(&store),
        }
    })
}

/// Every record of the store that lists can change: the account, the
/// user records, the identity records and the sessions.
fn dump(store: &MemoryStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut txn = store.transaction().unwrap();
    let mut out = vec![(b"account".to_vec(), txn.account().unwrap().unwrap())];
    for u in txn.peer_user_addresses().unwrap() {
        out.push((u.to_bytes(), txn.peer_user(&u).unwrap().unwrap()));
    }
    for d in txn.peer_identity_addresses().unwrap() {
        out.push((d.to_bytes(), txn.peer_identity(&d).unwrap().unwrap()));
    }
    for d in txn.session_addresses().unwrap() {
        out.push((d.to_bytes(), txn.sessions(&d).unwrap().unwrap()));
    }
    out
}

/// Alice's store as the fixture left it.
fn restore(f: &ListFixture) -> MemoryStore {
    let store = MemoryStore::new();
    let mut txn = store.transaction().unwrap();
    for (key, record) in &f.alice {
        if key == b"account" {
            txn.put_account(record).unwrap();
        } else if let Ok(user) = UserAddress::from_bytes(key) {
            txn.put_peer_user(&user, record).unwrap();
        }
    }
    kinseal::client::StoreTransaction::commit(txn).unwrap();
    store
}

/// Splits the input into lists: `u16 length ‖ bytes`, at most four.
fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < MAX_LISTS {
        let Some((len, rest)) = data.split_first_chunk::<2>() else {
            break;
        };
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (list, rest) = rest.split_at(len);
        out.push(list);
        data = rest;
    }
    out
}

/// The target.
pub fn account_device_lists(data: &[u8]) {
    let f = list_fixture();
    let store = restore(f);
    let before = dump(&store);
    let mut r = rng(71);
    let alice = Account::open(&store, keyring()).unwrap();
    let lists = split(data);
    match alice.update_device_lists(&mut r, &lists, NOW) {
        Err(_) => assert_eq!(dump(&store), before, "a refused update changed the store"),
        Ok(change) => {
            let known = alice.peer_user(&bob()).unwrap().expect("Bob is on record");
            let held = known.device_list();
            assert_eq!(*held.user_key(), f.bob_key, "another user key was taken");
            assert_eq!(change.version(), held.version());
            // What is on record follows v2, or is v2 itself.
            let v2 = &f.lists[1];
            assert!(held.version() >= 2, "an older list was taken");
            if held.version() == 2 {
                assert_eq!(held.to_bytes(), v2.to_bytes(), "a fork was taken");
            } else if held.version() == 3 {
                assert_eq!(held.previous_hash(), v2.hash(), "a list not following v2");
            }
        }
    }
}

/// The seeds: v2 again, v3, v2 then v3, and v1 (a rollback).
pub fn device_list_account_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let f = list_fixture();
    let framed = |lists: &[&VerifiedDeviceList]| {
        let mut out = Vec::new();
        for l in lists {
            let b = l.to_bytes();
            out.extend_from_slice(&u16::try_from(b.len()).unwrap().to_be_bytes());
            out.extend_from_slice(&b);
        }
        out
    };
    let [v1, v2, v3] = &f.lists;
    vec![
        ("account_device_lists", "fixture-v2-again", framed(&[v2])),
        ("account_device_lists", "fixture-v3", framed(&[v3])),
        ("account_device_lists", "fixture-v2-v3", framed(&[v2, v3])),
        ("account_device_lists", "fixture-v1-rollback", framed(&[v1])),
    ]
}
