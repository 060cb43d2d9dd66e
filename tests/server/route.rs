//! Routing: `route` on valid messages and on malformed ones.

use crate::directory::{alice, bob, rng};

use std::sync::OnceLock;

use kinseal::server::{MAX_MESSAGE_LEN, MIN_MESSAGE_LEN, TYPE_PREKEY_UPLOAD, route};
use kinseal::{
    DecodeError, Error, IdentityKeyPair, MAX_PLAINTEXT_LEN, MessageKind, Padding, PreKeyBundle,
    PreKeyMessage, Session, SessionConfig, WireType,
};

pub(crate) struct Conversation {
    /// The first message, with a one-time prekey.
    pub(crate) first: Vec<u8>,
    /// A `PreKeyMessage` of a session set up without one.
    pub(crate) first_without_opk: Vec<u8>,
    /// A ratchet message: the responder's reply, empty and padded by default.
    pub(crate) reply: Vec<u8>,
    /// The same reply from a responder that does not pad.
    pub(crate) unpadded_reply: Vec<u8>,
}

pub(crate) fn conversation() -> &'static Conversation {
    static C: OnceLock<Conversation> = OnceLock::new();
    C.get_or_init(|| {
        let mut rng = rng(8);
        let b = bob();
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundle = |opk: bool| {
            PreKeyBundle::new(
                b.identity.public_key().clone(),
                b.spk.public().clone(),
                opk.then(|| *b.one_time[0].public()),
                b.kem[0].public().clone(),
            )
            .verify()
            .unwrap()
        };
        let config = SessionConfig::default();
        let mut session =
            Session::initiate(&mut rng, &alice, &bundle(true), config.clone()).unwrap();
        let first = session.encrypt(&mut rng, b"hi").unwrap();
        let message = PreKeyMessage::from_bytes(&first).unwrap();
        let mut inbound = Session::respond(
            &b.identity,
            &b.spk,
            Some(&b.one_time[0]),
            &b.kem[0],
            &message,
            config.clone(),
        )
        .unwrap();
        let reply = inbound.session.encrypt(&mut rng, b"").unwrap();
        let mut unpadded = Session::respond(
            &b.identity,
            &b.spk,
            Some(&b.one_time[0]),
            &b.kem[0],
            &message,
            config.clone().with_padding(Padding::NONE),
        )
        .unwrap();
        let unpadded_reply = unpadded.session.encrypt(&mut rng, b"").unwrap();
        let mut other = Session::initiate(&mut rng, &alice, &bundle(false), config).unwrap();
        let first_without_opk = other.encrypt(&mut rng, b"hello").unwrap();
        Conversation {
            first,
            first_without_opk,
            reply,
            unpadded_reply,
        }
    })
}

#[test]
fn route_reads_kind_version_size_and_prekey_ids() {
    let c = conversation();
    let info = route(&c.first).unwrap();
    assert_eq!(info.kind(), MessageKind::PreKeyMessage);
    assert_eq!(info.version(), 1);
    assert_eq!(info.size(), c.first.len());
    let ids = info.prekeys().unwrap();
    assert_eq!(
        (
            ids.signed_prekey_id(),
            ids.one_time_prekey_id(),
            ids.kem_prekey_id()
        ),
        (1, Some(10), 2)
    );
    let ids = route(&c.first_without_opk).unwrap().prekeys().unwrap();
    assert_eq!(ids.one_time_prekey_id(), None);
    let info = route(&c.reply).unwrap();
    assert_eq!(info.kind(), MessageKind::Message);
    assert_eq!(info.prekeys(), None);
    // An empty reply padded by default is one 160-byte block; unpadded it
    // is the shortest message there is.
    assert_eq!(info.size(), MIN_MESSAGE_LEN - 1 + 160);
    assert_eq!(route(&c.unpadded_reply).unwrap().size(), MIN_MESSAGE_LEN);
}

#[test]
fn route_refuses_malformed_messages() {
    let c = conversation();
    let decode = |bytes: &[u8]| match route(bytes).unwrap_err() {
        Error::Decode(d) => d,
        other => panic!("{other:?}"),
    };
    assert!(matches!(decode(&[]), DecodeError::Truncated { .. }));
    for good in [&c.first, &c.reply] {
        let mut b = good.clone();
        b[0] = 2;
        assert_eq!(decode(&b), DecodeError::UnsupportedVersion { found: 2 });
        // Every proper prefix is truncated; a byte more is trailing.
        for len in 0..good.len() {
            assert!(
                matches!(decode(&good[..len]), DecodeError::Truncated { .. }),
                "prefix {len}"
            );
        }
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            decode(&b),
            DecodeError::TrailingBytes { count: 1, .. }
        ));
    }
    // A bundle, or an upload, is not a message.
    let bundle = PreKeyBundle::new(
        bob().identity.public_key().clone(),
        bob().spk.public().clone(),
        None,
        bob().last_resort.public().clone(),
    )
    .to_bytes();
    assert!(matches!(
        decode(&bundle),
        DecodeError::UnexpectedType { found: 0x03, .. }
    ));
    assert!(matches!(
        decode(&alice().full_upload()),
        DecodeError::UnexpectedType {
            found: TYPE_PREKEY_UPLOAD,
            ..
        }
    ));
    // Suite and flags of a PreKeyMessage.
    let mut b = c.first.clone();
    b[2] = 9;
    assert_eq!(decode(&b), DecodeError::UnsupportedSuite { found: 9 });
    let mut b = c.first.clone();
    b[39] = 2;
    assert!(matches!(
        decode(&b),
        DecodeError::InvalidField {
            field: "one_time_present",
            found: 2,
            ..
        }
    ));
    // A ciphertext length beyond the maximum, however short the input.
    let mut b = c.reply.clone();
    b[46..50].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&b), DecodeError::LengthOutOfRange { .. }));
    // Oversize input is refused before parsing, whatever it holds.
    let huge = vec![0xAB; MAX_MESSAGE_LEN + 1];
    assert_eq!(
        decode(&huge),
        DecodeError::LengthOutOfRange {
            wire_type: WireType::Message,
            min: MIN_MESSAGE_LEN,
            max: MAX_MESSAGE_LEN,
            found: MAX_MESSAGE_LEN + 1,
        }
    );
    // Routing does not validate keys: a message with a non-canonical
    // identity key is routed; its recipient refuses it.
    let mut b = c.first.clone();
    b[3..35].copy_from_slice(&[0xff; 32]);
    route(&b).unwrap();
    assert!(PreKeyMessage::from_bytes(&b).is_err());
}

#[test]
fn the_largest_message_is_max_message_len() {
    let mut rng = rng(10);
    let b = bob();
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::new(
        b.identity.public_key().clone(),
        b.spk.public().clone(),
        Some(*b.one_time[0].public()),
        b.kem[0].public().clone(),
    )
    .verify()
    .unwrap();
    let mut session =
        Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let largest = session
        .encrypt(&mut rng, &vec![0; MAX_PLAINTEXT_LEN])
        .unwrap();
    assert_eq!(largest.len(), MAX_MESSAGE_LEN);
    assert_eq!(route(&largest).unwrap().size(), MAX_MESSAGE_LEN);
}

#[test]
fn a_group_message_is_routed_by_its_group_and_nothing_else() {
    use kinseal::server::route_group;
    use kinseal::{DeviceAddress, GroupId, MAX_GROUP_MESSAGE_LEN, SenderKey};

    let mut rng = rng(31);
    let group = GroupId::generate(&mut rng);
    let sender = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let mut key = SenderKey::generate(&mut rng, group, 7);
    let message = key.encrypt(&sender, b"hello, group").unwrap();
    let info = route_group(&message).unwrap();
    assert_eq!(info.group_id(), group);
    assert_eq!(info.epoch(), 7);
    assert_eq!(info.size(), message.len());

    // Malformed: cut short, a byte left over, another type, too long.
    let decode = |bytes: &[u8]| match route_group(bytes) {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert!(matches!(
        decode(&message[..message.len() - 1]),
        DecodeError::Truncated { .. }
    ));
    let mut long = message.clone();
    long.push(0);
    assert!(matches!(decode(&long), DecodeError::TrailingBytes { .. }));
    assert!(matches!(
        decode(&conversation().reply),
        DecodeError::UnexpectedType { .. }
    ));
    assert!(matches!(
        decode(&vec![0u8; MAX_GROUP_MESSAGE_LEN + 1]),
        DecodeError::LengthOutOfRange {
            wire_type: WireType::GroupMessage,
            ..
        }
    ));
    // And the pairwise router does not take a group message.
    assert!(route(&message).is_err());
}
