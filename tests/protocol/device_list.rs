//! User identity keys and device lists (PROTOCOL.md §12): round trips,
//! every decode and verify rejection, signing misuse, and the successor
//! rules that detect rollbacks, forks and gaps.

use std::collections::BTreeMap;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use kinseal::{
    DecodeError, DeviceList, DeviceListError, DeviceListUpdate, Error, IdentityKey,
    IdentityKeyPair, KeyKind, MisuseError, ProtocolError, SignedObject, UserAddress,
    UserIdentityKey, UserIdentityKeyPair, VerifiedDeviceList, WireType,
};
use proptest::prelude::*;

use crate::common::rng;

const T0: u64 = 1_767_225_600;
const MAX_DEVICES: usize = kinseal::server::MAX_DEVICES_PER_USER;

struct Fixture {
    user: UserIdentityKeyPair,
    address: UserAddress,
    devices: Vec<IdentityKeyPair>,
}

fn fixture(seed: u64) -> Fixture {
    let mut r = rng(seed);
    Fixture {
        user: UserIdentityKeyPair::generate(&mut r),
        address: UserAddress::new(b"chirp", b"alice").unwrap(),
        devices: (0..MAX_DEVICES + 1)
            .map(|_| IdentityKeyPair::generate(&mut r))
            .collect(),
    }
}

impl Fixture {
    fn key(&self, i: usize) -> &IdentityKey {
        self.devices[i].public_key()
    }

    /// Devices `ids`, device `i` with key `i`.
    fn set(&self, ids: &[u32]) -> Vec<(u32, &IdentityKey, u64)> {
        ids.iter()
            .map(|&i| (i, self.key(i as usize), T0 + u64::from(i)))
            .collect()
    }

    fn first(&self, ids: &[u32]) -> VerifiedDeviceList {
        DeviceList::first(&self.user, &self.address, T0, self.set(ids)).unwrap()
    }
}

fn decode(bytes: &[u8]) -> kinseal::Result<VerifiedDeviceList> {
    DeviceList::from_bytes(bytes)?.verify()
}

fn field(name: &'static str, found: u32) -> Error {
    Error::Decode(DecodeError::InvalidField {
        wire_type: WireType::DeviceList,
        field: name,
        found,
    })
}

fn ids(list: &VerifiedDeviceList) -> Vec<u32> {
    list.devices().map(|d| d.device_id()).collect()
}

/// The offsets of the fields after the address ("chirp", "alice").
const VERSION_AT: usize = 35 + 1 + 5 + 2 + 5;
const PREV_AT: usize = VERSION_AT + 8;
const COUNT_AT: usize = PREV_AT + 32 + 8;
fn entry_at(i: usize) -> usize {
    COUNT_AT + 1 + 44 * i
}

/// The bytes with the signature replaced by `user`'s over the new body,
/// signed through the public API: a list of the same body signed by
/// `DeviceList::first`/`next` is impossible for inconsistent bodies, so
/// this signs with the raw Ed25519 key from `to_secret_bytes`.
fn resign(user: &UserIdentityKeyPair, bytes: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let secret: [u8; 32] = user.to_secret_bytes().as_bytes().try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let split = bytes.len() - 64;
    let mut message = b"KINSEAL-v1 device list\0".to_vec();
    message.extend_from_slice(&bytes[..split]);
    let mut out = bytes[..split].to_vec();
    out.extend_from_slice(&key.sign(&message).to_bytes());
    out
}

fn torsioned(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

#[test]
fn lists_round_trip_and_chain_by_hash() {
    let f = fixture(1);
    let v1 = f.first(&[3, 1]);
    assert_eq!(v1.version(), 1);
    assert_eq!(v1.previous_hash(), &[0; 32]);
    assert_eq!(ids(&v1), [1, 3], "held in ascending order of id");
    assert_eq!(v1.user_key(), f.user.public_key());
    assert_eq!(v1.address(), &f.address);
    assert_eq!(v1.created_at(), T0);
    let d3 = v1.device(3).unwrap();
    assert_eq!((d3.identity_key(), d3.added_at()), (f.key(3), T0 + 3));
    assert!(v1.device(2).is_none());

    let v2 = v1.next(&f.user, T0 + 9, f.set(&[1, 2, 3])).unwrap();
    assert_eq!(v2.version(), 2);
    assert_eq!(v2.previous_hash(), v1.hash());
    for v in [&v1, &v2] {
        let bytes = v.to_bytes();
        let back = decode(&bytes).unwrap();
        assert_eq!(&back, v);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.hash(), v.hash());
        assert_eq!(DeviceList::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    }
    assert_ne!(v1.hash(), v2.hash());
    // The hash covers the signature: SHA-256(label ‖ encoding).
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"KINSEAL-v1 device list hash\0");
    h.update(v2.to_bytes());
    assert_eq!(v2.hash()[..], h.finalize()[..]);
}

#[test]
fn structure_is_refused_with_typed_errors() {
    let f = fixture(2);
    let bytes = f
        .first(&[1, 2])
        .next(&f.user, T0, f.set(&[1, 2, 3]))
        .unwrap()
        .to_bytes();
    let set = |at: usize, by: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + by.len()].copy_from_slice(by);
        b
    };
    let len = |min, max, found| {
        Error::Decode(DecodeError::LengthOutOfRange {
            wire_type: WireType::DeviceList,
            min,
            max,
            found,
        })
    };
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (
            set(0, &[2]),
            DecodeError::UnsupportedVersion { found: 2 }.into(),
        ),
        (
            set(1, &[0x03]),
            DecodeError::UnexpectedType {
                expected: WireType::DeviceList,
                found: 3,
            }
            .into(),
        ),
        (
            set(2, &[9]),
            DecodeError::UnsupportedSuite { found: 9 }.into(),
        ),
        (set(35, &[0]), len(1, 64, 0)),
        (set(35, &[65]), len(1, 64, 65)),
        (set(41, &[0, 0]), len(1, 256, 0)),
        (set(41, &[1, 1]), len(1, 256, 257)),
        (set(VERSION_AT, &[0; 8]), field("list_version", 0)),
        (set(COUNT_AT, &[0]), len(1, MAX_DEVICES, 0)),
        (
            set(COUNT_AT, &[MAX_DEVICES as u8 + 1]),
            len(1, MAX_DEVICES, 17),
        ),
        (
            {
                let mut b = bytes.clone();
                b.push(0);
                b
            },
            DecodeError::TrailingBytes {
                wire_type: WireType::DeviceList,
                count: 1,
            }
            .into(),
        ),
        (
            bytes[..bytes.len() - 1].to_vec(),
            DecodeError::Truncated {
                wire_type: WireType::DeviceList,
                needed: 64,
                available: 63,
            }
            .into(),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(DeviceList::from_bytes(&input), Err(want));
    }
    // Every strict prefix is refused.
    for cut in 0..bytes.len() {
        assert!(
            DeviceList::from_bytes(&bytes[..cut]).is_err(),
            "prefix {cut}"
        );
    }
}

#[test]
fn invalid_keys_are_refused_before_consistency() {
    let f = fixture(3);
    let bytes = f
        .first(&[1, 2])
        .next(&f.user, T0, f.set(&[1, 2]))
        .unwrap()
        .to_bytes();
    let user_key: [u8; 32] = bytes[3..35].try_into().unwrap();
    let device: [u8; 32] = f.key(1).to_bytes();
    let user_invalid = Err(Error::Decode(DecodeError::InvalidKey {
        kind: KeyKind::UserIdentity,
    }));
    let device_invalid = Err(Error::Decode(DecodeError::InvalidKey {
        kind: KeyKind::Identity,
    }));
    let with = |at: usize, key: &[u8; 32]| {
        let mut b = bytes.clone();
        b[at..at + 32].copy_from_slice(key);
        resign(&f.user, &b)
    };
    assert_eq!(
        DeviceList::from_bytes(&with(3, &torsioned(&user_key))),
        user_invalid
    );
    let small = EIGHT_TORSION[4].compress().to_bytes();
    assert_eq!(DeviceList::from_bytes(&with(3, &small)), user_invalid);
    assert_eq!(
        DeviceList::from_bytes(&with(entry_at(0) + 4, &torsioned(&device))),
        device_invalid
    );
    assert_eq!(
        DeviceList::from_bytes(&with(entry_at(1) + 4, &small)),
        device_invalid
    );
    // A bad key and a repeated key: keys first.
    let mut both = with(entry_at(1) + 4, &device);
    both[entry_at(0) + 4..entry_at(0) + 36].copy_from_slice(&torsioned(&device));
    assert_eq!(DeviceList::from_bytes(&both), device_invalid);
}

#[test]
fn user_keys_are_validated_like_device_keys_and_are_their_own_type() {
    let mut r = rng(4);
    for _ in 0..8 {
        let device = IdentityKeyPair::generate(&mut r);
        let a = device.public_key().to_bytes();
        assert_eq!(UserIdentityKey::from_bytes(&a).unwrap().to_bytes(), a);
        for t in &EIGHT_TORSION {
            let p = CompressedEdwardsY(a).decompress().unwrap() + t;
            let b = p.compress().to_bytes();
            assert_eq!(
                UserIdentityKey::from_bytes(&b).is_ok(),
                IdentityKey::from_bytes(&b).is_ok()
            );
            assert_eq!(UserIdentityKey::from_bytes(&b).is_ok(), b == a);
        }
    }
    let user = UserIdentityKeyPair::generate(&mut r);
    let back = UserIdentityKeyPair::from_secret_bytes(user.to_secret_bytes().as_bytes()).unwrap();
    assert_eq!(back.public_key(), user.public_key());
    assert!(UserIdentityKeyPair::from_secret_bytes(&[1; 31]).is_err());
}

#[test]
fn inconsistent_lists_are_refused_even_when_validly_signed() {
    let f = fixture(5);
    let v1 = f.first(&[1, 2]);
    let v2 = v1.next(&f.user, T0, f.set(&[1, 2, 3])).unwrap().to_bytes();
    let edit = |base: &[u8], at: usize, by: &[u8]| {
        let mut b = base.to_vec();
        b[at..at + by.len()].copy_from_slice(by);
        resign(&f.user, &b)
    };
    // Entries 0 and 1 swapped: ids 2, 1, 3.
    let mut swapped = v2.clone();
    let (e0, e1) = (entry_at(0), entry_at(1));
    let (a, b) = (v2[e0..e1].to_vec(), v2[e1..e1 + 44].to_vec());
    swapped[e0..e1].copy_from_slice(&b);
    swapped[e1..e1 + 44].copy_from_slice(&a);
    let swapped = resign(&f.user, &swapped);
    assert_eq!(DeviceList::from_bytes(&swapped), Err(field("device_id", 1)));
    assert_eq!(
        DeviceList::from_bytes(&edit(&v2, entry_at(2), &2u32.to_be_bytes())),
        Err(field("device_id", 2))
    );
    assert_eq!(
        DeviceList::from_bytes(&edit(&v2, entry_at(2) + 4, f.key(1).as_bytes())),
        Err(field("identity_key", 3))
    );
    assert_eq!(
        DeviceList::from_bytes(&edit(&v2, PREV_AT, &[0; 32])),
        Err(field("previous_hash", 2))
    );
    assert_eq!(
        DeviceList::from_bytes(&edit(&v1.to_bytes(), PREV_AT + 31, &[1])),
        Err(field("previous_hash", 1))
    );
    // The honest bytes, re-signed, still decode: the edits are what fails.
    assert!(decode(&resign(&f.user, &v2)).is_ok());
}

#[test]
fn signatures_are_checked_by_the_key_the_list_names() {
    let f = fixture(6);
    let other = UserIdentityKeyPair::generate(&mut rng(60));
    let bytes = f.first(&[1, 2]).to_bytes();
    let invalid = Err(Error::Protocol(ProtocolError::InvalidSignature {
        object: SignedObject::DeviceList,
    }));
    // Names Alice's key, signed by another user key.
    let forged = resign(&other, &bytes);
    assert_eq!(decode(&forged), invalid);
    // Another user's own list verifies, under its own key.
    let theirs = DeviceList::first(&other, &f.address, T0, f.set(&[1])).unwrap();
    assert_eq!(
        decode(&theirs.to_bytes()).unwrap().user_key(),
        other.public_key()
    );
    // Every bit of the body and signature matters.
    for i in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[i / 8] ^= 1 << (i % 8);
        assert!(decode(&b).is_err(), "bit {i} flipped and accepted");
    }
    // Decoding alone does not check the signature.
    assert!(DeviceList::from_bytes(&forged).is_ok());
}

#[test]
fn signing_refuses_bad_device_sets() {
    let f = fixture(7);
    let sign = |devices: Vec<(u32, &IdentityKey, u64)>| {
        DeviceList::first(&f.user, &f.address, T0, devices).map(|_| ())
    };
    assert_eq!(
        sign(vec![]),
        Err(MisuseError::DeviceCount {
            min: 1,
            max: MAX_DEVICES,
            found: 0
        }
        .into())
    );
    let all: Vec<u32> = (0..=MAX_DEVICES as u32).collect();
    assert_eq!(
        sign(f.set(&all)),
        Err(MisuseError::DeviceCount {
            min: 1,
            max: MAX_DEVICES,
            found: MAX_DEVICES + 1
        }
        .into())
    );
    assert!(sign(f.set(&all[..MAX_DEVICES])).is_ok());
    assert_eq!(
        sign(vec![(5, f.key(0), T0), (5, f.key(1), T0)]),
        Err(MisuseError::DuplicateDeviceId { device_id: 5 }.into())
    );
    assert_eq!(
        sign(vec![(9, f.key(0), T0), (4, f.key(0), T0)]),
        Err(MisuseError::DuplicateDeviceKey { device_id: 9 }.into())
    );
    let v1 = f.first(&[1]);
    let other = UserIdentityKeyPair::generate(&mut rng(70));
    assert_eq!(
        v1.next(&other, T0, f.set(&[1])),
        Err(MisuseError::WrongUserKey.into())
    );
    assert_eq!(
        v1.next(&f.user, T0, vec![]),
        Err(MisuseError::DeviceCount {
            min: 1,
            max: MAX_DEVICES,
            found: 0
        }
        .into())
    );
}

fn advanced(update: DeviceListUpdate) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    match update {
        DeviceListUpdate::Advanced {
            added,
            removed,
            replaced,
        } => (
            added.iter().map(|d| d.device_id()).collect(),
            removed.iter().map(|d| d.device_id()).collect(),
            replaced.iter().map(|d| d.device_id()).collect(),
        ),
        other => panic!("not advanced: {other:?}"),
    }
}

#[test]
fn successors_report_what_changed() {
    let f = fixture(8);
    let v1 = f.first(&[1, 2]);
    let v2 = v1.next(&f.user, T0, f.set(&[1, 2, 3])).unwrap();
    let replaced = vec![(1, f.key(1), T0), (2, f.key(9), T0), (3, f.key(3), T0)];
    let v3 = v2.next(&f.user, T0, replaced).unwrap();
    let v4 = v3.next(&f.user, T0, vec![(2, f.key(9), T0)]).unwrap();
    assert_eq!(
        advanced(v1.check_successor(&v2).unwrap()),
        (vec![3], vec![], vec![])
    );
    let update = v2.check_successor(&v3).unwrap();
    if let DeviceListUpdate::Advanced { replaced, .. } = &update {
        assert_eq!(replaced[0].before().identity_key(), f.key(2));
        assert_eq!(replaced[0].after().identity_key(), f.key(9));
    }
    assert_eq!(advanced(update), (vec![], vec![], vec![2]));
    assert_eq!(
        advanced(v3.check_successor(&v4).unwrap()),
        (vec![], vec![1, 3], vec![])
    );
    assert_eq!(v2.check_successor(&v2), Ok(DeviceListUpdate::Unchanged));
    // The chain, walked: the net change.
    assert_eq!(
        advanced(
            v1.check_chain(&[v2.clone(), v3.clone(), v4.clone()])
                .unwrap()
        ),
        (vec![], vec![1], vec![2])
    );
    assert_eq!(v1.check_chain(&[]), Ok(DeviceListUpdate::Unchanged));
    assert_eq!(
        v1.check_chain(&[v2.clone(), v4.clone()]),
        Err(DeviceListError::Gap {
            current: 2,
            found: 4
        })
    );
}

#[test]
fn rollbacks_forks_gaps_and_other_users_are_detected() {
    let f = fixture(9);
    let v1 = f.first(&[1, 2]);
    let v2 = v1.next(&f.user, T0, f.set(&[1, 2, 3])).unwrap();
    let v3 = v2.next(&f.user, T0, f.set(&[1, 3])).unwrap();
    // A second version 2 (a ghost device 4 instead of 3), and its successor.
    let v2_ghost = v1.next(&f.user, T0, f.set(&[1, 2, 4])).unwrap();
    let v3_ghost = v2_ghost.next(&f.user, T0, f.set(&[1, 4])).unwrap();
    assert_eq!(
        v3.check_successor(&v2),
        Err(DeviceListError::Rollback {
            current: 3,
            found: 2
        })
    );
    assert_eq!(
        v2.check_successor(&v2_ghost),
        Err(DeviceListError::Fork { version: 2 })
    );
    assert_eq!(
        v2.check_successor(&v3_ghost),
        Err(DeviceListError::Fork { version: 2 })
    );
    assert_eq!(
        v1.check_successor(&v3),
        Err(DeviceListError::Gap {
            current: 1,
            found: 3
        })
    );
    assert_eq!(
        v1.check_chain(&[v2.clone(), v3_ghost.clone()]),
        Err(DeviceListError::Fork { version: 2 })
    );
    assert_eq!(
        v1.check_chain(&[v2.clone(), v3.clone(), v2.clone()]),
        Err(DeviceListError::Rollback {
            current: 3,
            found: 2
        })
    );
    // The same devices under another user key: an identity change, even
    // when it claims to follow the list held.
    let mallory = UserIdentityKeyPair::generate(&mut rng(90));
    let theirs = DeviceList::first(&mallory, &f.address, T0, f.set(&[1, 2])).unwrap();
    assert_eq!(
        v1.check_successor(&theirs),
        Err(DeviceListError::UserKeyChanged)
    );
    let elsewhere = UserAddress::new(b"chirp", b"bob").unwrap();
    let other = DeviceList::first(&f.user, &elsewhere, T0, f.set(&[1, 2])).unwrap();
    assert_eq!(
        v1.check_successor(&other),
        Err(DeviceListError::AddressMismatch)
    );
    // The error is wired into kinseal's error, with its source.
    let e: Error = DeviceListError::Fork { version: 2 }.into();
    assert!(core::error::Error::source(&e).is_some());
    assert_eq!(
        e.to_string(),
        "device list refused: two different device lists of version 2"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any two device sets signed one after the other: the successor
    /// reports exactly the set difference, and both lists round-trip.
    #[test]
    fn successor_updates_are_the_set_difference(
        before in prop::collection::btree_map(0u32..24, 0usize..17, 1..=MAX_DEVICES),
        after in prop::collection::btree_map(0u32..24, 0usize..17, 1..=MAX_DEVICES),
    ) {
        let f = fixture(10);
        // Keys must be distinct within a list: key i for at most one id.
        let dedup = |m: &BTreeMap<u32, usize>| -> Vec<(u32, &IdentityKey, u64)> {
            let mut seen = std::collections::BTreeSet::new();
            m.iter()
                .filter(|(_, k)| seen.insert(**k))
                .map(|(id, k)| (*id, f.key(*k), T0))
                .collect()
        };
        let (b, a) = (dedup(&before), dedup(&after));
        let v1 = DeviceList::first(&f.user, &f.address, T0, b.clone()).unwrap();
        let v2 = v1.next(&f.user, T0 + 1, a.clone()).unwrap();
        for v in [&v1, &v2] {
            prop_assert_eq!(&decode(&v.to_bytes()).unwrap(), v);
        }
        let old: BTreeMap<u32, &IdentityKey> = b.iter().map(|(i, k, _)| (*i, *k)).collect();
        let new: BTreeMap<u32, &IdentityKey> = a.iter().map(|(i, k, _)| (*i, *k)).collect();
        let want = (
            new.keys().filter(|i| !old.contains_key(i)).copied().collect::<Vec<_>>(),
            old.keys().filter(|i| !new.contains_key(i)).copied().collect::<Vec<_>>(),
            new.iter()
                .filter(|(i, k)| old.get(i).is_some_and(|o| o != *k))
                .map(|(i, _)| *i)
                .collect::<Vec<_>>(),
        );
        prop_assert_eq!(advanced(v1.check_successor(&v2).unwrap()), want);
        prop_assert_eq!(
            v2.check_successor(&v1),
            Err(DeviceListError::Rollback { current: 2, found: 1 })
        );
    }
}
