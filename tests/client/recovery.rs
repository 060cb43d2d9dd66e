//! Recovery without the user (issue 14, item 6): decryption-error
//! receipts, a reinstalled peer, a device whose sessions were lost.

use crate::common as client_common;

use client_common::{Device, NOW, device, fetch, link};
use kinseal::client::ReceiptOutcome;
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{AccountError, Error, OsRng};

/// Publishes `d`'s user's latest device list in the directory.
fn publish_list(dir: &MemoryDirectory, d: &Device) {
    let list = d.account.device_list().unwrap();
    dir.publish_device_list(d.address.user(), &list.to_bytes())
        .unwrap();
}

/// What an app does to bring a peer user's list up to date: the whole
/// history for a user met for the first time, else the lists after the one
/// on record, from the directory.
fn refresh_lists(dir: &MemoryDirectory, of: &Device, user: &kinseal::UserAddress) {
    let mut source =
        |u: &kinseal::UserAddress, held: Option<u64>| dir.device_lists_since(u, held.unwrap_or(0));
    of.account
        .refresh_device_lists(&mut OsRng, user, &mut source, NOW)
        .unwrap();
}

/// Alice, and Bob with a phone and a linked laptop, every list published
/// and known, sessions from Alice to both of Bob's devices in use.
fn setup() -> (MemoryDirectory, Device, Device, Device) {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let phone = device(&dir, "parley", "bob", 1);
    publish_list(&dir, &alice);
    publish_list(&dir, &phone);
    let laptop = link(&dir, &phone, 2);
    publish_list(&dir, &phone);
    for (who, of) in [(&alice, &phone), (&phone, &alice), (&laptop, &alice)] {
        refresh_lists(&dir, who, of.address.user());
    }
    alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"hello", NOW)
        .unwrap();
    for (e, d) in sent.envelopes().iter().zip([&phone, &laptop]) {
        d.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
    }
    (dir, alice, phone, laptop)
}

#[test]
fn a_reinstalled_peer_is_reached_again_after_one_receipt() {
    let (dir, alice, phone, laptop) = setup();
    // Bob reinstalls the app on his laptop: a new device key, linked again
    // from the phone under the same id (v3 without it, v4 with the new key).
    phone.account.remove_device(&mut OsRng, 2, NOW).unwrap();
    publish_list(&dir, &phone);
    dir.remove(&laptop.address).unwrap();
    let old_key = laptop.account.identity_key().clone();
    drop(laptop);
    let laptop = link(&dir, &phone, 2);
    publish_list(&dir, &phone);
    assert_ne!(*laptop.account.identity_key(), old_key);
    refresh_lists(&dir, &laptop, alice.address.user());

    // Alice, still on Bob's v2, writes on the old session: the new laptop
    // cannot decrypt it and sends back one receipt, signed by its new key.
    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"are you there?", NOW)
        .unwrap();
    let to_laptop = sent
        .envelopes()
        .iter()
        .find(|e| *e.recipient() == laptop.address)
        .unwrap();
    let error = laptop
        .account
        .decrypt_envelope(&mut OsRng, to_laptop, NOW)
        .unwrap_err();
    // Alice's session is still pending (the old laptop never answered):
    // a PreKeyMessage on the old laptop's prekeys, which the new laptop's
    // keys do not open.
    assert_eq!(error, Error::DecryptionFailed);
    let receipt = laptop
        .account
        .decryption_error_receipt(to_laptop, &error, NOW)
        .unwrap()
        .expect("a failure worth a receipt")
        .to_bytes();

    // Alice's app: the receipt's key is not on the list she holds, so it
    // fetches Bob's newer lists. The laptop is replaced and its old session
    // dropped; the next send starts a new one, and it decrypts. No user
    // did anything.
    assert_eq!(
        alice.account.handle_receipt(&mut OsRng, &receipt, NOW),
        Err(Error::Account(AccountError::UnlistedDevice {
            address: laptop.address.clone()
        }))
    );
    let held = alice
        .account
        .peer_user(phone.address.user())
        .unwrap()
        .unwrap();
    assert_eq!(held.device_list().version(), 2);
    let mut asked = Vec::new();
    let mut source = |u: &kinseal::UserAddress, held: Option<u64>| {
        asked.push(held);
        dir.device_lists_since(u, held.unwrap_or(0))
    };
    let change = alice
        .account
        .refresh_device_lists(&mut OsRng, phone.address.user(), &mut source, NOW)
        .unwrap()
        .expect("two newer lists");
    assert_eq!(change.version(), 4);
    assert_eq!(change.replaced(), std::slice::from_ref(&laptop.address));
    assert!(!alice.account.has_session(&laptop.address).unwrap());
    // Given again, the receipt names a session that went with the old
    // laptop: nothing left to do.
    assert!(matches!(
        alice.account.handle_receipt(&mut OsRng, &receipt, NOW),
        Ok(ReceiptOutcome::AlreadyReplaced { device, .. }) if device == laptop.address
    ));
    // Nothing newer now.
    assert!(
        alice
            .account
            .refresh_device_lists(&mut OsRng, phone.address.user(), &mut source, NOW)
            .unwrap()
            .is_none()
    );
    assert_eq!(asked, vec![Some(2), Some(4)]);
    let report = alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    assert_eq!(report.started().len(), 1);
    let sent = alice
        .account
        .encrypt_to_user(&mut OsRng, phone.address.user(), b"welcome back", NOW)
        .unwrap();
    for e in sent.envelopes() {
        let d = if *e.recipient() == laptop.address {
            &laptop
        } else {
            &phone
        };
        let got = d.account.decrypt_envelope(&mut OsRng, e, NOW).unwrap();
        assert_eq!(got.plaintext(), b"welcome back");
    }
}

#[test]
fn a_device_that_lost_its_session_recovers_within_one_round_trip() {
    let (dir, alice, phone, _laptop) = setup();
    // The phone loses its sessions with Alice (restored from an old
    // backup, say); its identity key is the one on Bob's list.
    assert!(phone.account.forget_device(&alice.address).unwrap());
    let lost = alice
        .account
        .encrypt_envelope(&mut OsRng, &phone.address, b"lost", NOW)
        .unwrap();
    let error = phone
        .account
        .decrypt_envelope(&mut OsRng, &lost, NOW)
        .unwrap_err();
    let receipt = phone
        .account
        .decryption_error_receipt(&lost, &error, NOW)
        .unwrap()
        .unwrap()
        .to_bytes();
    let before = alice.account.current_session_id(&phone.address).unwrap();
    let failed = kinseal::FailedMessage::of(lost.message()).unwrap();
    assert_eq!(
        alice
            .account
            .handle_receipt(&mut OsRng, &receipt, NOW)
            .unwrap(),
        ReceiptOutcome::SessionClosed {
            device: phone.address.clone(),
            failed
        }
    );
    assert!(!alice.account.has_session(&phone.address).unwrap());
    // A second copy of the receipt changes nothing more.
    assert_eq!(
        alice
            .account
            .handle_receipt(&mut OsRng, &receipt, NOW)
            .unwrap(),
        ReceiptOutcome::AlreadyReplaced {
            device: phone.address.clone(),
            failed
        }
    );
    alice
        .account
        .sync_sessions(&mut OsRng, phone.address.user(), &mut fetch(&dir), NOW)
        .unwrap();
    assert_ne!(
        alice.account.current_session_id(&phone.address).unwrap(),
        before
    );
    let again = alice
        .account
        .encrypt_envelope(&mut OsRng, &phone.address, b"found", NOW)
        .unwrap();
    let got = phone
        .account
        .decrypt_envelope(&mut OsRng, &again, NOW)
        .unwrap();
    assert_eq!(got.plaintext(), b"found");
}

#[test]
fn a_receipt_is_acted_on_only_from_the_listed_device_and_for_this_device() {
    let (dir, alice, phone, laptop) = setup();
    let carol = device(&dir, "murmur", "carol", 1);
    let lost = alice
        .account
        .encrypt_envelope(&mut OsRng, &phone.address, b"x", NOW)
        .unwrap();
    // No receipt for a message that did decrypt, or for this device's own
    // errors.
    assert!(
        phone
            .account
            .decryption_error_receipt(
                &lost,
                &Error::Account(AccountError::NoDeviceList {
                    user: alice.address.user().clone()
                }),
                NOW
            )
            .unwrap()
            .is_none()
    );
    // A receipt about the phone's session, signed by the laptop (listed,
    // but for another device id) or by Carol: not acted on.
    let forged = kinseal::DecryptionErrorReceipt::new(
        &kinseal::IdentityKeyPair::generate(&mut OsRng),
        &phone.address,
        &alice.address,
        kinseal::FailedMessage::of(lost.message()).unwrap(),
        kinseal::ReceiptReason::NoSession,
        NOW,
    );
    let before = alice.account.current_session_id(&phone.address).unwrap();
    assert_eq!(
        alice
            .account
            .handle_receipt(&mut OsRng, &forged.to_bytes(), NOW),
        Err(Error::Account(AccountError::UnlistedDevice {
            address: phone.address.clone()
        }))
    );
    let error = Error::Account(AccountError::NoSessionForMessage);
    let from_laptop = laptop
        .account
        .decryption_error_receipt(
            &kinseal::Envelope::new(
                alice.address.clone(),
                laptop.address.clone(),
                lost.message().to_vec(),
            )
            .unwrap(),
            &error,
            NOW,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        carol
            .account
            .handle_receipt(&mut OsRng, &from_laptop.to_bytes(), NOW),
        Err(Error::Account(AccountError::ReceiptNotApplicable))
    );
    // The laptop's receipt names a message of the phone's session: Alice
    // has no such session with the laptop, and closes nothing.
    assert!(matches!(
        alice
            .account
            .handle_receipt(&mut OsRng, &from_laptop.to_bytes(), NOW),
        Ok(ReceiptOutcome::AlreadyReplaced { .. })
    ));
    assert!(alice.account.has_session(&laptop.address).unwrap());
    assert_eq!(
        alice.account.current_session_id(&phone.address).unwrap(),
        before
    );
    assert!(alice.account.has_session(&phone.address).unwrap());
}

/// A source asked for one user's lists that answers with another user's
/// (genuine, signed) list is refused, and neither user's record is taken.
#[test]
fn refresh_takes_no_list_of_another_user() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    let carol = device(&dir, "parley", "carol", 1);
    let carol_list = carol.account.device_list().unwrap().to_bytes();
    let mut wrong = |_: &kinseal::UserAddress, _: Option<u64>| Ok(vec![carol_list.clone()]);
    let result =
        alice
            .account
            .refresh_device_lists(&mut OsRng, bob.address.user(), &mut wrong, NOW);
    match result {
        Err(Error::Account(AccountError::ListOfAnotherUser { requested, found })) => {
            assert_eq!(&requested, bob.address.user());
            assert_eq!(&found, carol.address.user());
        }
        other => panic!("expected ListOfAnotherUser, got {other:?}"),
    }
    assert!(
        alice
            .account
            .peer_user(bob.address.user())
            .unwrap()
            .is_none()
    );
    assert!(
        alice
            .account
            .peer_user(carol.address.user())
            .unwrap()
            .is_none()
    );
    // Asked for Carol's, the same list is taken.
    let mut right = |_: &kinseal::UserAddress, _: Option<u64>| Ok(vec![carol_list.clone()]);
    alice
        .account
        .refresh_device_lists(&mut OsRng, carol.address.user(), &mut right, NOW)
        .unwrap();
    assert!(
        alice
            .account
            .peer_user(carol.address.user())
            .unwrap()
            .is_some()
    );
}
