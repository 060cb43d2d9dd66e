//! Paths only a holder of the signing key reaches: a signed message whose
//! AEAD fails, or whose padding is bad, must change nothing.

use super::message::{associated_data, embedded_sender};
use super::*;
use crate::crypto::{kdf, labels};
use crate::error::{Error, ProtocolError};
use crate::keys::sign;
use crate::limits::GROUP_MESSAGE_HEADER_LEN;
use crate::ratchet::MessageKeySeed;
use crate::wire::GroupHeaderFrame;
use crate::{DeviceAddress, OsRng};

/// A message at the sender's current iteration whose padded body is
/// `body` (sealed properly unless `break_tag`), signed properly.
fn signed(sender: &SenderKey, from: &DeviceAddress, body: &[u8], break_tag: bool) -> Vec<u8> {
    let parts = sender.parts();
    let mut out = Vec::new();
    GroupHeaderFrame {
        group_id: *parts.0.as_bytes(),
        epoch: parts.1,
        key_id: parts.2,
        iteration: parts.3,
    }
    .write(&mut out, body.len() + 16);
    let who = embedded_sender(from);
    let ad = associated_data(parts.0.as_bytes(), parts.1, &who, &out);
    let (seed, _) = kdf::group_chain_step(parts.4);
    let key = MessageKeySeed::new(seed).expand_group();
    let mut sealed = body.to_vec();
    let mut tag = key.encrypt(&ad, &mut sealed).unwrap();
    if break_tag {
        tag[0] ^= 1;
    }
    out.extend_from_slice(&sealed);
    out.extend_from_slice(&tag);
    let sig = sign(parts.5, labels::SIG_GROUP_MESSAGE, &[&who, &out]);
    out.extend_from_slice(&sig);
    assert_eq!(out.len(), GROUP_MESSAGE_HEADER_LEN + body.len() + 16 + 64);
    out
}

#[test]
fn a_signed_message_that_fails_later_changes_nothing() {
    let from = DeviceAddress::new(b"app", b"alice", 1).unwrap();
    let mut sender = SenderKey::generate(&mut OsRng, GroupId::generate(&mut OsRng), 0);
    let mut receiver = ReceivedSenderKey::from_distribution(&sender.distribution(), &from);
    let at_zero = SenderKey::from_bytes(&sender.to_secret_bytes()).unwrap();
    // Iteration 0 is skipped, so its key sits in the store.
    let _ = sender.encrypt(&from, b"zero").unwrap();
    let m1 = sender.encrypt(&from, b"one").unwrap();
    assert_eq!(receiver.decrypt(&from, &m1).unwrap(), b"one");
    assert_eq!(receiver.skipped_keys(), 1);

    // From the store (iteration 0) and forward (iteration 2).
    for key in [&at_zero, &sender] {
        for (body, break_tag, want) in [
            (vec![1u8; 32], true, Error::DecryptionFailed),
            (
                vec![0u8; 32],
                false,
                Error::Protocol(ProtocolError::InvalidPadding),
            ),
            (
                vec![0x80, 1],
                false,
                Error::Protocol(ProtocolError::InvalidPadding),
            ),
        ] {
            let bytes = signed(key, &from, &body, break_tag);
            let before = receiver.to_secret_bytes();
            assert_eq!(receiver.decrypt(&from, &bytes).unwrap_err(), want);
            assert_eq!(receiver.to_secret_bytes(), before);
        }
    }
    // The same construction, sound, decrypts: the test builds real messages.
    let mut good = vec![b'o', b'k', 0x80];
    good.resize(160, 0);
    for key in [&at_zero, &sender] {
        let bytes = signed(key, &from, &good, false);
        assert_eq!(receiver.decrypt(&from, &bytes).unwrap(), b"ok");
    }
    assert_eq!(receiver.skipped_keys(), 0);
}

#[test]
fn group_keys_are_not_pairwise_keys() {
    let ck = [0x42u8; 32];
    let (gs, gn) = kdf::group_chain_step(&ck);
    let (ps, pn) = kdf::chain_step(&ck);
    assert_ne!(*gs, *ps);
    assert_ne!(*gn, *pn);
    assert_ne!(
        kdf::group_message_key(&gs).to_okm(),
        kdf::message_key(&gs).to_okm()
    );
}

/// A checked key handed in for other bytes is not used: the record's own
/// key bytes are decoded and checked, so a cache cannot stand in one
/// sender's key for another's.
#[test]
fn a_checked_key_stands_in_only_for_its_own_bytes() {
    let from = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let group = GroupId::generate(&mut OsRng);
    let (alice, mallory) = (
        SenderKey::generate(&mut OsRng, group, 0),
        SenderKey::generate(&mut OsRng, group, 0),
    );
    let received = ReceivedSenderKey::from_distribution(&alice.distribution(), &from);
    let other = *ReceivedSenderKey::from_distribution(&mallory.distribution(), &from).signing_key();
    let bytes = received.to_secret_bytes();
    let decoded = ReceivedSenderKey::from_bytes_with(bytes.as_bytes(), |_| Some(other)).unwrap();
    assert_eq!(decoded.signing_key(), received.signing_key());
    assert_ne!(decoded.signing_key(), &other);
    // And with the right key handed in, it is the one decoded.
    let same = *received.signing_key();
    let decoded = ReceivedSenderKey::from_bytes_with(bytes.as_bytes(), |_| Some(same)).unwrap();
    assert_eq!(decoded.signing_key(), &same);
}
