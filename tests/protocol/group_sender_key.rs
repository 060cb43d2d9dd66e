//! Sender keys (PROTOCOL.md §16.1–§16.4): a sending chain per device per
//! group, distributed to members, read by receivers that refuse
//! duplicates, forgeries and messages from before they joined, and that
//! change nothing when they refuse.

use kinseal::{
    DecodeError, DeviceAddress, Error, GroupError, GroupId, MAX_GROUP_FORWARD_JUMP,
    MAX_GROUP_SKIPPED_KEYS, ProtocolError, ReceivedSenderKey, SenderKey, SenderKeyDistribution,
};

use crate::common::rng;

fn alice() -> DeviceAddress {
    DeviceAddress::new(b"chat.example", b"alice", 1).unwrap()
}

fn mallory() -> DeviceAddress {
    DeviceAddress::new(b"chat.example", b"mallory", 1).unwrap()
}

struct Setup {
    sender: SenderKey,
    receiver: ReceivedSenderKey,
    /// The distribution the receiver was made from.
    start: SenderKeyDistribution,
}

fn setup(seed: u64) -> Setup {
    let mut rng = rng(seed);
    let group = GroupId::generate(&mut rng);
    let sender = SenderKey::generate(&mut rng, group, 3);
    let dist = SenderKeyDistribution::from_bytes(&sender.distribution().to_secret_bytes()).unwrap();
    let receiver = ReceivedSenderKey::from_distribution(&dist, &alice());
    Setup {
        sender,
        receiver,
        start: dist,
    }
}

fn msg(n: u32) -> Vec<u8> {
    format!("group message {n}").into_bytes()
}

/// Decrypting `bytes` fails with `want` and leaves the state byte-identical.
fn refused(receiver: &mut ReceivedSenderKey, from: &DeviceAddress, bytes: &[u8]) -> Error {
    let before = receiver.to_secret_bytes();
    let err = receiver.decrypt(from, bytes).unwrap_err();
    assert_eq!(
        receiver.to_secret_bytes(),
        before,
        "state changed on {err:?}"
    );
    err
}

#[test]
fn messages_round_trip_in_order() {
    let mut s = setup(1);
    for n in 0..20 {
        let m = s.sender.encrypt(&alice(), &msg(n)).unwrap();
        assert_eq!(s.receiver.decrypt(&alice(), &m).unwrap(), msg(n));
    }
    assert_eq!(s.sender.iteration(), 20);
    assert_eq!(s.receiver.next_iteration(), 20);
    assert_eq!(s.receiver.skipped_keys(), 0);
    // Empty and the largest plaintexts.
    for pt in [vec![], vec![7u8; kinseal::MAX_PLAINTEXT_LEN]] {
        let m = s.sender.encrypt(&alice(), &pt).unwrap();
        assert_eq!(s.receiver.decrypt(&alice(), &m).unwrap(), pt);
    }
    assert!(matches!(
        s.sender
            .encrypt(&alice(), &vec![0; kinseal::MAX_PLAINTEXT_LEN + 1]),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn padding_hides_short_lengths() {
    let mut s = setup(2);
    let a = s.sender.encrypt(&alice(), b"").unwrap();
    let b = s.sender.encrypt(&alice(), &[1; 150]).unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), 55 + 160 + 16 + 64);
}

#[test]
fn reordering_and_loss_decrypt_exactly_once() {
    let mut s = setup(3);
    let ms: Vec<Vec<u8>> = (0..10)
        .map(|n| s.sender.encrypt(&alice(), &msg(n)).unwrap())
        .collect();
    // 9 first (skipping 0..9), then the rest backwards, 4 lost.
    assert_eq!(s.receiver.decrypt(&alice(), &ms[9]).unwrap(), msg(9));
    assert_eq!(s.receiver.skipped_keys(), 9);
    for n in (0..9).rev().filter(|&n| n != 4) {
        assert_eq!(s.receiver.decrypt(&alice(), &ms[n]).unwrap(), msg(n as u32));
    }
    assert_eq!(s.receiver.skipped_keys(), 1);
    for n in (0..10).filter(|&n| n != 4) {
        let err = refused(&mut s.receiver, &alice(), &ms[n]);
        assert_eq!(
            err,
            Error::Group(GroupError::Duplicate {
                iteration: n as u32
            })
        );
    }
    assert_eq!(s.receiver.decrypt(&alice(), &ms[4]).unwrap(), msg(4));
    assert_eq!(
        refused(&mut s.receiver, &alice(), &ms[4]),
        Error::Group(GroupError::Duplicate { iteration: 4 })
    );
    assert_eq!(s.receiver.skipped_keys(), 0);
}

#[test]
fn a_jump_beyond_the_bound_is_refused_and_one_at_it_is_not() {
    let mut s = setup(4);
    let mut last = Vec::new();
    for _ in 0..=MAX_GROUP_FORWARD_JUMP + 1 {
        last = s.sender.encrypt(&alice(), b"x").unwrap();
    }
    // `last` is at iteration JUMP + 1: it skips JUMP + 1 keys.
    assert_eq!(
        refused(&mut s.receiver, &alice(), &last),
        Error::Group(GroupError::JumpTooFar {
            next: 0,
            iteration: MAX_GROUP_FORWARD_JUMP + 1
        })
    );
    let mut s = setup(4);
    let mut at_bound = Vec::new();
    for _ in 0..=MAX_GROUP_FORWARD_JUMP {
        at_bound = s.sender.encrypt(&alice(), b"x").unwrap();
    }
    assert_eq!(s.receiver.decrypt(&alice(), &at_bound).unwrap(), b"x");
    assert_eq!(s.receiver.skipped_keys(), MAX_GROUP_FORWARD_JUMP as usize);
}

#[test]
fn evicted_keys_expire() {
    let mut s = setup(5);
    // Iterations 0 ..= JUMP + 2.
    let ms: Vec<Vec<u8>> = (0..=MAX_GROUP_FORWARD_JUMP + 2)
        .map(|n| s.sender.encrypt(&alice(), &msg(n)).unwrap())
        .collect();
    let j = MAX_GROUP_FORWARD_JUMP as usize;
    // At JUMP: 0 .. JUMP skipped, all kept, the store full.
    assert_eq!(s.receiver.decrypt(&alice(), &ms[j]).unwrap(), msg(j as u32));
    assert_eq!(s.receiver.skipped_keys(), MAX_GROUP_SKIPPED_KEYS as usize);
    // At JUMP + 2: JUMP + 1 skipped too, so the oldest (0) is evicted.
    assert_eq!(
        s.receiver.decrypt(&alice(), &ms[j + 2]).unwrap(),
        msg(j as u32 + 2)
    );
    assert_eq!(s.receiver.skipped_keys(), MAX_GROUP_SKIPPED_KEYS as usize);
    assert_eq!(
        refused(&mut s.receiver, &alice(), &ms[0]),
        Error::Group(GroupError::MessageKeyExpired { iteration: 0 })
    );
    assert_eq!(s.receiver.decrypt(&alice(), &ms[1]).unwrap(), msg(1));
    assert_eq!(
        s.receiver.decrypt(&alice(), &ms[j + 1]).unwrap(),
        msg(j as u32 + 1)
    );
    assert_eq!(
        refused(&mut s.receiver, &alice(), &ms[1]),
        Error::Group(GroupError::Duplicate { iteration: 1 })
    );
}

#[test]
fn tampering_any_byte_fails_and_changes_nothing() {
    let mut s = setup(6);
    let _skip = s.sender.encrypt(&alice(), b"skipped").unwrap();
    let m = s.sender.encrypt(&alice(), b"tamper with me").unwrap();
    for i in 0..m.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = m.clone();
            t[i] ^= bit;
            let err = refused(&mut s.receiver, &alice(), &t);
            assert!(
                matches!(
                    err,
                    Error::DecryptionFailed | Error::Decode(_) | Error::Group(_)
                ),
                "byte {i}: {err:?}"
            );
        }
    }
    for cut in 0..m.len() {
        refused(&mut s.receiver, &alice(), &m[..cut]);
    }
    refused(&mut s.receiver, &alice(), &[&m[..], &[0]].concat());
    // Bytes the signature covers but no header check does: a bad
    // signature, with no chain work.
    let mut t = m.clone();
    t[60] ^= 1;
    assert_eq!(
        refused(&mut s.receiver, &alice(), &t),
        Error::DecryptionFailed
    );
    assert_eq!(s.receiver.decrypt(&alice(), &m).unwrap(), b"tamper with me");
}

#[test]
fn a_relabeled_sender_fails() {
    let mut s = setup(7);
    let m = s.sender.encrypt(&alice(), b"from alice").unwrap();
    // The receiver's key is alice's: another claimed sender is refused.
    assert_eq!(
        refused(&mut s.receiver, &mallory(), &m),
        Error::Group(GroupError::WrongSender)
    );
    // A receiver that took alice's distribution as mallory's cannot read
    // alice's message as mallory's: the signature covers the sender.
    let mut as_mallory = ReceivedSenderKey::from_distribution(&s.start, &mallory());
    assert_eq!(
        refused(&mut as_mallory, &mallory(), &m),
        Error::DecryptionFailed
    );
    // And a message encrypted as mallory does not read as alice's.
    let mut s = setup(7);
    let m = s.sender.encrypt(&mallory(), b"claims mallory").unwrap();
    assert_eq!(
        refused(&mut s.receiver, &alice(), &m),
        Error::DecryptionFailed
    );
}

#[test]
fn another_group_epoch_or_key_id_is_refused() {
    let mut s = setup(8);
    let mut rng = rng(80);
    let m = s.sender.encrypt(&alice(), b"hi").unwrap();
    // Another group's sender key, same everything else.
    let other_group = GroupId::generate(&mut rng);
    let mut other = SenderKey::generate(&mut rng, other_group, 3);
    let om = other.encrypt(&alice(), b"hi").unwrap();
    assert_eq!(
        refused(&mut s.receiver, &alice(), &om),
        Error::Group(GroupError::WrongGroup)
    );
    let mut other_epoch = SenderKey::generate(&mut rng, *s.sender.group_id(), 4);
    let em = other_epoch.encrypt(&alice(), b"hi").unwrap();
    assert_eq!(
        refused(&mut s.receiver, &alice(), &em),
        Error::Group(GroupError::WrongEpoch {
            expected: 3,
            found: 4
        })
    );
    let mut rotated = SenderKey::generate(&mut rng, *s.sender.group_id(), 3);
    assert_ne!(rotated.key_id(), s.sender.key_id());
    let rm = rotated.encrypt(&alice(), b"hi").unwrap();
    assert_eq!(
        refused(&mut s.receiver, &alice(), &rm),
        Error::Group(GroupError::UnknownSenderKey {
            key_id: rotated.key_id()
        })
    );
    assert_eq!(s.receiver.decrypt(&alice(), &m).unwrap(), b"hi");
}

#[test]
fn distributions_round_trip_and_bad_signing_keys_are_refused() {
    let s = setup(9);
    let d = s.sender.distribution();
    let bytes = d.to_secret_bytes();
    assert_eq!(bytes.len(), kinseal::SENDER_KEY_DISTRIBUTION_LEN);
    let back = SenderKeyDistribution::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_secret_bytes(), bytes);
    assert_eq!(back.group_id(), s.sender.group_id());
    assert_eq!(
        (back.epoch(), back.key_id(), back.iteration()),
        (3, s.sender.key_id(), 0)
    );
    // The identity point (small order) as signing key.
    let mut bad = bytes.to_vec();
    bad[83..].copy_from_slice(&{
        let mut id = [0u8; 32];
        id[0] = 1;
        id
    });
    assert!(matches!(
        SenderKeyDistribution::from_bytes(&bad),
        Err(Error::Decode(DecodeError::InvalidKey {
            kind: kinseal::KeyKind::SenderKeySigning
        }))
    ));
    assert!(SenderKeyDistribution::from_bytes(&bytes[..114]).is_err());
    // Secrets do not print.
    let shown = format!("{d:?} {:?} {:?}", s.sender, s.receiver);
    assert!(!shown.contains(&format!("{:?}", &bytes[51..83])));
}

#[test]
fn both_sides_persist_mid_conversation() {
    let mut s = setup(10);
    let ms: Vec<Vec<u8>> = (0..6)
        .map(|n| s.sender.encrypt(&alice(), &msg(n)).unwrap())
        .collect();
    assert_eq!(s.receiver.decrypt(&alice(), &ms[3]).unwrap(), msg(3));
    let sender_record = s.sender.to_secret_bytes();
    let receiver_record = s.receiver.to_secret_bytes();
    let mut sender = SenderKey::from_bytes(&sender_record).unwrap();
    let mut receiver = ReceivedSenderKey::from_bytes(&receiver_record).unwrap();
    assert_eq!(sender.to_secret_bytes(), sender_record);
    assert_eq!(receiver.to_secret_bytes(), receiver_record);
    assert_eq!(receiver.skipped_keys(), 3);
    // The restored sender continues the chain the restored receiver reads.
    let m6 = sender.encrypt(&alice(), &msg(6)).unwrap();
    let m6_original = s.sender.encrypt(&alice(), &msg(6)).unwrap();
    assert_eq!(m6, m6_original);
    assert_eq!(receiver.decrypt(&alice(), &m6).unwrap(), msg(6));
    assert_eq!(receiver.decrypt(&alice(), &ms[1]).unwrap(), msg(1));
    assert_eq!(
        receiver.decrypt(&alice(), &ms[3]).unwrap_err(),
        Error::Group(GroupError::Duplicate { iteration: 3 })
    );
    assert_eq!(receiver.decrypt(&alice(), &ms[5]).unwrap(), msg(5));
}

#[test]
fn records_that_break_an_invariant_are_refused() {
    let mut s = setup(11);
    let ms: Vec<Vec<u8>> = (0..4)
        .map(|n| s.sender.encrypt(&alice(), &msg(n)).unwrap())
        .collect();
    s.receiver.decrypt(&alice(), &ms[3]).unwrap();
    let good = s.receiver.to_secret_bytes().to_vec();
    // floor at 47, next at 51; sender is 23 bytes (12 + 5 + 2 + 4... ) so
    // find the skipped entries from the end: 3 entries of 36 bytes.
    let entries = good.len() - 3 * 36;
    let put = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let cases: Vec<(usize, u32)> = vec![
        (47, 5),           // floor above next
        (entries, 4),      // skipped at next
        (entries, 7),      // skipped beyond next
        (entries + 36, 0), // not ascending
    ];
    for (at, v) in cases {
        let mut b = good.clone();
        put(&mut b, at, v);
        assert!(
            matches!(
                ReceivedSenderKey::from_bytes(&b),
                Err(Error::Decode(DecodeError::InvalidField { .. }))
            ),
            "at {at} = {v}"
        );
    }
    // Floor above a skipped key.
    let mut b = good.clone();
    put(&mut b, 47, 1);
    assert!(ReceivedSenderKey::from_bytes(&b).is_err());
    let mut b = good.clone();
    b[87..119].copy_from_slice(&[0; 32]);
    assert!(ReceivedSenderKey::from_bytes(&b).is_err());
    for cut in 0..good.len() {
        assert!(ReceivedSenderKey::from_bytes(&good[..cut]).is_err());
    }
    assert!(ReceivedSenderKey::from_bytes(&good).is_ok());
    let sk = s.sender.to_secret_bytes();
    assert!(SenderKey::from_bytes(&sk[..sk.len() - 1]).is_err());
    assert!(ReceivedSenderKey::from_bytes(&sk).is_err());
}

#[test]
fn a_new_member_cannot_read_messages_from_before_it_joined() {
    let mut s = setup(12);
    let old: Vec<Vec<u8>> = (0..5)
        .map(|n| s.sender.encrypt(&alice(), &msg(n)).unwrap())
        .collect();
    let mut late = ReceivedSenderKey::from_distribution(&s.sender.distribution(), &alice());
    for (n, m) in old.iter().enumerate() {
        assert_eq!(
            refused(&mut late, &alice(), m),
            Error::Group(GroupError::MessageKeyExpired {
                iteration: n as u32
            })
        );
    }
    let m = s.sender.encrypt(&alice(), &msg(5)).unwrap();
    assert_eq!(late.decrypt(&alice(), &m).unwrap(), msg(5));
}

#[test]
fn the_last_iteration_is_never_sent() {
    // A record at iteration u32::MAX - 1 sends one message, then stops.
    let s = setup(13);
    let mut record = s.sender.to_secret_bytes().to_vec();
    record[47..51].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    let mut sender = SenderKey::from_bytes(&record).unwrap();
    let m = sender.encrypt(&alice(), b"last").unwrap();
    assert_eq!(
        sender.encrypt(&alice(), b"one more").unwrap_err(),
        Error::Protocol(ProtocolError::ChainExhausted)
    );
    assert_eq!(sender.iteration(), u32::MAX);
    let mut d = SenderKeyDistribution::from_bytes(&sender.distribution().to_secret_bytes());
    assert!(d.is_ok());
    let _ = &mut d;
    let _ = m;
}
