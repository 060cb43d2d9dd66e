//! Envelopes, addresses and prekey counts through the public API: a real
//! session's messages travel in envelopes and come out decryptable; an
//! envelope refuses what is not a message; it checks structure only.

use crate::common;

use common::*;
use kinseal::server::{PreKeyCounts, route};
use kinseal::{
    DecodeError, DeviceAddress, Envelope, Error, IncomingMessage, MessageKind, UserAddress,
    WireType,
};
use proptest::prelude::*;

fn alice() -> DeviceAddress {
    DeviceAddress::new(b"chirp", b"alice", 1).unwrap()
}

fn bob() -> DeviceAddress {
    DeviceAddress::new(b"parley", b"bob@parley.example", 7).unwrap()
}

#[test]
fn a_conversation_travels_in_envelopes() {
    let mut rng = rng(900);
    let (_, mut p) = pair(&mut rng);
    // Alice's first message, then Bob's reply.
    let first = Envelope::new(alice(), bob(), p.first.clone()).unwrap();
    let reply_bytes = p.bob.encrypt(&mut rng, b"hi alice").unwrap();
    let reply = Envelope::new(bob(), alice(), reply_bytes).unwrap();
    for (e, kind) in [
        (&first, MessageKind::PreKeyMessage),
        (&reply, MessageKind::Message),
    ] {
        let back = Envelope::from_bytes(&e.to_bytes()).unwrap();
        assert_eq!(&back, e);
        assert_eq!(back.message_kind(), kind);
        assert_eq!(route(back.message()).unwrap().kind(), kind);
    }
    let received = Envelope::from_bytes(&reply.to_bytes()).unwrap();
    assert_eq!(received.sender(), &bob());
    assert_eq!(received.recipient(), &alice());
    assert!(matches!(
        received.decode_message().unwrap(),
        IncomingMessage::Message(_)
    ));
    assert_eq!(p.alice.decrypt(received.message()).unwrap(), b"hi alice");
    assert_eq!(
        format!("{received:?}"),
        format!(
            "Envelope {{ sender: parley:bob@parley.example/7, recipient: chirp:alice/1, \
             kind: Message, message_len: {} }}",
            received.message().len()
        )
    );
}

#[test]
fn only_a_well_formed_message_goes_in_an_envelope() {
    let mut rng = rng(901);
    let (_, p) = pair(&mut rng);
    let short = Envelope::new(alice(), bob(), p.first[..82].to_vec());
    assert_eq!(
        short,
        Err(Error::Decode(DecodeError::LengthOutOfRange {
            wire_type: WireType::Envelope,
            min: 83,
            max: 271_554,
            found: 82
        }))
    );
    let mut cut = p.first.clone();
    cut.pop();
    assert!(matches!(
        Envelope::new(alice(), bob(), cut),
        Err(Error::Decode(DecodeError::Truncated {
            wire_type: WireType::Message,
            ..
        }))
    ));
    // A bundle is not a message.
    let bundle = Bob::new(&mut rng).bundle(BundleChoice::FULL).to_bytes();
    assert_eq!(
        Envelope::new(alice(), bob(), bundle),
        Err(Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::Message,
            found: 0x03
        }))
    );
}

#[test]
fn an_envelope_checks_structure_and_the_recipient_checks_keys() {
    let mut rng = rng(902);
    let (_, mut p) = pair(&mut rng);
    let mut message = p.bob.encrypt(&mut rng, b"x").unwrap();
    message[2..34].fill(0xff); // not a canonical X25519 encoding
    let e = Envelope::new(bob(), alice(), message).unwrap();
    let back = Envelope::from_bytes(&e.to_bytes()).unwrap();
    assert!(matches!(
        back.decode_message(),
        Err(Error::Decode(DecodeError::InvalidKey { .. }))
    ));
}

#[test]
fn prekey_counts_round_trip_through_their_bytes() {
    for (one_time, kem) in [(0, 0), (9, 100), (5_000, 1_000), (u32::MAX as usize, 0)] {
        let c = PreKeyCounts::new(one_time, kem);
        assert_eq!(c.to_bytes().len(), kinseal::wire::PREKEY_COUNTS_LEN);
        assert_eq!(PreKeyCounts::from_bytes(&c.to_bytes()).unwrap(), c);
    }
}

proptest! {
    #[test]
    fn every_envelope_round_trips(
        app in proptest::collection::vec(any::<u8>(), 1..=64),
        user in proptest::collection::vec(any::<u8>(), 1..=256),
        device in any::<u32>(),
        reply in any::<bool>(),
    ) {
        let from = DeviceAddress::new(&app, &user, device).unwrap();
        let message = message_bytes(reply);
        let e = Envelope::new(from.clone(), alice(), message.clone()).unwrap();
        let bytes = e.to_bytes();
        let back = Envelope::from_bytes(&bytes).unwrap();
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(back.sender(), &from);
        prop_assert_eq!(back.into_message(), message);
        prop_assert_eq!(&UserAddress::from_bytes(&from.user().to_bytes()).unwrap(), from.user());
    }
}

/// A `PreKeyMessage` or a `Message` of one session, made once.
fn message_bytes(reply: bool) -> Vec<u8> {
    static MESSAGES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    let (first, second) = MESSAGES.get_or_init(|| {
        let mut rng = rng(903);
        let (_, mut p) = pair(&mut rng);
        let reply = p.bob.encrypt(&mut rng, b"reply").unwrap();
        (p.first, reply)
    });
    if reply { second.clone() } else { first.clone() }
}
