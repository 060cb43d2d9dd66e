//! `safety-number.json`: safety numbers of pairs of device identity keys
//! (version 1) and of user identity keys (version 2), with every
//! intermediate, and scanned QR payloads with what comparing them gives
//! (PROTOCOL.md §11).

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::client::SafetyNumber;
use crate::crypto::labels;
use crate::keys::{IdentityKey, IdentityKeyPair, UserIdentityKey, UserIdentityKeyPair};

/// The iteration count of §11.1, as the spec states it.
const ITERATIONS: usize = 5200;

/// One key's hashes and digits, recomputed from the spec.
struct Half {
    version: u16,
    key: [u8; 32],
    h0: [u8; 64],
    h1: [u8; 64],
    last: [u8; 64],
    chunks: [u64; 6],
    digits: String,
}

impl Half {
    fn of(version: u16, k: [u8; 32]) -> Half {
        let sha512 = |parts: &[&[u8]]| -> [u8; 64] {
            let mut h = Sha512::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().into()
        };
        let h0 = sha512(&[labels::SAFETY_NUMBER, &version.to_be_bytes(), &k]);
        let h1 = sha512(&[&h0, &k]);
        let mut last = h0;
        for _ in 1..ITERATIONS {
            last = sha512(&[&last, &k]);
        }
        let mut chunks = [0u64; 6];
        for (j, c) in chunks.iter_mut().enumerate() {
            let mut be = [0u8; 8];
            be[3..].copy_from_slice(&last[5 * j..5 * j + 5]);
            *c = u64::from_be_bytes(be) % 100_000;
        }
        let digits = chunks.iter().map(|c| format!("{c:05}")).collect();
        Half {
            version,
            key: k,
            h0,
            h1,
            last,
            chunks,
            digits,
        }
    }

    fn fingerprint(&self) -> &[u8] {
        &self.last[..32]
    }

    fn json(&self) -> Value {
        // Version 1 hashes a device's identity key, version 2 a user's.
        let name = if self.version == 1 {
            "identity_public"
        } else {
            "user_public"
        };
        json!({
            name: hex(&self.key),
            "h0": hex(&self.h0),
            "h1": hex(&self.h1),
            "h5199": hex(&self.last),
            "fingerprint": hex(self.fingerprint()),
            "chunks": self.chunks,
            "digits": self.digits,
        })
    }

    /// The §11.2 order: digits first, then the fingerprint bytes.
    fn sort_key(&self) -> (&str, &[u8]) {
        (&self.digits, self.fingerprint())
    }
}

/// The library's safety number of two keys' bytes: of device identity
/// keys for version 1, of user identity keys for version 2.
fn library(version: u16, a: &[u8; 32], b: &[u8; 32]) -> SafetyNumber {
    if version == 1 {
        let key = |k| IdentityKey::from_bytes(k).unwrap();
        SafetyNumber::new(&key(a), &key(b))
    } else {
        let key = |k| UserIdentityKey::from_bytes(k).unwrap();
        SafetyNumber::for_users(&key(a), &key(b))
    }
}

/// One case, computed by the library and by hand, which must agree.
fn case(description: &str, version: u16, a: &[u8; 32], b: &[u8; 32]) -> (SafetyNumber, Value) {
    let sn = library(version, a, b);
    let (ha, hb) = (Half::of(version, *a), Half::of(version, *b));
    let a_first = ha.sort_key() <= hb.sort_key();
    let (low, high) = if a_first { (&ha, &hb) } else { (&hb, &ha) };
    let digits = format!("{}{}", low.digits, high.digits);
    let groups: Vec<String> = (0..12)
        .map(|g| digits[5 * g..5 * g + 5].to_string())
        .collect();
    let mut qr = vec![version as u8, 0x40];
    qr.extend_from_slice(low.fingerprint());
    qr.extend_from_slice(high.fingerprint());

    assert_eq!(sn.digits(), digits);
    assert_eq!(sn.groups().to_vec(), groups);
    assert_eq!(sn.to_string(), groups.join(" "));
    assert_eq!(sn.to_qr_bytes(), qr);
    assert_eq!(u16::from(sn.version()), version);
    assert_eq!(library(version, b, a), sn, "not symmetric");

    let json = json!({
        "description": description,
        "key_a": ha.json(),
        "key_b": hb.json(),
        "low": if a_first { "a" } else { "b" },
        "digits": digits,
        "groups": groups,
        "display": groups.join(" "),
        "qr": hex(&qr),
    });
    (sn, json)
}

/// Two keys whose order by fingerprint bytes is not their order by digits
/// under `version`, so that the case pins which of the two decides.
fn keys_ordered_differently_by_bytes(
    rng: &mut chacha20::ChaCha20Rng,
    version: u16,
) -> ([u8; 32], [u8; 32]) {
    loop {
        let a = IdentityKeyPair::generate(rng).public_key().to_bytes();
        let b = IdentityKeyPair::generate(rng).public_key().to_bytes();
        let (ha, hb) = (Half::of(version, a), Half::of(version, b));
        let by_digits = ha.digits < hb.digits;
        let by_bytes = ha.fingerprint() < hb.fingerprint();
        if by_digits != by_bytes {
            return (a, b);
        }
    }
}

/// `qr_cases`: each a scanned payload compared with `numbers[against]`.
fn scan_cases(numbers: &[SafetyNumber], scans: Vec<(&str, usize, Vec<u8>)>) -> Vec<Value> {
    scans
        .into_iter()
        .map(|(reason, against, input)| {
            let outcome = match numbers[against].matches_scanned(&input) {
                Ok(true) => "match",
                Ok(false) => "mismatch",
                Err(e) => error_name(&e),
            };
            json!({
                "reason": reason,
                "against": against,
                "input": hex(&input),
                "outcome": outcome,
            })
        })
        .collect()
}

fn edit(b: &[u8], f: &dyn Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = b.to_vec();
    f(&mut b);
    b
}

fn swap(b: &mut Vec<u8>) {
    let (low, high) = (b[2..34].to_vec(), b[34..66].to_vec());
    b.truncate(2);
    b.extend_from_slice(&high);
    b.extend_from_slice(&low);
}

/// The version 2 cases: user identity keys, with their scans.
fn user_cases(device_keys: (&IdentityKey, &IdentityKey)) -> (Vec<SafetyNumber>, Value, Value) {
    let mut rng = seeded("safety-number user keys");
    let users: Vec<UserIdentityKeyPair> = (0..5)
        .map(|_| UserIdentityKeyPair::generate(&mut rng))
        .collect();
    let u: Vec<[u8; 32]> = users.iter().map(|k| k.public_key().to_bytes()).collect();
    let (p, q) = keys_ordered_differently_by_bytes(&mut rng, 2);
    let (d0, d1) = (device_keys.0.to_bytes(), device_keys.1.to_bytes());
    let specs: [(&str, &[u8; 32], &[u8; 32]); 6] = [
        ("two user keys", &u[0], &u[1]),
        (
            "the keys of user case 0 the other way round: the same safety number",
            &u[1],
            &u[0],
        ),
        (
            "key_b of user case 0 replaced: key_a's half is unchanged",
            &u[0],
            &u[2],
        ),
        ("a user key with itself: its half twice", &u[3], &u[3]),
        (
            "the bytes of device case 0's identity keys as user keys: other digits than case 0's",
            &d0,
            &d1,
        ),
        (
            "two user keys whose fingerprints sort the other way by bytes: the digits decide",
            &p,
            &q,
        ),
    ];
    let (numbers, cases): (Vec<SafetyNumber>, Vec<Value>) =
        specs.iter().map(|(d, a, b)| case(d, 2, a, b)).unzip();
    assert_eq!(numbers[0], numbers[1]);
    let device = SafetyNumber::new(device_keys.0, device_keys.1);
    assert_ne!(numbers[4].digits(), device.digits());

    let qr: Vec<Vec<u8>> = numbers.iter().map(SafetyNumber::to_qr_bytes).collect();
    let scans: Vec<(&str, usize, Vec<u8>)> = vec![
        (
            "user case 0's payload, scanned by user case 0",
            0,
            qr[0].clone(),
        ),
        (
            "user case 0's payload, scanned by user case 1 (the keys the other way round)",
            1,
            qr[0].clone(),
        ),
        (
            "user case 2's payload (one key differs), scanned by user case 0",
            0,
            qr[2].clone(),
        ),
        (
            "device case 0's payload (version 1, the same key bytes), scanned by user case 4: \
             another version, not a mismatch",
            4,
            device.to_qr_bytes(),
        ),
        (
            "user case 0's payload with version byte 0x01: a well-formed device-key number, \
             another version",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[0] = 1),
        ),
        (
            "version byte 0x03",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[0] = 3),
        ),
        (
            "65 bytes",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| {
                b.pop();
            }),
        ),
        ("user case 0's fingerprints swapped", 0, edit(&qr[0], &swap)),
        (
            "user case 5's fingerprints swapped: in the order of their bytes, not of their digits",
            5,
            edit(&qr[5], &swap),
        ),
    ];
    let qr_cases = scan_cases(&numbers, scans);
    (numbers, json!(cases), json!(qr_cases))
}

pub(super) fn safety_number_file() -> Value {
    let mut rng = seeded("safety-number");
    let ids: Vec<IdentityKeyPair> = (0..5)
        .map(|_| IdentityKeyPair::generate(&mut rng))
        .collect();
    let k: Vec<[u8; 32]> = ids.iter().map(|i| i.public_key().to_bytes()).collect();
    let (p, q) = keys_ordered_differently_by_bytes(&mut rng, 1);

    let specs: [(&str, &[u8; 32], &[u8; 32]); 6] = [
        ("two keys", &k[0], &k[1]),
        (
            "the keys of case 0 the other way round: the same safety number",
            &k[1],
            &k[0],
        ),
        (
            "key_b of case 0 replaced: key_a's half is unchanged, the other half is the new key's",
            &k[0],
            &k[2],
        ),
        ("a key with itself: its half twice", &k[3], &k[3]),
        ("two other keys", &k[3], &k[4]),
        (
            "two keys whose fingerprints sort the other way by bytes: the digits decide",
            &p,
            &q,
        ),
    ];
    let (numbers, cases): (Vec<SafetyNumber>, Vec<Value>) =
        specs.iter().map(|(d, a, b)| case(d, 1, a, b)).unzip();
    assert_eq!(numbers[0], numbers[1]);
    let (user_numbers, user_cases, user_qr_cases) =
        user_cases((ids[0].public_key(), ids[1].public_key()));

    let qr: Vec<Vec<u8>> = numbers.iter().map(SafetyNumber::to_qr_bytes).collect();
    let scans: Vec<(&str, usize, Vec<u8>)> = vec![
        ("case 0's payload, scanned by case 0", 0, qr[0].clone()),
        (
            "case 0's payload, scanned by case 1 (the keys the other way round)",
            1,
            qr[0].clone(),
        ),
        ("a key with itself", 3, qr[3].clone()),
        (
            "case 2's payload (one key differs), scanned by case 0",
            0,
            qr[2].clone(),
        ),
        (
            "case 4's payload (both keys differ), scanned by case 0",
            0,
            qr[4].clone(),
        ),
        (
            "version byte 0x02: the same fingerprints read as a user-key number, another version",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[0] = 2),
        ),
        (
            "user case 4's payload (the same key bytes as user keys), scanned by case 0: \
             another version, not a mismatch",
            0,
            user_numbers[4].to_qr_bytes(),
        ),
        (
            "version byte 0x03",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[0] = 3),
        ),
        (
            "version byte 0x00",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[0] = 0),
        ),
        (
            "version byte 0x03 and 80 bytes: the version is read before the length",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| {
                b[0] = 3;
                b.resize(80, 0);
            }),
        ),
        (
            "type byte 0x41",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[1] = 0x41),
        ),
        (
            "type byte 0x03 (a bundle's)",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b[1] = 0x03),
        ),
        ("empty", 0, Vec::new()),
        ("version byte only", 0, vec![1]),
        (
            "65 bytes: the second fingerprint is one byte short",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| {
                b.pop();
            }),
        ),
        (
            "67 bytes: one trailing byte",
            0,
            edit(&qr[0], &|b: &mut Vec<u8>| b.push(0)),
        ),
        ("case 0's fingerprints swapped", 0, edit(&qr[0], &swap)),
        (
            "case 5's fingerprints swapped: in the order of their bytes, not of their digits",
            5,
            edit(&qr[5], &swap),
        ),
    ];
    let qr_cases = scan_cases(&numbers, scans);

    json!({
        "description": "Safety numbers (PROTOCOL.md §11). For each key: h0 = SHA512(label ‖ \
                        u16(version) ‖ key), h_i = SHA512(h_(i-1) ‖ key), h5199 the last of 5200; \
                        fingerprint = h5199[0..32]; chunk j = u40(h5199[5j..5j+5]) mod 100000. \
                        The halves are ordered by digits, then fingerprint bytes; low names \
                        the key whose half comes first. cases are version 1 (device identity \
                        keys), user_cases version 2 (user identity keys). qr_cases and \
                        user_qr_cases compare a scanned payload with cases[against] or \
                        user_cases[against]: match, mismatch, or the error kind.",
        "version": 1,
        "user_version": 2,
        "label": hex(labels::SAFETY_NUMBER),
        "iterations": ITERATIONS,
        "qr_type": 0x40,
        "cases": cases,
        "qr_cases": qr_cases,
        "user_cases": user_cases,
        "user_qr_cases": user_qr_cases,
    })
}
