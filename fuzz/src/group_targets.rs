//! The group fuzz target: group messages against a fixed receiver, and
//! the sender-key decoders (distribution, both records). Included by
//! `targets.rs`, so the corpus-replay test runs it too.

use std::sync::OnceLock;

use kinseal::{
    DeviceAddress, Error, GroupError, GroupId, ReceivedSenderKey, SenderKey, SenderKeyDistribution,
};

use super::rng;

/// A receiver with skipped keys, and the sender's messages to it.
struct GroupFixture {
    sender: DeviceAddress,
    /// The receiver's record: it has decrypted 0 and 3 (1 and 2 skipped).
    receiver: Vec<u8>,
    /// Messages 0 ..= 5 and what decrypting each must give (`Err(())` for
    /// a duplicate).
    messages: Vec<(Vec<u8>, super::Expected)>,
    distribution: Vec<u8>,
    sender_record: Vec<u8>,
}

fn group_fixture() -> &'static GroupFixture {
    static F: OnceLock<GroupFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(70);
        let sender = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
        let group = GroupId::generate(&mut r);
        let mut key = SenderKey::generate(&mut r, group, 2);
        let distribution = key.distribution().to_secret_bytes().to_vec();
        let mut receiver = ReceivedSenderKey::from_distribution(&key.distribution(), &sender);
        let plaintexts: Vec<Vec<u8>> = (0..6).map(|i| format!("m{i}").into_bytes()).collect();
        let sent: Vec<Vec<u8>> = plaintexts
            .iter()
            .map(|p| key.encrypt(&sender, p).unwrap())
            .collect();
        receiver.decrypt(&sender, &sent[0]).unwrap();
        receiver.decrypt(&sender, &sent[3]).unwrap();
        let messages = sent
            .into_iter()
            .zip(plaintexts)
            .enumerate()
            .map(|(i, (m, p))| (m, if i == 0 || i == 3 { Err(()) } else { Ok(p) }))
            .collect();
        GroupFixture {
            sender,
            receiver: receiver.to_secret_bytes().to_vec(),
            messages,
            distribution,
            sender_record: key.to_secret_bytes().to_vec(),
        }
    })
}

/// Seeds for `group_decrypt`, by file name.
pub fn group_seeds() -> Vec<(String, Vec<u8>)> {
    let f = group_fixture();
    let mut seeds: Vec<(String, Vec<u8>)> = f
        .messages
        .iter()
        .enumerate()
        .map(|(i, (m, _))| (format!("fixture-message-{i}"), m.clone()))
        .collect();
    seeds.push(("fixture-receiver-record".into(), f.receiver.clone()));
    seeds.push(("fixture-distribution".into(), f.distribution.clone()));
    seeds.push(("fixture-sender-record".into(), f.sender_record.clone()));
    seeds
}

/// `data` as a group message to the fixture's receiver: only a genuine
/// message decrypts, to its own plaintext; a genuine duplicate fails as
/// one; every failure leaves the receiver byte-identical. `data` as a
/// distribution or either record: accepted bytes re-encode identically.
pub fn group_decrypt(data: &[u8]) {
    let f = group_fixture();
    let mut receiver = ReceivedSenderKey::from_bytes(&f.receiver).unwrap();
    let before = receiver.to_secret_bytes();
    let genuine = f.messages.iter().find(|(m, _)| m.as_slice() == data);
    match receiver.decrypt(&f.sender, data) {
        Ok(p) => {
            let (_, expected) = genuine.expect("a modified message was accepted");
            assert_eq!(Ok(p), *expected);
        }
        Err(e) => {
            assert_eq!(
                receiver.to_secret_bytes(),
                before,
                "a failure changed the state"
            );
            if let Some((_, expected)) = genuine {
                assert!(expected.is_err(), "a genuine message failed: {e}");
                assert!(matches!(e, Error::Group(GroupError::Duplicate { .. })));
            }
        }
    }
    if let Ok(d) = SenderKeyDistribution::from_bytes(data) {
        assert_eq!(d.to_secret_bytes().as_bytes(), data);
    }
    if let Ok(k) = SenderKey::from_bytes(data) {
        assert_eq!(k.to_secret_bytes().as_bytes(), data);
    }
    if let Ok(r) = ReceivedSenderKey::from_bytes(data) {
        assert_eq!(r.to_secret_bytes().as_bytes(), data);
    }
}
