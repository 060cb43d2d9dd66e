//! Linking a device (PROTOCOL.md §13): the round trip, every rejection of
//! a link code and of a provisioning message, the checks both ends make,
//! and an independent sealer (x25519-dalek, hkdf, chacha20poly1305 as §13.4
//! describes them) that pins the key schedule and reaches the payload
//! checks behind the AEAD.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::montgomery::MontgomeryPoint;
use kinseal::{
    DecodeError, DeviceList, DeviceListUpdate, Error, IdentityKeyPair, KeyKind, LinkCode,
    LinkError, LinkRequest, ProtocolError, ProvisioningMessage, SignedObject, UserAddress,
    UserIdentityKeyPair, VerifiedDeviceList, WireType,
};
use proptest::prelude::*;
use rand_core::Rng;

use crate::common::rng;

const T0: u64 = 1_767_225_600;
const LINKED: u32 = 2;

/// An account with one device (id 1) and its first device list.
struct Account {
    user: UserIdentityKeyPair,
    phone: IdentityKeyPair,
    address: UserAddress,
    v1: VerifiedDeviceList,
}

fn account(seed: u64) -> Account {
    let mut r = rng(seed);
    let user = UserIdentityKeyPair::generate(&mut r);
    let phone = IdentityKeyPair::generate(&mut r);
    let address = UserAddress::new(b"chirp", b"alice@example.org").unwrap();
    let v1 = DeviceList::first(&user, &address, T0, [(1, phone.public_key(), T0)]).unwrap();
    Account {
        user,
        phone,
        address,
        v1,
    }
}

impl Account {
    /// The list after v1 with the code's device as device `LINKED`.
    fn with(&self, code: &LinkCode) -> VerifiedDeviceList {
        self.v1
            .next(
                &self.user,
                T0 + 60,
                [
                    (1, self.phone.public_key(), T0),
                    (LINKED, code.identity_key(), T0 + 60),
                ],
            )
            .unwrap()
    }
}

fn decode(e: DecodeError) -> Error {
    Error::Decode(e)
}

fn invalid_key(kind: KeyKind) -> Error {
    decode(DecodeError::InvalidKey { kind })
}

/// A message sealed by hand: `X25519(e, code.ephemeral)`, HKDF-SHA256 with
/// a zero salt and info = label ‖ code ‖ e_pub, ChaCha20-Poly1305 under the
/// 39-byte header, around any `payload`. `e` is the RNG's first 32 bytes,
/// as `ProvisioningMessage::seal` draws it.
fn seal_by_hand(r: &mut impl Rng, code: &LinkCode, payload: &[u8]) -> Vec<u8> {
    let mut e = [0u8; 32];
    r.fill_bytes(&mut e);
    let secret = x25519_dalek::StaticSecret::from(e);
    let e_pub = x25519_dalek::PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*code.ephemeral_key()));
    let mut info = b"KINSEAL-v1 provisioning\0".to_vec();
    info.extend_from_slice(&code.to_bytes());
    info.extend_from_slice(&e_pub);
    let mut okm = [0u8; 44];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[0u8; 32]), shared.as_bytes())
        .expand(&info, &mut okm)
        .unwrap();
    let mut out = vec![1, 0x54, 1];
    out.extend_from_slice(&e_pub);
    out.extend_from_slice(&((payload.len() + 16) as u32).to_be_bytes());
    let header = out.clone();
    let mut body = payload.to_vec();
    let tag = ChaCha20Poly1305::new(okm[..32].try_into().unwrap())
        .encrypt_inout_detached(
            okm[32..].try_into().unwrap(),
            &header,
            InOutBuf::from(&mut body[..]),
        )
        .unwrap();
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    out
}

/// The payload layout: version, type 0x55, user secret, device id, list.
fn payload(user: &UserIdentityKeyPair, device_id: u32, list: &[u8]) -> Vec<u8> {
    let mut p = vec![1, 0x55];
    p.extend_from_slice(user.to_secret_bytes().as_bytes());
    p.extend_from_slice(&device_id.to_be_bytes());
    p.extend_from_slice(list);
    p
}

#[test]
fn a_second_device_is_linked_and_holds_the_same_user_key() {
    let a = account(1);
    let mut r = rng(2);
    let request = LinkRequest::new(&mut r);
    let qr = request.code().to_bytes();
    assert_eq!(qr.len(), LinkCode::LENGTH);
    assert_eq!(qr.len(), 67);
    assert_eq!(qr[..3], [1, 0x53, 1]);
    assert_eq!(&qr[35..], request.identity_key().as_bytes());

    // The existing device scans the code and signs v2 with the new device.
    let code = LinkCode::from_bytes(&qr).unwrap();
    assert_eq!(code, request.code());
    assert_eq!(code.to_bytes(), qr);
    assert_eq!(&qr[3..35], code.ephemeral_key());
    let v2 = a.with(&code);
    let message = ProvisioningMessage::seal(&mut rng(3), &code, &a.user, &v2, LINKED).unwrap();
    assert_eq!(message.len(), 39 + 38 + v2.to_bytes().len() + 16);
    // The key schedule and the layouts are exactly §13's.
    let by_hand = seal_by_hand(
        &mut rng(3),
        &code,
        &payload(&a.user, LINKED, &v2.to_bytes()),
    );
    assert_eq!(message, by_hand);

    let device_key = request.identity_key().clone();
    let linked = request.open(&message).unwrap();
    assert_eq!(linked.device_identity().public_key(), &device_key);
    assert_eq!(linked.user_identity().public_key(), a.user.public_key());
    assert_eq!(
        linked.user_identity().to_secret_bytes(),
        a.user.to_secret_bytes()
    );
    assert_eq!(linked.device_list(), &v2);
    assert_eq!(linked.device_list().hash(), v2.hash());
    assert_eq!(linked.device_id(), LINKED);
    assert_eq!(linked.device_address(), a.address.device(LINKED));
    // The existing device's v1 accepts the new device's v2 as its successor.
    let Ok(DeviceListUpdate::Advanced { added, .. }) = a.v1.check_successor(linked.device_list())
    else {
        panic!("v2 does not follow v1");
    };
    assert_eq!(
        added.iter().map(|d| d.device_id()).collect::<Vec<_>>(),
        [LINKED]
    );

    // The linked device can sign v3 for the account: it holds the user key.
    let (device, user, list, id) = linked.into_parts();
    assert_eq!((device.public_key(), id), (&device_key, LINKED));
    let v3 = list
        .next(&user, T0 + 120, [(LINKED, device.public_key(), T0 + 60)])
        .unwrap();
    assert!(v2.check_successor(&v3).is_ok());
}

#[test]
fn each_seal_draws_a_fresh_ephemeral_key() {
    let a = account(4);
    let request = LinkRequest::new(&mut rng(5));
    let code = request.code();
    let v2 = a.with(&code);
    let mut r = rng(6);
    let one = ProvisioningMessage::seal(&mut r, &code, &a.user, &v2, LINKED).unwrap();
    let two = ProvisioningMessage::seal(&mut r, &code, &a.user, &v2, LINKED).unwrap();
    assert_ne!(one[3..35], two[3..35]);
    assert_ne!(one[39..], two[39..]);
    // Either opens; the request opens only one of them (it is consumed).
    assert!(request.open(&two).is_ok());
}

#[test]
fn two_requests_have_different_keys() {
    let mut r = rng(7);
    let (x, y) = (LinkRequest::new(&mut r), LinkRequest::new(&mut r));
    assert_ne!(x.identity_key(), y.identity_key());
    assert_ne!(x.code().ephemeral_key(), y.code().ephemeral_key());
}

#[test]
fn a_message_for_another_request_does_not_decrypt() {
    let a = account(8);
    let mut r = rng(9);
    let (ours, theirs) = (LinkRequest::new(&mut r), LinkRequest::new(&mut r));
    let code = theirs.code();
    let message =
        ProvisioningMessage::seal(&mut r, &code, &a.user, &a.with(&code), LINKED).unwrap();
    assert_eq!(ours.open(&message).unwrap_err(), Error::DecryptionFailed);
    assert!(theirs.open(&message).is_ok());
}

#[test]
fn seal_refuses_a_list_that_does_not_fit() {
    let a = account(10);
    let mut r = rng(11);
    let request = LinkRequest::new(&mut r);
    let code = request.code();
    let v2 = a.with(&code);
    let seal = |user: &UserIdentityKeyPair, list: &VerifiedDeviceList, id: u32| {
        ProvisioningMessage::seal(&mut rng(12), &code, user, list, id).unwrap_err()
    };
    // A list of another user key (and the other key with this list).
    let other = UserIdentityKeyPair::generate(&mut r);
    let theirs =
        DeviceList::first(&other, &a.address, T0, [(LINKED, code.identity_key(), T0)]).unwrap();
    assert_eq!(
        seal(&a.user, &theirs, LINKED),
        Error::Link(LinkError::UserKeyMismatch)
    );
    assert_eq!(
        seal(&other, &v2, LINKED),
        Error::Link(LinkError::UserKeyMismatch)
    );
    // v1 does not carry the code's key at all; v2 has no device 3.
    assert_eq!(
        seal(&a.user, &a.v1, LINKED),
        Error::Link(LinkError::DeviceNotListed { device_id: LINKED })
    );
    assert_eq!(
        seal(&a.user, &v2, 3),
        Error::Link(LinkError::DeviceNotListed { device_id: 3 })
    );
    // Device 1 is the phone, not the new device.
    assert_eq!(
        seal(&a.user, &v2, 1),
        Error::Link(LinkError::DeviceKeyMismatch { device_id: 1 })
    );
    // The user key is checked first.
    assert_eq!(
        seal(&other, &a.v1, 1),
        Error::Link(LinkError::UserKeyMismatch)
    );
    assert!(
        request
            .open(&ProvisioningMessage::seal(&mut r, &code, &a.user, &v2, LINKED).unwrap())
            .is_ok()
    );
}

/// Small-order u-coordinates, a twist point, a key with a small-order
/// component, and non-canonical encodings: all refused as X25519 keys.
fn bad_x25519_keys(honest: &[u8; 32]) -> Vec<[u8; 32]> {
    let mut keys: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| t.to_montgomery().to_bytes())
        .collect();
    let p = MontgomeryPoint(*honest).to_edwards(0).unwrap();
    keys.push((p + EIGHT_TORSION[1]).to_montgomery().to_bytes());
    let mut high = *honest;
    high[31] |= 0x80;
    keys.push(high);
    let mut p_itself = [0xff; 32];
    p_itself[0] = 0xed;
    p_itself[31] = 0x7f;
    keys.push(p_itself);
    // u = 2 is on the twist.
    let mut two = [0u8; 32];
    two[0] = 2;
    keys.push(two);
    keys
}

#[test]
fn link_codes_are_decoded_strictly() {
    let request = LinkRequest::new(&mut rng(13));
    let qr = request.code().to_bytes();
    let with = |at: usize, b: u8| {
        let mut q = qr.clone();
        q[at] = b;
        q
    };
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (
            qr[..66].to_vec(),
            decode(DecodeError::Truncated {
                wire_type: WireType::LinkCode,
                needed: 32,
                available: 31,
            }),
        ),
        (
            [&qr[..], &[0]].concat(),
            decode(DecodeError::TrailingBytes {
                wire_type: WireType::LinkCode,
                count: 1,
            }),
        ),
        (
            vec![],
            decode(DecodeError::Truncated {
                wire_type: WireType::LinkCode,
                needed: 1,
                available: 0,
            }),
        ),
        (
            with(0, 2),
            decode(DecodeError::UnsupportedVersion { found: 2 }),
        ),
        (
            with(1, 0x54),
            decode(DecodeError::UnexpectedType {
                expected: WireType::LinkCode,
                found: 0x54,
            }),
        ),
        (
            with(2, 2),
            decode(DecodeError::UnsupportedSuite { found: 2 }),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(LinkCode::from_bytes(&bytes).unwrap_err(), want);
    }
    let honest: [u8; 32] = qr[3..35].try_into().unwrap();
    for bad in bad_x25519_keys(&honest) {
        let mut q = qr.clone();
        q[3..35].copy_from_slice(&bad);
        assert_eq!(
            LinkCode::from_bytes(&q).unwrap_err(),
            invalid_key(KeyKind::X25519),
            "{bad:02x?}"
        );
        // The ephemeral key is checked before the identity key.
        q[35..].copy_from_slice(&EIGHT_TORSION[2].compress().to_bytes());
        assert_eq!(
            LinkCode::from_bytes(&q).unwrap_err(),
            invalid_key(KeyKind::X25519)
        );
    }
    let mut q = qr.clone();
    q[35..].copy_from_slice(&EIGHT_TORSION[2].compress().to_bytes());
    assert_eq!(
        LinkCode::from_bytes(&q).unwrap_err(),
        invalid_key(KeyKind::Identity)
    );
}

#[test]
fn provisioning_messages_are_decoded_strictly() {
    let a = account(14);
    let mut r = rng(15);
    let code = LinkRequest::new(&mut r).code();
    let message =
        ProvisioningMessage::seal(&mut r, &code, &a.user, &a.with(&code), LINKED).unwrap();
    let len = message.len() - 39;
    let pm = WireType::ProvisioningMessage;
    let with = |at: usize, by: &[u8]| {
        let mut m = message.clone();
        m[at..at + by.len()].copy_from_slice(by);
        m
    };
    let range = |found| {
        decode(DecodeError::LengthOutOfRange {
            wire_type: pm,
            min: 251,
            max: 1229,
            found,
        })
    };
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "version",
            with(0, &[2]),
            decode(DecodeError::UnsupportedVersion { found: 2 }),
        ),
        (
            "type",
            with(1, &[0x53]),
            decode(DecodeError::UnexpectedType {
                expected: pm,
                found: 0x53,
            }),
        ),
        (
            "suite",
            with(2, &[0]),
            decode(DecodeError::UnsupportedSuite { found: 0 }),
        ),
        (
            "header only",
            message[..39].to_vec(),
            decode(DecodeError::Truncated {
                wire_type: pm,
                needed: len,
                available: 0,
            }),
        ),
        (
            "last byte missing",
            message[..message.len() - 1].to_vec(),
            decode(DecodeError::Truncated {
                wire_type: pm,
                needed: len,
                available: len - 1,
            }),
        ),
        (
            "trailing byte",
            [&message[..], &[0]].concat(),
            decode(DecodeError::TrailingBytes {
                wire_type: pm,
                count: 1,
            }),
        ),
        ("length 250", with(35, &250u32.to_be_bytes()), range(250)),
        ("length 1230", with(35, &1230u32.to_be_bytes()), range(1230)),
        (
            "length u32::MAX",
            with(35, &u32::MAX.to_be_bytes()),
            range(u32::MAX as usize),
        ),
        (
            "length one less",
            with(35, &(len as u32 - 1).to_be_bytes()),
            decode(DecodeError::TrailingBytes {
                wire_type: pm,
                count: 1,
            }),
        ),
    ];
    for (what, bytes, want) in cases {
        let request = LinkRequest::new(&mut rng(15));
        assert_eq!(request.open(&bytes).unwrap_err(), want, "{what}");
    }
    let honest: [u8; 32] = message[3..35].try_into().unwrap();
    for bad in bad_x25519_keys(&honest) {
        let request = LinkRequest::new(&mut rng(15));
        assert_eq!(
            request.open(&with(3, &bad)).unwrap_err(),
            invalid_key(KeyKind::X25519)
        );
    }
}

#[test]
fn every_altered_bit_is_refused() {
    let a = account(16);
    let mut r = rng(17);
    let code = LinkRequest::new(&mut r).code();
    let message =
        ProvisioningMessage::seal(&mut r, &code, &a.user, &a.with(&code), LINKED).unwrap();
    assert!(LinkRequest::new(&mut rng(17)).open(&message).is_ok());
    // Every bit of the length field and after it, and a sample of the key's.
    let mut decrypt_failures = 0;
    for bit in (3 * 8..35 * 8).step_by(7).chain(35 * 8..message.len() * 8) {
        let mut m = message.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        let err = LinkRequest::new(&mut rng(17)).open(&m).unwrap_err();
        match err {
            Error::DecryptionFailed => decrypt_failures += 1,
            Error::Decode(_) => assert!(bit < 39 * 8, "bit {bit}: {err:?}"),
            other => panic!("bit {bit}: {other:?}"),
        }
    }
    // Every bit of the ciphertext and tag fails as a decryption.
    assert!(decrypt_failures >= (message.len() - 39) * 8);
}

#[test]
fn the_payload_is_checked_after_it_decrypts() {
    let a = account(18);
    let mut r = rng(19);
    let fresh = || LinkRequest::new(&mut rng(20));
    let code = fresh().code();
    let v2 = a.with(&code);
    let list = v2.to_bytes();
    let good = payload(&a.user, LINKED, &list);
    assert!(fresh().open(&seal_by_hand(&mut r, &code, &good)).is_ok());
    let edit = |at: usize, b: u8| {
        let mut p = good.clone();
        p[at] = b;
        p
    };
    let other = UserIdentityKeyPair::generate(&mut r);
    let phone_only = a.v1.to_bytes();
    let theirs = DeviceList::first(&other, &a.address, T0, [(LINKED, code.identity_key(), T0)])
        .unwrap()
        .to_bytes();
    let dl = WireType::DeviceList;
    let mut bad_signature = list.clone();
    *bad_signature.last_mut().unwrap() ^= 1;
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "payload version",
            edit(0, 2),
            decode(DecodeError::UnsupportedVersion { found: 2 }),
        ),
        (
            "payload type",
            edit(1, 0x54),
            decode(DecodeError::UnexpectedType {
                expected: WireType::ProvisioningPayload,
                found: 0x54,
            }),
        ),
        (
            "list with a trailing byte",
            [&good[..], &[0]].concat(),
            decode(DecodeError::TrailingBytes {
                wire_type: dl,
                count: 1,
            }),
        ),
        (
            "list without its last byte",
            good[..good.len() - 1].to_vec(),
            decode(DecodeError::Truncated {
                wire_type: dl,
                needed: 64,
                available: 63,
            }),
        ),
        (
            "list type byte",
            edit(38 + 1, 0x53),
            decode(DecodeError::UnexpectedType {
                expected: dl,
                found: 0x53,
            }),
        ),
        (
            "list signature",
            payload(&a.user, LINKED, &bad_signature),
            Error::Protocol(ProtocolError::InvalidSignature {
                object: SignedObject::DeviceList,
            }),
        ),
        (
            "list of another user key",
            payload(&a.user, LINKED, &theirs),
            Error::Link(LinkError::UserKeyMismatch),
        ),
        (
            "another user secret",
            payload(&other, LINKED, &list),
            Error::Link(LinkError::UserKeyMismatch),
        ),
        (
            "list without the device",
            payload(&a.user, LINKED, &phone_only),
            Error::Link(LinkError::DeviceNotListed { device_id: LINKED }),
        ),
        (
            "device id of another device",
            payload(&a.user, 1, &list),
            Error::Link(LinkError::DeviceKeyMismatch { device_id: 1 }),
        ),
        (
            "device id not on the list",
            payload(&a.user, 9, &list),
            Error::Link(LinkError::DeviceNotListed { device_id: 9 }),
        ),
    ];
    for (what, p, want) in cases {
        let message = seal_by_hand(&mut r, &code, &p);
        assert_eq!(fresh().open(&message).unwrap_err(), want, "{what}");
    }
    // The other user's secret with the other user's list is a valid link,
    // to the other account: what a code's photographer can do (§13.6).
    let raced = fresh()
        .open(&seal_by_hand(
            &mut r,
            &code,
            &payload(&other, LINKED, &theirs),
        ))
        .unwrap();
    assert_eq!(raced.user_identity().public_key(), other.public_key());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes, and a valid message with arbitrary edits, never
    /// panic; an edited message never opens.
    #[test]
    fn arbitrary_input_is_refused_without_panicking(
        junk in proptest::collection::vec(any::<u8>(), 0..1400),
        edits in proptest::collection::vec((any::<usize>(), 1u8..), 1..4),
    ) {
        let _ = LinkCode::from_bytes(&junk);
        let _ = LinkRequest::new(&mut rng(24)).open(&junk);
        let a = account(25);
        let code = LinkRequest::new(&mut rng(24)).code();
        let message = ProvisioningMessage::seal(&mut rng(26), &code, &a.user, &a.with(&code), LINKED).unwrap();
        let mut m = message.clone();
        for (at, x) in edits {
            let i = at % m.len();
            m[i] ^= x;
        }
        prop_assume!(m != message);
        prop_assert!(LinkRequest::new(&mut rng(24)).open(&m).is_err());
    }
}
