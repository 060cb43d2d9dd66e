//! `safety-number.json`: safety numbers of pairs of identity keys, with
//! every intermediate, and scanned QR payloads with what comparing them
//! gives (PROTOCOL.md §11).

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::client::SafetyNumber;
use crate::crypto::labels;
use crate::keys::{IdentityKey, IdentityKeyPair};

/// The iteration count of §11.1, as the spec states it.
const ITERATIONS: usize = 5200;

/// One key's hashes and digits, recomputed from the spec.
struct Half {
    key: [u8; 32],
    h0: [u8; 64],
    h1: [u8; 64],
    last: [u8; 64],
    chunks: [u64; 6],
    digits: String,
}

impl Half {
    fn of(key: &IdentityKey) -> Half {
        let k = *key.as_bytes();
        let sha512 = |parts: &[&[u8]]| -> [u8; 64] {
            let mut h = Sha512::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().into()
        };
        let h0 = sha512(&[labels::SAFETY_NUMBER, &1u16.to_be_bytes(), &k]);
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
        json!({
            "identity_public": hex(&self.key),
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

/// One case, computed by the library and by hand, which must agree.
fn case(description: &str, a: &IdentityKey, b: &IdentityKey) -> (SafetyNumber, Value) {
    let sn = SafetyNumber::new(a, b);
    let (ha, hb) = (Half::of(a), Half::of(b));
    let a_first = ha.sort_key() <= hb.sort_key();
    let (low, high) = if a_first { (&ha, &hb) } else { (&hb, &ha) };
    let digits = format!("{}{}", low.digits, high.digits);
    let groups: Vec<String> = (0..12)
        .map(|g| digits[5 * g..5 * g + 5].to_string())
        .collect();
    let mut qr = vec![1u8, 0x40];
    qr.extend_from_slice(low.fingerprint());
    qr.extend_from_slice(high.fingerprint());

    assert_eq!(sn.digits(), digits);
    assert_eq!(sn.groups().to_vec(), groups);
    assert_eq!(sn.to_string(), groups.join(" "));
    assert_eq!(sn.to_qr_bytes(), qr);
    assert_eq!(sn.version(), 1);
    assert_eq!(SafetyNumber::new(b, a), sn, "not symmetric");

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

/// Two keys whose order by fingerprint bytes is not their order by digits,
/// so that the case pins which of the two decides.
fn keys_ordered_differently_by_bytes(
    rng: &mut chacha20::ChaCha20Rng,
) -> (IdentityKeyPair, IdentityKeyPair) {
    loop {
        let a = IdentityKeyPair::generate(rng);
        let b = IdentityKeyPair::generate(rng);
        let (ha, hb) = (Half::of(a.public_key()), Half::of(b.public_key()));
        let by_digits = ha.digits < hb.digits;
        let by_bytes = ha.fingerprint() < hb.fingerprint();
        if by_digits != by_bytes {
            return (a, b);
        }
    }
}

pub(super) fn safety_number_file() -> Value {
    let mut rng = seeded("safety-number");
    let ids: Vec<IdentityKeyPair> = (0..5)
        .map(|_| IdentityKeyPair::generate(&mut rng))
        .collect();
    let k: Vec<&IdentityKey> = ids.iter().map(IdentityKeyPair::public_key).collect();
    let (p, q) = keys_ordered_differently_by_bytes(&mut rng);

    let specs: [(&str, &IdentityKey, &IdentityKey); 6] = [
        ("two keys", k[0], k[1]),
        (
            "the keys of case 0 the other way round: the same safety number",
            k[1],
            k[0],
        ),
        (
            "key_b of case 0 replaced: key_a's half is unchanged, the other half is the new key's",
            k[0],
            k[2],
        ),
        ("a key with itself: its half twice", k[3], k[3]),
        ("two other keys", k[3], k[4]),
        (
            "two keys whose fingerprints sort the other way by bytes: the digits decide",
            p.public_key(),
            q.public_key(),
        ),
    ];
    let (numbers, cases): (Vec<SafetyNumber>, Vec<Value>) =
        specs.iter().map(|(d, a, b)| case(d, a, b)).unzip();
    assert_eq!(numbers[0], numbers[1]);

    let qr: Vec<Vec<u8>> = numbers.iter().map(SafetyNumber::to_qr_bytes).collect();
    let edit = |i: usize, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = qr[i].clone();
        f(&mut b);
        b
    };
    let swap = |b: &mut Vec<u8>| {
        let (low, high) = (b[2..34].to_vec(), b[34..66].to_vec());
        b.truncate(2);
        b.extend_from_slice(&high);
        b.extend_from_slice(&low);
    };
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
        ("version byte 0x02", 0, edit(0, &|b: &mut Vec<u8>| b[0] = 2)),
        ("version byte 0x00", 0, edit(0, &|b: &mut Vec<u8>| b[0] = 0)),
        (
            "version byte 0x02 and 80 bytes: the version is read before the length",
            0,
            edit(0, &|b: &mut Vec<u8>| {
                b[0] = 2;
                b.resize(80, 0);
            }),
        ),
        ("type byte 0x41", 0, edit(0, &|b: &mut Vec<u8>| b[1] = 0x41)),
        (
            "type byte 0x03 (a bundle's)",
            0,
            edit(0, &|b: &mut Vec<u8>| b[1] = 0x03),
        ),
        ("empty", 0, Vec::new()),
        ("version byte only", 0, vec![1]),
        (
            "65 bytes: the second fingerprint is one byte short",
            0,
            edit(0, &|b: &mut Vec<u8>| {
                b.pop();
            }),
        ),
        (
            "67 bytes: one trailing byte",
            0,
            edit(0, &|b: &mut Vec<u8>| b.push(0)),
        ),
        ("case 0's fingerprints swapped", 0, edit(0, &swap)),
        (
            "case 5's fingerprints swapped: in the order of their bytes, not of their digits",
            5,
            edit(5, &swap),
        ),
    ];
    let qr_cases: Vec<Value> = scans
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
        .collect();

    json!({
        "description": "Safety numbers (PROTOCOL.md §11). For each key: h0 = SHA512(label ‖ \
                        u16(version) ‖ IK), h_i = SHA512(h_(i-1) ‖ IK), h5199 the last of 5200; \
                        fingerprint = h5199[0..32]; chunk j = u40(h5199[5j..5j+5]) mod 100000. \
                        The halves are ordered by digits, then fingerprint bytes; low names \
                        the key whose half comes first. qr_cases compare a scanned payload with \
                        cases[against]: match, mismatch, or the error kind.",
        "version": 1,
        "label": hex(labels::SAFETY_NUMBER),
        "iterations": ITERATIONS,
        "qr_type": 0x40,
        "cases": cases,
        "qr_cases": qr_cases,
    })
}
