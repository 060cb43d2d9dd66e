//! What an app shows about people (issue 14, items 4 and 8): one safety
//! number per pair of people, links between two accounts of one person,
//! and the key-transparency hook on user keys.

use crate::common as client_common;

use std::sync::Arc;

use client_common::{NOW, device, keyring, learn_list, link};
use kinseal::client::{
    Account, KnownUser, MemoryStore, SafetyNumber, TrustDecision, TrustPolicy, UserAddress,
};
use kinseal::server::MemoryDirectory;
use kinseal::{
    AccountError, Error, IdentityKey, LinkRevocation, OsRng, TrustError, UserIdentityKey,
};

#[test]
fn the_safety_number_of_two_people_is_the_same_everywhere_and_survives_new_devices() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let phone = device(&dir, "parley", "bob", 1);
    let laptop = link(&dir, &phone, 2);
    let carol = device(&dir, "murmur", "carol", 1);
    for (a, b) in [(&alice, &phone), (&phone, &alice), (&laptop, &alice)] {
        learn_list(&a.account, &b.account);
    }
    for (a, b) in [(&alice, &carol), (&carol, &alice)] {
        learn_list(&a.account, &b.account);
    }
    let number = |a: &client_common::Device, b: &UserAddress| {
        a.account.user_safety_number(b).unwrap().unwrap()
    };
    let on_chirp = number(&alice, phone.address.user());
    assert_eq!(on_chirp, number(&phone, alice.address.user()));
    assert_eq!(on_chirp, number(&laptop, alice.address.user()));
    assert_eq!(on_chirp.version(), SafetyNumber::USER_VERSION);
    assert!(
        on_chirp
            .matches_scanned(&number(&laptop, alice.address.user()).to_qr_bytes())
            .unwrap()
    );
    // Not a number of device keys, and not another pair's.
    assert_ne!(
        on_chirp,
        SafetyNumber::new(alice.account.identity_key(), phone.account.identity_key())
    );
    assert_eq!(
        number(&alice, carol.address.user()),
        number(&carol, alice.address.user())
    );
    assert_ne!(number(&alice, carol.address.user()), on_chirp);

    // Bob adds a third device: the people's number does not change.
    let tablet = link(&dir, &phone, 3);
    learn_list(&alice.account, &phone.account);
    learn_list(&tablet.account, &alice.account);
    assert_eq!(number(&alice, phone.address.user()), on_chirp);
    assert_eq!(number(&tablet, alice.address.user()), on_chirp);
    // Before any key is on record there is none.
    assert!(
        carol
            .account
            .user_safety_number(phone.address.user())
            .unwrap()
            .is_none()
    );
}

#[test]
fn two_accounts_of_one_person_are_linked_only_when_both_sign() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let work = device(&dir, "parley", "bob@work", 1);
    let family = device(&dir, "murmur", "bob", 1);
    // By default nothing links them: unrelated user keys.
    assert_ne!(
        work.account.user_identity_key(),
        family.account.user_identity_key()
    );
    let proposal = work
        .account
        .propose_account_link(
            family.account.user_identity_key(),
            family.address.user(),
            NOW,
        )
        .unwrap()
        .to_bytes();
    // Only the named account countersigns.
    assert_eq!(
        alice
            .account
            .countersign_account_link(&proposal)
            .unwrap_err(),
        Error::Account(AccountError::IdentityMismatch)
    );
    let link_bytes = family
        .account
        .countersign_account_link(&proposal)
        .unwrap()
        .to_bytes();

    // Alice's app shows the two as one person once it knows both users
    // (the link names them in the order of their keys).
    match alice.account.check_account_link(&link_bytes).unwrap_err() {
        Error::Account(AccountError::NoDeviceList { user }) => {
            assert!(user == *work.address.user() || user == *family.address.user());
        }
        other => panic!("expected NoDeviceList, got {other:?}"),
    }
    learn_list(&alice.account, &work.account);
    assert_eq!(
        alice.account.check_account_link(&link_bytes).unwrap_err(),
        Error::Account(AccountError::NoDeviceList {
            user: family.address.user().clone()
        })
    );
    learn_list(&alice.account, &family.account);
    let checked = alice.account.check_account_link(&link_bytes).unwrap();
    assert!(checked.involves(work.account.user_identity_key()));
    assert!(checked.involves(family.account.user_identity_key()));

    // Revoked by either side; the revocation verifies against the link.
    let revocation = family
        .account
        .revoke_account_link(&link_bytes, NOW + 1)
        .unwrap()
        .to_bytes();
    LinkRevocation::from_bytes(&revocation)
        .unwrap()
        .verify(&checked)
        .unwrap();
    // Someone else's account cannot revoke it.
    assert!(alice.account.revoke_account_link(&link_bytes, NOW).is_err());

    // A link naming a user under another key than the one on record.
    let impostor = client_common::register(
        &MemoryDirectory::new(),
        family.address.clone(),
        Arc::new(MemoryStore::new()),
    );
    let fake = work
        .account
        .propose_account_link(
            impostor.account.user_identity_key(),
            family.address.user(),
            NOW,
        )
        .unwrap()
        .to_bytes();
    let fake = impostor
        .account
        .countersign_account_link(&fake)
        .unwrap()
        .to_bytes();
    assert!(matches!(
        alice.account.check_account_link(&fake),
        Err(Error::Trust(TrustError::UserKeyChanged { .. }))
    ));
}

/// A policy that trusts a user key only with a key-transparency proof
/// that vouches for it (a stand-in for an `akd` verifier: the "proof" is
/// the key's bytes).
struct NeedsProof;

impl TrustPolicy for NeedsProof {
    fn decide(
        &self,
        _: &kinseal::client::DeviceAddress,
        _: Option<&kinseal::client::KnownIdentity>,
        _: &IdentityKey,
    ) -> TrustDecision {
        TrustDecision::Refuse
    }

    fn decide_user(
        &self,
        _user: &UserAddress,
        _known: Option<&KnownUser>,
        presented: &UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> TrustDecision {
        match proof {
            Some(p) if p == presented.as_bytes() => TrustDecision::Trust,
            _ => TrustDecision::Refuse,
        }
    }
}

#[test]
fn a_key_transparency_policy_decides_on_user_keys() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    let strict = Account::open(Arc::clone(alice.account.store()), keyring())
        .unwrap()
        .with_trust_policy(NeedsProof);
    let list = bob.account.device_list().unwrap().to_bytes();
    assert!(matches!(
        strict.update_device_lists(&mut OsRng, &[&list], NOW),
        Err(Error::Trust(TrustError::UserUntrusted { .. }))
    ));
    assert!(matches!(
        strict.update_device_lists_with_proof(&mut OsRng, &[&list], Some(b"wrong"), NOW),
        Err(Error::Trust(TrustError::UserUntrusted { .. }))
    ));
    assert!(strict.peer_user(bob.address.user()).unwrap().is_none());
    let proof = bob.account.user_identity_key().as_bytes().to_vec();
    let change = strict
        .update_device_lists_with_proof(&mut OsRng, &[&list], Some(&proof), NOW)
        .unwrap();
    assert!(change.is_new_user());
    assert_eq!(change.added(), std::slice::from_ref(&bob.address));
    // The policy decides on every list, also the one on record again.
    assert!(matches!(
        strict.update_device_lists(&mut OsRng, &[&list], NOW),
        Err(Error::Trust(TrustError::UserUntrusted { .. }))
    ));
    let again = strict
        .update_device_lists_with_proof(&mut OsRng, &[&list], Some(&proof), NOW)
        .unwrap();
    assert!(again.is_unchanged() && !again.is_new_user());
}
