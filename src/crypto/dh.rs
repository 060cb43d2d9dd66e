//! X25519 with the checks kinseal needs.

use curve25519_dalek::montgomery::MontgomeryPoint;
use subtle::ConstantTimeEq;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::backend;
use crate::error::ProtocolError;

/// A Diffie-Hellman output.
pub(crate) type SharedSecret = Zeroizing<[u8; 32]>;

/// X25519, refusing an all-zero (non-contributory) result.
///
/// A small-order peer key gives an output the peer did not have to know our
/// secret to predict; such keys are rejected rather than mixed in. The
/// check is kinseal's, whichever backend computes the DH.
pub(crate) fn agree(ours: &StaticSecret, theirs: &[u8; 32]) -> Result<SharedSecret, ProtocolError> {
    let shared = backend::x25519(ours, theirs);
    if bool::from(shared.ct_eq(&[0u8; 32])) {
        return Err(ProtocolError::NonContributoryKey);
    }
    Ok(shared)
}

/// Whether 32 bytes are a canonical X25519 public key: the top bit clear
/// and the value below 2^255 - 19. Honest keys always are; rejecting the
/// rest makes every accepted key have exactly one encoding.
pub(crate) fn is_canonical_public(bytes: &[u8; 32]) -> bool {
    // p = 2^255 - 19 is, little-endian: ed ff ff .. ff 7f.
    let top = bytes[31];
    if top & 0x80 != 0 {
        return false;
    }
    if top != 0x7f {
        return true;
    }
    let middle_all_ff = bytes[1..31].iter().all(|&b| b == 0xff);
    !(middle_all_ff && bytes[0] >= 0xed)
}

/// Whether a canonical X25519 public key is the u-coordinate of a point of
/// the prime-order subgroup of Curve25519 (order ℓ = 2^252 + …): not on the
/// twist, not of small order, and with no small-order component. Honest
/// keys (`X25519(k, 9)`, a multiple of the base point) always are.
///
/// A u-coordinate names two points, ±P. `to_edwards(0)` picks one of them
/// (or none: u on the twist, or u = −1); the subgroup is closed under
/// negation, so −P is in it exactly when P is, and the sign chosen does not
/// matter (`tests::both_signs_agree` checks this). The birational map never
/// yields the neutral element (y = (u − 1)/(u + 1) ≠ 1), so "torsion-free"
/// here means "of order ℓ". Cost: a field inversion, a square root and one
/// scalar multiplication by ℓ (see `benches/kinseal.rs`, `keys/`).
pub(crate) fn in_prime_order_subgroup(u: &[u8; 32]) -> bool {
    MontgomeryPoint(*u)
        .to_edwards(0)
        .is_some_and(|p| p.is_torsion_free())
}

/// The public key of an X25519 secret.
pub(crate) fn public_of(secret: &StaticSecret) -> [u8; 32] {
    backend::x25519_public(secret)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::Scalar;
    use curve25519_dalek::constants::{EIGHT_TORSION, X25519_BASEPOINT};

    use super::*;

    /// Membership by the definition, another way: `[ℓ − 1]P = −P`, which has
    /// the same u-coordinate as `P`, exactly when `[ℓ]P = O`; computed with
    /// the x-only Montgomery ladder, which works for any u (on the curve or
    /// its twist). u = 0 (the point of order 2, and the encoding of O) is
    /// excluded by hand.
    fn by_ladder(u: &[u8; 32]) -> bool {
        let l_minus_one = Scalar::ZERO - Scalar::ONE;
        *u != [0u8; 32] && (MontgomeryPoint(*u) * l_minus_one).to_bytes() == *u
    }

    fn pseudo_random(n: usize) -> Vec<[u8; 32]> {
        let mut seed = 99u64;
        (0..n)
            .map(|_| {
                let mut b = [0u8; 32];
                for byte in b.iter_mut() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    *byte = (seed >> 56) as u8;
                }
                b[31] &= 0x7f;
                b
            })
            .collect()
    }

    /// Honest keys are in the subgroup; `P + T` for every small-order
    /// `T ≠ O` is not; the small-order u-coordinates are not; random u's
    /// (about half on the twist) agree with the ladder.
    #[test]
    fn subgroup_check_matches_the_definition() {
        let mut honest = 0;
        let mut torsioned = 0;
        for secret in pseudo_random(12) {
            let u = public_of(&StaticSecret::from(secret));
            assert!(in_prime_order_subgroup(&u) && by_ladder(&u));
            honest += 1;
            let p = MontgomeryPoint(u).to_edwards(0).unwrap();
            for t in &EIGHT_TORSION[1..] {
                let v = (p + t).to_montgomery().to_bytes();
                assert!(is_canonical_public(&v));
                assert!(!in_prime_order_subgroup(&v), "{v:02x?}");
                assert!(!by_ladder(&v));
                torsioned += 1;
            }
        }
        for t in &EIGHT_TORSION {
            let v = t.to_montgomery().to_bytes();
            assert!(!in_prime_order_subgroup(&v) && !by_ladder(&v));
        }
        let (mut on_curve, mut twist) = (0, 0);
        for u in pseudo_random(120) {
            if !is_canonical_public(&u) {
                continue;
            }
            let ours = in_prime_order_subgroup(&u);
            assert_eq!(ours, by_ladder(&u), "{u:02x?}");
            if MontgomeryPoint(u).to_edwards(0).is_some() {
                on_curve += 1;
            } else {
                twist += 1;
                assert!(!ours);
            }
        }
        assert_eq!((honest, torsioned), (12, 84));
        assert!(on_curve > 30 && twist > 30, "{on_curve} {twist}");
        assert!(in_prime_order_subgroup(&X25519_BASEPOINT.to_bytes()));
        // u = p − 1 (= −1) has no Edwards image and is on the twist.
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(!in_prime_order_subgroup(&minus_one) && !by_ladder(&minus_one));
    }

    /// Both signs of the Edwards lift give the same answer: the two lifts
    /// are `P` and `−P`, and the subgroup is closed under negation.
    #[test]
    fn both_signs_agree() {
        let mut cases = pseudo_random(100);
        for secret in pseudo_random(20) {
            let u = public_of(&StaticSecret::from(secret));
            let p = MontgomeryPoint(u).to_edwards(0).unwrap();
            cases.push(u);
            cases.push((p + EIGHT_TORSION[3]).to_montgomery().to_bytes());
            cases.push((p + EIGHT_TORSION[4]).to_montgomery().to_bytes());
        }
        for u in cases {
            let m = MontgomeryPoint(u);
            match (m.to_edwards(0), m.to_edwards(1)) {
                (Some(a), Some(b)) => {
                    assert_eq!(a, -b);
                    assert_eq!(a.is_torsion_free(), b.is_torsion_free());
                }
                (None, None) => {}
                other => panic!("one sign lifts, the other not: {other:?}"),
            }
        }
    }
}
