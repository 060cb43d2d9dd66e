//! The code that computes X25519 and Ed25519: the dalek crates (the
//! default), or AWS-LC through `aws-lc-rs` with the `aws-lc` feature.
//!
//! Four operations, each with one signature whichever backend computes
//! it: [`x25519`], [`x25519_public`], [`ed25519_sign`] and
//! [`ed25519_verify`]. The key types stay the dalek crates' (they hold
//! the bytes, zeroize them and do the point arithmetic kinseal's own
//! checks need); a backend only computes. Both must give the same bytes
//! and the same verdict on every input: `tests` checks this on the
//! Wycheproof vectors and on hand-made edge cases, and the JSON vector
//! tests pass byte for byte with either.
//!
//! What stays kinseal's, in front of either backend: the all-zero X25519
//! check ([`super::dh::agree`]) and, for AWS-LC, the strict Ed25519 checks
//! that ed25519-dalek's `verify_strict` makes and AWS-LC's `ED25519_verify`
//! does not ([`strict_prechecks`]).

use curve25519_dalek::Scalar;
use ed25519_dalek::VerifyingKey;

#[cfg(all(feature = "aws-lc", target_family = "wasm"))]
compile_error!("the `aws-lc` feature is not for WebAssembly: AWS-LC is a C library");

#[cfg(feature = "aws-lc")]
mod aws_lc;
// Always built: the AWS-LC backend falls back to it (see `aws_lc`).
mod dalek;

#[cfg(feature = "aws-lc")]
pub(crate) use aws_lc::{ed25519_sign, ed25519_verify, x25519, x25519_public};
#[cfg(not(feature = "aws-lc"))]
pub(crate) use dalek::{ed25519_sign, ed25519_verify, x25519, x25519_public};

/// The length of an Ed25519 signature, `R ‖ S`.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// The checks of ed25519-dalek's `verify_strict` that come before its
/// (cofactorless) verification equation, made cheaply on the bytes where
/// the answer is sure, and left to ed25519-dalek itself where it is not:
///
/// - `S` must be canonical (below ℓ), else [`Precheck::Reject`];
/// - the key `A` must not be of small order ([`VerifyingKey::is_weak`]),
///   else `Reject`;
/// - an `A` whose encoding is not canonical (kinseal's key parsers refuse
///   those, but `VerifyingKey` does not) goes to ed25519-dalek
///   ([`Precheck::Dalek`]): AWS-LC need not decode it as ed25519-dalek
///   does (ZIP-215);
/// - so does an `R` that may be of small order: a non-canonical `y`, or
///   the `y` of one of the eight points of small order (0, 1, −1 and the
///   two of the points of order 8; a point's `y` determines it up to the
///   sign of `x`, and both signs have the same order). `verify_strict`
///   refuses a small-order `R` and AWS-LC alone does not.
///
/// Otherwise [`Precheck::Pass`]: `R` is not of small order, and
/// `verify_strict` and AWS-LC's `ED25519_verify` compute the same thing,
/// `[S]B − [k]A` with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, encoded and compared
/// with `R`'s bytes. An `R` that decodes to no point (`verify_strict`
/// refuses it) matches no encoding AWS-LC computes, which is a point's
/// canonical one, so both refuse it. None of these checks decodes a point:
/// they cost a scalar reduction and a few comparisons.
#[cfg_attr(not(any(test, feature = "aws-lc")), allow(dead_code))]
pub(crate) fn strict_prechecks(key: &VerifyingKey, signature: &[u8; SIGNATURE_LEN]) -> Precheck {
    let (r, s) = signature.split_at(32);
    let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
        return Precheck::Reject;
    };
    if Scalar::from_canonical_bytes(s).is_none().into() || key.is_weak() {
        return Precheck::Reject;
    }
    if !y_is_canonical(key.as_bytes()) || !y_is_canonical(&r) || SMALL_ORDER_Y.contains(&y_of(&r)) {
        return Precheck::Dalek;
    }
    Precheck::Pass
}

/// The `y` of an Edwards point encoding: the low 255 bits.
fn y_of(bytes: &[u8; 32]) -> [u8; 32] {
    let mut y = *bytes;
    if let Some(top) = y.last_mut() {
        *top &= 0x7f;
    }
    y
}

/// Whether the `y` of an encoding is below p = 2^255 − 19.
fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    super::dh::is_canonical_public(&y_of(bytes))
}

/// The `y`-coordinates, little-endian, of the eight points of small order:
/// the neutral element (1), the point of order 2 (−1), the two of order 4
/// (0) and the four of order 8 (±y₈). `tests` checks the list against
/// curve25519-dalek's `EIGHT_TORSION`.
const SMALL_ORDER_Y: [[u8; 32]; 5] = {
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    [
        [0; 32],
        one,
        minus_one,
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ],
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ],
    ]
};

/// What [`strict_prechecks`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "aws-lc")), allow(dead_code))]
pub(crate) enum Precheck {
    /// `verify_strict` refuses the signature whatever the message.
    Reject,
    /// An encoding the byte checks cannot settle: leave it to
    /// ed25519-dalek's `verify_strict`.
    Dalek,
    /// The verification equation decides, and AWS-LC may compute it.
    Pass,
}

#[cfg(test)]
mod tests;
