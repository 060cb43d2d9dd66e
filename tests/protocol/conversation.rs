//! Long conversations, loss, reordering within and past the bounds, and
//! duplicates.

use crate::common;

use common::*;
use kinseal::{
    Error, MessageKind, PreKeyMessage, ProtocolError, Session, SessionConfig, message_kind,
};

/// Reverses, or shuffles with the test RNG.
fn shuffle(rng: &mut chacha20::ChaCha20Rng, v: &mut [InFlight]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

#[test]
fn long_conversation_with_random_turns_delivered_in_order() {
    let mut rng = rng(1);
    let (_bob, p) = pair(&mut rng);
    let mut c = Conversation::new(p);
    let mut last = Side::Alice;
    let mut turns = 0;
    for _ in 0..200 {
        let from = if below(&mut rng, 2) == 0 {
            Side::Alice
        } else {
            Side::Bob
        };
        if from != last {
            turns += 1;
            last = from;
        }
        let m = c.send(&mut rng, from);
        // Once Alice has heard from Bob she sends plain Messages.
        if from == Side::Alice {
            let kind = message_kind(&m.bytes).unwrap();
            assert_eq!(
                kind == MessageKind::PreKeyMessage,
                c.alice.sends_prekey_messages()
            );
        }
        c.deliver(&m);
    }
    assert!(turns > 50, "the seeded RNG gave too few turns: {turns}");
    assert!(!c.alice.sends_prekey_messages());
    assert_eq!(c.alice.stored_skipped_keys(), 0);
    assert_eq!(c.bob.stored_skipped_keys(), 0);
}

#[test]
fn lost_messages_do_not_stop_the_rest() {
    let mut rng = rng(2);
    let (_bob, p) = pair(&mut rng);
    let mut c = Conversation::new(p);
    let mut lost = Vec::new();
    let mut delivered = 0;
    for _ in 0..300 {
        let from = if below(&mut rng, 3) == 0 {
            Side::Alice
        } else {
            Side::Bob
        };
        let m = c.send(&mut rng, from);
        if below(&mut rng, 4) == 0 {
            lost.push(m);
        } else {
            c.deliver(&m);
            delivered += 1;
        }
    }
    assert!(lost.len() > 30 && delivered > 150);
    // Both sides are still in step.
    for from in [Side::Alice, Side::Bob, Side::Alice] {
        let m = c.send(&mut rng, from);
        c.deliver(&m);
    }
}

#[test]
fn responder_starts_from_a_later_prekey_message_and_takes_the_earlier_ones_late() {
    let mut rng = rng(3);
    let bob = Bob::new(&mut rng);
    let alice_identity = kinseal::IdentityKeyPair::generate(&mut rng);
    let bundle = bob.verified_bundle(BundleChoice::FULL);
    let mut alice =
        Session::initiate(&mut rng, &alice_identity, &bundle, SessionConfig::default()).unwrap();
    let msgs: Vec<Vec<u8>> = (0..4)
        .map(|i| alice.encrypt(&mut rng, &plaintext(i)).unwrap())
        .collect();
    for m in &msgs {
        assert_eq!(message_kind(m).unwrap(), MessageKind::PreKeyMessage);
    }
    // The first two are lost for now; Bob sets up from the third.
    let inbound = bob
        .respond_bytes(&msgs[2], SessionConfig::default())
        .unwrap();
    assert_eq!(inbound.plaintext, plaintext(2));
    let mut bob_s = inbound.session;
    assert_eq!(bob_s.stored_skipped_keys(), 2);
    assert_eq!(bob_s.decrypt(&msgs[0]).unwrap(), plaintext(0));
    assert_eq!(bob_s.decrypt(&msgs[3]).unwrap(), plaintext(3));
    assert_eq!(bob_s.decrypt(&msgs[1]).unwrap(), plaintext(1));
    assert_eq!(bob_s.stored_skipped_keys(), 0);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            decrypt_fails_unchanged(&mut bob_s, m),
            duplicate(u32::try_from(i).unwrap())
        );
    }
    // All copies of the setup message name the same handshake.
    let ids: Vec<kinseal::HandshakeId> = msgs
        .iter()
        .map(|m| PreKeyMessage::from_bytes(m).unwrap().handshake_id())
        .collect();
    assert!(ids.iter().all(|id| *id == inbound.handshake_id));
    let reply = bob_s.encrypt(&mut rng, b"reply").unwrap();
    assert_eq!(alice.decrypt(&reply).unwrap(), b"reply");
}

#[test]
fn reordering_within_one_chain_reversed_and_shuffled() {
    let mut rng = rng(4);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    for side in [Side::Alice, Side::Bob] {
        let mut batch: Vec<InFlight> = (0..20).map(|_| c.send(&mut rng, side)).collect();
        batch.reverse();
        for m in &batch {
            c.deliver(m);
        }
        for m in &batch {
            c.redeliver(m);
        }
        let mut batch: Vec<InFlight> = (0..20).map(|_| c.send(&mut rng, side)).collect();
        shuffle(&mut rng, &mut batch);
        for m in &batch {
            c.deliver(m);
        }
        assert_eq!(c.session(side.other()).stored_skipped_keys(), 0);
    }
}

#[test]
fn reordering_across_ratchet_steps_uses_old_chain_keys() {
    let mut rng = rng(5);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let mut late = Vec::new();
    // Three of Alice's chains; Bob sees only the last message of each, and
    // replies in between so that Alice ratchets.
    for _ in 0..3 {
        let chain: Vec<InFlight> = (0..6).map(|_| c.send(&mut rng, Side::Alice)).collect();
        let (last, rest) = chain.split_last().unwrap();
        c.deliver(last);
        late.extend_from_slice(rest);
        let reply = c.send(&mut rng, Side::Bob);
        c.deliver(&reply);
    }
    assert_eq!(c.bob.stored_skipped_keys(), 15);
    shuffle(&mut rng, &mut late);
    for m in &late {
        c.deliver(m);
    }
    assert_eq!(c.bob.stored_skipped_keys(), 0);
    for m in &late {
        c.redeliver(m);
    }
}

#[test]
fn a_new_chain_arriving_first_keeps_the_rest_of_the_previous_chain() {
    let mut rng = rng(6);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    let old: Vec<InFlight> = (0..5).map(|_| c.send(&mut rng, Side::Alice)).collect();
    c.deliver(&old[0]);
    let reply = c.send(&mut rng, Side::Bob);
    c.deliver(&reply);
    // Alice's next message starts a new chain with previous_length = 5.
    let new = c.send(&mut rng, Side::Alice);
    let header = kinseal::Message::from_bytes(&new.bytes).unwrap();
    assert_eq!(header.previous_length(), 5);
    assert_eq!(header.index(), 0);
    c.deliver(&new);
    assert_eq!(c.bob.stored_skipped_keys(), 4);
    for m in old[1..].iter().rev() {
        c.deliver(m);
    }
    c.redeliver(&old[0]);
    c.redeliver(&new);
}

#[test]
fn past_the_forward_jump_is_too_far_ahead_and_the_session_survives() {
    let mut rng = rng(7);
    let config = SessionConfig::default().with_max_forward_jump(5).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    let msgs: Vec<InFlight> = (0..12).map(|_| c.send(&mut rng, Side::Bob)).collect();
    // Bob's chain already carried his first reply, so msgs[i] has index
    // i + 1 and Alice expects index 1; index 7 would skip 6 > 5.
    assert_eq!(index_of(&msgs[6].bytes), 7);
    let e = decrypt_fails_unchanged(&mut c.alice, &msgs[6].bytes);
    assert_eq!(
        e,
        Error::Protocol(ProtocolError::TooFarAhead { max: 5, found: 6 })
    );
    let e = decrypt_fails_unchanged(&mut c.alice, &msgs[11].bytes);
    assert_eq!(
        e,
        Error::Protocol(ProtocolError::TooFarAhead { max: 5, found: 11 })
    );
    // Exactly at the bound is fine.
    c.deliver(&msgs[5]);
    // From index 6 on, 11 is a jump of 5.
    c.deliver(&msgs[11]);
    for m in msgs[..5].iter().chain(&msgs[6..11]) {
        c.deliver(m);
    }
    // And the conversation goes on in both directions.
    for from in [Side::Alice, Side::Bob, Side::Alice] {
        let m = c.send(&mut rng, from);
        c.deliver(&m);
    }
}

#[test]
fn past_the_forward_jump_on_a_new_chain_is_too_far_ahead() {
    let mut rng = rng(8);
    let config = SessionConfig::default().with_max_forward_jump(3).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    // Alice sends on a new chain; Bob sees its index 4 first (jump 4 from 0).
    let msgs: Vec<InFlight> = (0..5).map(|_| c.send(&mut rng, Side::Alice)).collect();
    let e = decrypt_fails_unchanged(&mut c.bob, &msgs[4].bytes);
    assert_eq!(
        e,
        Error::Protocol(ProtocolError::TooFarAhead { max: 3, found: 4 })
    );
    c.deliver(&msgs[3]);
    c.deliver(&msgs[4]);
    for m in &msgs[..3] {
        c.deliver(m);
    }
}

#[test]
fn evicted_keys_are_expired_and_the_session_survives() {
    let mut rng = rng(9);
    let config = SessionConfig::default().with_max_skipped_keys(3).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    let msgs: Vec<InFlight> = (0..15).map(|_| c.send(&mut rng, Side::Alice)).collect();
    c.deliver(&msgs[0]);
    // Skips 1..=8; only the last three keys (6, 7, 8) are kept.
    c.deliver(&msgs[9]);
    assert_eq!(c.bob.stored_skipped_keys(), 3);
    for i in 1..6u32 {
        let e = decrypt_fails_unchanged(&mut c.bob, &msgs[i as usize].bytes);
        assert_eq!(
            e,
            Error::Protocol(ProtocolError::MessageKeyExpired { index: i })
        );
    }
    c.deliver(&msgs[7]);
    c.redeliver(&msgs[7]);
    // Skips 10..=13, keeps 11..=13 and evicts 6 and 8 to stay at three.
    c.deliver(&msgs[14]);
    assert_eq!(c.bob.stored_skipped_keys(), 3);
    for i in [6u32, 8, 10] {
        let e = decrypt_fails_unchanged(&mut c.bob, &msgs[i as usize].bytes);
        assert_eq!(
            e,
            Error::Protocol(ProtocolError::MessageKeyExpired { index: i })
        );
    }
    for m in &msgs[11..14] {
        c.deliver(m);
    }
    assert_eq!(c.bob.stored_skipped_keys(), 0);
    for from in [Side::Bob, Side::Alice, Side::Bob] {
        let m = c.send(&mut rng, from);
        c.deliver(&m);
    }
}

#[test]
fn with_no_skipped_keys_kept_late_messages_are_expired() {
    let mut rng = rng(10);
    let config = SessionConfig::default().with_max_skipped_keys(0).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    let msgs: Vec<InFlight> = (0..4).map(|_| c.send(&mut rng, Side::Bob)).collect();
    c.deliver(&msgs[3]);
    assert_eq!(c.alice.stored_skipped_keys(), 0);
    // Bob's reply in `established` was index 0 of this chain.
    assert_eq!(index_of(&msgs[3].bytes), 4);
    for m in &msgs[..3] {
        let e = decrypt_fails_unchanged(&mut c.alice, &m.bytes);
        assert_eq!(
            e,
            Error::Protocol(ProtocolError::MessageKeyExpired {
                index: index_of(&m.bytes)
            })
        );
    }
    c.redeliver(&msgs[3]);
    let m = c.send(&mut rng, Side::Alice);
    c.deliver(&m);
}

#[test]
fn every_duplicate_is_reported_with_its_index() {
    let mut rng = rng(11);
    let (_bob, p) = pair(&mut rng);
    let first = p.first.clone();
    let mut c = Conversation::new(p);
    assert_eq!(decrypt_fails_unchanged(&mut c.bob, &first), duplicate(0));
    let mut all = Vec::new();
    for i in 0..60 {
        let from = if (i / 4) % 2 == 0 {
            Side::Bob
        } else {
            Side::Alice
        };
        let m = c.send(&mut rng, from);
        c.deliver(&m);
        c.redeliver(&m);
        all.push(m);
    }
    // Copies of messages from the chains still kept (the last three turns
    // span at most two chains per receiver) are typed duplicates.
    let (old, recent) = all.split_at(all.len() - 12);
    for m in recent {
        c.redeliver(m);
    }
    // Older chains were dropped (max_old_chains = 5), so their ratchet keys
    // are unknown: still an error, and still no change.
    for m in old {
        decrypt_fails_unchanged(c.session(m.to), &m.bytes);
    }
}

#[test]
fn chains_older_than_the_kept_ones_are_refused_and_the_session_survives() {
    let mut rng = rng(12);
    let config = SessionConfig::default().with_max_old_chains(1).unwrap();
    let (_bob, p) = established(&mut rng, config);
    let mut c = Conversation::new(p);
    // Alice's chain C1: Bob sees only its first message.
    let x1 = c.send(&mut rng, Side::Alice);
    let x1_late = c.send(&mut rng, Side::Alice);
    c.deliver(&x1);
    let r = c.send(&mut rng, Side::Bob);
    c.deliver(&r);
    // Chain C2: its first message makes Bob keep x1_late's key.
    let y1 = c.send(&mut rng, Side::Alice);
    let y1_late = c.send(&mut rng, Side::Alice);
    c.deliver(&y1);
    assert_eq!(c.bob.stored_skipped_keys(), 1);
    let r = c.send(&mut rng, Side::Bob);
    c.deliver(&r);
    // Chain C3: Bob now keeps C2 and C3 only, and C1's keys are gone.
    let z = c.send(&mut rng, Side::Alice);
    c.deliver(&z);
    assert_eq!(c.bob.stored_skipped_keys(), 1);
    decrypt_fails_unchanged(&mut c.bob, &x1_late.bytes);
    decrypt_fails_unchanged(&mut c.bob, &x1.bytes);
    // The previous chain still works, and so does the conversation.
    c.deliver(&y1_late);
    c.redeliver(&y1);
    for from in [Side::Bob, Side::Alice] {
        let m = c.send(&mut rng, from);
        c.deliver(&m);
    }
}
