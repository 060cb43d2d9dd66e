//! Wycheproof ML-KEM-768 vectors against kinseal's KEM wrapper
//! ([`super::kem`]). The JSON files are unmodified copies in
//! `test-vectors/wycheproof/` (see the README there).
//!
//! Every valid case must give exactly the expected output; every invalid
//! case must be rejected by the wrapper: inputs of the wrong length cannot
//! become the wrapper's fixed-size arrays, encapsulation keys failing the
//! FIPS 203 modulus check fail [`kem::public_key_is_valid`], and
//! decapsulation keys failing the FIPS 203 hash check are refused by
//! [`kem::decapsulate_expanded`]. Cases are counted and the counts
//! asserted, so nothing passes vacuously.

#![allow(clippy::indexing_slicing)]

use serde_json::Value;

use super::kem::{self, PRIVATE_KEY_LEN, SEED_LEN, SHARED_SECRET_LEN};
use crate::wire::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN};

fn load(name: &str) -> Value {
    let path = format!(
        "{}/test-vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["algorithm"], "ML-KEM", "{name}");
    v
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A hex field of a test case; `None` when the case does not have it.
fn field(test: &Value, name: &str) -> Option<Vec<u8>> {
    test.get(name).map(|v| unhex(v.as_str().unwrap()))
}

/// The fixed-size array the wrapper takes, or `None` for the wrong length
/// (the rejection the wrapper's signature enforces).
fn array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    <[u8; N]>::try_from(bytes).ok()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
}

/// Runs `check(test, valid)` on every case of every ML-KEM-768 group of
/// `file` (whose group type must be `group_type`), and returns the counts.
fn for_each_case(file: &str, group_type: &str, mut check: impl FnMut(&Value, bool)) -> Counts {
    let v = load(file);
    let mut counts = Counts::default();
    for group in v["testGroups"].as_array().unwrap() {
        assert_eq!(group["type"], group_type, "{file}");
        assert_eq!(group["parameterSet"], "ML-KEM-768", "{file}");
        for test in group["tests"].as_array().unwrap() {
            let id = &test["tcId"];
            match test["result"].as_str().unwrap() {
                "valid" => {
                    counts.valid += 1;
                    check(test, true);
                }
                "invalid" => {
                    counts.invalid += 1;
                    check(test, false);
                }
                other => panic!("{file} tcId {id}: unexpected result {other}"),
            }
        }
    }
    assert_eq!(
        (counts.valid + counts.invalid) as u64,
        v["numberOfTests"].as_u64().unwrap(),
        "{file}: not every case was run"
    );
    counts
}

fn tc(test: &Value) -> String {
    format!("tcId {}", test["tcId"])
}

#[test]
fn keygen_from_seed() {
    let counts = for_each_case(
        "mlkem_768_keygen_seed_test.json",
        "MLKEMKeyGen",
        |test, valid| {
            assert!(valid, "{}: this file has only valid cases", tc(test));
            let seed: [u8; SEED_LEN] = array(&field(test, "seed").unwrap()).unwrap();
            let ek = field(test, "ek").unwrap();
            let dk: [u8; PRIVATE_KEY_LEN] = array(&field(test, "dk").unwrap()).unwrap();
            let (secret, public) = kem::keypair_from_seed(&seed);
            assert_eq!(public[..], ek[..], "{}: ek", tc(test));
            assert_eq!(secret.seed(), &seed);
            // The wrapper keeps the expanded key private; check it is `dk`
            // by its layout (dk_pke ‖ ek ‖ H(ek) ‖ z, and the hash check in
            // `decapsulate_expanded`) and by decapsulating exactly like `dk`,
            // on a valid ciphertext and on a rejected one.
            assert_eq!(dk[1152..2336], ek[..], "{}: ek inside dk", tc(test));
            assert_eq!(dk[2368..], seed[32..], "{}: z inside dk", tc(test));
            let m: [u8; 32] = array(&seed[..32]).unwrap();
            let (c, k) = kem::encapsulate_deterministic(&public, &m);
            assert_eq!(*kem::decapsulate(&secret, &c), *k, "{}", tc(test));
            assert_eq!(kem::decapsulate_expanded(&dk, &c), Some(*k), "{}", tc(test));
            let mut bad = *c;
            bad[0] ^= 1;
            let rejected = kem::decapsulate(&secret, &bad);
            assert_ne!(*rejected, *k);
            assert_eq!(
                kem::decapsulate_expanded(&dk, &bad),
                Some(*rejected),
                "{}: implicit rejection differs from dk's",
                tc(test)
            );
        },
    );
    assert_eq!(
        counts,
        Counts {
            valid: 100,
            invalid: 0
        }
    );
}

#[test]
fn keygen_and_decapsulation() {
    let counts = for_each_case("mlkem_768_test.json", "MLKEMTest", |test, valid| {
        let seed = field(test, "seed").unwrap();
        let c = field(test, "c").unwrap();
        let seed_arr = array::<SEED_LEN>(&seed);
        let c_arr = array::<KEM_CIPHERTEXT_LEN>(&c);
        if !valid {
            // Every invalid case has a seed or a ciphertext of the wrong
            // length, which the wrapper cannot be called with.
            assert!(
                seed_arr.is_none() || c_arr.is_none(),
                "{}: an invalid case the wrapper would accept",
                tc(test)
            );
            assert_eq!(field(test, "K").unwrap(), Vec::<u8>::new());
            return;
        }
        let (seed, c) = (seed_arr.unwrap(), c_arr.unwrap());
        let ek = field(test, "ek").unwrap();
        let k: [u8; SHARED_SECRET_LEN] = array(&field(test, "K").unwrap()).unwrap();
        let (secret, public) = kem::keypair_from_seed(&seed);
        assert_eq!(public[..], ek[..], "{}: ek", tc(test));
        assert!(kem::public_key_is_valid(&public));
        assert_eq!(*kem::decapsulate(&secret, &c), k, "{}: K", tc(test));
    });
    assert_eq!(
        counts,
        Counts {
            valid: 153,
            invalid: 40
        }
    );
}

#[test]
fn encapsulation_and_the_modulus_check() {
    let mut modulus_rejected = 0;
    let mut length_rejected = 0;
    let counts = for_each_case(
        "mlkem_768_encaps_test.json",
        "MLKEMEncapsTest",
        |test, valid| {
            let ek = field(test, "ek").unwrap();
            let m: [u8; 32] = array(&field(test, "m").unwrap()).unwrap();
            let Some(ek) = array::<KEM_PUBLIC_KEY_LEN>(&ek) else {
                assert!(!valid, "{}: a valid case with a bad key length", tc(test));
                length_rejected += 1;
                return;
            };
            if !valid {
                assert!(
                    !kem::public_key_is_valid(&ek),
                    "{}: an unreduced encapsulation key passed the check",
                    tc(test)
                );
                modulus_rejected += 1;
                return;
            }
            assert!(kem::public_key_is_valid(&ek), "{}", tc(test));
            let c = field(test, "c").unwrap();
            let k = field(test, "K").unwrap();
            let (got_c, got_k) = kem::encapsulate_deterministic(&ek, &m);
            assert_eq!(got_c[..], c[..], "{}: c", tc(test));
            assert_eq!(got_k[..], k[..], "{}: K", tc(test));
        },
    );
    assert_eq!(
        counts,
        Counts {
            valid: 133,
            invalid: 132
        }
    );
    assert_eq!((modulus_rejected, length_rejected), (112, 20));
}

#[test]
fn decapsulation_with_expanded_keys_and_the_hash_check() {
    let mut by_check = [0usize; 3];
    let counts = for_each_case(
        "mlkem_768_semi_expanded_decaps_test.json",
        "MLKEMDecapsValidationTest",
        |test, valid| {
            let dk = array::<PRIVATE_KEY_LEN>(&field(test, "dk").unwrap());
            let c = array::<KEM_CIPHERTEXT_LEN>(&field(test, "c").unwrap());
            let (Some(dk), Some(c)) = (dk, c) else {
                assert!(!valid, "{}: a valid case with a bad length", tc(test));
                by_check[0] += 1;
                return;
            };
            let got = kem::decapsulate_expanded(&dk, &c);
            if !valid {
                assert_eq!(got, None, "{}: an invalid key was used", tc(test));
                by_check[1] += 1;
                return;
            }
            let k: [u8; SHARED_SECRET_LEN] = array(&field(test, "K").unwrap()).unwrap();
            assert_eq!(got, Some(k), "{}: K", tc(test));
            let ek: [u8; KEM_PUBLIC_KEY_LEN] = array(&field(test, "ek").unwrap()).unwrap();
            assert!(kem::public_key_is_valid(&ek));
            by_check[2] += 1;
        },
    );
    assert_eq!(
        counts,
        Counts {
            valid: 3,
            invalid: 6
        }
    );
    // 4 wrong lengths, 2 keys failing the hash check, 3 decapsulations.
    assert_eq!(by_check, [4, 2, 3]);
}
