//! Both backends against the reference: ed25519-dalek's `verify_strict`
//! and x25519-dalek, on the Wycheproof Ed25519 and X25519 files and on
//! hand-made cases that `verify_strict` refuses and a plain RFC 8032
//! verifier (AWS-LC's `ED25519_verify` on its own) accepts. With the
//! `aws-lc` feature every assertion covers both backends; without it, the
//! dalek backend only (`cargo test --features aws-lc` is in `.ci/run`).

#![allow(clippy::indexing_slicing)]

use curve25519_dalek::Scalar;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha512};
use x25519_dalek::StaticSecret;

use super::{Precheck, SIGNATURE_LEN, SMALL_ORDER_Y, dalek, strict_prechecks, y_of};

/// What `verify_strict` says.
fn strict(key: &VerifyingKey, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// AWS-LC's `ED25519_verify` alone, without kinseal's checks in front.
#[cfg(feature = "aws-lc")]
fn aws_lc_alone(key: &VerifyingKey, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
    UnparsedPublicKey::new(&ED25519, key.as_bytes())
        .verify(message, signature)
        .is_ok()
}

/// Every backend's verdict, checked against `verify_strict`; returns it.
fn same_verdict(key: &VerifyingKey, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    let reference = strict(key, message, signature);
    assert_eq!(dalek::ed25519_verify(key, message, signature), reference);
    #[cfg(feature = "aws-lc")]
    assert_eq!(
        super::aws_lc::ed25519_verify(key, message, signature),
        reference,
        "aws-lc backend against verify_strict: key {:02x?}, sig {:02x?}",
        key.as_bytes(),
        signature
    );
    reference
}

fn load(name: &str) -> Value {
    let path = format!(
        "{}/test-vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases(v: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    v["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap().iter().map(move |t| (g, t)))
}

/// k = SHA-512(R ‖ A ‖ M) mod ℓ.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    let wide: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn signature(r: &[u8; 32], s: &Scalar) -> [u8; SIGNATURE_LEN] {
    let mut out = [0u8; SIGNATURE_LEN];
    out[..32].copy_from_slice(r);
    out[32..].copy_from_slice(s.as_bytes());
    out
}

fn key_of(point: &EdwardsPoint) -> VerifyingKey {
    VerifyingKey::from_bytes(&point.compress().to_bytes()).unwrap()
}

/// Every case of Wycheproof's Ed25519 file whose key ed25519-dalek
/// decodes (all of them): the same verdict as `verify_strict`, and the
/// file's verdict.
#[test]
fn wycheproof_ed25519_same_verdict_as_verify_strict() {
    let v = load("ed25519_test.json");
    assert_eq!(v["algorithm"], "EDDSA");
    let (mut accepted, mut rejected, mut wrong_length) = (0, 0, 0);
    for (group, test) in cases(&v) {
        let pk: [u8; 32] = unhex(group["publicKey"]["pk"].as_str().unwrap())
            .try_into()
            .unwrap();
        let key = VerifyingKey::from_bytes(&pk).unwrap();
        let msg = unhex(test["msg"].as_str().unwrap());
        let Ok(sig) = <[u8; SIGNATURE_LEN]>::try_from(unhex(test["sig"].as_str().unwrap())) else {
            wrong_length += 1;
            continue;
        };
        let verdict = same_verdict(&key, &msg, &sig);
        assert_eq!(verdict, test["result"] == "valid", "tcId {}", test["tcId"]);
        if verdict {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert_eq!((accepted, rejected, wrong_length), (88, 51, 12));
}

/// Signatures both backends make are byte for byte ed25519-dalek's, and
/// verify; S + ℓ (the same signature, S not reduced) does not.
#[test]
fn honest_signatures_and_non_canonical_s() {
    let mut seed = [0u8; 32];
    for i in 0..24u8 {
        seed[0] = i;
        seed[31] = i.wrapping_mul(37);
        let signing = SigningKey::from_bytes(&seed);
        let key = signing.verifying_key();
        let message = vec![i; usize::from(i) * 5];
        let sig = dalek::ed25519_sign(&signing, &message);
        #[cfg(feature = "aws-lc")]
        {
            assert_eq!(super::aws_lc::ed25519_sign(&signing, &message), sig);
            assert_eq!(super::aws_lc::public_of_seed(&seed), Some(key.to_bytes()));
        }
        assert!(same_verdict(&key, &message, &sig));
        assert!(!same_verdict(&key, b"another message", &sig));

        // S + ℓ, as a 256-bit little-endian number (S < ℓ < 2^253, so
        // this fits and the top three bits stay clear).
        let mut s_plus_l = [0u8; 32];
        let l = Scalar::ZERO - Scalar::ONE;
        let mut carry = 1u16; // ℓ = (ℓ − 1) + 1
        for j in 0..32 {
            let sum = u16::from(sig[32 + j]) + u16::from(l.as_bytes()[j]) + carry;
            s_plus_l[j] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!((carry, s_plus_l[31] & 0xe0), (0, 0));
        let mut malleated = sig;
        malleated[32..].copy_from_slice(&s_plus_l);
        assert_eq!(strict_prechecks(&key, &malleated), Precheck::Reject);
        assert!(!same_verdict(&key, &message, &malleated));
    }
}

/// `R` of small order with a prime-order key: `R = O` and `S = k·a`
/// satisfy the cofactorless equation (`[S]B − [k]A = O`), so a plain
/// verifier accepts; `verify_strict`, and so both backends, refuse.
#[test]
fn small_order_r_is_refused() {
    let signing = SigningKey::from_bytes(&[0x42; 32]);
    let key = signing.verifying_key();
    let a = signing.to_scalar();
    let mut refused = 0;
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let r = t.compress().to_bytes();
        let message = [i as u8; 9];
        let s = challenge(&r, key.as_bytes(), &message) * a;
        let sig = signature(&r, &s);
        assert_eq!(strict_prechecks(&key, &sig), Precheck::Dalek);
        assert!(!same_verdict(&key, &message, &sig));
        if i == 0 {
            // R = O: the equation holds.
            #[cfg(feature = "aws-lc")]
            assert!(
                aws_lc_alone(&key, &message, &sig),
                "AWS-LC alone accepts R = O"
            );
        }
        refused += 1;
    }
    assert_eq!(refused, 8);
}

/// `R` of small order under a key with a small-order component
/// (`A = aB + T`, which ed25519-dalek decodes and `verify_strict` does not
/// refuse): with `S = k·a`, `[S]B − [k]A = −[k]T`, and messages are tried
/// until that is `R`. A plain verifier accepts; both backends refuse.
#[test]
fn small_order_r_under_a_torsioned_key_is_refused() {
    let a = Scalar::from(0x1234_5678u64);
    let t = EIGHT_TORSION[1];
    let key = key_of(&(EdwardsPoint::mul_base(&a) + t));
    assert!(!key.is_weak());
    let mut found = 0;
    for target in EIGHT_TORSION.iter() {
        let r = target.compress().to_bytes();
        let hit = (0u32..400).find_map(|n| {
            let message = n.to_le_bytes();
            let k = challenge(&r, key.as_bytes(), &message);
            (-(k * t) == *target).then_some((message, k))
        });
        let Some((message, k)) = hit else { continue };
        let sig = signature(&r, &(k * a));
        assert!(!same_verdict(&key, &message, &sig));
        #[cfg(feature = "aws-lc")]
        assert!(aws_lc_alone(&key, &message, &sig));
        found += 1;
    }
    assert!(found >= 6, "{found}");
}

/// A small-order (weak) key: `R = [S]B + T'` with `−[k]T = T'` satisfies
/// the equation for `A = T`, and `R` itself is not of small order. A plain
/// verifier accepts; both backends refuse (the key is weak).
#[test]
fn weak_keys_are_refused() {
    let mut found = 0;
    for t in EIGHT_TORSION.iter() {
        let key = key_of(t);
        assert!(key.is_weak());
        let s = Scalar::from(77u64);
        let hit = EIGHT_TORSION.iter().find_map(|t2| {
            let r = (EdwardsPoint::mul_base(&s) + t2).compress().to_bytes();
            (0u32..400).find_map(|n| {
                let message = n.to_le_bytes();
                let k = challenge(&r, key.as_bytes(), &message);
                (-(k * t) == *t2).then_some((r, message))
            })
        });
        let Some((r, message)) = hit else { continue };
        let sig = signature(&r, &s);
        assert_eq!(strict_prechecks(&key, &sig), Precheck::Reject);
        assert!(!same_verdict(&key, &message, &sig));
        #[cfg(feature = "aws-lc")]
        let _ = aws_lc_alone(&key, &message, &sig);
        found += 1;
    }
    assert_eq!(found, 8);
}

/// `R` that is no point, non-canonical encodings of `R` and of the key:
/// the same verdicts as `verify_strict`.
#[test]
fn undecodable_and_non_canonical_encodings() {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let key = signing.verifying_key();
    let message = b"edge";
    let good = dalek::ed25519_sign(&signing, message);
    // R bytes that decode to no point, or to another point.
    let mut undecodable = 0;
    for b in 0..=255u8 {
        let mut sig = good;
        sig[0] ^= b;
        if CompressedEdwardsY(sig[..32].try_into().unwrap())
            .decompress()
            .is_none()
        {
            undecodable += 1;
        }
        assert_eq!(same_verdict(&key, message, &sig), b == 0);
    }
    assert!(undecodable > 50, "{undecodable}");
    // Non-canonical encodings (y + p for y < 19, either sign) as R and as
    // the key, where ed25519-dalek decodes them.
    let mut keys = 0;
    for y in 0..19u8 {
        for sign in [0u8, 0x80] {
            let mut enc = [0xffu8; 32];
            enc[0] = 0xed + y;
            enc[31] = 0x7f | sign;
            let mut sig = good;
            sig[..32].copy_from_slice(&enc);
            assert!(!same_verdict(&key, message, &sig));
            if let Ok(odd_key) = VerifyingKey::from_bytes(&enc) {
                keys += 1;
                assert_ne!(strict_prechecks(&odd_key, &good), Precheck::Pass);
                assert!(!super::y_is_canonical(&enc));
                let _ = same_verdict(&odd_key, message, &good);
                // A signature the equation accepts under the decoded point
                // (hashing the non-canonical bytes, as both do).
                let s = Scalar::from(5u64);
                if !odd_key.is_weak() {
                    let r = (EdwardsPoint::mul_base(&s)).compress().to_bytes();
                    let _ = same_verdict(&odd_key, message, &signature(&r, &s));
                }
            }
        }
    }
    assert!(keys > 0);
}

/// X25519 on every Wycheproof case (including the all-zero outputs that
/// [`super::super::dh::agree`] refuses, and non-canonical public keys),
/// and public keys of edge secrets: the same bytes from both backends.
#[test]
fn x25519_same_bytes_on_wycheproof_and_edge_secrets() {
    let v = load("x25519_test.json");
    let mut n = 0;
    for (_, test) in cases(&v) {
        let private: [u8; 32] = unhex(test["private"].as_str().unwrap()).try_into().unwrap();
        let public: [u8; 32] = unhex(test["public"].as_str().unwrap()).try_into().unwrap();
        let shared: [u8; 32] = unhex(test["shared"].as_str().unwrap()).try_into().unwrap();
        let secret = StaticSecret::from(private);
        assert_eq!(*dalek::x25519(&secret, &public), shared);
        #[cfg(feature = "aws-lc")]
        assert_eq!(
            *super::aws_lc::x25519(&secret, &public),
            shared,
            "tcId {}",
            test["tcId"]
        );
        n += 1;
    }
    assert_eq!(n, 518);
    let edges = [[0u8; 32], [0xff; 32], [1; 32], [9; 32], [0x80; 32]];
    for secret in edges
        .iter()
        .copied()
        .chain((0..32u8).map(|i| [i.wrapping_mul(97); 32]))
    {
        let secret = StaticSecret::from(secret);
        let public = dalek::x25519_public(&secret);
        #[cfg(feature = "aws-lc")]
        assert_eq!(super::aws_lc::x25519_public(&secret), public);
        let mut nine = [0u8; 32];
        nine[0] = 9;
        assert_eq!(*dalek::x25519(&secret, &nine), public);
    }
}

/// `SMALL_ORDER_Y` is exactly the set of the `y`s of the eight points of
/// small order, and every encoding that ed25519-dalek decodes to a point of
/// small order is sent to it by `strict_prechecks`: both signs, and the
/// non-canonical `y + p` of `y` = 0 and 1 (the only small-order `y`s below
/// 19).
#[test]
fn small_order_y_list_is_the_torsion() {
    let mut ys: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| y_of(&t.compress().to_bytes()))
        .collect();
    ys.sort_unstable();
    ys.dedup();
    let mut listed = SMALL_ORDER_Y.to_vec();
    listed.sort_unstable();
    assert_eq!(ys, listed);
    let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
    let mut small = 0;
    for y in SMALL_ORDER_Y.iter().copied().chain((0u8..19).map(|k| {
        let mut e = [0xffu8; 32];
        e[0] = 0xed + k;
        e[31] = 0x7f;
        e
    })) {
        for sign in [0u8, 0x80] {
            let mut r = y;
            r[31] |= sign;
            let mut sig = [0u8; SIGNATURE_LEN];
            sig[..32].copy_from_slice(&r);
            if CompressedEdwardsY(r)
                .decompress()
                .is_some_and(|p| p.is_small_order())
            {
                small += 1;
                assert_eq!(strict_prechecks(&key, &sig), Precheck::Dalek, "{r:02x?}");
            }
        }
    }
    // 5 ys, both signs (x = 0 for y = ±1: the sign bit is ignored), and
    // p and p + 1 with both signs.
    assert_eq!(small, 14);
}

/// Random damage: honest signatures under honest and torsioned keys with
/// one byte of `R`, `S` or the key changed (or none), 3 000 cases; every
/// verdict is `verify_strict`'s, from both backends.
#[test]
fn damaged_signatures_get_the_same_verdict() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..3000u32 {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&next().to_le_bytes());
        let signing = SigningKey::from_bytes(&seed);
        let message = next().to_le_bytes();
        let mut sig = dalek::ed25519_sign(&signing, &message);
        let mut key_bytes = signing.verifying_key().to_bytes();
        if i % 7 == 0 {
            // A key with a small-order component (what kinseal's parsers
            // refuse and `VerifyingKey` does not).
            let a = CompressedEdwardsY(key_bytes).decompress().unwrap();
            key_bytes = (a + EIGHT_TORSION[(i % 8) as usize]).compress().to_bytes();
        }
        let at = (next() % 96) as usize;
        let flip = (next() % 256) as u8;
        match i % 4 {
            0 => {}
            1 | 2 => sig[at % SIGNATURE_LEN] ^= flip,
            _ => key_bytes[at % 32] ^= flip,
        }
        let Ok(key) = VerifyingKey::from_bytes(&key_bytes) else {
            continue;
        };
        if same_verdict(&key, &message, &sig) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(accepted > 500 && refused > 1500, "{accepted} {refused}");
}
