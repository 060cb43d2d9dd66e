//! Length hiding (PROTOCOL.md §7.6; issue 13, finding 5): what a server
//! sees of a plaintext's length under each padding policy, and that any
//! policy talks to any other.

use crate::common;

use common::*;
use kinseal::{
    DEFAULT_PADDING_BLOCK, MAX_PADDED_LEN, MAX_PLAINTEXT_LEN, Message, Padding, Session,
    SessionConfig,
};

/// The ciphertext field of an encoded `Message`: bytes 46..50.
fn ciphertext_len(bytes: &[u8]) -> usize {
    Message::from_bytes(bytes).unwrap().to_bytes().len() - 66
}

#[test]
fn default_padding_hides_short_lengths_and_buckets_the_rest() {
    let mut rng = rng(1300);
    let (_bob, p) = established(&mut rng, SessionConfig::default());
    let mut c = Conversation::new(p);
    // Every plaintext below one block is one length on the wire.
    let block = usize::from(DEFAULT_PADDING_BLOCK);
    for n in [0, 1, 17, 100, block - 1] {
        let m = c.alice.encrypt(&mut rng, &vec![7; n]).unwrap();
        assert_eq!(ciphertext_len(&m), block + 16, "{n} bytes");
        assert_eq!(c.bob.decrypt(&m).unwrap(), vec![7; n]);
    }
    // A block and a byte is the next bucket; lengths are never exact.
    let m = c.alice.encrypt(&mut rng, &vec![7; block]).unwrap();
    assert_eq!(ciphertext_len(&m), 2 * block + 16);
    let mut lengths = std::collections::BTreeSet::new();
    for n in (0..20_000).step_by(97) {
        let m = c.alice.encrypt(&mut rng, &plaintext(n)).unwrap();
        assert_eq!(
            ciphertext_len(&m),
            Padding::DEFAULT.padded_len(plaintext(n).len()) + 16
        );
        lengths.insert(ciphertext_len(&m));
        assert_eq!(c.bob.decrypt(&m).unwrap(), plaintext(n));
    }
    // 207 distinct plaintext lengths fall into far fewer buckets.
    assert!(lengths.len() < 60, "{} buckets", lengths.len());
}

#[test]
fn any_padding_policy_decrypts_at_any_other() {
    let policies = [
        Padding::DEFAULT,
        Padding::NONE,
        Padding::blocks(1).unwrap(),
        Padding::blocks(64).unwrap(),
        Padding::blocks_and_padme(1).unwrap(),
        Padding::blocks_and_padme(4096).unwrap(),
    ];
    let mut rng = rng(1301);
    let bob = Bob::new(&mut rng);
    for (i, a) in policies.iter().enumerate() {
        let b = policies[(i + 1) % policies.len()];
        let mut p = pair_with(
            &mut rng,
            &bob,
            BundleChoice::FULL,
            SessionConfig::default().with_padding(*a),
            SessionConfig::default().with_padding(b),
        );
        for n in [0, 1, 159, 160, 767, 768, 769, 5000] {
            let body = vec![0x80; n]; // the marker byte itself, and zeros, are plaintext too
            let m = p.bob.encrypt(&mut rng, &body).unwrap();
            assert_eq!(ciphertext_len(&m), b.padded_len(n) + 16);
            assert_eq!(p.alice.decrypt(&m).unwrap(), body);
            let m = p.alice.encrypt(&mut rng, &vec![0; n]).unwrap();
            assert_eq!(p.bob.decrypt(&m).unwrap(), vec![0; n]);
        }
    }
}

#[test]
fn the_policy_is_kept_in_the_session_record() {
    let mut rng = rng(1302);
    let (_bob, p) = established(
        &mut rng,
        SessionConfig::default().with_padding(Padding::blocks(32).unwrap()),
    );
    let mut restored = Session::from_bytes(&p.alice.to_bytes()).unwrap();
    assert_eq!(restored.padding(), Padding::blocks(32).unwrap());
    let m = restored.encrypt(&mut rng, &[1; 40]).unwrap();
    assert_eq!(ciphertext_len(&m), 64 + 16);
    let mut bob = p.bob;
    assert_eq!(bob.decrypt(&m).unwrap(), [1; 40]);
}

#[test]
fn the_largest_plaintext_fits_the_largest_padding() {
    let mut rng = rng(1303);
    let policy = Padding::blocks_and_padme(kinseal::MAX_PADDING_BLOCK_LIMIT).unwrap();
    let (_bob, p) = established(&mut rng, SessionConfig::default().with_padding(policy));
    let mut c = Conversation::new(p);
    let m = c
        .alice
        .encrypt(&mut rng, &vec![9; MAX_PLAINTEXT_LEN])
        .unwrap();
    assert_eq!(ciphertext_len(&m), MAX_PADDED_LEN + 16);
    assert_eq!(c.bob.decrypt(&m).unwrap().len(), MAX_PLAINTEXT_LEN);
}
