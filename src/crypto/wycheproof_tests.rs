//! Wycheproof vectors against kinseal's own wrappers and key parsers
//! ([`super::kem`], [`super::dh`], [`super::aead`], [`super::kdf`],
//! [`crate::keys::IdentityKey`], [`crate::keys::prekey_x25519`]). The JSON
//! files are unmodified copies in `test-vectors/wycheproof/`; its README
//! says which cases go through which wrapper.
//!
//! ML-KEM-768: every valid case must give exactly the expected output;
//! every invalid case must be rejected by the wrapper: inputs of the wrong
//! length cannot become the wrapper's fixed-size arrays, encapsulation keys
//! failing the FIPS 203 modulus check fail [`kem::public_key_is_valid`], and
//! decapsulation keys failing the FIPS 203 hash check are refused by
//! [`kem::decapsulate_expanded`].
//!
//! X25519, Ed25519, ChaCha20-Poly1305, HKDF-SHA256 and HMAC-SHA256: see
//! each test. Cases are counted and the counts asserted, so nothing passes
//! vacuously.

#![allow(clippy::indexing_slicing)]

use serde_json::Value;

use super::kem::{self, PRIVATE_KEY_LEN, SEED_LEN, SHARED_SECRET_LEN};
use crate::sizes::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN};

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

// ---------------------------------------------------------------------------
// Classical primitives: X25519, Ed25519, ChaCha20-Poly1305, HKDF, HMAC.
// ---------------------------------------------------------------------------

/// Loads a Wycheproof file whose `algorithm` must be `algorithm`, and checks
/// its group type.
fn load_file(name: &str, algorithm: &str, group_type: &str) -> Value {
    let path = format!(
        "{}/test-vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["algorithm"], algorithm, "{name}");
    for group in v["testGroups"].as_array().unwrap() {
        assert_eq!(group["type"], group_type, "{name}");
    }
    v
}

/// Every test case of a file with its group, checking at the end that the
/// number visited is the file's `numberOfTests`.
fn cases(v: &Value) -> Vec<(&Value, &Value)> {
    let all: Vec<(&Value, &Value)> = v["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap().iter().map(move |t| (g, t)))
        .collect();
    assert_eq!(all.len() as u64, v["numberOfTests"].as_u64().unwrap());
    all
}

fn hex_field(test: &Value, name: &str) -> Vec<u8> {
    unhex(
        test[name]
            .as_str()
            .unwrap_or_else(|| panic!("no field {name}")),
    )
}

fn has_flag(test: &Value, flag: &str) -> bool {
    test["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str() == Some(flag))
}

fn result(test: &Value) -> &str {
    test["result"].as_str().unwrap()
}

/// X25519 through [`super::dh::agree`] (the only way kinseal computes a
/// DH) and public keys through [`crate::keys::prekey_x25519`] (the parser
/// every X25519 key from the wire goes through).
#[test]
fn x25519_through_dh_agree_and_the_key_parser() {
    use x25519_dalek::StaticSecret;

    use crate::error::ProtocolError;

    let v = load_file("x25519_test.json", "XDH", "XdhComp");
    let p_le: [u8; 32] = {
        // p = 2^255 - 19, little-endian.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };
    let at_least_p = |u: &[u8; 32]| -> bool {
        let mut masked = *u;
        masked[31] &= 0x7f;
        // Compare little-endian numbers from the most significant byte.
        masked.iter().rev().cmp(p_le.iter().rev()) != core::cmp::Ordering::Less
    };
    #[derive(Debug, Default, PartialEq, Eq)]
    struct X {
        valid: usize,
        acceptable: usize,
        zero_rejected: usize,
        agreed: usize,
        parser_rejected_top_bit: usize,
        parser_rejected_at_least_p: usize,
        parser_rejected_and_zero: usize,
        parser_rejected_not_in_subgroup: usize,
        non_canonical_flagged: usize,
    }
    // Membership of the prime-order subgroup by the definition, computed
    // apart from the parser: [ℓ − 1]P = −P (same u) exactly when [ℓ]P = O,
    // by the x-only ladder, which also runs on twist points; u = 0 (order
    // 2) by hand.
    let in_subgroup = |u: &[u8; 32]| -> bool {
        use curve25519_dalek::Scalar;
        use curve25519_dalek::montgomery::MontgomeryPoint;
        *u != [0u8; 32] && (MontgomeryPoint(*u) * (Scalar::ZERO - Scalar::ONE)).to_bytes() == *u
    };
    let mut x = X::default();
    for (group, test) in cases(&v) {
        assert_eq!(group["curve"], "curve25519");
        let tc = tc(test);
        match result(test) {
            "valid" => x.valid += 1,
            "acceptable" => x.acceptable += 1,
            other => panic!("{tc}: unexpected result {other}"),
        }
        let private: [u8; 32] = array(&hex_field(test, "private")).unwrap();
        let public: [u8; 32] = array(&hex_field(test, "public")).unwrap();
        let shared: [u8; 32] = array(&hex_field(test, "shared")).unwrap();
        let zero = shared == [0u8; 32];
        assert_eq!(zero, has_flag(test, "ZeroSharedSecret"), "{tc}");

        // Key agreement: an all-zero result is refused, anything else is
        // exactly the expected shared secret.
        match super::dh::agree(&StaticSecret::from(private), &public) {
            Err(e) => {
                assert!(zero, "{tc}: a contributory DH was refused");
                assert_eq!(e, ProtocolError::NonContributoryKey, "{tc}");
                assert!(has_flag(test, "LowOrderPublic"), "{tc}");
                x.zero_rejected += 1;
            }
            Ok(got) => {
                assert!(!zero, "{tc}: a low-order public key was accepted");
                assert_eq!(*got, shared, "{tc}: wrong shared secret");
                x.agreed += 1;
            }
        }

        // Key parsing: kinseal accepts exactly the canonical encodings
        // (top bit clear, u < p) of points of the prime-order subgroup.
        let top_bit = public[31] & 0x80 != 0;
        let non_canonical = top_bit || at_least_p(&public);
        if has_flag(test, "NonCanonicalPublic") {
            x.non_canonical_flagged += 1;
            assert!(non_canonical, "{tc}: flagged non-canonical");
        }
        match crate::keys::prekey_x25519(&public) {
            Ok(parsed) => {
                assert!(!non_canonical, "{tc}: a non-canonical key was parsed");
                assert!(in_subgroup(&public), "{tc}: a key outside the subgroup");
                assert!(!zero, "{tc}: a low-order key was parsed");
                assert_eq!(parsed, public);
            }
            Err(_) => {
                assert!(
                    non_canonical || !in_subgroup(&public),
                    "{tc}: a canonical subgroup key was refused"
                );
                if !non_canonical {
                    x.parser_rejected_not_in_subgroup += 1;
                } else if top_bit {
                    x.parser_rejected_top_bit += 1;
                } else {
                    x.parser_rejected_at_least_p += 1;
                }
                if zero {
                    x.parser_rejected_and_zero += 1;
                }
            }
        }
    }
    assert_eq!(
        x,
        X {
            valid: 264,
            acceptable: 254,
            zero_rejected: 31,
            agreed: 487,
            // 29 public keys are not canonical encodings: 21 with the top
            // bit set, 8 more with u >= p. X25519 accepts them (RFC 7748
            // masks and reduces); kinseal's parser refuses all 29 before
            // any DH. Of the 489 canonical ones, 439 are not of a point of
            // the prime-order subgroup (twist points, small-order points,
            // points with a small-order component: the file probes edge
            // cases) and are refused too; the 50 left are what an honest
            // peer could send. All 31 keys with a zero shared secret are
            // among the refused.
            parser_rejected_top_bit: 21,
            parser_rejected_at_least_p: 8,
            parser_rejected_and_zero: 31,
            parser_rejected_not_in_subgroup: 439,
            non_canonical_flagged: 19,
        }
    );
}

/// Ed25519 through [`crate::keys::IdentityKey::from_bytes`] (the strict
/// identity-key parser) and [`crate::keys::IdentityKey::verify`] (with an
/// empty label and the message as the single part, so the signed bytes are
/// exactly the message).
#[test]
fn ed25519_through_identity_key_parsing_and_verify() {
    use curve25519_dalek::edwards::CompressedEdwardsY;

    use crate::error::SignedObject;
    use crate::keys::IdentityKey;
    use crate::sizes::SIGNATURE_LEN;

    let v = load_file("ed25519_test.json", "EDDSA", "EddsaVerify");
    #[derive(Debug, Default, PartialEq, Eq)]
    struct E {
        valid_accepted: usize,
        valid_key_refused: usize,
        invalid_wrong_length: usize,
        invalid_rejected: usize,
        invalid_key_refused: usize,
        groups_key_refused: usize,
    }
    let mut e = E::default();
    let mut refused_keys = std::collections::HashSet::new();
    for (group, test) in cases(&v) {
        let tc = tc(test);
        assert_eq!(group["publicKey"]["curve"], "edwards25519");
        let pk: [u8; 32] = array(&unhex(group["publicKey"]["pk"].as_str().unwrap())).unwrap();
        let msg = hex_field(test, "msg");
        let sig = hex_field(test, "sig");
        let valid = match result(test) {
            "valid" => true,
            "invalid" => false,
            other => panic!("{tc}: unexpected result {other}"),
        };
        let key = match IdentityKey::from_bytes(&pk) {
            Ok(k) => k,
            Err(_) => {
                // kinseal's parser is stricter than RFC 8032 verification:
                // the only keys it may refuse are non-canonical encodings
                // and points of small order.
                let point = CompressedEdwardsY(pk).decompress();
                let non_canonical = point.is_none_or(|p| p.compress().to_bytes() != pk);
                let small_order = point.is_some_and(|p| p.is_small_order());
                assert!(
                    non_canonical || small_order,
                    "{tc}: a canonical, large-order key was refused"
                );
                refused_keys.insert(pk);
                if valid {
                    e.valid_key_refused += 1;
                } else {
                    e.invalid_key_refused += 1;
                }
                continue;
            }
        };
        let Some(sig) = array::<SIGNATURE_LEN>(&sig) else {
            assert!(!valid, "{tc}: a valid signature of the wrong length");
            e.invalid_wrong_length += 1;
            continue;
        };
        let verdict = key.verify(SignedObject::SignedPreKey, b"", &[&msg], &sig);
        if valid {
            assert_eq!(verdict, Ok(()), "{tc}: a valid signature was rejected");
            e.valid_accepted += 1;
        } else {
            assert!(verdict.is_err(), "{tc}: an invalid signature verified");
            e.invalid_rejected += 1;
        }
    }
    e.groups_key_refused = refused_keys.len();
    // No key in this file is refused (the file has no small-order or
    // non-canonical public keys); kinseal's own tests cover those.
    assert_eq!(
        e,
        E {
            valid_accepted: 88,
            valid_key_refused: 0,
            invalid_wrong_length: 12,
            invalid_rejected: 51,
            invalid_key_refused: 0,
            groups_key_refused: 0,
        }
    );
}

mod aead;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
type HkdfSha256 = hkdf::Hkdf<sha2::Sha256>;

/// HMAC-SHA256 the way `kdf::chain_step` computes it: keyed once with
/// `KeyInit::new_from_slice`, the keyed state cloned, then the message.
fn hmac_like_kinseal(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let keyed = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
    let mut mac = keyed.clone();
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256. No case has a 32-byte key and the one-byte message 0x01 or
/// 0x02 that the chain KDF uses, so every case runs through the crate types
/// and calls kinseal's KDF uses (above); and for every 32-byte key,
/// `kdf::chain_step` and `kdf::chain_advance` must equal that computation
/// with the messages 0x01 and 0x02.
#[test]
fn hmac_sha256_as_kinseal_uses_it() {
    use super::kdf;

    let v = load_file("hmac_sha256_test.json", "HMACSHA256", "MacTest");
    let (mut valid, mut invalid, mut chain_keys, mut chain_shaped) = (0, 0, 0, 0);
    for (group, test) in cases(&v) {
        let tc = tc(test);
        let key = hex_field(test, "key");
        let msg = hex_field(test, "msg");
        let tag = hex_field(test, "tag");
        let tag_len = group["tagSize"].as_u64().unwrap() as usize / 8;
        assert_eq!(tag.len(), tag_len, "{tc}");
        assert_eq!(key.len() * 8, group["keySize"].as_u64().unwrap() as usize);
        let full = hmac_like_kinseal(&key, &msg);
        match result(test) {
            "valid" => {
                assert_eq!(full[..tag_len], tag[..], "{tc}: wrong tag");
                valid += 1;
            }
            "invalid" => {
                assert!(has_flag(test, "ModifiedTag"), "{tc}");
                assert_ne!(full[..tag_len], tag[..], "{tc}: a modified tag matched");
                invalid += 1;
            }
            other => panic!("{tc}: unexpected result {other}"),
        }
        if let Some(ck) = array::<32>(&key) {
            if msg == [1] || msg == [2] {
                chain_shaped += 1;
            }
            let (seed, next) = kdf::chain_step(&ck);
            assert_eq!(*seed, hmac_like_kinseal(&ck, &[0x01]), "{tc}");
            assert_eq!(*next, hmac_like_kinseal(&ck, &[0x02]), "{tc}");
            assert_eq!(*kdf::chain_advance(&ck), *next, "{tc}");
            chain_keys += 1;
        }
    }
    assert_eq!((valid, invalid), (66, 108));
    assert_eq!(chain_keys, 162);
    assert_eq!(
        chain_shaped, 0,
        "a chain-KDF-shaped case appeared: test it directly"
    );
}

/// HKDF-SHA256. kinseal's `kdf` functions have fixed salts, infos and
/// lengths that no Wycheproof case has, so every case runs through the same
/// crate type kinseal uses (`hkdf::Hkdf<Sha256>`) along every path kinseal
/// takes: `new` + `expand` (root step), `new` + `expand_multi_info`
/// (handshake), and `extract` + `from_prk` + `expand` (message keys); and
/// the wrappers must equal those paths with kinseal's own parameters.
#[test]
fn hkdf_sha256_as_kinseal_uses_it() {
    use super::{kdf, labels};

    let v = load_file("hkdf_sha256_test.json", "HKDF-SHA-256", "HkdfTest");
    let (mut valid, mut too_long, mut empty_salt, mut root_shaped) = (0, 0, 0, 0);
    for (group, test) in cases(&v) {
        let tc = tc(test);
        let ikm = hex_field(test, "ikm");
        let salt = hex_field(test, "salt");
        let info = hex_field(test, "info");
        let okm = hex_field(test, "okm");
        let size = test["size"].as_u64().unwrap() as usize;
        assert_eq!(ikm.len() * 8, group["keySize"].as_u64().unwrap() as usize);

        let hk = HkdfSha256::new(Some(&salt), &ikm);
        let mut out = vec![0u8; size];
        let expanded = hk.expand(&info, &mut out);
        let (a, b) = info.split_at(info.len() / 2);
        let mut multi = vec![0u8; size];
        let expanded_multi = hk.expand_multi_info(&[a, b], &mut multi);
        let (prk, _) = HkdfSha256::extract(Some(&salt), &ikm);
        let mut from_prk = vec![0u8; size];
        let expanded_prk = HkdfSha256::from_prk(&prk)
            .unwrap()
            .expand(&info, &mut from_prk);
        match result(test) {
            "valid" => {
                expanded.unwrap();
                expanded_multi.unwrap();
                expanded_prk.unwrap();
                assert_eq!(out, okm, "{tc}: expand");
                assert_eq!(multi, okm, "{tc}: expand_multi_info");
                assert_eq!(from_prk, okm, "{tc}: extract, from_prk, expand");
                valid += 1;
            }
            "invalid" => {
                assert!(has_flag(test, "SizeTooLarge"), "{tc}");
                assert!(expanded.is_err() && expanded_multi.is_err() && expanded_prk.is_err());
                too_long += 1;
            }
            other => panic!("{tc}: unexpected result {other}"),
        }

        // message_key: HKDF-Expand from a 32-byte PRK with kinseal's label.
        let prk: [u8; 32] = prk.into();
        let mut mk = [0u8; 44];
        HkdfSha256::from_prk(&prk)
            .unwrap()
            .expand(labels::MESSAGE_KEY_INFO, &mut mk)
            .unwrap();
        assert_eq!(kdf::message_key(&prk).to_okm(), mk, "{tc}: message_key");

        // handshake: salt = 32 zero bytes, which HMAC pads exactly like the
        // RFC's empty salt (Wycheproof's EmptySalt cases).
        if salt.is_empty() {
            let th = kdf::sha256(&[&info]);
            let mut want = [0u8; 128];
            HkdfSha256::new(Some(&salt), &ikm)
                .expand_multi_info(&[labels::HANDSHAKE_INFO, &th], &mut want)
                .unwrap();
            let (rk, ck, hk_a, hk_b) = kdf::handshake(&ikm, &th).into_parts();
            assert_eq!(
                [&rk[..], &ck[..], &hk_a[..], &hk_b[..]].concat(),
                want,
                "{tc}: handshake"
            );
            empty_salt += 1;
        }

        // root_step: salt = the 32-byte root key, ikm = a 32-byte DH output.
        if let (Some(rk), Some(dh)) = (array::<32>(&salt), array::<32>(&ikm)) {
            let mut want = [0u8; 96];
            HkdfSha256::new(Some(&rk), &dh)
                .expand(labels::ROOT_INFO, &mut want)
                .unwrap();
            let (new_rk, ck, nhk) = kdf::root_step(&rk, &dh);
            assert_eq!(
                [&new_rk[..], &ck[..], &nhk[..]].concat(),
                want,
                "{tc}: root_step"
            );
            root_shaped += 1;
        }
    }
    assert_eq!((valid, too_long), (83, 3));
    assert_eq!((empty_salt, root_shaped), (23, 8));
}
