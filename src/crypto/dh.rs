//! X25519 with the checks kinseal needs.

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::ProtocolError;

/// A Diffie-Hellman output.
pub(crate) type SharedSecret = Zeroizing<[u8; 32]>;

/// X25519, refusing an all-zero (non-contributory) result.
///
/// A small-order peer key gives an output the peer did not have to know our
/// secret to predict; such keys are rejected rather than mixed in.
pub(crate) fn agree(ours: &StaticSecret, theirs: &[u8; 32]) -> Result<SharedSecret, ProtocolError> {
    let shared = ours.diffie_hellman(&PublicKey::from(*theirs));
    if !shared.was_contributory() {
        return Err(ProtocolError::NonContributoryKey);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
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

/// The public key of an X25519 secret.
pub(crate) fn public_of(secret: &StaticSecret) -> [u8; 32] {
    PublicKey::from(secret).to_bytes()
}
