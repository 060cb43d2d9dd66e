//! Group chats through `Account`: the genesis, sender keys over the
//! pairwise sessions, group messages, removal and rotation.

use crate::common::{Device, NOW, device, fetch};
use kinseal::client::GroupEvent;
use kinseal::server::MemoryDirectory;
use kinseal::{AccountError, Envelope, Error, GroupId, OsRng};

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
    let alice = device(&directory, "app.one", "alice", 1);
    let bob = device(&directory, "app.two", "bob", 1);
    let carol = device(&directory, "app.three", "carol", 1);
    let all = [&alice, &bob, &carol];
    mesh(&directory, &all);

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
