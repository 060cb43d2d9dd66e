//! Routing a `Message` to the one session it can belong to, and a
//! `PreKeyMessage` to the one its handshake id names, and applying rules 1
//! and 2, without decoding (or trying) any other session.
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

/// Alice's session with a fresh Bob (pending: she has sent nothing yet)
/// and Bob's keys to answer it with.
fn started(rng: &mut ChaCha20Rng) -> (Session, IdentityKeyPair, SignedPreKeyPair, KemPreKeyPair) {
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
    let a = Session::initiate(rng, &alice, &bundle, SessionConfig::default()).unwrap();
    (a, bob, spk, kem)
}

/// Bob's session answering Alice's first message, and Alice's second
/// `PreKeyMessage` on that session (sent before she heard back).
fn answered_twice(rng: &mut ChaCha20Rng) -> (Session, Vec<u8>) {
    let (mut a, bob, spk, kem) = started(rng);
    let first = PreKeyMessage::from_bytes(&a.encrypt(rng, b"first").unwrap()).unwrap();
    let second = a.encrypt(rng, b"second").unwrap();
    let b = Session::respond(&bob, &spk, None, &kem, &first, SessionConfig::default())
        .unwrap()
        .session;
    (b, second)
}

/// Alice's and Bob's sessions after Alice's first message and Bob's
/// reply, so that Alice's next message is a `Message` on a new chain
/// answering Bob's ratchet key.
fn answered_pair(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let (mut a, bob, spk, kem) = started(rng);
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

fn prekey_message(bytes: &[u8]) -> IncomingMessage {
    let m = IncomingMessage::from_bytes(bytes).unwrap();
    assert!(matches!(m, IncomingMessage::PreKey(_)));
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
    // A handshake id or pending flag that is not the session's: refused
    // when the session is decoded, so a `PreKeyMessage` routed by it
    // never reaches another session.
    let refused = |frame: SessionSetFrame<'_>| {
        let mut set = SessionSet::decode(&frame.to_vec()).unwrap();
        matches!(
            set.entries[0].session(),
            Err(Error::Storage(StorageError::InvalidRecord {
                table: "sessions"
            }))
        )
    };
    let mut frame = SessionSetFrame::decode(&bytes).unwrap();
    frame.entries[0].handshake_id[0] ^= 1;
    assert!(refused(frame));
    let mut frame = SessionSetFrame::decode(&bytes).unwrap();
    frame.entries[0].pending = !frame.entries[0].pending;
    assert!(refused(frame));
    // Unaltered, it decodes.
    let mut set = SessionSet::decode(&bytes).unwrap();
    assert!(set.entries[0].session().is_ok());
}

#[test]
fn a_prekey_message_finds_its_session_among_many_and_decodes_no_other() {
    let mut rng = ChaCha20Rng::from_seed([16; 32]);
    let count = crate::limits::MAX_SESSIONS_PER_SET;
    let (bobs, seconds): (Vec<_>, Vec<_>) = (0..count).map(|_| answered_twice(&mut rng)).unzip();
    let hid: Vec<HandshakeId> = bobs.iter().map(|b| *b.handshake_id()).collect();
    let (_, bytes) = stored(bobs);
    // The pushed order puts handshake i at index count - 1 - i.
    let archived = 5;
    let at = count - 1 - archived;

    // A handshake id no session has (a new handshake, or a forgery): the
    // answer comes from the stored ids, with every session undecodable.
    let (mut stranger, _, _, _) = started(&mut rng);
    let unknown = PreKeyMessage::from_bytes(&stranger.encrypt(&mut rng, b"new").unwrap()).unwrap();
    let set = only_decodable(&bytes, None);
    assert_eq!(set.find_handshake(&unknown.handshake_id()), None);
    for (i, id) in hid.iter().enumerate() {
        assert_eq!(set.find_handshake(id), Some(count - 1 - i));
    }
    assert_eq!(decoded(&set), Vec::<usize>::new());

    // A later `PreKeyMessage` of an archived session's handshake decrypts
    // there; deciding rule 2 needs no other session (the current one is
    // not pending: it answered), so nothing else is decoded or moved.
    let mut set = only_decodable(&bytes, Some(at));
    let only = set.find_handshake(&hid[archived]);
    assert_eq!(only, Some(at));
    let m = prekey_message(&seconds[archived]);
    assert_eq!(set.decrypt(only, &m, 2).unwrap(), b"second");
    assert_eq!(decoded(&set), vec![at]);
    assert_eq!(set.entries[at].handshake_id(), &hid[archived]);
    assert_eq!(set.entries[0].handshake_id(), &hid[count - 1]);
}

/// A pending session of Bob's (he started it) whose handshake id is
/// below `bound` if `below`, above it otherwise.
fn pending_beside(rng: &mut ChaCha20Rng, bound: &HandshakeId, below: bool) -> Session {
    loop {
        let (a, _, _, _) = started(rng);
        assert!(a.sends_prekey_messages());
        if (a.handshake_id() < bound) == below {
            return a;
        }
    }
}

#[test]
fn rule_1_decides_from_the_stored_id_and_pending_flag() {
    let mut rng = ChaCha20Rng::from_seed([17; 32]);
    for current_smaller in [true, false] {
        let (answered, _) = answered_twice(&mut rng);
        let new_id = *answered.handshake_id();
        let current = pending_beside(&mut rng, &new_id, current_smaller);
        let current_id = *current.handshake_id();
        let (_, bytes) = stored(vec![current]);
        let mut set = only_decodable(&bytes, None);
        set.insert_answered(answered, 2);
        let order: Vec<HandshakeId> = set.entries.iter().map(|e| *e.handshake_id()).collect();
        let expected = match current_smaller {
            // The pending session with the smaller id stays current.
            true => vec![current_id, new_id],
            false => vec![new_id, current_id],
        };
        assert_eq!(order, expected);
        assert_eq!(decoded(&set), vec![usize::from(current_smaller)]);
    }
}

#[test]
fn rule_2_promotes_a_prekey_message_copy_from_the_stored_ids_alone() {
    let mut rng = ChaCha20Rng::from_seed([18; 32]);
    for archived_smaller in [true, false] {
        let (answered, second) = answered_twice(&mut rng);
        let answered_id = *answered.handshake_id();
        let current = pending_beside(&mut rng, &answered_id, !archived_smaller);
        let current_id = *current.handshake_id();
        // The answered session archived, the pending one current.
        let (_, bytes) = stored(vec![answered, current]);
        let mut set = only_decodable(&bytes, Some(1));
        assert_eq!(set.find_handshake(&answered_id), Some(1));
        let m = prekey_message(&second);
        assert_eq!(set.decrypt(Some(1), &m, 2).unwrap(), b"second");
        let order: Vec<HandshakeId> = set.entries.iter().map(|e| *e.handshake_id()).collect();
        let expected = match archived_smaller {
            // The current session is pending with the larger id: the
            // other device keeps the answered one (rule 1), so does this.
            true => vec![answered_id, current_id],
            false => vec![current_id, answered_id],
        };
        assert_eq!(order, expected);
        assert_eq!(decoded(&set), vec![usize::from(!archived_smaller)]);
    }
}

#[test]
fn the_stored_id_and_pending_flag_follow_the_session() {
    let mut rng = ChaCha20Rng::from_seed([19; 32]);
    let (mut a, bob, spk, kem) = started(&mut rng);
    let first = PreKeyMessage::from_bytes(&a.encrypt(&mut rng, b"first").unwrap()).unwrap();
    let mut b = Session::respond(&bob, &spk, None, &kem, &first, SessionConfig::default())
        .unwrap()
        .session;
    let reply = b.encrypt(&mut rng, b"reply").unwrap();
    let (mut set, _) = stored(vec![a]);
    assert!(set.entries[0].pending());
    assert_eq!(set.entries[0].handshake_id(), &first.handshake_id());
    // Decrypting the reply ends the pending state, in the route at once
    // and in the record written.
    assert_eq!(set.decrypt(None, &message(&reply), 2).unwrap(), b"reply");
    assert!(!set.entries[0].pending());
    let bytes = set.encode();
    let frame = SessionSetFrame::decode(&bytes).unwrap();
    assert!(!frame.entries[0].pending);
    assert_eq!(
        frame.entries[0].handshake_id,
        *first.handshake_id().as_bytes()
    );
    let mut set = SessionSet::decode(&bytes).unwrap();
    assert!(!set.entries[0].session().unwrap().sends_prekey_messages());
}
