//! People, not devices: device lists decide which devices are talked to,
//! sessions bind both addresses, and the glue that reaches every device of
//! a person (issue 14).

use crate::common as client_common;

use std::sync::Arc;

use client_common::{Device, NOW, address, device, fetch, keyring, register};
use kinseal::client::store::{IdentityStore, SessionStore};
use kinseal::client::{Account, ClientStore, DeviceAddress, MemoryStore, SqliteStore};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{AccountError, DeviceListError, Envelope, Error, OsRng, TrustError};

/// Every record of a memory store, for "nothing changed" checks.
fn dump(store: &MemoryStore) -> Vec<Vec<u8>> {
    let mut txn = store.transaction().unwrap();
    let mut out = vec![txn.account().unwrap().unwrap_or_default()];
    for a in txn.peer_identity_addresses().unwrap() {
        out.push(txn.peer_identity(&a).unwrap().unwrap());
    }
    for a in txn.session_addresses().unwrap() {
        out.push(a.to_bytes());
        out.push(txn.sessions(&a).unwrap().unwrap());
    }
    for u in txn.peer_user_addresses().unwrap() {
        out.push(txn.peer_user(&u).unwrap().unwrap());
    }
    out
}

fn list_bytes<S: ClientStore>(d: &Device<S>) -> Vec<u8> {
    d.account.device_list().unwrap().to_bytes()
}

/// Bob with a second device linked to his first, and Alice knowing Bob's
/// two-device list (and Bob's devices Alice's).
fn alice_and_two_bobs() -> (MemoryDirectory, Device, Device, Device) {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let phone = device(&dir, "parley", "bob", 1);
    let laptop = client_common::link(&dir, &phone, 2);
    assert_eq!(
        laptop.account.user_identity_key(),
        phone.account.user_identity_key()
    );
    assert_eq!(list_bytes(&laptop), list_bytes(&phone));
    alice
        .account
        .update_device_lists(&mut OsRng, &[list_bytes(&phone)], NOW)
        .unwrap();
    client_common::learn_list(&phone.account, &alice.account);
    client_common::learn_list(&laptop.account, &alice.account);
    (dir, alice, phone, laptop)
}

#[test]
fn a_ghost_device_the_directory_injects_is_refused_and_the_others_are_reached() {
    let (dir, alice, phone, laptop) = alice_and_two_bobs();
    // The directory adds a third "Bob" device and hands out its bundle
    // for the laptop's address too (key substitution).
    let ghost = device(&dir, "parley", "bob", 3);
    let other_dir = MemoryDirectory::new();
    let ghost_as_laptop = register(
        &other_dir,
        laptop.address.clone(),
        Arc::new(MemoryStore::new()),
    );
    assert_ne!(
        ghost_as_laptop.account.identity_key(),
        laptop.account.identity_key()
    );
    let mut malicious = |d: &DeviceAddress| {
        if *d == laptop.address {
            other_dir.take_bundle(d)?.into_bundle().verify()
        } else {
            dir.take_bundle(d)?.into_bundle().verify()
        }
    };
    let report = alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut malicious, NOW)
        .unwrap();
    // Only listed devices are asked for, the ghost never; the substituted
    // bundle is refused and reported; the phone is reached.
    let started: Vec<_> = report.started().iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(started, vec![phone.address.clone()]);
    assert_eq!(report.failed().len(), 1);
    assert_eq!(report.failed()[0].0, laptop.address);
    assert_eq!(
        report.failed()[0].1,
        Error::Account(AccountError::UnlistedDevice {
            address: laptop.address.clone()
        })
    );
    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"hi Bob", NOW)
        .unwrap();
    let to: Vec<_> = sent
        .envelopes()
        .iter()
        .map(|e| e.recipient().clone())
        .collect();
    assert_eq!(to, vec![phone.address.clone()]);
    assert_eq!(sent.missing(), std::slice::from_ref(&laptop.address));
    assert_eq!(
        phone
            .account
            .decrypt_envelope(&mut OsRng, &sent.envelopes()[0], NOW)
            .unwrap()
            .plaintext(),
        b"hi Bob"
    );

    // The ghost writes to Alice itself: refused, nothing stored.
    client_common::learn_list(&ghost.account, &alice.account);
    ghost
        .account
        .start_session(
            &mut OsRng,
            &alice.address,
            &client_common::bundle(&dir, &alice.address),
            NOW,
        )
        .unwrap();
    let from_ghost = ghost.send(&alice, "I am Bob too");
    let before = dump(alice.account.store());
    assert_eq!(
        alice.receive(&ghost, &from_ghost),
        Err(Error::Account(AccountError::UnlistedDevice {
            address: ghost.address.clone()
        }))
    );
    assert_eq!(dump(alice.account.store()), before);

    // With the real laptop's bundle, the laptop is reached too.
    let report = alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    assert_eq!(report.started().len(), 1);
    assert_eq!(report.started()[0].0, laptop.address);
}

#[test]
fn a_relabeled_first_message_is_refused_and_nothing_is_stored() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    let carol = device(&dir, "murmur", "carol", 1);
    alice.introduce(&bob);
    carol.introduce(&bob);
    alice.start(&dir, &bob);
    let first = alice
        .account
        .encrypt_envelope(&mut OsRng, &bob.address, b"from Alice", NOW)
        .unwrap();
    // The server claims Carol sent it (a known contact, list on record).
    let relabeled = Envelope::new(
        carol.address.clone(),
        bob.address.clone(),
        first.message().to_vec(),
    )
    .unwrap();
    let before = dump(bob.account.store());
    assert_eq!(
        bob.account
            .decrypt_envelope(&mut OsRng, &relabeled, NOW)
            .map(|_| ()),
        Err(Error::DecryptionFailed)
    );
    // Or to another of Bob's devices.
    let misdirected = Envelope::new(
        alice.address.clone(),
        address("parley", "bob", 2),
        first.message().to_vec(),
    )
    .unwrap();
    assert_eq!(
        bob.account
            .decrypt_envelope(&mut OsRng, &misdirected, NOW)
            .map(|_| ()),
        Err(Error::Account(AccountError::WrongRecipient {
            recipient: address("parley", "bob", 2)
        }))
    );
    assert_eq!(dump(bob.account.store()), before);
    // The real one decrypts.
    let got = bob
        .account
        .decrypt_envelope(&mut OsRng, &first, NOW)
        .unwrap();
    assert_eq!(got.plaintext(), b"from Alice");
}

#[test]
fn a_removed_device_is_not_encrypted_to_and_its_messages_are_refused() {
    let (dir, alice, phone, laptop) = alice_and_two_bobs();
    alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"to both", NOW)
        .unwrap();
    assert_eq!(sent.envelopes().len(), 2);
    for (e, d) in sent.envelopes().iter().zip([&phone, &laptop]) {
        d.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
    }
    let later = laptop.send(&alice, "still here?");

    // Bob removes the laptop; Alice takes the new list.
    phone.account.remove_device(&mut OsRng, 2, NOW).unwrap();
    let change = alice
        .account
        .update_device_lists(&mut OsRng, &[list_bytes(&phone)], NOW)
        .unwrap();
    assert_eq!(change.removed(), std::slice::from_ref(&laptop.address));
    assert!(change.added().is_empty() && change.replaced().is_empty());
    assert!(!alice.account.has_session(&laptop.address).unwrap());

    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"phone only", NOW)
        .unwrap();
    let to: Vec<_> = sent
        .envelopes()
        .iter()
        .map(|e| e.recipient().clone())
        .collect();
    assert_eq!(to, vec![phone.address.clone()]);
    assert!(sent.missing().is_empty());
    assert_eq!(
        alice.receive(&laptop, &later),
        Err(Error::Account(AccountError::NoSessionForMessage))
    );
    // A new handshake from it is refused too.
    let fresh = client_common::bundle(&dir, &alice.address);
    laptop
        .account
        .start_session(&mut OsRng, &alice.address, &fresh, NOW)
        .unwrap();
    let again = laptop.send(&alice, "let me back in");
    assert_eq!(
        alice.receive(&laptop, &again),
        Err(Error::Account(AccountError::UnlistedDevice {
            address: laptop.address.clone()
        }))
    );
}

#[test]
fn fan_out_reaches_the_senders_own_other_devices() {
    let (dir, alice, phone, laptop) = alice_and_two_bobs();
    // The laptop and phone know each other's keys through Bob's list.
    let report = phone
        .account
        .sync_sessions(&mut OsRng, alice.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    let started: Vec<_> = report.started().iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(started, vec![alice.address.clone(), laptop.address.clone()]);
    let sent = phone
        .account
        .encrypt_to_user(&mut OsRng, alice.address.user(), b"hi Alice", NOW)
        .unwrap();
    assert_eq!(sent.envelopes().len(), 2);
    assert_eq!(
        laptop
            .account
            .decrypt_envelope(&mut OsRng, &sent.envelopes()[1], NOW)
            .unwrap()
            .plaintext(),
        b"hi Alice"
    );
}

#[test]
fn a_rolled_back_or_forked_list_is_detected_and_changes_nothing() {
    let dir = MemoryDirectory::new();
    let folder = std::env::temp_dir().join(format!("kinseal-fork-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("bob.sqlite");
    let bob = register(
        &dir,
        address("parley", "bob", 1),
        SqliteStore::open(&path).unwrap(),
    );
    let alice = device(&dir, "chirp", "alice", 1);
    let v1 = list_bytes(&bob);
    // A copy of Bob's store from before his next change: the same user
    // key, a second history.
    drop(bob);
    let copy = folder.join("copy.sqlite");
    std::fs::copy(&path, &copy).unwrap();
    let bob = Account::open(SqliteStore::open(&path).unwrap(), keyring()).unwrap();
    let twin = Account::open(SqliteStore::open(&copy).unwrap(), keyring()).unwrap();
    let (k2, k3) = (
        kinseal::IdentityKeyPair::generate(&mut OsRng),
        kinseal::IdentityKeyPair::generate(&mut OsRng),
    );
    let v2 = bob.add_device(&mut OsRng, 2, k2.public_key(), NOW).unwrap();
    let v2_other = twin
        .add_device(&mut OsRng, 2, k3.public_key(), NOW)
        .unwrap();
    let v3 = bob.add_device(&mut OsRng, 3, k3.public_key(), NOW).unwrap();

    alice
        .account
        .update_device_lists(&mut OsRng, &[&v1], NOW)
        .unwrap();
    let change = alice
        .account
        .update_device_lists(&mut OsRng, &[v2.to_bytes(), v3.to_bytes()], NOW)
        .unwrap();
    assert_eq!(change.version(), 3);
    assert_eq!(change.added().len(), 2);
    let before = dump(alice.account.store());
    let refused = |lists: &[Vec<u8>]| {
        alice
            .account
            .update_device_lists(&mut OsRng, lists, NOW)
            .unwrap_err()
    };
    assert_eq!(
        refused(&[v2.to_bytes()]),
        Error::DeviceList(DeviceListError::Rollback {
            current: 3,
            found: 2
        })
    );
    assert_eq!(
        refused(std::slice::from_ref(&v1)),
        Error::DeviceList(DeviceListError::Rollback {
            current: 3,
            found: 1
        })
    );
    // The other history, seen by a holder of version 2.
    let holder = device(&dir, "murmur", "carol", 1);
    holder
        .account
        .update_device_lists(&mut OsRng, &[&v1, &v2.to_bytes()], NOW)
        .unwrap();
    assert_eq!(
        holder
            .account
            .update_device_lists(&mut OsRng, &[v2_other.to_bytes()], NOW)
            .unwrap_err(),
        Error::DeviceList(DeviceListError::Fork { version: 2 })
    );
    // A list from further ahead needs the versions in between.
    let v4 = bob.remove_device(&mut OsRng, 2, NOW).unwrap();
    let v5 = bob.remove_device(&mut OsRng, 3, NOW).unwrap();
    assert_eq!(
        refused(&[v5.to_bytes()]),
        Error::DeviceList(DeviceListError::Gap {
            current: 3,
            found: 5
        })
    );
    assert_eq!(dump(alice.account.store()), before);
    let change = alice
        .account
        .update_device_lists(&mut OsRng, &[v4.to_bytes(), v5.to_bytes()], NOW)
        .unwrap();
    assert_eq!(change.removed().len(), 2);
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_new_user_key_is_an_identity_change_until_accepted() {
    let (dir, alice, bob) = {
        let dir = MemoryDirectory::new();
        let alice = device(&dir, "chirp", "alice", 1);
        let bob = device(&dir, "parley", "bob", 1);
        alice.start(&dir, &bob);
        (dir, alice, bob)
    };
    let first = alice.send(&bob, "hi");
    bob.receive(&alice, &first).unwrap();
    // Bob lost every device and starts over: a new account, a new user key.
    dir.remove(&bob.address).unwrap();
    let bob2 = register(&dir, bob.address.clone(), Arc::new(MemoryStore::new()));
    let fresh = list_bytes(&bob2);
    let before = dump(alice.account.store());
    match alice
        .account
        .update_device_lists(&mut OsRng, &[&fresh], NOW)
        .unwrap_err()
    {
        Error::Trust(TrustError::UserKeyChanged { user, old, new }) => {
            assert_eq!(user, *bob.address.user());
            assert_eq!(*old, *bob.account.user_identity_key());
            assert_eq!(*new, *bob2.account.user_identity_key());
        }
        other => panic!("expected UserKeyChanged, got {other:?}"),
    }
    assert_eq!(dump(alice.account.store()), before);
    // Bob's new device cannot be talked to until Alice accepts the key.
    assert_eq!(
        alice
            .account
            .start_session(
                &mut OsRng,
                &bob.address,
                &client_common::bundle(&dir, &bob.address),
                NOW
            )
            .unwrap_err(),
        Error::Account(AccountError::UnlistedDevice {
            address: bob.address.clone()
        })
    );
    let change = alice
        .account
        .accept_user_identity(&mut OsRng, &fresh, NOW)
        .unwrap();
    assert_eq!(
        change.previous_user_key(),
        Some(bob.account.user_identity_key())
    );
    assert!(!alice.account.has_session(&bob.address).unwrap());
    client_common::learn_list(&bob2.account, &alice.account);
    alice.start(&dir, &bob2);
    let hello = alice.send(&bob2, "welcome back");
    assert_eq!(bob2.receive(&alice, &hello).unwrap(), b"welcome back");
}

#[test]
fn a_list_that_drops_this_device_is_refused_by_it() {
    let (_dir, _alice, phone, laptop) = alice_and_two_bobs();
    phone.account.remove_device(&mut OsRng, 2, NOW).unwrap();
    assert_eq!(
        laptop
            .account
            .update_device_lists(&mut OsRng, &[list_bytes(&phone)], NOW)
            .unwrap_err(),
        Error::Account(AccountError::DeviceRemoved)
    );
    assert_eq!(
        phone.account.remove_device(&mut OsRng, 1, NOW).unwrap_err(),
        Error::Account(AccountError::DeviceIdInvalid { device_id: 1 })
    );
}

#[test]
fn a_reset_session_is_replaced_within_one_round_trip() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "one");
    bob.receive(&alice, &first).unwrap();
    let answer = bob.send(&alice, "two");
    alice.receive(&bob, &answer).unwrap();
    let late = alice.send(&bob, "on its way during the reset");
    let old = alice.current(&bob);
    assert!(
        bob.account
            .reset_session(&mut OsRng, &alice.address, NOW)
            .unwrap()
    );
    assert!(!bob.account.has_session(&alice.address).unwrap());
    assert_eq!(
        bob.account
            .encrypt(&mut OsRng, &alice.address, b"x", NOW)
            .unwrap_err(),
        Error::Account(AccountError::NoSession)
    );
    // Messages already sent on the closed session still decrypt.
    assert_eq!(
        bob.receive(&alice, &late).unwrap(),
        b"on its way during the reset"
    );
    let report = bob
        .account
        .sync_sessions(&mut OsRng, alice.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    assert_eq!(report.started().len(), 1);
    let again = bob.send(&alice, "new session");
    assert_eq!(alice.receive(&bob, &again).unwrap(), b"new session");
    assert_ne!(alice.current(&bob), old);
    let reply = alice.send(&bob, "on the new one");
    assert_eq!(bob.receive(&alice, &reply).unwrap(), b"on the new one");
    assert_eq!(alice.current(&bob), bob.current(&alice));
}

#[test]
fn a_later_list_of_the_same_devices_is_recorded() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    alice.introduce(&bob);
    let k = kinseal::IdentityKeyPair::generate(&mut OsRng);
    let v2 = bob
        .account
        .add_device(&mut OsRng, 2, k.public_key(), NOW)
        .unwrap();
    let v3 = bob.account.remove_device(&mut OsRng, 2, NOW).unwrap();
    // Net, v3 lists what v1 did: no device changed, but v3 is on record.
    let change = alice
        .account
        .update_device_lists(&mut OsRng, &[v2.to_bytes(), v3.to_bytes()], NOW)
        .unwrap();
    assert!(change.is_unchanged());
    assert_eq!(change.version(), 3);
    let held = alice
        .account
        .peer_user(bob.address.user())
        .unwrap()
        .unwrap();
    assert_eq!(held.device_list().version(), 3);
    // So v4 follows it.
    let v4 = bob
        .account
        .add_device(&mut OsRng, 2, k.public_key(), NOW)
        .unwrap();
    let change = alice
        .account
        .update_device_lists(&mut OsRng, &[v4.to_bytes()], NOW)
        .unwrap();
    assert_eq!(change.added(), &[address("parley", "bob", 2)]);
}
