//! The group guarantees of issue 15 through `Account`: a new member reads
//! nothing from before it joined, a ghost gets no key and is refused,
//! replays and duplicates are refused, reordering and loss decrypt exactly
//! once, two admins converge, a user's own devices take part, and sender
//! keys rotate by count and by age.

use std::sync::Arc;

use crate::common::{Device, NOW, config, device, link, register_with};
use crate::groups::{deliver, mesh, read};
use kinseal::client::{GroupEvent, MemoryStore};
use kinseal::server::MemoryDirectory;
use kinseal::{
    AccountError, Envelope, Error, GroupError, GroupId, GroupOp, GroupRole, OsRng, SenderKey,
};

/// A directory and one device for each `(app, user)`, each knowing every
/// other's list and with a session to it.
fn meshed<const N: usize>(people: [(&str, &str); N]) -> (MemoryDirectory, [Device; N]) {
    let directory = MemoryDirectory::new();
    let devices = people.map(|(app, user)| device(&directory, app, user, 1));
    mesh(&directory, &devices.iter().collect::<Vec<_>>());
    (directory, devices)
}

/// The envelopes of `envelopes` addressed to `to`.
fn to<'a>(envelopes: &'a [Envelope], to: &Device) -> Vec<&'a Envelope> {
    envelopes
        .iter()
        .filter(|e| e.recipient() == &to.address)
        .collect()
}

/// Creates a group of `admin` and `members`, delivering the genesis to `all`.
pub(crate) fn create(admin: &Device, members: &[&Device], all: &[&Device]) -> GroupId {
    let users: Vec<_> = members.iter().map(|d| d.address.user().clone()).collect();
    let (group, genesis) = admin.account.create_group(&mut OsRng, &users, NOW).unwrap();
    deliver(all, genesis.envelopes());
    group
}

/// Sends `text` from `from` at `now`, delivering its distributions to `all`.
fn send(from: &Device, group: &GroupId, text: &[u8], now: u64, all: &[&Device]) -> Vec<u8> {
    let sent = from
        .account
        .group_send(&mut OsRng, group, text, now)
        .unwrap();
    deliver(all, sent.distributions().envelopes());
    sent.message().to_vec()
}

#[test]
fn a_new_member_reads_nothing_sent_before_it_joined() {
    let (_, [alice, bob, dave]) = meshed([
        ("app.one", "alice"),
        ("app.two", "bob"),
        ("app.three", "dave"),
    ]);
    let all = [&alice, &bob, &dave];
    let group = create(&alice, &[&bob], &all);
    let before: Vec<Vec<u8>> = (0..3)
        .map(|i| send(&alice, &group, format!("before {i}").as_bytes(), NOW, &all))
        .collect();
    let from_bob = send(&bob, &group, b"bob before", NOW, &all);
    // A message Dave holds but that was sent before the server could know
    // he would join: it stays unreadable.
    assert!(matches!(
        read(&dave, &alice, &before[0]),
        Err(Error::Account(AccountError::UnknownGroup))
    ));

    let add = alice
        .account
        .add_group_members(&mut OsRng, &group, &[dave.address.user().clone()], NOW)
        .unwrap();
    let events = deliver(&all, add.envelopes());
    assert!(
        events.iter().any(|(i, e)| *i == 2
            && matches!(e, GroupEvent::Joined { group: g, epoch: 1 } if *g == group))
    );
    let after = send(&alice, &group, b"after", NOW, &all);
    let bob_after = send(&bob, &group, b"bob after", NOW, &all);

    let mut read_before = 0;
    for m in &before {
        read_before += usize::from(read(&dave, &alice, m).is_ok());
    }
    read_before += usize::from(read(&dave, &bob, &from_bob).is_ok());
    assert_eq!(read_before, 0, "Dave read a message from before he joined");
    assert_eq!(read(&dave, &alice, &after).unwrap(), b"after");
    assert_eq!(read(&dave, &bob, &bob_after).unwrap(), b"bob after");
}

#[test]
fn a_ghost_gets_no_key_and_is_refused_by_every_member() {
    // Mallory, a user of the server's own choosing, and a device the
    // server registered under Bob's address but not on Bob's signed list.
    let (directory, [alice, bob, carol, mallory]) = meshed([
        ("app.one", "alice"),
        ("app.two", "bob"),
        ("app.three", "carol"),
        ("app.two", "mallory"),
    ]);
    let fake_bob = device(&directory, "app.two", "bob", 9);
    let all = [&alice, &bob, &carol, &mallory];
    let group = create(&alice, &[&bob, &carol], &all);
    assert!(mallory.account.group_state(&group).unwrap().is_none());

    // A member who is not an admin cannot add her.
    let bob_before = bob.account.group_state(&group).unwrap();
    let refused =
        bob.account
            .add_group_members(&mut OsRng, &group, &[mallory.address.user().clone()], NOW);
    assert!(matches!(refused, Err(Error::Group(GroupError::NotAnAdmin))));
    assert_eq!(bob.account.group_state(&group).unwrap(), bob_before);

    // Every member's sender key goes to members' listed devices only.
    for sender in [&alice, &bob, &carol] {
        let sent = sender
            .account
            .group_send(&mut OsRng, &group, b"members only", NOW)
            .unwrap();
        let envelopes = sent.distributions().envelopes();
        assert!(to(envelopes, &mallory).is_empty());
        assert!(to(envelopes, &fake_bob).is_empty());
        deliver(&all, envelopes);
        // The server hands the ghosts the group message anyway.
        assert!(matches!(
            read(&mallory, sender, sent.message()),
            Err(Error::Account(AccountError::UnknownGroup))
        ));
    }

    // What the ghosts send under the group's id is refused by every
    // member, before any key is looked at.
    for ghost in [&mallory, &fake_bob] {
        let mut key = SenderKey::generate(&mut OsRng, group, 0);
        let forged = key.encrypt(&ghost.address, b"let me in").unwrap();
        for member in [&alice, &bob, &carol] {
            assert!(matches!(
                read(member, ghost, &forged),
                Err(Error::Account(AccountError::SenderNotMember { .. }))
            ));
        }
    }
}

#[test]
fn replays_and_duplicates_are_refused_and_change_nothing() {
    let (_, [alice, bob]) = meshed([("app.one", "alice"), ("app.two", "bob")]);
    let all = [&alice, &bob];
    let group = create(&alice, &[&bob], &all);
    let first = alice
        .account
        .group_send(&mut OsRng, &group, b"one", NOW)
        .unwrap();
    let distribution = to(first.distributions().envelopes(), &bob)[0].clone();
    deliver(&all, first.distributions().envelopes());
    assert_eq!(read(&bob, &alice, first.message()).unwrap(), b"one");
    let second = send(&alice, &group, b"two", NOW, &all);

    // The distribution again: its pairwise message is a duplicate, and the
    // chain is not rewound (the first message stays read).
    assert!(
        bob.account
            .decrypt_envelope(&mut OsRng, &distribution, NOW)
            .is_err()
    );
    for _ in 0..2 {
        assert!(matches!(
            read(&bob, &alice, first.message()),
            Err(Error::Group(GroupError::Duplicate { iteration: 0 }))
        ));
    }
    assert_eq!(read(&bob, &alice, &second).unwrap(), b"two");
    assert!(matches!(
        read(&bob, &alice, &second),
        Err(Error::Group(GroupError::Duplicate { iteration: 1 }))
    ));
    // A tampered copy of a new message fails and does not use it up.
    let third = send(&alice, &group, b"three", NOW, &all);
    let mut tampered = third.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(read(&bob, &alice, &tampered).is_err());
    assert_eq!(read(&bob, &alice, &third).unwrap(), b"three");
}

#[test]
fn reordering_and_loss_decrypt_every_message_exactly_once() {
    let (_, [alice, bob]) = meshed([("app.one", "alice"), ("app.two", "bob")]);
    let all = [&alice, &bob];
    let group = create(&alice, &[&bob], &all);
    let messages: Vec<Vec<u8>> = (0..12u8)
        .map(|i| send(&alice, &group, &[i], NOW, &all))
        .collect();
    // Delivered out of order, 4 and 9 lost, then some delivered twice.
    let order = [7usize, 0, 11, 3, 1, 10, 2, 8, 5, 6, 7, 0, 11];
    let mut delivered = vec![0u32; messages.len()];
    for &i in &order {
        if let Ok(plaintext) = read(&bob, &alice, &messages[i]) {
            assert_eq!(plaintext, [i as u8]);
            delivered[i] += 1;
        }
    }
    let expected: Vec<u32> = (0..12).map(|i| u32::from(i != 4 && i != 9)).collect();
    assert_eq!(delivered, expected);
    // The lost ones arrive late and still decrypt, once.
    for i in [9, 4, 9] {
        if read(&bob, &alice, &messages[i]).is_ok() {
            delivered[i] += 1;
        }
    }
    assert_eq!(delivered, vec![1; 12]);
}

#[test]
fn two_admins_changing_the_group_at_once_converge() {
    let (_, [alice, bob, carol, dave, erin]) = meshed([
        ("app.one", "alice"),
        ("app.two", "bob"),
        ("app.three", "carol"),
        ("app.one", "dave"),
        ("app.two", "erin"),
    ]);
    let all = [&alice, &bob, &carol, &dave, &erin];
    let group = create(&alice, &[&bob, &carol], &all);
    let promote = alice
        .account
        .change_group(
            &mut OsRng,
            &group,
            vec![GroupOp::SetRole {
                key: bob.account.user_identity_key().clone(),
                role: GroupRole::Admin,
            }],
            NOW,
        )
        .unwrap();
    deliver(&all, promote.envelopes());

    // Both admins change epoch 1 before either hears of the other.
    let by_alice = alice
        .account
        .add_group_members(&mut OsRng, &group, &[dave.address.user().clone()], NOW)
        .unwrap();
    let by_bob = bob
        .account
        .add_group_members(&mut OsRng, &group, &[erin.address.user().clone()], NOW)
        .unwrap();
    // Carol hears Bob's first, everyone else Alice's first.
    deliver(
        &[&carol],
        &to(by_bob.envelopes(), &carol)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    deliver(&all, by_alice.envelopes());
    let rest: Vec<Envelope> = by_bob
        .envelopes()
        .iter()
        .filter(|e| e.recipient() != &carol.address)
        .cloned()
        .collect();
    deliver(&all, &rest);

    let states: Vec<_> = [&alice, &bob, &carol]
        .iter()
        .map(|d| d.account.group_state(&group).unwrap().unwrap())
        .collect();
    assert!(states.iter().all(|s| s.epoch() == 2));
    assert!(states.windows(2).all(|w| w[0].hash() == w[1].hash()));
    let has = |d: &Device| states[0].member(d.account.user_identity_key()).is_some();
    assert!(
        has(&dave) != has(&erin),
        "exactly one of the two changes wins"
    );
    // And the converged members talk.
    let m = send(&carol, &group, b"converged", NOW, &all);
    assert_eq!(read(&alice, &carol, &m).unwrap(), b"converged");
    assert_eq!(read(&bob, &carol, &m).unwrap(), b"converged");
}

#[test]
fn a_users_own_devices_join_and_read_the_group() {
    let directory = MemoryDirectory::new();
    let alice = device(&directory, "app.one", "alice", 1);
    let alice2 = link(&directory, &alice, 2);
    let bob = device(&directory, "app.two", "bob", 1);
    let all = [&alice, &alice2, &bob];
    mesh(&directory, &all);
    let group = create(&alice, &[&bob], &all);
    assert_eq!(
        alice2.account.group_state(&group).unwrap(),
        alice.account.group_state(&group).unwrap()
    );
    let from_bob = send(&bob, &group, b"to both of you", NOW, &all);
    assert_eq!(read(&alice, &bob, &from_bob).unwrap(), b"to both of you");
    assert_eq!(read(&alice2, &bob, &from_bob).unwrap(), b"to both of you");
    let from_alice = send(&alice, &group, b"from my laptop", NOW, &all);
    assert_eq!(
        read(&alice2, &alice, &from_alice).unwrap(),
        b"from my laptop"
    );
    assert_eq!(read(&bob, &alice, &from_alice).unwrap(), b"from my laptop");
    let from_alice2 = send(&alice2, &group, b"from my phone", NOW, &all);
    assert_eq!(
        read(&alice, &alice2, &from_alice2).unwrap(),
        b"from my phone"
    );
    assert_eq!(read(&bob, &alice2, &from_alice2).unwrap(), b"from my phone");
}

#[test]
fn sender_keys_rotate_after_the_configured_count_and_age() {
    let directory = MemoryDirectory::new();
    let rotating = config().with_group_rotation(3, 60 * 60).unwrap();
    let alice = register_with(
        &directory,
        crate::common::address("app.one", "alice", 1),
        Arc::new(MemoryStore::new()),
        rotating,
    );
    let bob = device(&directory, "app.two", "bob", 1);
    let all = [&alice, &bob];
    mesh(&directory, &all);
    let group = create(&alice, &[&bob], &all);
    let distributions = |now: u64| {
        let sent = alice
            .account
            .group_send(&mut OsRng, &group, b"tick", now)
            .unwrap();
        let events = deliver(&all, sent.distributions().envelopes());
        assert_eq!(read(&bob, &alice, sent.message()).unwrap(), b"tick");
        events
            .iter()
            .filter(|(_, e)| matches!(e, GroupEvent::SenderKey { .. }))
            .count()
    };
    // A new key with the first message, and again after every three.
    let by_count: Vec<usize> = (0..7).map(|_| distributions(NOW)).collect();
    assert_eq!(by_count, [1, 0, 0, 1, 0, 0, 1]);
    // An hour after the last one was made it is replaced, though it sent
    // only two messages.
    assert_eq!(distributions(NOW + 60 * 60 - 1), 0);
    assert_eq!(distributions(NOW + 60 * 60), 1);
}

#[test]
fn two_instances_over_one_store_see_each_others_group_changes() {
    // An app with two processes over one store (a share extension, say):
    // each account keeps decoded group states in memory, and must notice
    // when the other wrote a new one.
    let directory = MemoryDirectory::new();
    let store = Arc::new(MemoryStore::new());
    let alice = register_with(
        &directory,
        crate::common::address("app.one", "alice", 1),
        store.clone(),
        config(),
    );
    let bob = device(&directory, "app.two", "bob", 1);
    let dave = device(&directory, "app.three", "dave", 1);
    let all = [&alice, &bob, &dave];
    mesh(&directory, &all);
    let group = create(&alice, &[&bob], &all);
    let second = kinseal::client::Account::open(store, crate::common::keyring()).unwrap();
    assert_eq!(
        second.group_state(&group).unwrap(),
        alice.account.group_state(&group).unwrap()
    );
    // The second instance adds Dave; the first sees epoch 1 at once.
    let add = second
        .add_group_members(&mut OsRng, &group, &[dave.address.user().clone()], NOW)
        .unwrap();
    deliver(&all, add.envelopes());
    let seen = alice.account.group_state(&group).unwrap().unwrap();
    assert_eq!(seen.epoch(), 1);
    assert!(seen.member(dave.account.user_identity_key()).is_some());
    // And its next send reaches Dave.
    let m = send(&alice, &group, b"hi Dave", NOW, &all);
    assert_eq!(read(&dave, &alice, &m).unwrap(), b"hi Dave");
}

#[test]
fn a_member_who_leaves_reads_nothing_sent_after_and_the_last_admin_cannot() {
    let (_directory, [alice, bob, carol]) = meshed([
        ("app.one", "alice"),
        ("app.two", "bob"),
        ("app.three", "carol"),
    ]);
    let all = [&alice, &bob, &carol];
    let group = create(&alice, &[&bob, &carol], &all);
    for from in all {
        let m = send(from, &group, b"before", NOW, &all);
        for other in all.iter().filter(|d| d.address != from.address) {
            assert_eq!(read(other, from, &m).unwrap(), b"before");
        }
    }

    // Carol, a member, leaves: no admin is needed for that.
    let leave = carol.account.leave_group(&mut OsRng, &group, NOW).unwrap();
    assert_eq!(leave.envelopes().len(), 2);
    let events = deliver(&all, leave.envelopes());
    assert_eq!(events.len(), 2);
    for (_, event) in &events {
        match event {
            GroupEvent::Changed { removed, added, .. } => {
                assert_eq!(removed, &[carol.address.user().clone()]);
                assert!(added.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
    let state = carol.account.group_state(&group).unwrap().unwrap();
    assert!(state.member(carol.account.user_identity_key()).is_none());
    assert_eq!(state, alice.account.group_state(&group).unwrap().unwrap());
    assert!(matches!(
        carol
            .account
            .group_send(&mut OsRng, &group, b"still here?", NOW),
        Err(Error::Account(AccountError::NotGroupMember))
    ));
    assert!(matches!(
        carol.account.leave_group(&mut OsRng, &group, NOW),
        Err(Error::Account(AccountError::NotGroupMember))
    ));
    // Nor can an admin remove her again; nothing changes.
    let epoch = alice.account.group_state(&group).unwrap().unwrap().epoch();
    assert!(matches!(
        alice.account.remove_group_members(
            &mut OsRng,
            &group,
            &[carol.address.user().clone()],
            NOW
        ),
        Err(Error::Account(AccountError::NotGroupMember))
    ));
    assert_eq!(
        alice.account.group_state(&group).unwrap().unwrap().epoch(),
        epoch
    );

    // Every remaining sender replaced its key, and none went to Carol.
    for from in [&alice, &bob] {
        let sent = from
            .account
            .group_send(&mut OsRng, &group, b"after", NOW)
            .unwrap();
        assert_eq!(sent.distributions().envelopes().len(), 1);
        assert!(to(sent.distributions().envelopes(), &carol).is_empty());
        deliver(&all, sent.distributions().envelopes());
        let other = if from.address == alice.address {
            &bob
        } else {
            &alice
        };
        assert_eq!(read(other, from, sent.message()).unwrap(), b"after");
        assert!(read(&carol, from, sent.message()).is_err());
    }

    // Alice, the only admin, cannot leave: nothing changes.
    let before = alice.account.group_state(&group).unwrap().unwrap();
    assert!(matches!(
        alice.account.leave_group(&mut OsRng, &group, NOW),
        Err(Error::Group(GroupError::NoAdmin))
    ));
    assert_eq!(alice.account.group_state(&group).unwrap().unwrap(), before);
    // Once Bob is an admin too, she can.
    let promote = alice
        .account
        .change_group(
            &mut OsRng,
            &group,
            vec![GroupOp::SetRole {
                key: bob.account.user_identity_key().clone(),
                role: GroupRole::Admin,
            }],
            NOW,
        )
        .unwrap();
    deliver(&all, promote.envelopes());
    let leave = alice.account.leave_group(&mut OsRng, &group, NOW).unwrap();
    deliver(&all, leave.envelopes());
    let state = bob.account.group_state(&group).unwrap().unwrap();
    assert_eq!(state.members().count(), 1);
    assert!(state.is_admin(bob.account.user_identity_key()));
}
