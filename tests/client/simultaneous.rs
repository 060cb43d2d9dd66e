//! Simultaneous initiation: both devices start a session with each other
//! at once. They must settle on one session with no message lost.
//!
//! The six scenarios libsignal tests (`tests/session.rs`:
//! `test_basic_simultaneous_initiate`, `test_lost_simultaneous_initiate`,
//! `test_simultaneous_initiate_lost_message`,
//! `test_simultaneous_initiate_repeated_messages`,
//! `test_repeated_simultaneous_initiate_repeated_messages`,
//! `test_simultaneous_initiate_lost_message_repeated_messages`), rewritten
//! for kinseal's `Account`, plus a property test over random schedules.
//! Unlike libsignal, kinseal settles at once (both keep the session with
//! the smaller handshake id), so every scenario also checks that the two
//! devices agree right after the first exchange.

use crate::common as client_common;

use client_common::{Device, device};
use kinseal::server::MemoryDirectory;
use proptest::prelude::*;

fn pair() -> (MemoryDirectory, Device, Device) {
    let directory = MemoryDirectory::new();
    let alice = device(&directory, "chirp", "alice", 1);
    let bob = device(&directory, "parley", "bob", 1);
    (directory, alice, bob)
}

/// Both sides agree on the current session.
fn assert_settled(alice: &Device, bob: &Device) {
    let (a, b) = (alice.current(bob), bob.current(alice));
    assert!(a.is_some());
    assert_eq!(a, b, "the devices use different sessions");
}

/// One message each way, checked.
fn round_trip(alice: &Device, bob: &Device, tag: &str) {
    let m = alice.send(bob, &format!("a->b {tag}"));
    assert_eq!(
        bob.receive(alice, &m).unwrap(),
        format!("a->b {tag}").as_bytes()
    );
    let m = bob.send(alice, &format!("b->a {tag}"));
    assert_eq!(
        alice.receive(bob, &m).unwrap(),
        format!("b->a {tag}").as_bytes()
    );
    assert_settled(alice, bob);
}

#[test]
fn basic_simultaneous_initiate() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    bob.start(&dir, &alice);
    let to_bob = alice.send(&bob, "hey there");
    let to_alice = bob.send(&alice, "sample message");
    assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
    assert_eq!(bob.receive(&alice, &to_bob).unwrap(), b"hey there");
    assert_settled(&alice, &bob);
    round_trip(&alice, &bob, "after");
}

#[test]
fn lost_simultaneous_initiate() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    bob.start(&dir, &alice);
    let _lost = alice.send(&bob, "hey there");
    let to_alice = bob.send(&alice, "sample message");
    assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
    // Alice answers on whichever session won; Bob can read it either way.
    let reply = alice.send(&bob, "reply");
    assert_eq!(bob.receive(&alice, &reply).unwrap(), b"reply");
    assert_settled(&alice, &bob);
    round_trip(&alice, &bob, "after");
}

#[test]
fn simultaneous_initiate_lost_message() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    bob.start(&dir, &alice);
    let to_bob = alice.send(&bob, "hey there");
    let to_alice = bob.send(&alice, "sample message");
    assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
    assert_eq!(bob.receive(&alice, &to_bob).unwrap(), b"hey there");
    let _lost = alice.send(&bob, "this one is lost");
    let m = bob.send(&alice, "still here");
    assert_eq!(alice.receive(&bob, &m).unwrap(), b"still here");
    assert_settled(&alice, &bob);
    round_trip(&alice, &bob, "after");
}

#[test]
fn simultaneous_initiate_repeated_messages() {
    let (dir, alice, bob) = pair();
    alice.start(&dir, &bob);
    bob.start(&dir, &alice);
    let to_bob = alice.send(&bob, "hey there");
    let to_alice = bob.send(&alice, "sample message");
    assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
    assert_eq!(bob.receive(&alice, &to_bob).unwrap(), b"hey there");
    for i in 0..50 {
        // Both send before either receives.
        let a = alice.send(&bob, &format!("a{i}"));
        let b = bob.send(&alice, &format!("b{i}"));
        assert_eq!(alice.receive(&bob, &b).unwrap(), format!("b{i}").as_bytes());
        assert_eq!(bob.receive(&alice, &a).unwrap(), format!("a{i}").as_bytes());
        assert_settled(&alice, &bob);
    }
    round_trip(&alice, &bob, "after");
}

#[test]
fn repeated_simultaneous_initiate_repeated_messages() {
    let (dir, alice, bob) = pair();
    for round in 0..15 {
        client_common::publish(&dir, &alice.address, &alice.account, client_common::NOW);
        client_common::publish(&dir, &bob.address, &bob.account, client_common::NOW);
        alice.start(&dir, &bob);
        bob.start(&dir, &alice);
        let to_bob = alice.send(&bob, "hey there");
        let to_alice = bob.send(&alice, "sample message");
        assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
        assert_eq!(bob.receive(&alice, &to_bob).unwrap(), b"hey there");
        assert_settled(&alice, &bob);
        for i in 0..5 {
            let a = alice.send(&bob, &format!("a{round}.{i}"));
            let b = bob.send(&alice, &format!("b{round}.{i}"));
            assert_eq!(
                alice.receive(&bob, &b).unwrap(),
                format!("b{round}.{i}").as_bytes()
            );
            assert_eq!(
                bob.receive(&alice, &a).unwrap(),
                format!("a{round}.{i}").as_bytes()
            );
        }
        round_trip(&alice, &bob, &format!("round {round}"));
    }
}

#[test]
fn simultaneous_initiate_lost_message_repeated_messages() {
    let (dir, alice, bob) = pair();
    // A first, ordinary session, which both later replace.
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "first");
    assert_eq!(bob.receive(&alice, &first).unwrap(), b"first");
    round_trip(&alice, &bob, "established");

    for round in 0..15 {
        client_common::publish(&dir, &alice.address, &alice.account, client_common::NOW);
        client_common::publish(&dir, &bob.address, &bob.account, client_common::NOW);
        alice.start(&dir, &bob);
        bob.start(&dir, &alice);
        // Alice's first message of each round is lost.
        let _lost = alice.send(&bob, "lost");
        let to_alice = bob.send(&alice, "sample message");
        assert_eq!(alice.receive(&bob, &to_alice).unwrap(), b"sample message");
        for i in 0..5 {
            let a = alice.send(&bob, &format!("a{round}.{i}"));
            let b = bob.send(&alice, &format!("b{round}.{i}"));
            assert_eq!(
                alice.receive(&bob, &b).unwrap(),
                format!("b{round}.{i}").as_bytes()
            );
            assert_eq!(
                bob.receive(&alice, &a).unwrap(),
                format!("a{round}.{i}").as_bytes()
            );
        }
        round_trip(&alice, &bob, &format!("round {round}"));
    }
}

/// One step of a random schedule.
#[derive(Debug, Clone)]
enum Step {
    /// A device starts a new session with the other.
    Start { alice: bool },
    /// A device sends a message.
    Send { alice: bool },
    /// The oldest (or a later) message in flight to a device is delivered.
    Deliver { to_alice: bool, pick: usize },
    /// A message in flight is lost.
    Drop { to_alice: bool, pick: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => any::<bool>().prop_map(|alice| Step::Start { alice }),
        4 => any::<bool>().prop_map(|alice| Step::Send { alice }),
        5 => (any::<bool>(), 0usize..4).prop_map(|(to_alice, pick)| Step::Deliver { to_alice, pick }),
        1 => (any::<bool>(), 0usize..4).prop_map(|(to_alice, pick)| Step::Drop { to_alice, pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    /// Under any interleaving of session starts (at most four per device,
    /// so no session is pushed out of the archive), sends, reordered
    /// deliveries and losses: every delivered message decrypts, exactly
    /// once, to what was sent; and once the traffic stops, one message
    /// each way leaves both devices on the same session.
    #[test]
    fn any_schedule_settles_and_loses_nothing(steps in proptest::collection::vec(step(), 1..60)) {
        let (dir, alice, bob) = pair();
        alice.start(&dir, &bob);
        let mut starts = [1usize, 0];
        let mut to_alice: Vec<(Vec<u8>, String)> = Vec::new();
        let mut to_bob: Vec<(Vec<u8>, String)> = Vec::new();
        let mut counter = 0;
        for s in steps {
            match s {
                Step::Start { alice: a } => {
                    let i = usize::from(!a);
                    if starts[i] < 4 {
                        starts[i] += 1;
                        let (me, peer) = if a { (&alice, &bob) } else { (&bob, &alice) };
                        client_common::publish(&dir, &peer.address, &peer.account, client_common::NOW);
                        me.start(&dir, peer);
                    }
                }
                Step::Send { alice: a } => {
                    let (me, peer, queue) = if a { (&alice, &bob, &mut to_bob) } else { (&bob, &alice, &mut to_alice) };
                    if me.current(peer).is_some() {
                        counter += 1;
                        let text = format!("m{counter}");
                        queue.push((me.send(peer, &text), text));
                    }
                }
                Step::Deliver { to_alice: ta, pick } => {
                    let (me, peer, queue) = if ta { (&alice, &bob, &mut to_alice) } else { (&bob, &alice, &mut to_bob) };
                    if !queue.is_empty() {
                        let (bytes, text) = queue.remove(pick % queue.len());
                        let got = me.receive(peer, &bytes);
                        prop_assert_eq!(got.as_deref().ok(), Some(text.as_bytes()), "{:?}", got);
                        prop_assert!(me.receive(peer, &bytes).is_err(), "decrypted twice");
                    }
                }
                Step::Drop { to_alice: ta, pick } => {
                    let queue = if ta { &mut to_alice } else { &mut to_bob };
                    if !queue.is_empty() {
                        queue.remove(pick % queue.len());
                    }
                }
            }
        }
        // Deliver what is left, in order.
        for (bytes, text) in to_alice.drain(..) {
            prop_assert_eq!(alice.receive(&bob, &bytes).ok(), Some(text.into_bytes()));
        }
        for (bytes, text) in to_bob.drain(..) {
            prop_assert_eq!(bob.receive(&alice, &bytes).ok(), Some(text.into_bytes()));
        }
        // Quiet now: whoever has a session speaks first, then the other answers.
        if alice.current(&bob).is_none() {
            bob.start(&dir, &alice);
        }
        let (first, second) = if alice.current(&bob).is_some() { (&alice, &bob) } else { (&bob, &alice) };
        let m = first.send(second, "settle");
        prop_assert_eq!(second.receive(first, &m).ok(), Some(b"settle".to_vec()));
        let m = second.send(first, "settled");
        prop_assert_eq!(first.receive(second, &m).ok(), Some(b"settled".to_vec()));
        prop_assert_eq!(alice.current(&bob), bob.current(&alice));
    }
}
