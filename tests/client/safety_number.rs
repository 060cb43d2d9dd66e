//! Safety numbers of people (PROTOCOL.md §11, version 2): one number per
//! pair of user identity keys, in either order, never equal to the device
//! number of the same key bytes, and a scanned number of the other version
//! refused with its own error rather than reported as a mismatch.

use chacha20::ChaCha20Rng;
use kinseal::client::SafetyNumber;
use kinseal::{
    DecodeError, Error, IdentityKey, IdentityKeyPair, ProtocolError, UserIdentityKey,
    UserIdentityKeyPair, WireType,
};
use rand_core::SeedableRng;

fn users(n: usize, seed: u8) -> Vec<UserIdentityKey> {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    (0..n)
        .map(|_| UserIdentityKeyPair::generate(&mut rng).public_key().clone())
        .collect()
}

/// A user key with the bytes of a device identity key.
fn as_user(k: &IdentityKey) -> UserIdentityKey {
    UserIdentityKey::from_bytes(k.as_bytes()).unwrap()
}

fn version_mismatch(ours: u8, scanned: u8) -> kinseal::Result<bool> {
    Err(Error::Protocol(
        ProtocolError::SafetyNumberVersionMismatch { ours, scanned },
    ))
}

#[test]
fn a_user_number_does_not_depend_on_the_order_of_the_keys() {
    let u = users(2, 1);
    let ab = SafetyNumber::for_users(&u[0], &u[1]);
    let ba = SafetyNumber::for_users(&u[1], &u[0]);
    assert_eq!(ab, ba);
    assert_eq!(ab.digits(), ba.digits());
    assert_eq!(ab.to_qr_bytes(), ba.to_qr_bytes());
    assert_eq!(ab.version(), SafetyNumber::USER_VERSION);
    assert_eq!(SafetyNumber::USER_VERSION, 2);
    assert!(ba.matches_scanned(&ab.to_qr_bytes()).unwrap());
}

#[test]
fn the_same_key_bytes_give_different_numbers_as_user_and_as_device_keys() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let (a, b) = (
        IdentityKeyPair::generate(&mut rng),
        IdentityKeyPair::generate(&mut rng),
    );
    let (a, b) = (a.public_key(), b.public_key());
    let device = SafetyNumber::new(a, b);
    let user = SafetyNumber::for_users(&as_user(a), &as_user(b));
    assert_eq!(device.version(), SafetyNumber::DEVICE_VERSION);
    assert_eq!(user.version(), SafetyNumber::USER_VERSION);
    assert_ne!(device, user);
    // Every half differs, not only the version byte.
    let (d, u) = (device.digits(), user.digits());
    assert!(d[..30] != u[..30] && d[..30] != u[30..] && d[30..] != u[..30] && d[30..] != u[30..]);
    assert_ne!(device.to_qr_bytes()[2..], user.to_qr_bytes()[2..]);
    // A key with itself too.
    let self_device = SafetyNumber::new(a, a);
    let self_user = SafetyNumber::for_users(&as_user(a), &as_user(a));
    assert_ne!(self_device.digits(), self_user.digits());
}

#[test]
fn user_numbers_round_trip_through_their_qr_payload() {
    let u = users(3, 3);
    for (a, b) in [(&u[0], &u[1]), (&u[1], &u[2]), (&u[2], &u[2])] {
        let sn = SafetyNumber::for_users(a, b);
        let qr = sn.to_qr_bytes();
        assert_eq!(qr.len(), 66);
        assert_eq!(qr[..2], [2, 0x40]);
        let back = SafetyNumber::from_qr_bytes(&qr).unwrap();
        assert_eq!(back, sn);
        assert_eq!(back.version(), 2);
        assert_eq!(back.digits(), sn.digits());
        assert_eq!(back.to_string(), sn.to_string());
        assert_eq!(back.to_qr_bytes(), qr);
        assert!(sn.matches_scanned(&qr).unwrap());
    }
    // Other user keys: a mismatch, not an error.
    let ab = SafetyNumber::for_users(&u[0], &u[1]);
    let ac = SafetyNumber::for_users(&u[0], &u[2]);
    assert!(!ab.matches_scanned(&ac.to_qr_bytes()).unwrap());
}

#[test]
fn a_number_of_the_other_version_is_refused_not_mismatched() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let (a, b) = (
        IdentityKeyPair::generate(&mut rng),
        IdentityKeyPair::generate(&mut rng),
    );
    let (a, b) = (a.public_key(), b.public_key());
    let device = SafetyNumber::new(a, b);
    let user = SafetyNumber::for_users(&as_user(a), &as_user(b));
    assert_eq!(
        device.matches_scanned(&user.to_qr_bytes()),
        version_mismatch(1, 2)
    );
    assert_eq!(
        user.matches_scanned(&device.to_qr_bytes()),
        version_mismatch(2, 1)
    );
    // The same fingerprints under the other version byte: still refused by
    // version, before any comparison.
    let mut relabelled = device.to_qr_bytes();
    relabelled[0] = 2;
    assert_eq!(
        SafetyNumber::from_qr_bytes(&relabelled).unwrap().version(),
        2
    );
    assert_eq!(device.matches_scanned(&relabelled), version_mismatch(1, 2));
    // A version this build does not know is a decode error, as before.
    let mut v3 = user.to_qr_bytes();
    v3[0] = 3;
    assert_eq!(
        user.matches_scanned(&v3),
        Err(Error::Decode(DecodeError::UnsupportedVersion { found: 3 }))
    );
    // The order rule holds for version 2 too.
    let qr = user.to_qr_bytes();
    let mut swapped = qr[..2].to_vec();
    swapped.extend_from_slice(&qr[34..]);
    swapped.extend_from_slice(&qr[2..34]);
    if qr[2..34] != qr[34..] {
        assert!(matches!(
            user.matches_scanned(&swapped),
            Err(Error::Decode(DecodeError::InvalidField {
                wire_type: WireType::SafetyNumber,
                field: "fingerprint order",
                ..
            }))
        ));
    }
}
