//! The fuzz target bodies, shared with the corpus-replay test.

use std::collections::HashSet;
use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use kinseal::server::{PreKeyCounts, PreKeyUpload, route as route_message};
use kinseal::{
    DeviceAddress, DeviceList, DeviceListUpdate, Envelope, Error, IdentityKeyPair, IncomingMessage,
    KemPreKeyPair, Message, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, ProtocolError, Session,
    SessionConfig, SignedPreKeyPair, UserAddress, UserIdentityKeyPair, VerifiedDeviceList,
};
use rand_core::SeedableRng;

#[path = "receipt_targets.rs"]
mod receipt_targets;
#[path = "store_targets.rs"]
mod store_targets;
pub use receipt_targets::{parse_receipt, receipts};
pub use store_targets::{open_store_record, store_record_seeds};
#[path = "account_link_targets.rs"]
mod account_link_targets;
pub use account_link_targets::{account_link_seeds, parse_account_link};

#[path = "device_list_account_targets.rs"]
mod device_list_account_targets;
pub use device_list_account_targets::{account_device_lists, device_list_account_seeds};
#[path = "group_targets.rs"]
mod group_targets;
pub use group_targets::{group_decrypt, group_seeds};
#[path = "content_targets.rs"]
mod content_targets;
pub use content_targets::{account_content, content_seed_outcomes, content_seeds};
#[path = "group_state_targets.rs"]
mod group_state_targets;
pub use group_state_targets::{group_state, group_state_seeds};

#[path = "link_targets.rs"]
mod link_targets;
pub use link_targets::parse_link;

/// Long-lived material built once per process.
pub struct Fixture {
    bob: IdentityKeyPair,
    spk: SignedPreKeyPair,
    opk: OneTimePreKeyPair,
    kem: KemPreKeyPair,
    /// Alice's session record, with skipped keys and an old chain.
    alice_record: Vec<u8>,
    /// Messages for Alice's session and what decrypting each must give.
    to_alice: Vec<(Vec<u8>, Expected)>,
    /// A valid first message for the responder keys.
    prekey_message: Vec<u8>,
    /// Alice's session right after `Session::initiate` with roomy bounds.
    alice_initial: Vec<u8>,
    /// A valid prekey upload of Bob's keys.
    pub upload: Vec<u8>,
}

/// What decrypting a fixture message must give: its plaintext, or a
/// `Duplicate` error (`Err(())`) for one that was already decrypted.
type Expected = Result<Vec<u8>, ()>;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// The fuzzing configuration: bounds as large as allowed, so that within a
/// fuzz input's size no bound is ever reached by genuine traffic.
pub fn roomy_config() -> SessionConfig {
    SessionConfig::default()
        .with_max_forward_jump(kinseal::MAX_FORWARD_JUMP_LIMIT)
        .and_then(|c| c.with_max_skipped_keys(kinseal::MAX_SKIPPED_KEYS_LIMIT))
        .and_then(|c| c.with_max_old_chains(kinseal::MAX_OLD_CHAINS_LIMIT))
        .unwrap()
}

/// The shared fixture.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(1);
        let alice = IdentityKeyPair::generate(&mut r);
        let bob = IdentityKeyPair::generate(&mut r);
        let spk = SignedPreKeyPair::generate(&mut r, &bob, 1, 1_700_000_000);
        let opk = OneTimePreKeyPair::generate(&mut r, 2);
        let kem = KemPreKeyPair::generate(&mut r, &bob, 3, true, 1_700_000_000);
        let verified = PreKeyBundle::new(
            bob.public_key().clone(),
            spk.public().clone(),
            Some(*opk.public()),
            kem.public().clone(),
        )
        .verify()
        .unwrap();
        let mut a = Session::initiate(&mut r, &alice, &verified, SessionConfig::default()).unwrap();
        let prekey_message = a.encrypt(&mut r, b"hello").unwrap();
        let m = PreKeyMessage::from_bytes(&prekey_message).unwrap();
        let mut b = Session::respond(&bob, &spk, Some(&opk), &kem, &m, SessionConfig::default())
            .unwrap()
            .session;
        let b0 = b.encrypt(&mut r, b"b0").unwrap();
        let b1 = b.encrypt(&mut r, b"b1").unwrap();
        let b2 = b.encrypt(&mut r, b"b2").unwrap();
        a.decrypt(&b2).unwrap();
        let a1 = a.encrypt(&mut r, b"a1").unwrap();
        b.decrypt(&a1).unwrap();
        let b3 = b.encrypt(&mut r, b"b3").unwrap();
        let b4 = b.encrypt(&mut r, b"b4").unwrap();
        let to_alice = vec![
            (b0, Ok(b"b0".to_vec())),
            (b1, Ok(b"b1".to_vec())),
            (b2, Err(())),
            (b3, Ok(b"b3".to_vec())),
            (b4, Ok(b"b4".to_vec())),
        ];
        let alice_initial = Session::initiate(&mut r, &alice, &verified, roomy_config())
            .unwrap()
            .to_bytes()
            .to_vec();
        let upload = PreKeyUpload::builder(&bob)
            .signed_prekey(spk.public())
            .last_resort_prekey(kem.public())
            .one_time_prekeys([opk.public()])
            .to_bytes()
            .unwrap();
        Fixture {
            upload,
            alice_initial,
            alice_record: a.to_bytes().to_vec(),
            bob,
            spk,
            opk,
            kem,
            to_alice,
            prekey_message,
        }
    })
}

/// Seeds in the current byte layouts for the parsing targets, by target
/// and file name: a `Message`, the fixture's `PreKeyMessage` and Alice's
/// session record. The other files of those corpora were found by the
/// fuzzers, some under earlier layouts; these keep every field of the
/// present ones reachable in one mutation.
pub fn layout_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let f = fixture();
    let message = f
        .to_alice
        .last()
        .map(|(m, _)| m.clone())
        .unwrap_or_default();
    let mut seeds = vec![
        ("parse_message", "fixture-message", message),
        (
            "parse_prekey_message",
            "fixture-prekey-message",
            f.prekey_message.clone(),
        ),
        (
            "parse_session_record",
            "fixture-alice-record",
            f.alice_record.clone(),
        ),
        ("parse_addressing", "fixture-envelope", fixture_envelope()),
        (
            "parse_addressing",
            "device-address",
            DeviceAddress::new(b"chirp", b"alice", 1)
                .unwrap()
                .to_bytes(),
        ),
        (
            "parse_addressing",
            "prekey-counts",
            PreKeyCounts::new(9, 100).to_bytes(),
        ),
        (
            "parse_device_list",
            "fixture-first",
            device_lists().0.to_bytes(),
        ),
        (
            "parse_device_list",
            "fixture-second",
            device_lists().1.to_bytes(),
        ),
        (
            "parse_receipt",
            "fixture-prekey-receipt",
            receipts()[0].clone(),
        ),
        (
            "parse_receipt",
            "fixture-message-receipt",
            receipts()[1].clone(),
        ),
        (
            "parse_receipt",
            "fixture-prekey-message",
            f.prekey_message.clone(),
        ),
    ];
    seeds.extend(link_targets::link_seeds());
    seeds
}

/// A user's first device list (Alice's and Bob's fixture devices) and its
/// successor (Bob's device replaced by a new key), signed by one user key.
pub fn device_lists() -> &'static (VerifiedDeviceList, VerifiedDeviceList) {
    static L: OnceLock<(VerifiedDeviceList, VerifiedDeviceList)> = OnceLock::new();
    L.get_or_init(|| {
        let f = fixture();
        let mut r = rng(4);
        let user = UserIdentityKeyPair::generate(&mut r);
        let address = UserAddress::new(b"chirp", b"alice").unwrap();
        let replacement = IdentityKeyPair::generate(&mut r);
        let first = DeviceList::first(
            &user,
            &address,
            1_700_000_000,
            [(1, f.bob.public_key(), 1_700_000_000)],
        )
        .unwrap();
        let second = first
            .next(
                &user,
                1_700_000_100,
                [
                    (1, f.bob.public_key(), 1_700_000_000),
                    (2, replacement.public_key(), 1_700_000_100),
                ],
            )
            .unwrap();
        (first, second)
    })
}

/// Device lists on arbitrary bytes: an accepted list re-encodes byte for
/// byte; a list that verifies is its own unchanged successor; and checked
/// as a successor of the fixture's first list, it is refused unless it is
/// that list or the fixture's second one (only the fixture's user key can
/// sign a successor), and never panics.
pub fn parse_device_list(data: &[u8]) {
    let Ok(list) = DeviceList::from_bytes(data) else {
        return;
    };
    assert_eq!(list.to_bytes(), data);
    let Ok(verified) = list.verify() else {
        return;
    };
    assert_eq!(verified.to_bytes(), data);
    assert_eq!(
        verified.check_successor(&verified),
        Ok(DeviceListUpdate::Unchanged)
    );
    let (first, second) = device_lists();
    if first.check_successor(&verified).is_ok() {
        assert!(
            verified.to_bytes() == first.to_bytes() || verified.to_bytes() == second.to_bytes()
        );
    }
    let _ = first.check_chain(core::slice::from_ref(&verified));
}

/// The fixture's `PreKeyMessage` in an envelope between two devices.
fn fixture_envelope() -> Vec<u8> {
    let from = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let to = DeviceAddress::new(b"parley", b"bob@parley.example", 7).unwrap();
    Envelope::new(from, to, fixture().prekey_message.clone())
        .unwrap()
        .to_bytes()
}

/// Applies byte edits: each 3-byte group is (op, position, value); op 0
/// xors, 1 truncates, 2 appends, 3 overwrites.
fn mutate(original: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for e in edits.chunks_exact(3) {
        let len = bytes.len().max(1);
        let pos = (usize::from(e[1]) * 7919 + usize::from(e[2])) % len;
        match e[0] % 4 {
            0 => {
                if let Some(b) = bytes.get_mut(pos) {
                    *b ^= e[2] | 1;
                }
            }
            1 => bytes.truncate(pos),
            2 => bytes.push(e[2]),
            _ => {
                if let Some(b) = bytes.get_mut(pos) {
                    *b = e[2];
                }
            }
        }
    }
    bytes
}

/// Bundle parsing: no panic; accepted bytes re-encode identically.
pub fn parse_bundle(data: &[u8]) {
    if let Ok(b) = PreKeyBundle::from_bytes(data) {
        assert_eq!(b.to_bytes(), data);
        let _ = b.verify();
    }
}

/// `PreKeyMessage` parsing.
pub fn parse_prekey_message(data: &[u8]) {
    if let Ok(m) = PreKeyMessage::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
        let _ = m.handshake_id();
    }
}

/// `Message` parsing, and dispatch by type byte.
pub fn parse_message(data: &[u8]) {
    if let Ok(m) = Message::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
    }
    match IncomingMessage::from_bytes(data) {
        Ok(IncomingMessage::Message(m)) => assert_eq!(m.to_bytes(), data),
        Ok(IncomingMessage::PreKey(m)) => assert_eq!(m.to_bytes(), data),
        Err(_) => {}
    }
}

/// Session-record parsing: accepted records re-encode identically (an older
/// revision as the current one, stable from then on) and the
/// restored session survives use.
pub fn parse_session_record(data: &[u8]) {
    let Ok(mut s) = Session::from_bytes(data) else {
        return;
    };
    // The current revision (type 0x11) re-encodes byte for byte; an older
    // one is written as the current, which reads back to the same bytes.
    let written = s.to_bytes();
    if data.get(1) == Some(&0x11) {
        assert_eq!(&*written, data);
    } else {
        let again = Session::from_bytes(&written).map(|s| s.to_bytes());
        assert_eq!(again.as_deref().ok(), Some(&*written));
    }
    let f = fixture();
    for (bytes, _) in &f.to_alice {
        let before = s.to_bytes();
        if s.decrypt(bytes).is_err() {
            assert_eq!(s.to_bytes(), before);
        }
    }
    let _ = s.encrypt(&mut rng(2), b"x");
}

/// Prekey-upload parsing (what a server decodes from a device): accepted
/// bytes re-encode identically; verification never panics.
pub fn parse_upload(data: &[u8]) {
    if let Ok(u) = PreKeyUpload::from_bytes(data) {
        assert_eq!(u.to_bytes(), data);
        let _ = u.verify(fixture().bob.public_key());
    }
}

/// Address, prekey-count and envelope parsing: accepted bytes re-encode
/// identically, and an envelope's message is one the router accepts, of
/// the same kind.
pub fn parse_addressing(data: &[u8]) {
    if let Ok(a) = UserAddress::from_bytes(data) {
        assert_eq!(a.to_bytes(), data);
    }
    if let Ok(a) = DeviceAddress::from_bytes(data) {
        assert_eq!(a.to_bytes(), data);
        assert_eq!(
            &UserAddress::from_bytes(&a.user().to_bytes()).unwrap(),
            a.user()
        );
    }
    if let Ok(c) = PreKeyCounts::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
    }
    if let Ok(e) = Envelope::from_bytes(data) {
        assert_eq!(e.to_bytes(), data);
        assert_eq!(route_message(e.message()).unwrap().kind(), e.message_kind());
        let again = Envelope::new(
            e.sender().clone(),
            e.recipient().clone(),
            e.message().to_vec(),
        );
        assert_eq!(again.unwrap(), e);
        let _ = e.decode_message();
    }
}

/// Private key records (the three prekey pairs' `from_bytes`) on arbitrary
/// bytes: accepted records re-encode byte for byte, and a record whose
/// public half verifies under Bob's identity key holds Bob's public key.
pub fn parse_key_record(data: &[u8]) {
    let f = fixture();
    let bob = f.bob.public_key();
    if let Ok(k) = SignedPreKeyPair::from_bytes(data) {
        assert_eq!(k.to_bytes().as_bytes(), data);
        if k.public().verify(bob).is_ok() {
            assert_eq!(k.public(), f.spk.public());
        }
    }
    if let Ok(k) = OneTimePreKeyPair::from_bytes(data) {
        assert_eq!(k.to_bytes().as_bytes(), data);
    }
    if let Ok(k) = KemPreKeyPair::from_bytes(data) {
        assert_eq!(k.to_bytes().as_bytes(), data);
        if k.public().verify(bob).is_ok() {
            assert_eq!(k.public(), f.kem.public());
        }
    }
}

/// The committed seeds of `parse_key_record`, by file name: the fixture's
/// three key records.
pub fn key_record_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let f = fixture();
    vec![
        ("fixture-signed-prekey", f.spk.to_bytes().to_vec()),
        ("fixture-one-time-prekey", f.opk.to_bytes().to_vec()),
        ("fixture-kem-prekey", f.kem.to_bytes().to_vec()),
    ]
}

/// Routing without decryption: anything the recipient's decoder accepts,
/// the router accepts too, with the same kind and prekey ids.
pub fn route(data: &[u8]) {
    let routed = route_message(data);
    match IncomingMessage::from_bytes(data) {
        Ok(IncomingMessage::Message(_)) => {
            let r = routed.unwrap();
            assert_eq!(r.kind(), kinseal::MessageKind::Message);
            assert!(r.prekeys().is_none());
        }
        Ok(IncomingMessage::PreKey(m)) => {
            let r = routed.unwrap();
            assert_eq!(r.kind(), kinseal::MessageKind::PreKeyMessage);
            let ids = r.prekeys().unwrap();
            assert_eq!(ids.signed_prekey_id(), m.signed_prekey_id());
            assert_eq!(ids.one_time_prekey_id(), m.one_time_prekey_id());
            assert_eq!(ids.kem_prekey_id(), m.kem_prekey_id());
        }
        Err(_) => {}
    }
}

/// Decryption on a fixed session of (possibly) modified genuine messages:
/// only the unmodified message may decrypt, to its plaintext; every failure
/// leaves the session unchanged.
pub fn decrypt(data: &[u8]) {
    let Some((&which, edits)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let (original, expected) = &f.to_alice[usize::from(which) % f.to_alice.len()];
    let bytes = mutate(original, edits);
    let mut s = Session::from_bytes(&f.alice_record).unwrap();
    let before = s.to_bytes();
    match s.decrypt(&bytes) {
        Ok(p) => {
            assert_eq!(&bytes, original, "a modified message was accepted");
            assert_eq!(Ok(p), *expected);
        }
        Err(e) => {
            assert_eq!(
                s.to_bytes(),
                before,
                "failed decryption changed the session"
            );
            if &bytes == original {
                assert!(expected.is_err(), "a genuine message failed: {e}");
                assert!(matches!(
                    e,
                    Error::Protocol(ProtocolError::Duplicate { .. })
                ));
            }
        }
    }
}

/// Responder setup from a (possibly) modified first message.
pub fn respond(data: &[u8]) {
    let f = fixture();
    let bytes = mutate(&f.prekey_message, data);
    let result = PreKeyMessage::from_bytes(&bytes).and_then(|m| {
        Session::respond(
            &f.bob,
            &f.spk,
            Some(&f.opk),
            &f.kem,
            &m,
            SessionConfig::default(),
        )
    });
    match result {
        Ok(inbound) => {
            assert_eq!(
                bytes, f.prekey_message,
                "a modified first message was accepted"
            );
            assert_eq!(inbound.plaintext, b"hello");
        }
        Err(_) => assert_ne!(bytes, f.prekey_message, "the genuine first message failed"),
    }
}

struct Party {
    session: Option<Session>,
    /// Ids of messages this party has decrypted, in its current lineage.
    decrypted: HashSet<usize>,
    /// Distinct ratchet keys seen from the peer; past the old-chain bound
    /// a genuine late message may legitimately be undecryptable.
    peer_keys: HashSet<[u8; 32]>,
}

/// A two-party conversation driven by the input: each pair of bytes is an
/// action. Checks: no panic; a decrypted plaintext is exactly what was sent
/// with those bytes; a genuine message decrypts at most once per state
/// lineage, and (while no rollback happened and no bound can bite) exactly
/// once when delivered; every failure leaves the state unchanged.
pub fn two_party(data: &[u8]) {
    let f = fixture();
    let config = roomy_config();
    let mut r = rng(3);
    let mut parties = [
        Party {
            session: Some(Session::from_bytes(&f.alice_initial).unwrap()),
            decrypted: HashSet::new(),
            peer_keys: HashSet::new(),
        },
        Party {
            session: None,
            decrypted: HashSet::new(),
            peer_keys: HashSet::new(),
        },
    ];
    // (sender index, bytes, message id); sent[id] = (sender, plaintext).
    let mut flight: Vec<(usize, Vec<u8>, usize)> = Vec::new();
    let mut sent: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut saved: Vec<(usize, Vec<u8>, HashSet<usize>)> = Vec::new();
    let mut rolled_back = false;

    for action in data.chunks_exact(2) {
        let (op, arg) = (action[0] % 10, usize::from(action[1]));
        match op {
            0 | 1 => {
                let from = usize::from(op);
                let Some(s) = parties[from].session.as_mut() else {
                    continue;
                };
                let id = sent.len();
                let plaintext = format!("{from}:{id}").into_bytes();
                let bytes = s.encrypt(&mut r, &plaintext).unwrap();
                sent.push((from, plaintext));
                flight.push((from, bytes, id));
            }
            2..=6 if flight.is_empty() => {}
            2 => {
                let (from, bytes, id) = flight.remove(arg % flight.len());
                deliver(
                    f,
                    &config,
                    &mut parties[1 - from],
                    &bytes,
                    Some(id),
                    &sent,
                    rolled_back,
                );
            }
            3 => {
                flight.remove(arg % flight.len());
            }
            4 => {
                let copy = flight[arg % flight.len()].clone();
                flight.push(copy);
            }
            5 => {
                let (from, bytes, _) = &flight[arg % flight.len()];
                let edits = [0, action[1], action[0] | 0x10];
                let tampered = mutate(bytes, &edits);
                let to = 1 - *from;
                deliver(
                    f,
                    &config,
                    &mut parties[to],
                    &tampered,
                    None,
                    &sent,
                    rolled_back,
                );
            }
            6 => {
                let k = arg % flight.len();
                let last = flight.len() - 1;
                flight.swap(k, last);
            }
            7 => {
                let p = &mut parties[arg & 1];
                if let Some(s) = p.session.as_mut() {
                    let bytes = s.to_bytes();
                    let restored = Session::from_bytes(&bytes).unwrap();
                    assert_eq!(restored.to_bytes(), bytes);
                    *s = restored;
                }
            }
            8 => {
                let p = &parties[arg & 1];
                if let Some(s) = &p.session {
                    saved.push((arg & 1, s.to_bytes().to_vec(), p.decrypted.clone()));
                }
            }
            _ => {
                if saved.is_empty() {
                    continue;
                }
                let (who, bytes, decrypted) = saved[arg % saved.len()].clone();
                parties[who].session = Some(Session::from_bytes(&bytes).unwrap());
                parties[who].decrypted = decrypted;
                rolled_back = true;
            }
        }
    }
}

fn deliver(
    f: &Fixture,
    config: &SessionConfig,
    to: &mut Party,
    bytes: &[u8],
    id: Option<usize>,
    sent: &[(usize, Vec<u8>)],
    rolled_back: bool,
) {
    if let Ok(m) = IncomingMessage::from_bytes(bytes) {
        let key = match &m {
            IncomingMessage::Message(m) => *m.ratchet_key(),
            IncomingMessage::PreKey(p) => *p.base_key(),
        };
        if id.is_some() {
            to.peer_keys.insert(key);
        }
    }
    let before = to.session.as_ref().map(|s| s.to_bytes());
    let result = match to.session.as_mut() {
        Some(s) => s.decrypt(bytes),
        None => PreKeyMessage::from_bytes(bytes)
            .and_then(|m| {
                Session::respond(&f.bob, &f.spk, Some(&f.opk), &f.kem, &m, config.clone())
            })
            .map(|inbound| {
                to.session = Some(inbound.session);
                inbound.plaintext
            }),
    };
    match (result, id) {
        (Ok(p), Some(id)) => {
            assert_eq!(p, sent[id].1, "decrypted to something that was not sent");
            assert!(to.decrypted.insert(id), "a message decrypted twice");
        }
        (Ok(_), None) => panic!("a tampered message was accepted"),
        (Err(e), id) => {
            assert_eq!(
                to.session.as_ref().map(|s| s.to_bytes()),
                before,
                "failure changed state"
            );
            let bounded = to.peer_keys.len() > kinseal::MAX_OLD_CHAINS_LIMIT as usize;
            if let Some(id) = id
                && !rolled_back
                && !bounded
                && !to.decrypted.contains(&id)
            {
                panic!("a genuine message delivered within the bounds failed: {e}");
            }
        }
    }
}
