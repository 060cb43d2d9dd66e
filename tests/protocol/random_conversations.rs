//! Property test: random conversations — random interleaving of who
//! sends, random loss, random reordering (within the bounds), duplicates
//! and tampered copies. Every message delivered decrypts exactly once to
//! its plaintext, every other delivery is a typed duplicate or an error,
//! and every failure leaves the session unchanged.

use crate::common;

use std::sync::OnceLock;

use common::*;
use kinseal::{IdentityKeyPair, MessageKind, Session, SessionConfig, VerifiedBundle, message_kind};
use proptest::prelude::*;
use proptest::sample::Index;

/// Keys are expensive in debug builds; every case shares them.
struct Keys {
    bob: Bob,
    alice: IdentityKeyPair,
    bundles: Vec<(BundleChoice, VerifiedBundle)>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rng(500);
        let bob = Bob::new(&mut rng);
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundles = BundleChoice::ALL
            .iter()
            .map(|c| (*c, bob.verified_bundle(*c)))
            .collect();
        Keys {
            bob,
            alice,
            bundles,
        }
    })
}

/// At most this many messages per case, so that no reordering can leave
/// the bounds below: no jump or skipped-key count can exceed it, and no
/// side can see more chains than are kept.
const MAX_SENDS: usize = 24;

fn config() -> SessionConfig {
    SessionConfig::default()
        .with_max_forward_jump(MAX_SENDS as u32)
        .unwrap()
        .with_max_skipped_keys(MAX_SENDS as u32)
        .unwrap()
        .with_max_old_chains(MAX_SENDS as u32)
        .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    /// Alice (true) or Bob (false) sends a message.
    Send(bool),
    /// Delivers a message not yet delivered.
    Deliver(Index),
    /// Delivers again a message already delivered.
    Redeliver(Index),
    /// Loses a message not yet delivered.
    Lose(Index),
    /// Delivers a copy of a message with one byte changed.
    Tamper(Index, Index, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => any::<bool>().prop_map(Op::Send),
        5 => any::<Index>().prop_map(Op::Deliver),
        1 => any::<Index>().prop_map(Op::Redeliver),
        1 => any::<Index>().prop_map(Op::Lose),
        1 => (any::<Index>(), any::<Index>(), 1u8..=255).prop_map(|(m, p, x)| Op::Tamper(m, p, x)),
    ]
}

struct Sent {
    to: Side,
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
}

struct World {
    alice: Session,
    bob: Option<Session>,
    pending: Vec<Sent>,
    delivered: Vec<Sent>,
    sent: usize,
    rng: chacha20::ChaCha20Rng,
}

impl World {
    fn receiver(&mut self, to: Side) -> Option<&mut Session> {
        match to {
            Side::Alice => Some(&mut self.alice),
            Side::Bob => self.bob.as_mut(),
        }
    }

    fn send(&mut self, alice: bool) {
        if self.sent >= MAX_SENDS {
            return;
        }
        let pt = plaintext(self.sent);
        let (from, session) = match (alice, self.bob.as_mut()) {
            (false, Some(bob)) => (Side::Bob, bob),
            // Bob cannot send before he has heard from Alice.
            _ => (Side::Alice, &mut self.alice),
        };
        let bytes = session.encrypt(&mut self.rng, &pt).unwrap();
        if from == Side::Alice {
            let kind = message_kind(&bytes).unwrap();
            assert_eq!(
                kind == MessageKind::PreKeyMessage,
                self.alice.sends_prekey_messages()
            );
        }
        self.sent += 1;
        self.pending.push(Sent {
            to: from.other(),
            bytes,
            plaintext: pt,
        });
    }

    /// First delivery: must decrypt to the plaintext.
    fn deliver(&mut self, i: usize) {
        let m = self.pending.remove(i);
        match self.receiver(m.to) {
            Some(s) => {
                let got = s
                    .decrypt(&m.bytes)
                    .unwrap_or_else(|e| panic!("first delivery to {:?} failed: {e:?}", m.to));
                assert_eq!(got, m.plaintext);
            }
            None => {
                assert_eq!(message_kind(&m.bytes).unwrap(), MessageKind::PreKeyMessage);
                let inbound = keys().bob.respond_bytes(&m.bytes, config()).unwrap();
                assert_eq!(inbound.plaintext, m.plaintext);
                self.bob = Some(inbound.session);
            }
        }
        self.delivered.push(m);
    }

    /// Later delivery: a typed duplicate, and no change.
    fn redeliver(&mut self, i: usize) {
        let (to, bytes) = (self.delivered[i].to, self.delivered[i].bytes.clone());
        let s = self.receiver(to).unwrap();
        let e = decrypt_fails_unchanged(s, &bytes);
        assert_eq!(e, duplicate(index_of(&bytes)));
    }

    /// A copy of message `i` (numbered across pending, then delivered)
    /// with one byte changed: an error, and no change.
    fn tamper(&mut self, i: usize, position: usize, mask: u8) {
        let m = if i < self.pending.len() {
            &self.pending[i]
        } else {
            &self.delivered[i - self.pending.len()]
        };
        let to = m.to;
        let mut bad = m.bytes.clone();
        bad[position] ^= mask;
        match self.receiver(to) {
            Some(s) => {
                decrypt_fails_unchanged(s, &bad);
            }
            None => assert!(keys().bob.respond_bytes(&bad, config()).is_err()),
        }
    }
}

fn run(seed: u64, choice: usize, ops: Vec<Op>) {
    let k = keys();
    let (_, bundle) = &k.bundles[choice % k.bundles.len()];
    let mut rng = rng(seed);
    let alice = Session::initiate(&mut rng, &k.alice, bundle, config()).unwrap();
    let mut w = World {
        alice,
        bob: None,
        pending: Vec::new(),
        delivered: Vec::new(),
        sent: 0,
        rng,
    };
    for op in ops {
        match op {
            Op::Send(alice) => w.send(alice),
            Op::Deliver(i) if !w.pending.is_empty() => {
                let i = i.index(w.pending.len());
                w.deliver(i);
            }
            Op::Redeliver(i) if !w.delivered.is_empty() => {
                let i = i.index(w.delivered.len());
                w.redeliver(i);
            }
            Op::Lose(i) if !w.pending.is_empty() => {
                let i = i.index(w.pending.len());
                w.pending.remove(i);
            }
            Op::Tamper(m, p, x) => {
                let total = w.pending.len() + w.delivered.len();
                if total == 0 {
                    continue;
                }
                let i = m.index(total);
                let len = if i < w.pending.len() {
                    w.pending[i].bytes.len()
                } else {
                    w.delivered[i - w.pending.len()].bytes.len()
                };
                w.tamper(i, p.index(len), x);
            }
            _ => {}
        }
    }
    // Everything not lost arrives in the end, in the order left.
    while !w.pending.is_empty() {
        w.deliver(0);
    }
    for i in 0..w.delivered.len() {
        w.redeliver(i);
    }
    // And the sessions are still in step, both ways.
    if let Some(bob) = w.bob.as_mut() {
        let m = bob.encrypt(&mut w.rng, b"bye").unwrap();
        assert_eq!(w.alice.decrypt(&m).unwrap(), b"bye");
        let m = w.alice.encrypt(&mut w.rng, b"bye bob").unwrap();
        assert_eq!(bob.decrypt(&m).unwrap(), b"bye bob");
    }
}

proptest! {
    #[test]
    fn random_conversations_deliver_each_message_exactly_once(
        seed in any::<u64>(),
        choice in 0usize..4,
        ops in prop::collection::vec(op(), 1..64),
    ) {
        run(seed, choice, ops);
    }
}
