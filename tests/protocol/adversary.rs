//! An adversarial-network model: random Alice ↔ Bob conversations through
//! a network the attacker owns. The attacker drops, reorders, duplicates
//! and replays messages, reflects them to their sender, tampers with them
//! (byte flips, truncation, extension, identity swaps, re-wrapping), plays
//! back a stale Alice ↔ Bob session, and injects the genuine bytes of
//! Mallory — a third party with her own identity and her own valid
//! sessions with Bob and with Alice, who can also start fresh sessions to
//! Bob from his published bundle — into the Alice ↔ Bob streams.
//!
//! Checked after every step:
//!
//! - no panic;
//! - Alice's and Bob's Alice ↔ Bob sessions accept only bytes the peer sent
//!   on that session, each exactly once, decrypting to exactly what was
//!   sent (a map from exact bytes to plaintext); a session Bob sets up from
//!   a `PreKeyMessage` is attributed to the identity in it, and one claiming
//!   Alice must be Alice's;
//! - every genuine message delivered within the bounds decrypts the first
//!   time, and every later copy is a typed `Duplicate`;
//! - every rejection leaves the session's bytes (`to_bytes()`) unchanged.
//!
//! Runs `PROPTEST_CASES` cases (default [`DEFAULT_CASES`]).

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use common::*;
use kinseal::{
    IdentityKey, IdentityKeyPair, IncomingMessage, MessageKind, PreKeyMessage, Session,
    SessionConfig, message_kind,
};
use proptest::prelude::*;

/// Cases per run unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 1000;

fn cases() -> u32 {
    match std::env::var("PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_CASES={v:?} is not a number")),
        Err(_) => DEFAULT_CASES,
    }
}

/// At most this many Alice ↔ Bob messages per case; every bound is set to
/// it, so no delivery order can leave the bounds.
const MAX_SENDS: usize = 16;

fn config() -> SessionConfig {
    SessionConfig::default()
        .with_max_forward_jump(MAX_SENDS as u32)
        .unwrap()
        .with_max_skipped_keys(MAX_SENDS as u32)
        .unwrap()
        .with_max_old_chains(MAX_SENDS as u32)
        .unwrap()
}

/// Which session a genuine message was sent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stream {
    /// The Alice ↔ Bob session under test, by sender.
    AliceToBob,
    BobToAlice,
    /// Mallory's established session with Bob, and with Alice.
    MalloryToBob,
    MalloryToAlice,
    /// Mallory's fresh sessions to Bob's bundle (first messages).
    MalloryFresh,
    /// An earlier Alice ↔ Bob session (same identities) whose setup Bob
    /// accepted long ago.
    Stale,
}

/// Built once: identities, prekeys and sessions are slow in debug builds;
/// every case restores its sessions from these records.
struct Fixture {
    /// Bob's identity and prekeys.
    bob: Bob,
    /// Alice's identity (`identity`) and her prekeys, which Mallory used.
    alice: Bob,
    mallory: IdentityKeyPair,
    /// Alice's fresh session to Bob, one per bundle kind.
    alice_initial: Vec<Vec<u8>>,
    /// Mallory's side and Bob's side of an established Mallory → Bob session.
    mallory_to_bob: Vec<u8>,
    bob_from_mallory: Vec<u8>,
    /// Mallory's side and Alice's side of an established Mallory → Alice session.
    mallory_to_alice: Vec<u8>,
    alice_from_mallory: Vec<u8>,
    /// Mallory's fresh sessions to Bob (she has not heard back), by bundle kind.
    mallory_fresh: Vec<Vec<u8>>,
    /// Bytes of the stale session, and its handshake id.
    stale: Vec<(Vec<u8>, Side, Vec<u8>)>,
    stale_handshake: kinseal::HandshakeId,
}

/// Sets up `initiator` → `responder` and exchanges one message each way.
/// Returns (initiator's record, responder's record).
fn established_records(
    rng: &mut ChaCha20Rng,
    initiator: &IdentityKeyPair,
    responder: &Bob,
) -> (Vec<u8>, Vec<u8>) {
    let bundle = responder.verified_bundle(BundleChoice::FULL);
    let mut i = Session::initiate(rng, initiator, &bundle, config()).unwrap();
    let first = i.encrypt(rng, b"setup").unwrap();
    let mut r = responder.respond_bytes(&first, config()).unwrap().session;
    let reply = r.encrypt(rng, b"setup reply").unwrap();
    i.decrypt(&reply).unwrap();
    (snapshot(&i), snapshot(&r))
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = rng(7000);
        let bob = Bob::new(&mut rng);
        let alice = Bob::new(&mut rng);
        let mallory = IdentityKeyPair::generate(&mut rng);
        let initial = |rng: &mut ChaCha20Rng, who: &IdentityKeyPair| -> Vec<Vec<u8>> {
            BundleChoice::ALL
                .iter()
                .map(|c| {
                    let s = Session::initiate(rng, who, &bob.verified_bundle(*c), config());
                    snapshot(&s.unwrap())
                })
                .collect()
        };
        let alice_initial = initial(&mut rng, &alice.identity);
        let mallory_fresh = initial(&mut rng, &mallory);
        let (mallory_to_bob, bob_from_mallory) = established_records(&mut rng, &mallory, &bob);
        let (mallory_to_alice, alice_from_mallory) =
            established_records(&mut rng, &mallory, &alice);

        // A stale Alice ↔ Bob conversation: a few messages each way.
        let bundle = bob.verified_bundle(BundleChoice::FULL);
        let mut a = Session::initiate(&mut rng, &alice.identity, &bundle, config()).unwrap();
        let first = a.encrypt(&mut rng, b"stale 0").unwrap();
        let inbound = bob.respond_bytes(&first, config()).unwrap();
        let mut b = inbound.session;
        let mut stale = vec![(first, Side::Bob, b"stale 0".to_vec())];
        for i in 1..6 {
            let (from, to, side) = if i % 2 == 0 {
                (&mut a, &mut b, Side::Bob)
            } else {
                (&mut b, &mut a, Side::Alice)
            };
            let pt = format!("stale {i}").into_bytes();
            let m = from.encrypt(&mut rng, &pt).unwrap();
            assert_eq!(to.decrypt(&m).unwrap(), pt);
            stale.push((m, side, pt));
        }
        Fixture {
            bob,
            alice,
            mallory,
            alice_initial,
            mallory_to_bob,
            bob_from_mallory,
            mallory_to_alice,
            alice_from_mallory,
            mallory_fresh,
            stale,
            stale_handshake: inbound.handshake_id,
        }
    })
}

fn restore(record: &[u8]) -> Session {
    Session::from_bytes(record).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Tamper {
    Flip(usize, u8),
    Truncate(usize),
    Extend(u8, u8),
}

#[derive(Clone, Copy, Debug)]
enum Mallory {
    ToBob,
    ToAlice,
    Fresh(usize),
}

#[derive(Clone, Debug)]
enum Action {
    /// Alice (true) or Bob (false) sends on the Alice ↔ Bob session.
    Send(bool),
    /// First delivery of an Alice ↔ Bob message in flight (any order).
    Deliver(usize),
    /// The network loses a message in flight.
    Drop(usize),
    /// A copy of an already delivered Alice ↔ Bob message, again.
    Replay(usize),
    /// An Alice ↔ Bob message (in flight or delivered) sent back to its sender.
    Reflect(usize),
    /// Any bytes the attacker has seen, modified, to Alice (true) or Bob.
    Tamper(usize, bool, Tamper),
    /// Mallory sends on one of her sessions; the attacker delivers her
    /// genuine bytes into the Alice ↔ Bob stream of Alice (true) or Bob.
    Inject(Mallory, bool),
    /// A message of the stale Alice ↔ Bob session.
    Stale(usize),
    /// A `PreKeyMessage` seen so far, with its identity field replaced by
    /// Alice's, Bob's or Mallory's, to Bob.
    SwapIdentity(usize, u8),
    /// One `PreKeyMessage`'s setup data around another's embedded message.
    Rewrap(usize, usize),
    /// An Alice ↔ Bob message delivered to the recipient's session with Mallory.
    Misroute(usize),
    /// Alice (true) or Bob stores and restores the session.
    Restore(bool),
}

fn action() -> impl Strategy<Value = Action> {
    let tamper = prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Tamper::Flip(i, m)),
        any::<usize>().prop_map(Tamper::Truncate),
        (1u8..=8, any::<u8>()).prop_map(|(n, b)| Tamper::Extend(n, b)),
    ];
    let mallory = prop_oneof![
        Just(Mallory::ToBob),
        Just(Mallory::ToAlice),
        (0usize..4).prop_map(Mallory::Fresh),
    ];
    prop_oneof![
        6 => any::<bool>().prop_map(Action::Send),
        6 => any::<usize>().prop_map(Action::Deliver),
        1 => any::<usize>().prop_map(Action::Drop),
        2 => any::<usize>().prop_map(Action::Replay),
        1 => any::<usize>().prop_map(Action::Reflect),
        3 => (any::<usize>(), any::<bool>(), tamper).prop_map(|(i, to, t)| Action::Tamper(i, to, t)),
        2 => (mallory, any::<bool>()).prop_map(|(m, to)| Action::Inject(m, to)),
        1 => any::<usize>().prop_map(Action::Stale),
        1 => (any::<usize>(), 0u8..3).prop_map(|(i, w)| Action::SwapIdentity(i, w)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Action::Rewrap(a, b)),
        1 => any::<usize>().prop_map(Action::Misroute),
        1 => any::<bool>().prop_map(Action::Restore),
    ]
}

/// A genuine message, as its sender made it.
#[derive(Clone, Debug)]
struct Genuine {
    stream: Stream,
    plaintext: Vec<u8>,
}

struct World {
    rng: ChaCha20Rng,
    alice: Session,
    /// Bob's Alice ↔ Bob session, once he has accepted Alice's first message.
    bob: Option<Session>,
    /// Handshake ids Bob has accepted (the stale one included): what his
    /// prekey store would refuse a second time (one-time prekeys deleted,
    /// last-resort handshakes remembered; see security_properties.rs).
    bob_accepted: HashSet<kinseal::HandshakeId>,
    mallory_to_bob: Session,
    mallory_to_alice: Session,
    mallory_fresh: Vec<Session>,
    bob_from_mallory: Session,
    alice_from_mallory: Session,
    /// Every genuine message by its exact bytes.
    genuine: HashMap<Vec<u8>, Genuine>,
    /// Every byte string the attacker has seen (genuine ones), in order.
    seen: Vec<Vec<u8>>,
    /// Alice ↔ Bob messages in flight and delivered: (bytes, recipient).
    in_flight: Vec<(Vec<u8>, Side)>,
    delivered: Vec<(Vec<u8>, Side)>,
    /// Bytes each side's Alice ↔ Bob session has accepted.
    accepted: [HashSet<Vec<u8>>; 2],
    sends: usize,
    counter: usize,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Alice => 0,
        Side::Bob => 1,
    }
}

fn side(alice: bool) -> Side {
    if alice { Side::Alice } else { Side::Bob }
}

impl World {
    fn new(seed: u64, bundle: usize) -> World {
        let f = fixture();
        World {
            rng: rng(seed),
            alice: restore(&f.alice_initial[bundle]),
            bob: None,
            bob_accepted: HashSet::from([f.stale_handshake]),
            mallory_to_bob: restore(&f.mallory_to_bob),
            mallory_to_alice: restore(&f.mallory_to_alice),
            mallory_fresh: f.mallory_fresh.iter().map(|r| restore(r)).collect(),
            bob_from_mallory: restore(&f.bob_from_mallory),
            alice_from_mallory: restore(&f.alice_from_mallory),
            genuine: f
                .stale
                .iter()
                .map(|(b, _, pt)| {
                    let g = Genuine {
                        stream: Stream::Stale,
                        plaintext: pt.clone(),
                    };
                    (b.clone(), g)
                })
                .collect(),
            seen: f.stale.iter().map(|(b, _, _)| b.clone()).collect(),
            in_flight: Vec::new(),
            delivered: Vec::new(),
            accepted: [HashSet::new(), HashSet::new()],
            sends: 0,
            counter: 0,
        }
    }

    fn record(&mut self, bytes: &[u8], stream: Stream, plaintext: Vec<u8>) {
        let old = self
            .genuine
            .insert(bytes.to_vec(), Genuine { stream, plaintext });
        assert!(old.is_none(), "two genuine messages with the same bytes");
        self.seen.push(bytes.to_vec());
    }

    fn fresh_plaintext(&mut self, who: &str) -> Vec<u8> {
        self.counter += 1;
        format!("{who} #{} {}", self.counter, "x".repeat(self.counter % 7)).into_bytes()
    }

    fn send(&mut self, from_alice: bool) {
        if self.sends >= MAX_SENDS {
            return;
        }
        let from = if from_alice || self.bob.is_none() {
            Side::Alice
        } else {
            Side::Bob
        };
        let pt = self.fresh_plaintext(if from == Side::Alice { "alice" } else { "bob" });
        let session = match from {
            Side::Alice => &mut self.alice,
            Side::Bob => self.bob.as_mut().unwrap(),
        };
        let bytes = session.encrypt(&mut self.rng, &pt).unwrap();
        if from == Side::Alice {
            assert_eq!(
                message_kind(&bytes).unwrap() == MessageKind::PreKeyMessage,
                self.alice.sends_prekey_messages()
            );
        }
        let stream = match from {
            Side::Alice => Stream::AliceToBob,
            Side::Bob => Stream::BobToAlice,
        };
        self.record(&bytes, stream, pt);
        self.in_flight.push((bytes, from.other()));
        self.sends += 1;
    }

    /// What `bytes` must do at `to`'s Alice ↔ Bob session: decrypt to this
    /// plaintext the first time, or be a duplicate after that.
    fn expected(&self, to: Side, bytes: &[u8]) -> Option<Genuine> {
        let g = self.genuine.get(bytes)?;
        let stream = match to {
            Side::Alice => Stream::BobToAlice,
            Side::Bob => Stream::AliceToBob,
        };
        (g.stream == stream).then(|| g.clone())
    }

    /// Delivers `bytes` into `to`'s Alice ↔ Bob stream and checks the
    /// outcome. Returns whether it was accepted.
    fn deliver(&mut self, to: Side, bytes: &[u8]) -> bool {
        let expected = self.expected(to, bytes);
        let first_time = !self.accepted[side_index(to)].contains(bytes);
        if to == Side::Bob && self.bob.is_none() {
            return self.bob_setup(bytes, expected);
        }
        let session = match to {
            Side::Alice => &mut self.alice,
            Side::Bob => self.bob.as_mut().unwrap(),
        };
        let before = session.to_bytes();
        match session.decrypt(bytes) {
            Ok(pt) => {
                let g = expected.unwrap_or_else(|| {
                    panic!("{to:?} accepted bytes its peer did not send on this session")
                });
                assert!(first_time, "{to:?} accepted a message twice");
                assert_eq!(pt, g.plaintext, "{to:?}: wrong plaintext");
                self.accepted[side_index(to)].insert(bytes.to_vec());
                true
            }
            Err(e) => {
                assert_eq!(
                    session.to_bytes(),
                    before,
                    "{to:?}: a rejection changed state"
                );
                if expected.is_some() {
                    assert!(
                        !first_time,
                        "{to:?}: a genuine message within the bounds failed: {e:?}"
                    );
                    assert_eq!(e, duplicate(index_of(bytes)), "{to:?}");
                }
                false
            }
        }
    }

    /// Bob has no Alice ↔ Bob session yet: a `PreKeyMessage` he has not
    /// accepted before sets one up; the session belongs to the identity in
    /// the message.
    fn bob_setup(&mut self, bytes: &[u8], expected: Option<Genuine>) -> bool {
        let f = fixture();
        let Ok(IncomingMessage::PreKey(m)) = IncomingMessage::from_bytes(bytes) else {
            // A Message with no session to route it to is dropped.
            assert!(expected.is_none(), "Bob dropped a genuine message");
            return false;
        };
        if self.bob_accepted.contains(&m.handshake_id()) {
            assert!(expected.is_none(), "a genuine first message was refused");
            return false;
        }
        let inbound = match f.bob.respond(&m, config()) {
            Ok(inbound) => inbound,
            Err(e) => {
                assert!(
                    expected.is_none(),
                    "Bob refused Alice's genuine first message: {e:?}"
                );
                return false;
            }
        };
        let g = self
            .genuine
            .get(bytes)
            .unwrap_or_else(|| panic!("Bob set up a session from forged bytes"));
        assert_eq!(inbound.plaintext, g.plaintext);
        assert_eq!(inbound.handshake_id, m.handshake_id());
        self.bob_accepted.insert(inbound.handshake_id);
        let from: &IdentityKey = inbound.session.remote_identity();
        if from == f.alice.identity.public_key() {
            assert_eq!(
                g.stream,
                Stream::AliceToBob,
                "a session attributed to Alice"
            );
            self.accepted[side_index(Side::Bob)].insert(bytes.to_vec());
            self.bob = Some(inbound.session);
            true
        } else {
            // Mallory's own new session with Bob: hers, not Alice's.
            assert_eq!(from, f.mallory.public_key());
            assert_eq!(g.stream, Stream::MalloryFresh);
            false
        }
    }

    fn deliver_in_flight(&mut self, i: usize) {
        let (bytes, to) = self.in_flight.remove(i);
        assert!(self.deliver(to, &bytes), "first delivery refused");
        self.delivered.push((bytes, to));
    }

    fn mallory_sends(&mut self, which: Mallory) -> Vec<u8> {
        let pt = self.fresh_plaintext("mallory");
        let (session, stream) = match which {
            Mallory::ToBob => (&mut self.mallory_to_bob, Stream::MalloryToBob),
            Mallory::ToAlice => (&mut self.mallory_to_alice, Stream::MalloryToAlice),
            Mallory::Fresh(i) => (&mut self.mallory_fresh[i], Stream::MalloryFresh),
        };
        let bytes = session.encrypt(&mut self.rng, &pt).unwrap();
        self.record(&bytes, stream, pt);
        bytes
    }

    /// A delivery that must be refused, leaving the session unchanged.
    fn refused(session: &mut Session, bytes: &[u8]) {
        decrypt_fails_unchanged(session, bytes);
    }

    fn seen_prekey_messages(&self) -> Vec<Vec<u8>> {
        self.seen
            .iter()
            .filter(|b| message_kind(b).ok() == Some(MessageKind::PreKeyMessage))
            .cloned()
            .collect()
    }

    fn step(&mut self, a: Action) {
        let f = fixture();
        match a {
            Action::Send(alice) => self.send(alice),
            Action::Deliver(i) if !self.in_flight.is_empty() => {
                let i = i % self.in_flight.len();
                self.deliver_in_flight(i);
            }
            Action::Drop(i) if !self.in_flight.is_empty() => {
                let i = i % self.in_flight.len();
                self.in_flight.remove(i);
            }
            Action::Replay(i) if !self.delivered.is_empty() => {
                let (bytes, to) = self.delivered[i % self.delivered.len()].clone();
                assert!(!self.deliver(to, &bytes));
            }
            Action::Reflect(i) => {
                let all: Vec<_> = self.in_flight.iter().chain(&self.delivered).collect();
                if all.is_empty() {
                    return;
                }
                let (bytes, to) = all[i % all.len()].clone();
                assert!(!self.deliver(to.other(), &bytes));
            }
            Action::Tamper(i, to_alice, t) => {
                let original = self.seen[i % self.seen.len()].clone();
                let mut bytes = original.clone();
                match t {
                    Tamper::Flip(p, mask) => bytes[p % original.len()] ^= mask,
                    Tamper::Truncate(p) => bytes.truncate(p % original.len()),
                    Tamper::Extend(n, b) => bytes.extend(std::iter::repeat_n(b, n.into())),
                }
                assert_ne!(bytes, original);
                assert!(!self.deliver(side(to_alice), &bytes));
            }
            Action::Inject(which, to_alice) => {
                let bytes = self.mallory_sends(which);
                assert!(!self.deliver(side(to_alice), &bytes));
            }
            Action::Stale(i) => {
                let (bytes, to, _) = f.stale[i % f.stale.len()].clone();
                assert!(!self.deliver(to, &bytes));
            }
            Action::SwapIdentity(i, who) => {
                let prekey = self.seen_prekey_messages();
                if prekey.is_empty() {
                    return;
                }
                let mut bytes = prekey[i % prekey.len()].clone();
                let id = match who {
                    0 => f.alice.identity.public_key(),
                    1 => f.bob.identity.public_key(),
                    _ => f.mallory.public_key(),
                };
                if bytes[3..35] == id.as_bytes()[..] {
                    return;
                }
                bytes[3..35].copy_from_slice(id.as_bytes());
                assert!(!self.deliver(Side::Bob, &bytes));
            }
            Action::Rewrap(a, b) => {
                let prekey = self.seen_prekey_messages();
                if prekey.is_empty() {
                    return;
                }
                let outer = &prekey[a % prekey.len()];
                let inner = &prekey[b % prekey.len()];
                let bytes = [prefix(outer), &inner[prefix(inner).len()..]].concat();
                if self.genuine.contains_key(&bytes) {
                    return; // the same message
                }
                assert!(!self.deliver(Side::Bob, &bytes));
            }
            Action::Misroute(i) => {
                let all: Vec<_> = self.in_flight.iter().chain(&self.delivered).collect();
                if all.is_empty() {
                    return;
                }
                let (bytes, to) = all[i % all.len()].clone();
                let session = match to {
                    Side::Alice => &mut self.alice_from_mallory,
                    Side::Bob => &mut self.bob_from_mallory,
                };
                Self::refused(session, &bytes);
            }
            Action::Restore(alice) => {
                let s = if alice {
                    Some(&mut self.alice)
                } else {
                    self.bob.as_mut()
                };
                if let Some(s) = s {
                    let bytes = s.to_bytes();
                    *s = Session::from_bytes(&bytes).unwrap();
                    assert_eq!(s.to_bytes(), bytes);
                }
            }
            _ => {}
        }
    }

    /// The network finally delivers everything still in flight, in the
    /// order left; then every delivered message once more; then both sides
    /// still talk.
    fn finish(&mut self) {
        while !self.in_flight.is_empty() {
            self.deliver_in_flight(0);
        }
        for (bytes, to) in self.delivered.clone() {
            assert!(!self.deliver(to, &bytes));
        }
        let mut total = 0;
        for (g, side) in [
            (Stream::AliceToBob, Side::Bob),
            (Stream::BobToAlice, Side::Alice),
        ] {
            let sent = self.genuine.values().filter(|x| x.stream == g).count();
            let got = self.accepted[side_index(side)].len();
            assert!(got <= sent);
            total += got;
        }
        assert_eq!(total, self.delivered.len());
        if self.bob.is_some() {
            self.sends = 0;
            self.send(false);
            self.send(true);
            while !self.in_flight.is_empty() {
                self.deliver_in_flight(0);
            }
        }
    }
}

/// The `PreKeyMessage` prefix (everything before the embedded message).
fn prefix(bytes: &[u8]) -> &[u8] {
    let embedded = PreKeyMessage::from_bytes(bytes)
        .unwrap()
        .message()
        .to_bytes()
        .len();
    &bytes[..bytes.len() - embedded]
}

fn run(seed: u64, bundle: usize, actions: Vec<Action>) {
    let mut w = World::new(seed, bundle);
    for a in actions {
        w.step(a);
    }
    w.finish();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn adversarial_network_never_breaks_authenticity_or_exactly_once_delivery(
        seed in any::<u64>(),
        bundle in 0usize..4,
        actions in prop::collection::vec(action(), 1..48),
    ) {
        run(seed, bundle, actions);
    }
}

/// A fixed, long scenario that exercises every action kind, so that a
/// change that makes some action a no-op is noticed.
#[test]
fn every_action_kind_is_exercised() {
    use Action::*;
    let mut w = World::new(1, 0);
    let script = [
        Inject(Mallory::Fresh(0), false), // Bob has no session yet: Mallory's own
        Stale(0),                         // stale first message: refused (accepted before)
        Send(true),
        Send(true),
        SwapIdentity(0, 2),
        Rewrap(0, 1),
        Tamper(0, false, self::Tamper::Flip(40, 1)),
        Deliver(1),
        Replay(0),
        Reflect(0),
        Send(false),
        Deliver(1),
        Deliver(0),
        Inject(Mallory::ToBob, false),
        Inject(Mallory::ToAlice, true),
        Inject(Mallory::Fresh(1), false),
        Stale(3),
        Misroute(0),
        Restore(true),
        Restore(false),
        Send(true),
        Drop(0),
        Send(true),
        Tamper(2, true, self::Tamper::Truncate(10)),
        Tamper(3, false, self::Tamper::Extend(3, 0)),
    ];
    for a in script {
        w.step(a);
    }
    assert!(w.bob.is_some());
    assert_eq!(w.accepted.iter().map(HashSet::len).sum::<usize>(), 3);
    w.finish();
    // Mallory's fresh first message did set up a session with Bob — hers.
    assert!(w.bob_accepted.len() >= 3);
    assert!(w.genuine.values().any(|g| g.stream == Stream::MalloryFresh));
}
