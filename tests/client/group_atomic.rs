//! Every group operation of `Account` is one store transaction: with the
//! store failing at its n-th write, for every n in turn (the commit
//! included), nothing changes, and the retry succeeds (see `atomic.rs`).

use std::sync::Arc;

use crate::atomic::{FailingStore, through_every_failure};
use crate::common::{Device, NOW, address, device, fetch, learn_list, register};
use kinseal::client::{ClientStore, GroupEvent};
use kinseal::server::MemoryDirectory;
use kinseal::{Envelope, OsRng};

/// `a` learns `b`'s list and starts sessions with its devices.
fn meet<S: ClientStore, T: ClientStore>(dir: &MemoryDirectory, a: &Device<S>, b: &Device<T>) {
    learn_list(&a.account, &b.account);
    a.account
        .sync_sessions(&mut OsRng, b.address.user(), &mut fetch(dir), NOW)
        .unwrap();
}

/// The envelope of `envelopes` addressed to `to`.
fn to<'a, S: ClientStore>(envelopes: &'a [Envelope], to: &Device<S>) -> &'a Envelope {
    envelopes
        .iter()
        .find(|e| e.recipient() == &to.address)
        .expect("an envelope for the device")
}

#[test]
fn every_group_operation_is_all_or_nothing_at_every_write() {
    let dir = MemoryDirectory::new();
    let store = Arc::new(FailingStore::new());
    let bob: Device<Arc<FailingStore>> =
        register(&dir, address("parley", "bob", 1), Arc::clone(&store));
    let alice = device(&dir, "chirp", "alice", 1);
    let carol = device(&dir, "murmur", "carol", 1);
    let dave = device(&dir, "chirp", "dave", 1);
    for other in [&alice, &carol, &dave] {
        meet(&dir, &bob, other);
        meet(&dir, other, &bob);
        for third in [&alice, &carol, &dave] {
            if third.address != other.address {
                meet(&dir, other, third);
            }
        }
    }
    let mut counts = Vec::new();
    let mut run = |what: &'static str, w: usize| counts.push((what, w));

    // Bob creates a group of Alice, Carol and himself.
    let members = [alice.address.user().clone(), carol.address.user().clone()];
    let ((group, genesis), w) = through_every_failure(&store, &[], || {
        bob.account.create_group(&mut OsRng, &members, NOW)
    });
    run("create_group", w);
    for d in [&alice, &carol] {
        d.account
            .decrypt_envelope(&mut OsRng, to(genesis.envelopes(), d), NOW)
            .unwrap();
    }

    // Bob sends: his sender key is made, distributed and used at once.
    let (sent, w) = through_every_failure(&store, &[], || {
        bob.account.group_send(&mut OsRng, &group, b"from Bob", NOW)
    });
    run("group_send (new key)", w);
    for d in [&alice, &carol] {
        d.account
            .decrypt_envelope(&mut OsRng, to(sent.distributions().envelopes(), d), NOW)
            .unwrap();
        let got = d
            .account
            .group_decrypt(&mut OsRng, &bob.address, sent.message())
            .unwrap();
        assert_eq!(got.plaintext(), b"from Bob");
    }

    // Alice's sender key reaches Bob, then her message.
    let from_alice = alice
        .account
        .group_send(&mut OsRng, &group, b"from Alice", NOW)
        .unwrap();
    let distribution = to(from_alice.distributions().envelopes(), &bob);
    let (decrypted, w) = through_every_failure(&store, &[], || {
        bob.account.decrypt_envelope(&mut OsRng, distribution, NOW)
    });
    run("receive a distribution", w);
    assert!(matches!(
        decrypted.group_event(),
        Some(GroupEvent::SenderKey { .. })
    ));
    let (got, w) = through_every_failure(&store, &[], || {
        bob.account
            .group_decrypt(&mut OsRng, &alice.address, from_alice.message())
    });
    run("group_decrypt", w);
    assert_eq!(got.plaintext(), b"from Alice");

    // Bob adds Dave, then removes Carol: each change with its welcome or
    // fan-out, and the removal drops Carol's keys.
    let dave_user = [dave.address.user().clone()];
    let (added, w) = through_every_failure(&store, &[], || {
        bob.account
            .add_group_members(&mut OsRng, &group, &dave_user, NOW)
    });
    run("add_group_members", w);
    for d in [&alice, &carol, &dave] {
        d.account
            .decrypt_envelope(&mut OsRng, to(added.envelopes(), d), NOW)
            .unwrap();
    }
    let carol_user = [carol.address.user().clone()];
    let (_, w) = through_every_failure(&store, &[], || {
        bob.account
            .remove_group_members(&mut OsRng, &group, &carol_user, NOW)
    });
    run("remove_group_members", w);
    // The next send replaces the key Carol had.
    let (sent, w) = through_every_failure(&store, &[], || {
        bob.account
            .group_send(&mut OsRng, &group, b"after Carol", NOW)
    });
    run("group_send (rotated)", w);
    assert!(
        sent.distributions()
            .envelopes()
            .iter()
            .all(|e| e.recipient() != &carol.address)
    );

    // Alice starts a group with Bob: his decrypt of the genesis joins it.
    let (other, genesis) = alice
        .account
        .create_group(&mut OsRng, &[bob.address.user().clone()], NOW)
        .unwrap();
    let (joined, w) = through_every_failure(&store, &[], || {
        bob.account
            .decrypt_envelope(&mut OsRng, to(genesis.envelopes(), &bob), NOW)
    });
    run("receive a genesis", w);
    assert!(matches!(
        joined.group_event(),
        Some(GroupEvent::Joined { epoch: 0, .. })
    ));
    let (existed, w) = through_every_failure(&store, &[], || bob.account.forget_group(&other));
    run("forget_group", w);
    assert!(existed);

    for (op, writes) in &counts {
        assert!(*writes >= 2, "{op} made {writes} writes");
    }
    eprintln!("writes per group operation: {counts:?}");
}

#[test]
fn a_group_message_handed_over_inside_the_transaction_is_never_lost() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    meet(&dir, &alice, &bob);
    meet(&dir, &bob, &alice);
    let (group, genesis) = alice
        .account
        .create_group(&mut OsRng, &[bob.address.user().clone()], NOW)
        .unwrap();
    bob.account
        .decrypt_envelope(&mut OsRng, to(genesis.envelopes(), &bob), NOW)
        .unwrap();
    let sent = alice
        .account
        .group_send(&mut OsRng, &group, b"keep me", NOW)
        .unwrap();
    bob.account
        .decrypt_envelope(&mut OsRng, to(sent.distributions().envelopes(), &bob), NOW)
        .unwrap();

    // The app fails to store the plaintext: nothing is committed.
    let refused = bob
        .account
        .group_decrypt_with(&mut OsRng, &alice.address, sent.message(), |d| {
            assert_eq!(d.plaintext(), b"keep me");
            Err::<(), _>("disk full")
        })
        .unwrap();
    assert_eq!(refused.err(), Some("disk full"));
    // Delivered again, it decrypts; the app stores it this time.
    let mut stored = Vec::new();
    let (decrypted, ()) = bob
        .account
        .group_decrypt_with(&mut OsRng, &alice.address, sent.message(), |d| {
            stored.extend_from_slice(d.plaintext());
            Ok::<(), &str>(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(stored, b"keep me");
    assert_eq!(decrypted.sender(), &alice.address);
    assert!(matches!(
        bob.account
            .group_decrypt(&mut OsRng, &alice.address, sent.message()),
        Err(kinseal::Error::Group(kinseal::GroupError::Duplicate {
            iteration: 0
        }))
    ));
}
