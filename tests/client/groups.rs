//! Group chats through `Account`: the genesis, sender keys over the
//! pairwise sessions, group messages, removal and rotation.

use std::collections::HashSet;

use crate::common::{Device, NOW, device, fetch, learn_list, link};
use kinseal::client::GroupEvent;
use kinseal::server::MemoryDirectory;
use kinseal::{AccountError, DeviceAddress, Envelope, Error, GroupId, OsRng};

/// Makes every device know every other's list and start a session with it.
pub(crate) fn mesh(directory: &MemoryDirectory, devices: &[&Device]) {
    for a in devices {
        for b in devices {
            if a.address != b.address {
                crate::common::learn_list(&a.account, &b.account);
            }
        }
    }
    for a in devices {
        for b in devices {
            if a.address.user() != b.address.user() || a.address != b.address {
                a.account
                    .sync_sessions(&mut OsRng, b.address.user(), &mut fetch(directory), NOW)
                    .unwrap();
            }
        }
    }
}

/// Alice, Bob and Carol on three apps, each knowing the others' lists
/// and with a session to each.
fn three_people(directory: &MemoryDirectory) -> [Device; 3] {
    let people = [
        device(directory, "app.one", "alice", 1),
        device(directory, "app.two", "bob", 1),
        device(directory, "app.three", "carol", 1),
    ];
    mesh(directory, &people.iter().collect::<Vec<_>>());
    people
}

/// Delivers pairwise envelopes to the devices they are addressed to;
/// returns the group events.
pub(crate) fn deliver(devices: &[&Device], envelopes: &[Envelope]) -> Vec<(usize, GroupEvent)> {
    let mut events = Vec::new();
    for envelope in envelopes {
        let (i, to) = devices
            .iter()
            .enumerate()
            .find(|(_, d)| &d.address == envelope.recipient())
            .expect("a device of the test");
        let decrypted = to
            .account
            .decrypt_envelope(&mut OsRng, envelope, NOW)
            .unwrap();
        if let Some(event) = decrypted.group_event() {
            events.push((i, event.clone()));
        }
    }
    events
}

pub(crate) fn read(to: &Device, from: &Device, message: &[u8]) -> kinseal::Result<Vec<u8>> {
    to.account
        .group_decrypt(&mut OsRng, &from.address, message)
        .map(|d| d.into_plaintext())
}

#[test]
fn members_talk_and_a_removed_member_reads_nothing_sent_after() {
    let directory = MemoryDirectory::new();
    let [alice, bob, carol] = three_people(&directory);
    let all = [&alice, &bob, &carol];

    let members = [bob.address.user().clone(), carol.address.user().clone()];
    let (group, genesis) = alice
        .account
        .create_group(&mut OsRng, &members, NOW)
        .unwrap();
    assert_eq!(genesis.envelopes().len(), 2);
    let events = deliver(&all, genesis.envelopes());
    assert!(
        events
            .iter()
            .all(|(_, e)| matches!(e, GroupEvent::Joined { group: g, epoch: 0 } if *g == group))
    );

    let send = alice
        .account
        .group_send(&mut OsRng, &group, b"hello", NOW)
        .unwrap();
    deliver(&all, send.distributions().envelopes());
    assert_eq!(read(&bob, &alice, send.message()).unwrap(), b"hello");
    assert_eq!(read(&carol, &alice, send.message()).unwrap(), b"hello");
    assert!(matches!(
        read(&bob, &alice, send.message()),
        Err(Error::Group(kinseal::GroupError::Duplicate { .. }))
    ));

    let reply = bob
        .account
        .group_send(&mut OsRng, &group, b"hi", NOW)
        .unwrap();
    deliver(&all, reply.distributions().envelopes());
    assert_eq!(read(&alice, &bob, reply.message()).unwrap(), b"hi");

    let removal = alice
        .account
        .remove_group_members(&mut OsRng, &group, &[carol.address.user().clone()], NOW)
        .unwrap();
    deliver(&all, removal.envelopes());
    let after = alice
        .account
        .group_send(&mut OsRng, &group, b"secret", NOW)
        .unwrap();
    let to_carol = after
        .distributions()
        .envelopes()
        .iter()
        .filter(|e| e.recipient() == &carol.address)
        .count();
    assert_eq!(to_carol, 0);
    deliver(&all, after.distributions().envelopes());
    assert_eq!(read(&bob, &alice, after.message()).unwrap(), b"secret");
    assert!(read(&carol, &alice, after.message()).is_err());
    let bob_after = bob
        .account
        .group_send(&mut OsRng, &group, b"also", NOW)
        .unwrap();
    deliver(&all, bob_after.distributions().envelopes());
    assert!(read(&carol, &bob, bob_after.message()).is_err());
    assert_eq!(read(&alice, &bob, bob_after.message()).unwrap(), b"also");
    let _ = GroupId::from_bytes([0; 32]);
    let _ = AccountError::UnknownGroup;
}

/// A sender key goes, alone, to a member's device added after it was made
/// (the key stays), and is replaced once a device it went to leaves its
/// user's list, so that the removed device reads nothing sent after.
#[test]
fn a_new_device_gets_the_current_key_and_a_removed_one_replaces_it() {
    let directory = MemoryDirectory::new();
    let [alice, bob, carol] = three_people(&directory);
    let all = [&alice, &bob, &carol];
    let group = crate::group_rules::create(&alice, &[&bob, &carol], &all);
    // Sends `text`; the devices the key was distributed to, and the message.
    let send = |text: &[u8]| {
        let sent = alice
            .account
            .group_send(&mut OsRng, &group, text, NOW)
            .unwrap();
        let to: HashSet<DeviceAddress> = sent
            .distributions()
            .envelopes()
            .iter()
            .map(|e| e.recipient().clone())
            .collect();
        (to, sent)
    };
    let both: HashSet<DeviceAddress> = [bob.address.clone(), carol.address.clone()].into();

    let (to, first) = send(b"one");
    assert_eq!(to, both);
    deliver(&all, first.distributions().envelopes());
    assert_eq!(read(&bob, &alice, first.message()).unwrap(), b"one");
    let (to, _) = send(b"two");
    assert!(to.is_empty());

    // Bob links a second device; Alice learns his new list and starts a
    // session with it. The key goes to it alone, and stays the same.
    let bob2 = link(&directory, &bob, 2);
    learn_list(&alice.account, &bob.account);
    alice
        .account
        .sync_sessions(&mut OsRng, bob.address.user(), &mut fetch(&directory), NOW)
        .unwrap();
    let (to, third) = send(b"three");
    assert_eq!(to, [bob2.address.clone()].into());
    assert_eq!(read(&bob, &alice, third.message()).unwrap(), b"three");
    let (to, _) = send(b"four");
    assert!(to.is_empty());

    // Bob removes it again: the next message is under a new key, sent to
    // the devices still listed.
    bob.account.remove_device(&mut OsRng, 2, NOW).unwrap();
    learn_list(&alice.account, &bob.account);
    let (to, fifth) = send(b"five");
    assert_eq!(to, both);
    deliver(&all, fifth.distributions().envelopes());
    assert_eq!(read(&bob, &alice, fifth.message()).unwrap(), b"five");
    assert_eq!(read(&carol, &alice, fifth.message()).unwrap(), b"five");
}
