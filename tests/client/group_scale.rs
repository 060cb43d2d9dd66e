//! A group of 1 000 devices across three apps, in memory: 500 users with
//! two devices each, one admin creates the group, one sender on each app
//! talks, and every device reads every message exactly once.
//!
//! Ignored in the default run; `.ci/run` runs it in release mode.

use std::collections::{HashMap, HashSet};

use crate::common::{Device, NOW, device, fetch, learn_list, link};
use kinseal::client::GroupEvent;
use kinseal::server::MemoryDirectory;
use kinseal::{Error, GroupError, OsRng};

const USERS: usize = 500;
const APPS: [&str; 3] = ["app.one", "app.two", "app.three"];
const MESSAGES_PER_SENDER: usize = 3;

// About 7 minutes in the debug build, under a minute optimised: CI runs
// it with `cargo test --release --test client -- --ignored`.
#[test]
#[ignore = "slow in a debug build; CI runs it optimised"]
fn a_group_of_1000_devices_across_three_apps_delivers_every_message_once() {
    let directory = MemoryDirectory::new();
    // users[i] = (first device, linked second device), on app i mod 3.
    let users: Vec<(Device, Device)> = (0..USERS)
        .map(|i| {
            let first = device(&directory, APPS[i % 3], &format!("user{i}"), 1);
            let second = link(&directory, &first, 2);
            (first, second)
        })
        .collect();
    let devices: Vec<&Device> = users.iter().flat_map(|(a, b)| [a, b]).collect();
    assert_eq!(devices.len(), 1000);
    let index: HashMap<_, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.address.clone(), i))
        .collect();
    // One sender on each app; the first is the admin.
    let senders: Vec<&Device> = (0..3).map(|i| &users[i].0).collect();
    for sender in &senders {
        for (first, _) in &users {
            if first.address.user() != sender.address.user() {
                learn_list(&sender.account, &first.account);
            }
        }
        for (first, _) in &users {
            sender
                .account
                .sync_sessions(
                    &mut OsRng,
                    first.address.user(),
                    &mut fetch(&directory),
                    NOW,
                )
                .unwrap();
        }
        for d in &devices {
            if d.address.user() != sender.address.user() {
                learn_list(&d.account, &sender.account);
            }
        }
    }

    let admin = senders[0];
    let members: Vec<_> = users[1..]
        .iter()
        .map(|(first, _)| first.address.user().clone())
        .collect();
    let (group, genesis) = admin
        .account
        .create_group(&mut OsRng, &members, NOW)
        .unwrap();
    assert_eq!(genesis.envelopes().len(), 999);
    assert!(genesis.missing().is_empty() && genesis.unreachable().is_empty());
    let mut joined = 0;
    for envelope in genesis.envelopes() {
        let to = devices[index[envelope.recipient()]];
        let decrypted = to
            .account
            .decrypt_envelope(&mut OsRng, envelope, NOW)
            .unwrap();
        joined += usize::from(matches!(
            decrypted.group_event(),
            Some(GroupEvent::Joined { epoch: 0, .. })
        ));
    }
    assert_eq!(joined, 999);

    // Every sender talks; the server fans each message out to every
    // device but its sender, the three apps' messages interleaved.
    let mut delivered: HashMap<(usize, Vec<u8>), u32> = HashMap::new();
    let mut expected = 0;
    for round in 0..MESSAGES_PER_SENDER {
        for (s, sender) in senders.iter().enumerate() {
            let text = format!("message {round} from sender {s}").into_bytes();
            let sent = sender
                .account
                .group_send(&mut OsRng, &group, &text, NOW)
                .unwrap();
            // The key goes to every other device once, with the first
            // message (the sender's own other device gets the state too).
            let reached: HashSet<_> = sent
                .distributions()
                .envelopes()
                .iter()
                .map(|e| e.recipient().clone())
                .collect();
            assert_eq!(reached.len(), if round == 0 { 999 } else { 0 });
            for envelope in sent.distributions().envelopes() {
                let to = devices[index[envelope.recipient()]];
                to.account
                    .decrypt_envelope(&mut OsRng, envelope, NOW)
                    .unwrap();
            }
            for (i, to) in devices.iter().enumerate() {
                if to.address == sender.address {
                    continue;
                }
                expected += 1;
                let got = to
                    .account
                    .group_decrypt(&mut OsRng, &sender.address, sent.message())
                    .unwrap();
                assert_eq!(got.plaintext(), &text[..]);
                *delivered.entry((i, text.clone())).or_default() += 1;
                // The server delivers it again: refused.
                assert!(matches!(
                    to.account
                        .group_decrypt(&mut OsRng, &sender.address, sent.message()),
                    Err(Error::Group(GroupError::Duplicate { .. }))
                ));
            }
        }
    }
    assert_eq!(expected, 3 * MESSAGES_PER_SENDER * 999);
    assert_eq!(delivered.len(), expected);
    assert!(delivered.values().all(|&n| n == 1));
}
