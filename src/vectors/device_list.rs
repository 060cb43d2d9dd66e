//! `device-list.json`: a user's chain of signed device lists with every
//! field, signed body, signature and hash; lists that must be refused when
//! decoded or verified; and pairs of lists with what the successor rules
//! say (PROTOCOL.md §12).

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::address::UserAddress;
use crate::crypto::labels::{DEVICE_LIST_HASH, SIG_DEVICE_LIST};
use crate::error::{DeviceListError, Error};
use crate::keys::{
    DeviceList, DeviceListUpdate, IdentityKey, IdentityKeyPair, UserIdentityKeyPair,
    VerifiedDeviceList,
};
use crate::wire::{SUITE_V1, TYPE_DEVICE_LIST};

/// Seconds since the Unix epoch: 2026-01-01.
const T0: u64 = 1_767_225_600;
const DAY: u64 = 86_400;

/// The body of a list, byte by byte as PROTOCOL.md §12.1 lays it out.
fn body_by_hand(list: &DeviceList) -> Vec<u8> {
    let mut b = vec![1, TYPE_DEVICE_LIST, SUITE_V1];
    b.extend_from_slice(list.user_key().as_bytes());
    let a = list.address();
    b.push(a.app_id().len() as u8);
    b.extend_from_slice(a.app_id());
    b.extend_from_slice(&(a.user_id().len() as u16).to_be_bytes());
    b.extend_from_slice(a.user_id());
    b.extend_from_slice(&list.version().to_be_bytes());
    b.extend_from_slice(list.previous_hash());
    b.extend_from_slice(&list.created_at().to_be_bytes());
    b.push(list.devices().len() as u8);
    for d in list.devices() {
        b.extend_from_slice(&d.device_id().to_be_bytes());
        b.extend_from_slice(d.identity_key().as_bytes());
        b.extend_from_slice(&d.added_at().to_be_bytes());
    }
    b
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// One list with every value, each recomputed from the primitives and
/// compared with what the library produced.
fn list_json(description: &str, user_secret: &[u8], v: &VerifiedDeviceList) -> Value {
    let body = body_by_hand(v.list());
    let encoding = v.to_bytes();
    assert_eq!(&encoding[..encoding.len() - 64], &body[..]);
    let secret: [u8; 32] = user_secret.try_into().unwrap();
    let mut message = SIG_DEVICE_LIST.to_vec();
    message.extend_from_slice(&body);
    let signature = SigningKey::from_bytes(&secret).sign(&message).to_bytes();
    assert_eq!(&encoding[encoding.len() - 64..], &signature[..]);
    let hash = sha256(&[DEVICE_LIST_HASH, &encoding]);
    assert_eq!(&hash, v.hash());
    let devices: Vec<Value> = v
        .devices()
        .map(|d| {
            json!({
                "device_id": d.device_id(),
                "identity_public": hex(d.identity_key().as_bytes()),
                "added_at": d.added_at(),
            })
        })
        .collect();
    json!({
        "description": description,
        "user_public": hex(v.user_key().as_bytes()),
        "app_id": hex(v.address().app_id()),
        "user_id": hex(v.address().user_id()),
        "list_version": v.version(),
        "previous_hash": hex(v.previous_hash()),
        "created_at": v.created_at(),
        "devices": devices,
        "body": hex(&body),
        "signed_message": hex(&message),
        "signature": hex(&signature),
        "encoding": hex(&encoding),
        "hash": hex(&hash),
    })
}

fn update_json(result: Result<DeviceListUpdate, DeviceListError>) -> Value {
    match result {
        Ok(DeviceListUpdate::Unchanged) => json!({"outcome": "Unchanged"}),
        Ok(DeviceListUpdate::Advanced {
            added,
            removed,
            replaced,
        }) => json!({
            "outcome": "Advanced",
            "added": added.iter().map(|d| d.device_id()).collect::<Vec<_>>(),
            "removed": removed.iter().map(|d| d.device_id()).collect::<Vec<_>>(),
            "replaced": replaced.iter().map(|d| d.device_id()).collect::<Vec<_>>(),
        }),
        Err(e) => {
            let mut out = json!({"outcome": error_name(&Error::DeviceList(e.clone()))});
            match e {
                DeviceListError::Rollback { current, found }
                | DeviceListError::Gap { current, found } => {
                    out["current"] = json!(current);
                    out["found"] = json!(found);
                }
                DeviceListError::Fork { version } => out["version"] = json!(version),
                _ => {}
            }
            out
        }
    }
}

/// `bytes` with its signature replaced by the user's over its new body.
fn resigned(user: &UserIdentityKeyPair, bytes: &[u8]) -> Vec<u8> {
    let split = bytes.len() - 64;
    let mut out = bytes[..split].to_vec();
    let signature = user.sign(SIG_DEVICE_LIST, &[&out]);
    out.extend_from_slice(&signature);
    out
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

/// `A + T`, `T` of order 8: canonical, of large order, outside the subgroup.
fn torsioned(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

pub(super) fn device_list_file() -> Value {
    let mut rng = seeded("device-list");
    let user = UserIdentityKeyPair::generate(&mut rng);
    let secret = user.to_secret_bytes().as_bytes().to_vec();
    let address = UserAddress::new(b"chirp", b"alice@example.org").unwrap();
    let keys: Vec<IdentityKeyPair> = (0..6)
        .map(|_| IdentityKeyPair::generate(&mut rng))
        .collect();
    let k: Vec<&IdentityKey> = keys.iter().map(IdentityKeyPair::public_key).collect();

    // The chain: two devices; a third added; the second replaced by a new
    // key (a reinstall); the first removed.
    let v1 = DeviceList::first(&user, &address, T0, [(1, k[0], T0), (2, k[1], T0)]).unwrap();
    let v2 = v1
        .next(
            &user,
            T0 + DAY,
            [(1, k[0], T0), (2, k[1], T0), (7, k[2], T0 + DAY)],
        )
        .unwrap();
    let v3 = v2
        .next(
            &user,
            T0 + 2 * DAY,
            [(1, k[0], T0), (2, k[3], T0 + 2 * DAY), (7, k[2], T0 + DAY)],
        )
        .unwrap();
    let v4 = v3
        .next(
            &user,
            T0 + 3 * DAY,
            [(2, k[3], T0 + 2 * DAY), (7, k[2], T0 + DAY)],
        )
        .unwrap();
    let chain = [&v1, &v2, &v3, &v4];
    let descriptions = [
        "version 1: devices 1 and 2",
        "version 2: device 7 added",
        "version 3: device 2 replaced by a new identity key",
        "version 4: device 1 removed",
    ];
    let lists: Vec<Value> = chain
        .iter()
        .zip(descriptions)
        .map(|(v, d)| list_json(d, &secret, v))
        .collect();

    // Lists that are not the chain's.
    let v2_fork = v1
        .next(
            &user,
            T0 + DAY,
            [(1, k[0], T0), (2, k[1], T0), (9, k[4], T0 + DAY)],
        )
        .unwrap();
    let v3_fork = v2_fork
        .next(&user, T0 + 2 * DAY, [(1, k[0], T0), (9, k[4], T0 + DAY)])
        .unwrap();
    let other_user = UserIdentityKeyPair::generate(&mut rng);
    let other_key =
        DeviceList::first(&other_user, &address, T0, [(1, k[0], T0), (2, k[1], T0)]).unwrap();
    let other_address = UserAddress::new(b"chirp", b"mallory@example.org").unwrap();
    let elsewhere =
        DeviceList::first(&user, &other_address, T0, [(1, k[0], T0), (2, k[1], T0)]).unwrap();
    let v5_same = v4
        .next(
            &user,
            T0 + 4 * DAY,
            [(2, k[3], T0 + 2 * DAY), (7, k[2], T0 + DAY)],
        )
        .unwrap();
    let others = vec![
        list_json(
            "another version 2, after version 1: device 9 instead of device 7",
            &secret,
            &v2_fork,
        ),
        list_json("version 3 after the other version 2", &secret, &v3_fork),
        list_json(
            "version 5: the same devices as version 4",
            &secret,
            &v5_same,
        ),
        list_json(
            "the same address's version 1, signed by another user key",
            other_user.to_secret_bytes().as_bytes(),
            &other_key,
        ),
        list_json(
            "version 1 of another user, signed by the same user key",
            &secret,
            &elsewhere,
        ),
    ];

    let successor = |d: &str, a: &VerifiedDeviceList, b: &VerifiedDeviceList| {
        let mut case = update_json(a.check_successor(b));
        case["description"] = json!(d);
        case["current_list"] = json!(hex(&a.to_bytes()));
        case["next_list"] = json!(hex(&b.to_bytes()));
        case
    };
    let successor_cases = vec![
        successor("version 1 to 2: device 7 added", &v1, &v2),
        successor("version 2 to 3: device 2 replaced", &v2, &v3),
        successor("version 3 to 4: device 1 removed", &v3, &v4),
        successor("version 4 to 5: the same devices", &v4, &v5_same),
        successor("version 2 again: unchanged", &v2, &v2),
        successor("version 3 then version 2: a rollback", &v3, &v2),
        successor("version 4 then version 1: a rollback", &v4, &v1),
        successor(
            "version 2, then another version 2: a fork of version 2",
            &v2,
            &v2_fork,
        ),
        successor(
            "version 2, then a version 3 that follows another version 2: a fork of version 2",
            &v2,
            &v3_fork,
        ),
        successor("version 1 to 3: a gap", &v1, &v3),
        successor(
            "version 1, then a version 1 signed by another user key",
            &v1,
            &other_key,
        ),
        successor(
            "version 1, then another user's version 1 under the same user key",
            &v1,
            &elsewhere,
        ),
    ];

    let chain_case = |d: &str, from: &VerifiedDeviceList, run: &[&VerifiedDeviceList]| {
        let owned: Vec<VerifiedDeviceList> = run.iter().map(|v| (*v).clone()).collect();
        let mut case = update_json(from.check_chain(&owned));
        case["description"] = json!(d);
        case["current_list"] = json!(hex(&from.to_bytes()));
        case["lists"] = json!(run.iter().map(|v| hex(&v.to_bytes())).collect::<Vec<_>>());
        case
    };
    let chain_cases = vec![
        chain_case("version 1 through 4: the net change", &v1, &[&v2, &v3, &v4]),
        chain_case("no lists: unchanged", &v1, &[]),
        chain_case(
            "version 1, 2 again, then 3: a repeated list is accepted",
            &v1,
            &[&v2, &v2, &v3],
        ),
        chain_case("version 2 then 4: a gap", &v1, &[&v2, &v4]),
        chain_case(
            "version 2 then the other branch's version 3: a fork",
            &v1,
            &[&v2, &v3_fork],
        ),
        chain_case("version 3 then 2: a rollback", &v1, &[&v2, &v3, &v2]),
    ];

    let decode_cases = negative_cases(&user, &other_user, &v2.to_bytes(), &v1.to_bytes(), k[0]);

    json!({
        "description": "Device lists (PROTOCOL.md 12): one user's chain of four signed lists, \
                        other lists, decode and verify rejections, and the successor rules. \
                        body is every byte before the signature; signed_message is \
                        signature_label || body; hash is SHA-256(hash_label || encoding).",
        "type_byte": TYPE_DEVICE_LIST,
        "signature_label": hex(SIG_DEVICE_LIST),
        "hash_label": hex(DEVICE_LIST_HASH),
        "user_secret": hex(&secret),
        "lists": lists,
        "other_lists": others,
        "negative": decode_cases,
        "successor_cases": successor_cases,
        "chain_cases": chain_cases,
    })
}

/// Decode-or-verify rejections, each an edit of `v2` (version 2, three
/// devices; `v1` for version-1 edits) with the error kind kinseal reports.
fn negative_cases(
    user: &UserIdentityKeyPair,
    other: &UserIdentityKeyPair,
    v2: &[u8],
    v1: &[u8],
    device_key: &IdentityKey,
) -> Vec<Value> {
    let mut cases = Vec::new();
    let mut add = |reason: &str, input: Vec<u8>| {
        let result = DeviceList::from_bytes(&input).and_then(DeviceList::verify);
        let Err(e) = result else {
            panic!("negative device list accepted: {reason}");
        };
        cases.push(json!({"reason": reason, "input": hex(&input), "error": error_name(&e)}));
    };
    // Offsets in v2 (app id "chirp", user id "alice@example.org").
    let (app_len, user_len) = (35, 36 + 5);
    let version_at = user_len + 2 + 17;
    let prev_at = version_at + 8;
    let count_at = prev_at + 32 + 8;
    let entry = |i: usize| count_at + 1 + 44 * i;
    let sig_at = v2.len() - 64;
    assert_eq!(v2[count_at], 3);
    let user_key: [u8; 32] = v2[3..35].try_into().unwrap();
    let first_device: [u8; 32] = v2[entry(0) + 4..entry(0) + 36].try_into().unwrap();
    assert_eq!(&first_device, device_key.as_bytes());
    let set = |at: usize, by: &[u8]| edit(v2, |b| b[at..at + by.len()].copy_from_slice(by));

    add("version byte 0x02", set(0, &[2]));
    add("type byte 0x03 (a bundle's)", set(1, &[3]));
    add("suite 0x02", set(2, &[2]));
    add("the last byte missing", v2[..v2.len() - 1].to_vec());
    add("a byte after the signature", edit(v2, |b| b.push(0)));
    add("only the header", v2[..3].to_vec());
    add("app_id_len 0", set(app_len, &[0]));
    add("app_id_len 65", set(app_len, &[65]));
    add("user_id_len 0", set(user_len, &[0, 0]));
    add("user_id_len 257", set(user_len, &[1, 1]));
    add("list_version 0", set(version_at, &[0; 8]));
    add("device_count 0", set(count_at, &[0]));
    add("device_count 17", set(count_at, &[17]));
    add(
        "device_count 4 with three entries: the signature is read as the fourth",
        set(count_at, &[4]),
    );
    add(
        "user key A + T, T of order 8",
        resigned(user, &set(3, &torsioned(&user_key))),
    );
    add(
        "user key of small order",
        set(3, &EIGHT_TORSION[1].compress().to_bytes()),
    );
    add(
        "user key not canonical (y >= p), a point of large order",
        set(3, &super::negative::non_canonical_identity()),
    );
    add(
        "first device's identity key A + T",
        resigned(user, &set(entry(0) + 4, &torsioned(&first_device))),
    );
    add(
        "first device's identity key of small order",
        set(entry(0) + 4, &EIGHT_TORSION[2].compress().to_bytes()),
    );
    add(
        "user key A + T and a byte after the signature: structure is checked first",
        edit(&set(3, &torsioned(&user_key)), |b| b.push(0)),
    );
    let swapped = edit(v2, |b| {
        let (e0, e1) = (entry(0), entry(1));
        let first = b[e0..e1].to_vec();
        let second = b[e1..e1 + 44].to_vec();
        b[e0..e0 + 44].copy_from_slice(&second);
        b[e1..e1 + 44].copy_from_slice(&first);
    });
    add(
        "devices 1 and 2 in descending order, validly signed",
        resigned(user, &swapped),
    );
    add(
        "device 2 given device 1's id, validly signed",
        resigned(user, &set(entry(1), &1u32.to_be_bytes())),
    );
    add(
        "device 2 given device 1's identity key, validly signed",
        resigned(user, &set(entry(1) + 4, &first_device)),
    );
    add(
        "device 2 given device 1's identity key and the first key A + T: keys are checked first",
        edit(&set(entry(1) + 4, &first_device), |b| {
            b[entry(0) + 4..entry(0) + 36].copy_from_slice(&torsioned(&first_device))
        }),
    );
    add(
        "version 2 with an all-zero previous hash, validly signed",
        resigned(user, &set(prev_at, &[0; 32])),
    );
    add(
        "version 1 with a non-zero previous hash, validly signed",
        resigned(user, &edit(v1, |b| b[prev_at] = 1)),
    );
    add(
        "version 1 relabelled as version 2, validly signed (previous hash still zero)",
        resigned(user, &edit(v1, |b| b[version_at + 7] = 2)),
    );
    add(
        "signed by another user key than the one it names",
        edit(v2, |b| {
            let s = other.sign(SIG_DEVICE_LIST, &[&b[..sig_at]]);
            b[sig_at..].copy_from_slice(&s);
        }),
    );
    add(
        "created_at changed after signing",
        edit(v2, |b| b[prev_at + 32 + 7] ^= 1),
    );
    add(
        "a device's added_at changed after signing",
        edit(v2, |b| b[entry(2) + 43] ^= 1),
    );
    add(
        "signature over the body without the label",
        edit(v2, |b| {
            let s = user.sign(b"", &[&b[..sig_at]]);
            b[sig_at..].copy_from_slice(&s);
        }),
    );
    add(
        "signature under the hash label",
        edit(v2, |b| {
            let s = user.sign(DEVICE_LIST_HASH, &[&b[..sig_at]]);
            b[sig_at..].copy_from_slice(&s);
        }),
    );
    // S + L: the same signature with a non-canonical S.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    add(
        "signature with S + L (not reduced)",
        edit(v2, |b| {
            let mut carry = 0u16;
            for i in 0..32 {
                let s = u16::from(b[sig_at + 32 + i]) + u16::from(l[i]) + carry;
                b[sig_at + 32 + i] = s as u8;
                carry = s >> 8;
            }
        }),
    );
    cases
}
