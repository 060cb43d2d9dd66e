//! AWS-LC through `aws-lc-rs` (feature `aws-lc`): X25519 and Ed25519 from
//! AWS-LC's formally verified implementations (s2n-bignum's X25519 and
//! Ed25519 field and point arithmetic on x86-64 and AArch64).
//!
//! The secrets still come from kinseal: the private keys are the bytes the
//! dalek key types hold (drawn from the caller's RNG, or derived), handed
//! to AWS-LC for each operation. AWS-LC keeps its copy in an `EVP_PKEY`
//! that it cleanses when the key is freed, at the end of each call, and
//! `aws-lc-rs` returns shared secrets in a zeroizing buffer.
//!
//! AWS-LC reports a failure for an all-zero X25519 output and would for an
//! internal error (an allocation); either way the dalek crates compute the
//! result instead, so the caller sees exactly the dalek backend's output
//! (and [`crate::crypto::dh::agree`] refuses an all-zero one). Nothing here
//! panics.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::signature::{self as sig, Ed25519KeyPair};
use ed25519_dalek::{SigningKey, VerifyingKey};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::{Precheck, SIGNATURE_LEN, dalek, strict_prechecks};

/// X25519 of `ours` and the peer's u-coordinate `theirs`, as
/// [`dalek::x25519`] (same clamping, same masking), with no check of the
/// result.
pub(crate) fn x25519(ours: &StaticSecret, theirs: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let computed = PrivateKey::from_private_key(&X25519, ours.as_bytes())
        .ok()
        .and_then(|key| {
            agreement::agree(&key, UnparsedPublicKey::new(&X25519, theirs), (), |k| {
                // Copied straight into a zeroizing buffer: no stack copy.
                let mut out = Zeroizing::new([0u8; 32]);
                if k.len() != out.len() {
                    return Err(());
                }
                out.copy_from_slice(k);
                Ok(out)
            })
            .ok()
        });
    computed.unwrap_or_else(|| dalek::x25519(ours, theirs))
}

/// The X25519 public key of `secret`.
pub(crate) fn x25519_public(secret: &StaticSecret) -> [u8; 32] {
    PrivateKey::from_private_key(&X25519, secret.as_bytes())
        .ok()
        .and_then(|key| key.compute_public_key().ok())
        .and_then(|public| <[u8; 32]>::try_from(public.as_ref()).ok())
        .unwrap_or_else(|| dalek::x25519_public(secret))
}

/// An RFC 8032 Ed25519 signature of `message` (deterministic: the same
/// bytes as ed25519-dalek's).
pub(crate) fn ed25519_sign(key: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
    Ed25519KeyPair::from_seed_unchecked(key.as_bytes())
        .ok()
        .and_then(|pair| pair.try_sign(message).ok())
        .and_then(|s| <[u8; SIGNATURE_LEN]>::try_from(s.as_ref()).ok())
        .unwrap_or_else(|| dalek::ed25519_sign(key, message))
}

/// Whether `signature` verifies over `message` under `key`, exactly as
/// ed25519-dalek's `verify_strict` decides: its checks first
/// ([`strict_prechecks`]), then AWS-LC's `ED25519_verify`.
pub(crate) fn ed25519_verify(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> bool {
    match strict_prechecks(key, signature) {
        Precheck::Reject => false,
        Precheck::Dalek => dalek::ed25519_verify(key, message, signature),
        Precheck::Pass => sig::UnparsedPublicKey::new(&sig::ED25519, key.as_bytes())
            .verify(message, signature)
            .is_ok(),
    }
}

/// The Ed25519 public key AWS-LC derives from a seed (for the tests).
#[cfg(test)]
pub(super) fn public_of_seed(seed: &[u8; 32]) -> Option<[u8; 32]> {
    use aws_lc_rs::signature::KeyPair;
    let pair = Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
    <[u8; 32]>::try_from(pair.public_key().as_ref()).ok()
}
