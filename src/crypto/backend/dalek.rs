//! The dalek crates: x25519-dalek and ed25519-dalek (the default backend,
//! and the reference the AWS-LC backend is tested against).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::SIGNATURE_LEN;

/// X25519 of `ours` and the peer's u-coordinate `theirs` (RFC 7748: the
/// secret clamped, the top bit of `theirs` masked), with no check of the
/// result.
pub(crate) fn x25519(ours: &StaticSecret, theirs: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(ours.diffie_hellman(&PublicKey::from(*theirs)).to_bytes())
}

/// The X25519 public key of `secret`: `X25519(secret, 9)`.
pub(crate) fn x25519_public(secret: &StaticSecret) -> [u8; 32] {
    PublicKey::from(secret).to_bytes()
}

/// An RFC 8032 Ed25519 signature of `message`.
pub(crate) fn ed25519_sign(key: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
    key.sign(message).to_bytes()
}

/// Whether `signature` verifies over `message` under `key`, by
/// ed25519-dalek's `verify_strict`.
pub(crate) fn ed25519_verify(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> bool {
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}
