//! Routing a `Message` to the one session it can belong to, without
//! decoding (or trying) any other.
//!
//! The signal that a session was not decoded is behavioural: the sessions
//! that must not be touched are replaced by records that are not sessions
//! at all, so decoding one fails with a decode error instead of the
//! `DecryptionFailed` a routed forgery gets.

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::wire::Frame;
use crate::{
    IdentityKeyPair, KemPreKeyPair, PreKeyBundle, PreKeyMessage, SessionConfig, SignedPreKeyPair,
};

/// Offset of a `Message`'s receiver hint (PROTOCOL.md §4.2).
const HINT_AT: usize = 34;

/// Alice's and Bob's sessions after Alice's first message and Bob's
/// reply, so that Alice's next message is a `Message` on a new chain
/// answering Bob's ratchet key.
fn answered_pair(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let bob = IdentityKeyPair::generate(rng);
    let spk = SignedPreKeyPair::generate(rng, &bob, 1, 100);
    let kem = KemPreKeyPair::generate(rng, &bob, 2, true, 100);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        None,
        kem.public().clone(),
    )
    .verify()
    .unwrap();
    let alice = IdentityKeyPair::generate(rng);
    let mut a = Session::initiate(rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let first = PreKeyMessage::from_bytes(&a.encrypt(rng, b"first").unwrap()).unwrap();
    let mut b = Session::respond(&bob, &spk, None, &kem, &first, SessionConfig::default())
        .unwrap()
        .session;
    let reply = b.encrypt(rng, b"reply").unwrap();
    assert_eq!(a.decrypt(&reply).unwrap(), b"reply");
    (a, b)
}

fn message(bytes: &[u8]) -> IncomingMessage {
    let m = IncomingMessage::from_bytes(bytes).unwrap();
    assert!(matches!(m, IncomingMessage::Message(_)));
    m
}

/// A set of Bob's sessions, most recent (the last given) first, as read
/// back from its record: nothing decoded yet.
fn stored(bobs: Vec<Session>) -> (SessionSet, Zeroizing<Vec<u8>>) {
    let mut set = SessionSet::default();
    for b in bobs {
        set.push_current(b, 1);
    }
    let bytes = set.encode();
    (SessionSet::decode(&bytes).unwrap(), bytes)
}

/// The record with every session but the one at `keep` replaced by bytes
/// that do not decode as a session; the routing keys stay.
fn only_decodable(bytes: &[u8], keep: Option<usize>) -> SessionSet {
    let mut frame = SessionSetFrame::decode(bytes).unwrap();
    for (i, e) in frame.entries.iter_mut().enumerate() {
        if Some(i) != keep {
            e.session = b"not a session";
        }
    }
    SessionSet::decode(&frame.to_vec()).unwrap()
}

fn decoded(set: &SessionSet) -> Vec<usize> {
    (0..set.entries.len())
        .filter(|&i| set.entries[i].decoded.is_some())
        .collect()
}

fn ids(set: &mut SessionSet) -> Vec<HandshakeId> {
    set.entries
        .iter_mut()
        .map(|e| *e.session().unwrap().handshake_id())
        .collect()
}

#[test]
fn a_forgery_is_tried_on_the_one_session_it_names_and_no_other() {
    let mut rng = ChaCha20Rng::from_seed([13; 32]);
    let count = crate::limits::MAX_SESSIONS_PER_SET;
    let (mut alices, mut bobs): (Vec<_>, Vec<_>) =
        (0..count).map(|_| answered_pair(&mut rng)).unzip();
    // Bob's routing keys, read before the set takes the sessions.
    let bob_keys: Vec<[u8; 32]> = bobs.iter().map(|b| *b.our_ratchet_key().unwrap()).collect();
    // The pushed order puts Alice i's session at index count - 1 - i.
    let archived = 7;
    let at = count - 1 - archived;
    // Alice 7 starts a new chain (her first message after Bob's reply),
    // which Bob's session, archived, knows from then on.
    let opening = alices[archived].encrypt(&mut rng, b"hello").unwrap();
    assert_eq!(bobs[archived].decrypt(&opening).unwrap(), b"hello");
    let (_, bytes) = stored(bobs);
    let (mut stranger, _) = answered_pair(&mut rng);
    let honest_elsewhere = stranger.encrypt(&mut rng, b"not for Bob").unwrap();

    // Unknown ratchet key, a hint that fits no session: nothing is
    // decoded. (Trying any session would decode a non-session and fail
    // with a decode error instead.)
    let mut set = only_decodable(&bytes, None);
    let forged = message(&honest_elsewhere);
    assert_eq!(set.decrypt(None, &forged, 2), Err(Error::DecryptionFailed));
    assert_eq!(decoded(&set), Vec::<usize>::new());

    // Unknown ratchet key whose hint names one archived session: that one
    // is tried (its header tag fails), no other.
    let mut hinted = honest_elsewhere.clone();
    hinted[HINT_AT..HINT_AT + 4].copy_from_slice(&bob_keys[archived][..4]);
    let mut set = only_decodable(&bytes, Some(at));
    assert_eq!(
        set.decrypt(None, &message(&hinted), 2),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(decoded(&set), vec![at]);

    // A known ratchet key of an archived session's chain, altered body: it
    // goes to that session only, fails there, and nothing moved.
    let mut on_chain = alices[archived].encrypt(&mut rng, b"on chain").unwrap();
    let next = alices[archived].encrypt(&mut rng, b"again").unwrap();
    let last = on_chain.len() - 1;
    on_chain[last] ^= 1;
    let mut set = only_decodable(&bytes, Some(at));
    assert_eq!(
        set.decrypt(None, &message(&on_chain), 2),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(decoded(&set), vec![at]);
    assert_eq!(
        set.encode()[..],
        only_decodable(&bytes, Some(at)).encode()[..]
    );
    // The honest message on that chain still decrypts there.
    assert_eq!(set.decrypt(None, &message(&next), 3).unwrap(), b"again");
}

#[test]
fn honest_messages_on_archived_sessions_decrypt_and_promote() {
    let mut rng = ChaCha20Rng::from_seed([14; 32]);
    let (mut alices, bobs): (Vec<_>, Vec<_>) = (0..3).map(|_| answered_pair(&mut rng)).unzip();
    let hid: Vec<HandshakeId> = bobs.iter().map(|b| *b.handshake_id()).collect();
    let (mut set, _) = stored(bobs);
    assert_eq!(ids(&mut set), vec![hid[2], hid[1], hid[0]]);

    // A new chain of Alice 0 (routed by its hint): decrypts on the oldest
    // archived session, which becomes current (rule 2).
    let m = alices[0].encrypt(&mut rng, b"zero").unwrap();
    assert_eq!(set.decrypt(None, &message(&m), 5).unwrap(), b"zero");
    assert_eq!(ids(&mut set), vec![hid[0], hid[2], hid[1]]);
    // Then on the chain it knows (routed by the ratchet key), after the
    // set went through its record: the routing keys were updated.
    let bytes = set.encode();
    let mut set = SessionSet::decode(&bytes).unwrap();
    let m = alices[0].encrypt(&mut rng, b"zero again").unwrap();
    assert_eq!(set.decrypt(None, &message(&m), 6).unwrap(), b"zero again");
    assert_eq!(decoded(&set), vec![0]);
    assert_eq!(ids(&mut set), vec![hid[0], hid[2], hid[1]]);

    // Bob answers on session 2 (archived), then Alice 2's new chain
    // answers Bob's new ratchet key: routed by the hint of the key the
    // record now holds, and promoted.
    let m = alices[2].encrypt(&mut rng, b"two").unwrap();
    assert_eq!(set.decrypt(None, &message(&m), 7).unwrap(), b"two");
    assert_eq!(ids(&mut set), vec![hid[2], hid[0], hid[1]]);
    let reply = set.entries[0]
        .session()
        .unwrap()
        .encrypt(&mut rng, b"to two")
        .unwrap();
    set.entries[0].touch(8);
    assert_eq!(alices[2].decrypt(&reply).unwrap(), b"to two");
    let bytes = set.encode();
    let mut set = SessionSet::decode(&bytes).unwrap();
    let m = alices[2].encrypt(&mut rng, b"two, new chain").unwrap();
    assert_eq!(
        set.decrypt(None, &message(&m), 9).unwrap(),
        b"two, new chain"
    );
    assert_eq!(decoded(&set), vec![0]);
    // A duplicate is reported by the session it belongs to.
    assert_eq!(
        set.decrypt(None, &message(&m), 9),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );
}

#[test]
fn a_record_whose_routing_keys_are_not_its_sessions_is_refused() {
    let mut rng = ChaCha20Rng::from_seed([15; 32]);
    let (_, bob) = answered_pair(&mut rng);
    let (_, bytes) = stored(vec![bob]);
    let mut frame = SessionSetFrame::decode(&bytes).unwrap();
    frame.entries[0].receiving_keys[0][0] ^= 1;
    let mut set = SessionSet::decode(&frame.to_vec()).unwrap();
    assert!(matches!(
        set.entries[0].session(),
        Err(Error::Storage(StorageError::InvalidRecord {
            table: "sessions"
        }))
    ));
    let mut frame = SessionSetFrame::decode(&bytes).unwrap();
    frame.entries[0].our_ratchet_key = None;
    let mut set = SessionSet::decode(&frame.to_vec()).unwrap();
    assert!(set.entries[0].session().is_err());
}
