//! The `Account` facade: prekeys used exactly once, last-resort replays,
//! trust on first use and identity changes, rotation by age, expiry,
//! restarts and storage-key rotation.

use crate::common as client_common;
#[path = "../../src/redaction_check.rs"]
mod redaction;

use std::sync::Arc;

use client_common::{DAY, Device, NOW, address, bundle, device, keyring, legacy_device, publish};
use kinseal::client::store::{
    HandshakeLog, KemPreKeyStore, LastResortKemPreKeyStore, OneTimePreKeyStore, SessionStore,
    SignedPreKeyStore, StoreTransaction,
};
use kinseal::client::{
    Account, AccountConfig, ClientStore, IdentityStatus, KnownIdentity,
    MAX_HANDSHAKES_PER_LAST_RESORT_KEY, MemoryStore, RecordKey, StorageKey, StorageKeyring,
    TrustDecision, TrustPolicy, UserAddress,
};
use kinseal::server::{DeviceAddress, MemoryDirectory, PreKeyDirectory};
use kinseal::{
    AccountError, Error, IdentityKey, OsRng, PreKeyMessage, PreKeyRole, ProtocolError,
    StorageError, TrustError,
};

/// Alice and Bob, each knowing the other's device list.
fn pair() -> (MemoryDirectory, Device, Device) {
    let directory = MemoryDirectory::new();
    let alice = device(&directory, "chirp", "alice", 1);
    let bob = device(&directory, "parley", "bob", 1);
    alice.introduce(&bob);
    (directory, alice, bob)
}

/// Alice and Bob trusting each other device by device, with no device
/// lists (`AccountConfig::with_device_lists_required(false)`).
fn legacy_pair() -> (MemoryDirectory, Device, Device) {
    let directory = MemoryDirectory::new();
    let alice = legacy_device(&directory, "chirp", "alice", 1);
    let bob = legacy_device(&directory, "parley", "bob", 1);
    (directory, alice, bob)
}

fn store_of(d: &Device) -> &Arc<MemoryStore> {
    d.account.store()
}

fn one_time_ids(d: &Device) -> (Vec<u32>, Vec<u32>) {
    let mut txn = store_of(d).transaction().unwrap();
    (
        txn.one_time_prekey_ids().unwrap(),
        txn.kem_prekey_ids().unwrap(),
    )
}

#[test]
fn one_time_prekeys_are_used_exactly_once() {
    let (dir, alice, bob) = pair();
    let before = one_time_ids(&bob);
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "hello");
    let named = PreKeyMessage::from_bytes(&first).unwrap();
    let opk = named.one_time_prekey_id().unwrap();
    let kem = named.kem_prekey_id();
    assert!(before.0.contains(&opk) && before.1.contains(&kem));

    let got = bob
        .account
        .decrypt(&mut OsRng, &alice.address, &first, NOW)
        .unwrap();
    assert_eq!(got.plaintext(), b"hello");
    assert!(got.new_session());
    assert_eq!(got.identity(), &IdentityStatus::New);
    let after = one_time_ids(&bob);
    assert!(!after.0.contains(&opk) && !after.1.contains(&kem));
    assert_eq!(after.0.len() + 1, before.0.len());
    assert_eq!(after.1.len() + 1, before.1.len());

    // The same bytes again: a duplicate on the session, not a new session.
    assert_eq!(
        bob.receive(&alice, &first),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );
    // Even with the session gone, the prekeys are gone too.
    let mut txn = store_of(&bob).transaction().unwrap();
    assert!(txn.remove_sessions(&alice.address).unwrap());
    txn.commit().unwrap();
    assert_eq!(
        bob.receive(&alice, &first),
        Err(Error::Account(AccountError::UnknownPreKey {
            prekey: PreKeyRole::OneTime,
            id: opk
        }))
    );
    assert_eq!(one_time_ids(&bob), after);
}

#[test]
fn a_replayed_handshake_on_last_resort_keys_is_refused() {
    let (dir, alice, bob) = pair();
    // Drain Bob's one-time keys from the directory.
    for _ in 0..client_common::ONE_TIME_TARGET {
        dir.take_bundle(&bob.address).unwrap();
    }
    let taken = dir.take_bundle(&bob.address).unwrap();
    assert!(taken.used_last_resort());
    let verified = taken.into_bundle().verify().unwrap();
    alice
        .account
        .start_session(&mut OsRng, &bob.address, &verified, NOW)
        .unwrap();
    let first = alice.send(&bob, "on last resort");
    assert_eq!(bob.receive(&alice, &first).unwrap(), b"on last resort");
    let id = PreKeyMessage::from_bytes(&first).unwrap().handshake_id();
    assert!(
        store_of(&bob)
            .transaction()
            .unwrap()
            .contains_handshake(id.as_bytes())
            .unwrap()
    );

    let mut txn = store_of(&bob).transaction().unwrap();
    txn.remove_sessions(&alice.address).unwrap();
    txn.commit().unwrap();
    assert_eq!(
        bob.receive(&alice, &first),
        Err(Error::Account(AccountError::ReplayedHandshake))
    );
}

/// The log of handshakes answered on a last-resort key has a bound per key:
/// when it is full, the next handshake on that key without a one-time
/// prekey is refused with a typed error and changes nothing (no id is
/// dropped to make room, so old ones stay refused). The log goes with its
/// key, in the refresh that deletes the key after its grace period.
#[test]
fn the_last_resort_handshake_log_is_bounded_and_goes_with_its_key() {
    let (dir, alice, bob) = pair();
    let carol = device(&dir, "murmur", "carol", 1);
    carol.introduce(&bob);
    for _ in 0..client_common::ONE_TIME_TARGET {
        dir.take_bundle(&bob.address).unwrap();
    }
    let last_resort = dir.device(&bob.address).unwrap().last_resort_id().unwrap();
    let max = MAX_HANDSHAKES_PER_LAST_RESORT_KEY;
    // Other senders' handshakes, all but one slot.
    let filler = |n: usize| {
        let mut id = [0xf0; 32];
        id[..8].copy_from_slice(&(n as u64).to_be_bytes());
        id
    };
    let mut txn = store_of(&bob).transaction().unwrap();
    for n in 0..max - 1 {
        txn.record_handshake(&filler(n), last_resort).unwrap();
    }
    txn.commit().unwrap();
    let on_last_resort = |from: &Device| {
        let taken = dir.take_bundle(&bob.address).unwrap();
        assert!(taken.used_last_resort());
        assert_eq!(taken.prekey_ids().kem_prekey_id(), last_resort);
        let verified = taken.into_bundle().verify().unwrap();
        from.account
            .start_session(&mut OsRng, &bob.address, &verified, NOW)
            .unwrap();
        from.send(&bob, "on last resort")
    };
    let log = |id: &[u8; 32]| {
        let mut txn = store_of(&bob).transaction().unwrap();
        let count = txn.handshake_count(last_resort).unwrap();
        (txn.contains_handshake(id).unwrap(), count)
    };

    // The last slot.
    let from_alice = on_last_resort(&alice);
    let alice_id = *PreKeyMessage::from_bytes(&from_alice)
        .unwrap()
        .handshake_id()
        .as_bytes();
    assert_eq!(bob.receive(&alice, &from_alice).unwrap(), b"on last resort");
    assert_eq!(log(&alice_id), (true, max));

    // Full: Carol is refused, and nothing changed.
    let from_carol = on_last_resort(&carol);
    let carol_id = *PreKeyMessage::from_bytes(&from_carol)
        .unwrap()
        .handshake_id()
        .as_bytes();
    assert_eq!(
        bob.receive(&carol, &from_carol),
        Err(Error::Account(AccountError::HandshakeLogFull {
            last_resort_id: last_resort,
            max
        }))
    );
    assert!(!bob.account.has_session(&carol.address).unwrap());
    assert_eq!(log(&carol_id), (false, max));
    // Nothing was dropped to make room: Alice's first message, replayed
    // without its session, is still refused as a replay.
    let mut txn = store_of(&bob).transaction().unwrap();
    assert!(txn.remove_sessions(&alice.address).unwrap());
    assert!(txn.contains_handshake(&filler(0)).unwrap());
    txn.commit().unwrap();
    assert_eq!(
        bob.receive(&alice, &from_alice),
        Err(Error::Account(AccountError::ReplayedHandshake))
    );
    // With one-time prekeys published again, Carol gets through.
    publish(&dir, &bob.address, &bob.account, NOW);
    carol.start(&dir, &bob);
    let again = carol.send(&bob, "with one-time keys");
    assert_eq!(bob.receive(&carol, &again).unwrap(), b"with one-time keys");
    assert_eq!(log(&carol_id), (false, max));

    // The key is rotated, then deleted after its grace period: its log
    // goes with it, in the same refresh.
    bob.account
        .refresh_prekeys(&mut OsRng, NOW + 7 * DAY, None)
        .unwrap();
    assert_eq!(log(&alice_id), (true, max));
    let update = bob
        .account
        .refresh_prekeys(&mut OsRng, NOW + 37 * DAY, None)
        .unwrap();
    assert_eq!(update.retired(), 2);
    assert_eq!(log(&alice_id), (false, 0));
    assert!(
        !store_of(&bob)
            .transaction()
            .unwrap()
            .last_resort_kem_prekey_ids()
            .unwrap()
            .contains(&last_resort)
    );
    // And the replay fails on the deleted keys instead.
    assert!(matches!(
        bob.receive(&alice, &from_alice),
        Err(Error::Account(AccountError::UnknownPreKey { .. }))
    ));
}

#[test]
fn a_message_without_a_session_is_refused_and_changes_nothing() {
    let (dir, alice, bob) = pair();
    let carol = device(&dir, "murmur", "carol", 1);
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "hi");
    bob.receive(&alice, &first).unwrap();
    let reply = bob.send(&alice, "hello");
    // Carol is not Alice's peer: Alice has no session with her.
    assert_eq!(
        alice.receive(&carol, &reply),
        Err(Error::Account(AccountError::NoSessionForMessage))
    );
    assert_eq!(
        alice.account.encrypt(&mut OsRng, &carol.address, b"x", NOW),
        Err(Error::Account(AccountError::NoSession))
    );
    assert_eq!(alice.receive(&bob, &reply).unwrap(), b"hello");
}

/// Bob reinstalls: a new identity at the same address.
fn reinstall(dir: &MemoryDirectory, bob: &Device) -> Device {
    dir.remove(&bob.address).unwrap();
    client_common::register_with(
        dir,
        bob.address.clone(),
        Arc::new(MemoryStore::new()),
        client_common::config().with_device_lists_required(false),
    )
}

#[test]
fn a_changed_identity_is_refused_with_both_keys_until_accepted() {
    let (dir, alice, bob) = legacy_pair();
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "hi");
    bob.receive(&alice, &first).unwrap();
    let old_key = bob.account.identity_key().clone();

    let bob2 = reinstall(&dir, &bob);
    let new_key = bob2.account.identity_key().clone();
    let fresh = bundle(&dir, &bob2.address);
    let refused = alice
        .account
        .start_session(&mut OsRng, &bob2.address, &fresh, NOW)
        .unwrap_err();
    match refused {
        Error::Trust(TrustError::IdentityChanged { address, old, new }) => {
            assert_eq!(address, bob.address);
            assert_eq!(*old, old_key);
            assert_eq!(*new, new_key);
        }
        other => panic!("expected IdentityChanged, got {other:?}"),
    }
    // Nothing changed: the old session still works.
    let m = alice.send(&bob, "still the old session");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"still the old session");

    // The new Bob writes first: refused too, and nothing consumed.
    let bundle_for_bob2 = bundle(&dir, &alice.address);
    bob2.account
        .start_session(&mut OsRng, &alice.address, &bundle_for_bob2, NOW)
        .unwrap();
    let from_bob2 = bob2.send(&alice, "it's me, new phone");
    let before = one_time_ids(&alice);
    assert!(matches!(
        alice.receive(&bob2, &from_bob2),
        Err(Error::Trust(TrustError::IdentityChanged { .. }))
    ));
    assert_eq!(one_time_ids(&alice), before);

    // The user accepts: the same bytes now decrypt, old sessions are gone.
    alice
        .account
        .accept_identity(&mut OsRng, &bob2.address, &new_key, NOW)
        .unwrap();
    let got = alice
        .account
        .decrypt(&mut OsRng, &bob2.address, &from_bob2, NOW)
        .unwrap();
    assert_eq!(got.plaintext(), b"it's me, new phone");
    assert_eq!(got.identity(), &IdentityStatus::Known);
    let known = alice.account.peer_identity(&bob2.address).unwrap().unwrap();
    assert_eq!(known.key(), &new_key);
    assert!(!known.is_verified());
}

#[test]
fn only_an_authenticated_prekey_message_can_report_a_changed_identity() {
    let (dir, alice, bob) = legacy_pair();
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "hi");
    let mallory = legacy_device(&dir, "chirp", "mallory", 9);

    // Alice's own first message with Mallory's identity key pasted in
    // (offset 3, PROTOCOL.md §4.3): it cannot authenticate, so no trust
    // decision is made and the app hears nothing about a changed key.
    let mut forged = first.clone();
    forged[3..35].copy_from_slice(mallory.account.identity_key().as_bytes());
    assert_eq!(bob.receive(&alice, &forged), Err(Error::DecryptionFailed));
    assert!(bob.account.peer_identity(&alice.address).unwrap().is_none());
    assert_eq!(bob.receive(&alice, &first).unwrap(), b"hi");

    // A real handshake from Mallory's own address, relabeled by the
    // server as Alice's: Mallory bound her own address into it, so it does
    // not authenticate as Alice's, and nothing is recorded.
    mallory.start(&dir, &bob);
    let from_mallory = mallory.send(&bob, "I am Alice now");
    assert_eq!(
        bob.receive(&alice, &from_mallory),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        bob.account
            .peer_identity(&alice.address)
            .unwrap()
            .unwrap()
            .key(),
        alice.account.identity_key()
    );

    // A real handshake under Mallory's key that binds Alice's address (a
    // device claiming to be Alice's) authenticates: that is a changed
    // identity, refused.
    let elsewhere = MemoryDirectory::new();
    let impostor = client_common::register_with(
        &elsewhere,
        alice.address.clone(),
        Arc::new(MemoryStore::new()),
        client_common::config().with_device_lists_required(false),
    );
    impostor.start(&dir, &bob);
    let claimed = impostor.send(&bob, "I am Alice now");
    assert!(matches!(
        bob.receive(&alice, &claimed),
        Err(Error::Trust(TrustError::IdentityChanged { .. }))
    ));
}

struct RefuseStrangers;

impl TrustPolicy for RefuseStrangers {
    fn decide(
        &self,
        peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision {
        match known {
            Some(k) if k.key() == presented => TrustDecision::Trust,
            _ if peer.app_id() == b"chirp" => TrustDecision::Trust,
            _ => TrustDecision::Refuse,
        }
    }
}

#[test]
fn the_trust_policy_decides_and_verification_is_recorded() {
    let dir = MemoryDirectory::new();
    let alice = legacy_device(&dir, "chirp", "alice", 1);
    let bob = legacy_device(&dir, "parley", "bob", 1);
    let strict = Account::open(Arc::clone(store_of(&alice)), keyring())
        .unwrap()
        .with_config(client_common::config().with_device_lists_required(false))
        .with_trust_policy(RefuseStrangers);
    let refused = strict
        .start_session(&mut OsRng, &bob.address, &bundle(&dir, &bob.address), NOW)
        .unwrap_err();
    assert!(matches!(
        refused,
        Error::Trust(TrustError::Untrusted { ref address, .. }) if *address == bob.address
    ));
    assert!(strict.peer_identity(&bob.address).unwrap().is_none());

    alice.start(&dir, &bob);
    let key = bob.account.identity_key().clone();
    assert_eq!(
        alice
            .account
            .mark_verified(&mut OsRng, &bob.address, alice.account.identity_key()),
        Err(Error::Account(AccountError::IdentityMismatch))
    );
    alice
        .account
        .mark_verified(&mut OsRng, &bob.address, &key)
        .unwrap();
    let known = alice.account.peer_identity(&bob.address).unwrap().unwrap();
    assert!(known.is_verified());
    assert_eq!(known.first_seen(), NOW);
}

#[test]
fn signed_prekeys_rotate_by_age_and_retire_after_the_grace_period() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    alice.introduce(&bob);
    let config = AccountConfig::default()
        .with_one_time_prekey_target(client_common::ONE_TIME_TARGET)
        .unwrap()
        .with_signed_prekey_rotation(7 * DAY, 14 * DAY)
        .unwrap();
    let bob_account = Account::open(Arc::clone(store_of(&bob)), keyring())
        .unwrap()
        .with_config(config);
    let signed_ids = || {
        store_of(&bob)
            .transaction()
            .unwrap()
            .signed_prekey_ids()
            .unwrap()
    };
    assert_eq!(signed_ids(), vec![1]);

    // Alice takes a bundle on the first signed prekey, writes later.
    let old_bundle = bundle(&dir, &bob.address);
    let update = bob_account
        .refresh_prekeys(&mut OsRng, NOW + DAY, None)
        .unwrap();
    assert!(update.signed_prekey().is_none(), "not due yet");
    let update = bob_account
        .refresh_prekeys(&mut OsRng, NOW + 7 * DAY, None)
        .unwrap();
    let new = update.signed_prekey().unwrap();
    assert_eq!(new.id(), 2);
    assert!(update.last_resort_prekey().is_some());
    assert_eq!(signed_ids(), vec![1, 2]);

    // Within the grace period the old key still answers.
    alice
        .account
        .start_session(&mut OsRng, &bob.address, &old_bundle, NOW)
        .unwrap();
    let first = alice.send(&bob, "on the old signed prekey");
    assert_eq!(
        bob_account
            .decrypt(&mut OsRng, &alice.address, &first, NOW + 8 * DAY)
            .unwrap()
            .plaintext(),
        b"on the old signed prekey"
    );
    let mut txn = store_of(&bob).transaction().unwrap();
    txn.remove_sessions(&alice.address).unwrap();
    txn.commit().unwrap();

    // Two weeks after its successor, the old key is gone (with its
    // last-resort partner); the successor is itself due, so a third comes.
    let update = bob_account
        .refresh_prekeys(&mut OsRng, NOW + 21 * DAY, None)
        .unwrap();
    assert_eq!(update.retired(), 2);
    assert_eq!(update.signed_prekey().map(|k| k.id()), Some(3));
    assert_eq!(signed_ids(), vec![2, 3]);
    assert_eq!(
        store_of(&bob)
            .transaction()
            .unwrap()
            .last_resort_kem_prekey_ids()
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        bob_account.decrypt(&mut OsRng, &alice.address, &first, NOW + 21 * DAY),
        Err(Error::Account(AccountError::UnknownPreKey {
            prekey: PreKeyRole::Signed,
            id: 1
        }))
    ));
}

#[test]
fn replenishing_makes_what_the_directory_lacks_with_growing_ids() {
    let dir = MemoryDirectory::new();
    let bob = device(&dir, "parley", "bob", 1);
    let target = client_common::ONE_TIME_TARGET;
    assert_eq!(
        dir.device(&bob.address).unwrap().counts().one_time(),
        target
    );
    for _ in 0..3 {
        dir.take_bundle(&bob.address).unwrap();
    }
    let counts = dir.device(&bob.address).unwrap().counts();
    assert_eq!(bob.account.one_time_prekeys_needed(Some(counts)), (3, 3));
    publish(&dir, &bob.address, &bob.account, NOW);
    let counts = dir.device(&bob.address).unwrap().counts();
    assert_eq!((counts.one_time(), counts.kem()), (target, target));
    assert_eq!(bob.account.one_time_prekeys_needed(Some(counts)), (0, 0));
    let (ec, kem) = one_time_ids(&bob);
    assert_eq!(ec.len(), target + 3);
    assert!(ec.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(kem.len(), target + 3);
}

#[test]
fn an_unanswered_session_expires_and_archived_sessions_age_out() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let ttl = kinseal::client::DEFAULT_PENDING_SESSION_TTL_SECS;
    assert!(
        alice
            .account
            .encrypt(&mut OsRng, &bob.address, b"x", NOW + ttl)
            .is_ok()
    );
    assert_eq!(
        alice
            .account
            .encrypt(&mut OsRng, &bob.address, b"x", NOW + ttl + 1),
        Err(Error::Account(AccountError::SessionExpired))
    );
    // A fresh session replaces it; the old one is archived, then expires.
    let first_id = alice.current(&bob);
    alice.start(&dir, &bob);
    assert_ne!(alice.current(&bob), first_id);
    let sessions = |d: &Device| {
        store_of(d)
            .transaction()
            .unwrap()
            .sessions(&bob.address)
            .unwrap()
            .is_some()
    };
    assert!(sessions(&alice));
    let archived_ttl = kinseal::client::DEFAULT_ARCHIVED_SESSION_TTL_SECS;
    assert_eq!(
        alice.account.expire_sessions(&mut OsRng, NOW + 1).unwrap(),
        0
    );
    assert_eq!(
        alice
            .account
            .expire_sessions(&mut OsRng, NOW + ttl + archived_ttl + 1)
            .unwrap(),
        1
    );
    // The current session stays.
    assert!(alice.account.has_session(&bob.address).unwrap());
}

#[test]
fn one_person_with_two_devices_on_two_apps() {
    let dir = MemoryDirectory::new();
    let alice = legacy_device(&dir, "chirp", "alice", 1);
    let bob_phone = legacy_device(&dir, "parley", "bob", 1);
    let bob_laptop = legacy_device(&dir, "parley", "bob", 2);
    let bob_on_murmur = legacy_device(&dir, "murmur", "bob", 1);
    for peer in [&bob_phone, &bob_laptop, &bob_on_murmur] {
        alice.start(&dir, peer);
        let m = alice.send(peer, "hi Bob");
        assert_eq!(peer.receive(&alice, &m).unwrap(), b"hi Bob");
    }
    let bob = UserAddress::new(b"parley", b"bob").unwrap();
    assert_eq!(
        alice.account.devices_with_sessions(&bob).unwrap(),
        vec![bob_phone.address.clone(), bob_laptop.address.clone()]
    );
    // Each device has its own session: the laptop cannot read the phone's.
    let to_phone = alice.send(&bob_phone, "phone only");
    assert!(bob_laptop.receive(&alice, &to_phone).is_err());
}

#[test]
fn a_restart_mid_conversation_loses_nothing() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let m1 = alice.send(&bob, "one");
    let m2 = alice.send(&bob, "two");
    assert_eq!(bob.receive(&alice, &m2).unwrap(), b"two");
    // Bob's app restarts: a new Account over the same store.
    let bob_again = Device {
        address: bob.address.clone(),
        account: Account::open(Arc::clone(store_of(&bob)), keyring()).unwrap(),
    };
    drop(bob);
    assert_eq!(bob_again.receive(&alice, &m1).unwrap(), b"one");
    let reply = bob_again.send(&alice, "back");
    assert_eq!(alice.receive(&bob_again, &reply).unwrap(), b"back");
}

#[test]
fn storage_keys_rotate_and_records_do_not_open_elsewhere() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let m = alice.send(&bob, "before rotation");
    bob.receive(&alice, &m).unwrap();
    let store = Arc::clone(store_of(&bob));

    assert!(matches!(
        Account::open(
            Arc::clone(&store),
            StorageKeyring::new(StorageKey::new(1, &[1; 32]))
        ),
        Err(Error::Storage(StorageError::SealBroken {
            table: "account"
        }))
    ));
    assert!(matches!(
        Account::open(
            Arc::clone(&store),
            StorageKeyring::new(StorageKey::new(2, &[2; 32]))
        ),
        Err(Error::Storage(StorageError::UnknownStorageKey {
            key_id: 1
        }))
    ));

    let rotated = StorageKeyring::new(StorageKey::new(2, &[2; 32]))
        .with_previous(StorageKey::new(1, &[0x5a; 32]))
        .unwrap();
    let bob2 = Account::open(Arc::clone(&store), rotated).unwrap();
    let resealed = bob2.reseal_all(&mut OsRng).unwrap();
    assert!(
        resealed >= 5,
        "account, identity, sessions and prekeys: {resealed}"
    );
    assert_eq!(bob2.reseal_all(&mut OsRng).unwrap(), 0);
    let bob3 = Device {
        address: bob.address.clone(),
        account: Account::open(store, StorageKeyring::new(StorageKey::new(2, &[2; 32]))).unwrap(),
    };
    let m = alice.send(&bob3, "after rotation");
    assert_eq!(bob3.receive(&alice, &m).unwrap(), b"after rotation");

    // A sealed record moved to another place does not open.
    let alice_store = store_of(&alice);
    let mut txn = alice_store.transaction().unwrap();
    let carol = address("chirp", "carol", 1);
    let record = txn.sessions(&bob.address).unwrap().unwrap();
    txn.put_sessions(&carol, &record).unwrap();
    txn.commit().unwrap();
    assert!(matches!(
        alice.account.encrypt(&mut OsRng, &carol, b"x", NOW),
        Err(Error::Storage(StorageError::SealBroken {
            table: "sessions"
        }))
    ));
    assert_eq!(RecordKey::Sessions(&carol).table(), "sessions");
}

#[test]
fn an_account_is_created_once() {
    let store = Arc::new(MemoryStore::new());
    let at = address("chat.example", "alice", 1);
    Account::create(Arc::clone(&store), keyring(), &mut OsRng, &at, NOW).unwrap();
    assert_eq!(
        Account::create(Arc::clone(&store), keyring(), &mut OsRng, &at, NOW).map(|_| ()),
        Err(Error::Account(AccountError::AccountExists))
    );
    assert!(matches!(
        Account::open(Arc::new(MemoryStore::new()), keyring()),
        Err(Error::Account(AccountError::NoAccount))
    ));
    let mut txn = store.transaction().unwrap();
    assert!(txn.signed_prekey_ids().unwrap().is_empty());
    assert!(txn.last_resort_kem_prekey_ids().unwrap().is_empty());
}

#[test]
fn debug_output_shows_no_secret_and_no_plaintext() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let m = alice.send(&bob, "very private words");
    let got = bob
        .account
        .decrypt(&mut OsRng, &alice.address, &m, NOW)
        .unwrap();
    let secret = [0x5a; 32];
    let key = StorageKey::new(77, &secret);
    let ring = StorageKeyring::new(StorageKey::new(78, &secret));
    let printed = format!(
        "{got:?} {key:?} {ring:?} {:?} {:?}",
        bob.account,
        store_of(&bob)
    );
    assert!(!printed.contains("very private words"), "{printed}");
    assert!(!printed.contains("private"), "{printed}");
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!printed.to_lowercase().contains(&hex[..16]), "{printed}");
    assert!(!printed.contains("90, 90, 90"), "{printed}");
    redaction::assert_redacted("client types", &printed, &secret);
    redaction::assert_redacted("plaintext", &printed, b"very private words");
    assert!(
        printed.contains("77") && printed.contains("78"),
        "ids are public: {printed}"
    );
}

#[test]
fn two_threads_decrypting_from_one_peer_lose_no_ratchet_update() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "first");
    bob.receive(&alice, &first).unwrap();
    let reply = bob.send(&alice, "reply");
    alice.receive(&bob, &reply).unwrap();
    let messages: Vec<(Vec<u8>, String)> = (0..120)
        .map(|i| {
            let text = format!("m{i}");
            (alice.send(&bob, &text), text)
        })
        .collect();
    // A second Account over the same store, as a second thread of the app
    // (or a notification extension) would open.
    let bob_too = Account::open(Arc::clone(store_of(&bob)), keyring()).unwrap();
    std::thread::scope(|s| {
        for (parity, account) in [(0, &bob.account), (1, &bob_too)] {
            let messages = &messages;
            let from = &alice.address;
            s.spawn(move || {
                // Each thread takes its half in reverse, so both skip ahead.
                for (bytes, text) in messages.iter().skip(parity).step_by(2).rev() {
                    let got = account.decrypt(&mut OsRng, from, bytes, NOW).unwrap();
                    assert_eq!(got.plaintext(), text.as_bytes());
                }
            });
        }
    });
    for (bytes, _) in &messages {
        assert!(matches!(
            bob.receive(&alice, bytes),
            Err(Error::Protocol(ProtocolError::Duplicate { .. }))
        ));
    }
    let m = alice.send(&bob, "after");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"after");
    let m = bob.send(&alice, "and back");
    assert_eq!(alice.receive(&bob, &m).unwrap(), b"and back");
}

#[test]
fn one_plaintext_to_several_devices_is_one_transaction() {
    let dir = MemoryDirectory::new();
    let alice = legacy_device(&dir, "chirp", "alice", 1);
    let phone = legacy_device(&dir, "parley", "bob", 1);
    let laptop = legacy_device(&dir, "parley", "bob", 2);
    let tablet = legacy_device(&dir, "parley", "bob", 3);
    alice.start(&dir, &phone);
    alice.start(&dir, &laptop);
    let records = || {
        let mut txn = store_of(&alice).transaction().unwrap();
        [&phone, &laptop, &tablet].map(|d| txn.sessions(&d.address).unwrap())
    };

    // No session with the tablet: nothing is encrypted, nothing changes.
    let before = records();
    let all = [
        phone.address.clone(),
        laptop.address.clone(),
        tablet.address.clone(),
    ];
    assert_eq!(
        alice.account.encrypt_to_each(&mut OsRng, &all, b"hi", NOW),
        Err(Error::Account(AccountError::NoSession))
    );
    assert_eq!(records(), before);

    let out = alice
        .account
        .encrypt_to_each(&mut OsRng, &all[..2], b"hi all", NOW)
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(phone.receive(&alice, &out[0]).unwrap(), b"hi all");
    assert_eq!(laptop.receive(&alice, &out[1]).unwrap(), b"hi all");
    assert!(laptop.receive(&alice, &out[0]).is_err());
}

#[test]
fn a_cached_session_is_never_used_after_another_writer_changed_it() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "first");
    bob.receive(&alice, &first).unwrap();
    let reply = bob.send(&alice, "reply");
    alice.receive(&bob, &reply).unwrap();

    // Two Accounts over Alice's store (two threads or processes of her
    // app), each with its own cache, take turns encrypting.
    let other = Account::open(Arc::clone(store_of(&alice)), keyring()).unwrap();
    let mut sent = Vec::new();
    for i in 0..6 {
        let account = if i % 3 == 0 { &other } else { &alice.account };
        let text = format!("turn {i}");
        sent.push((
            account
                .encrypt(&mut OsRng, &bob.address, text.as_bytes(), NOW)
                .unwrap(),
            text,
        ));
    }
    // A stale cache would have reused a message key: Bob would see a
    // duplicate index or a failure. Every message decrypts, in order.
    for (bytes, text) in &sent {
        assert_eq!(bob.receive(&alice, bytes).unwrap(), text.as_bytes());
    }
    let indexes: Vec<u32> = sent
        .iter()
        .map(|(b, _)| kinseal::Message::from_bytes(b).unwrap().index())
        .collect();
    assert!(indexes.windows(2).all(|w| w[1] == w[0] + 1), "{indexes:?}");

    // With the cache off the behaviour is the same.
    let uncached = Account::open(Arc::clone(store_of(&alice)), keyring())
        .unwrap()
        .with_config(AccountConfig::default().with_session_cache(0).unwrap());
    let m = uncached
        .encrypt(&mut OsRng, &bob.address, b"no cache", NOW)
        .unwrap();
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"no cache");
    let m = alice.send(&bob, "cache again");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"cache again");
}
