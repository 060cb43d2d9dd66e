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
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::VerifyingKey;

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
/// (cofactorless) verification equation, on the signature's bytes and the
/// key: `S` is canonical (below ℓ), `R` decodes to a point and is not of
/// small order, and the key `A` is not of small order. Also that `A`'s
/// encoding is canonical, which `verify_strict` does not ask (ed25519-dalek
/// decodes keys under ZIP-215) but kinseal's key parsers do: a caller that
/// gets `false` for that reason alone falls back to the dalek crates, so
/// that the verdict is ed25519-dalek's on every key it accepts.
///
/// After these, `verify_strict` and AWS-LC's `ED25519_verify` compute the
/// same thing: `[S]B − [k]A` with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, encoded
/// and compared with `R`'s bytes (a non-canonical `R` never matches).
#[cfg_attr(not(any(test, feature = "aws-lc")), allow(dead_code))]
pub(crate) fn strict_prechecks(key: &VerifyingKey, signature: &[u8; SIGNATURE_LEN]) -> Precheck {
    let (r, s) = signature.split_at(32);
    let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
        return Precheck::Reject;
    };
    if Scalar::from_canonical_bytes(s).is_none().into() {
        return Precheck::Reject;
    }
    match CompressedEdwardsY(r).decompress() {
        Some(point) if !point.is_small_order() => {}
        _ => return Precheck::Reject,
    }
    if key.is_weak() {
        return Precheck::Reject;
    }
    let a = key.as_bytes();
    if key.to_edwards().compress().as_bytes() != a {
        return Precheck::NonCanonicalKey;
    }
    Precheck::Pass
}

/// What [`strict_prechecks`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "aws-lc")), allow(dead_code))]
pub(crate) enum Precheck {
    /// `verify_strict` refuses the signature whatever the message.
    Reject,
    /// The key's encoding is not canonical: leave it to ed25519-dalek.
    NonCanonicalKey,
    /// The verification equation decides.
    Pass,
}

#[cfg(test)]
mod tests;
