//! The identity key: one Ed25519 key that signs, and whose birationally
//! mapped X25519 form takes part in key agreement.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::{DecodeError, KeyKind, ProtocolError, SignedObject};
use crate::wire::{KEY_LEN, SIGNATURE_LEN};

/// A public identity key: 32 bytes, an Ed25519 public key.
///
/// Parsing accepts only canonical encodings of points of the prime-order
/// subgroup other than the neutral element, so one private key has exactly
/// one public identity key (and one safety number); the X25519 form used in
/// key agreement is derived once, with the standard birational map from
/// Edwards to Montgomery form.
///
/// A key restored from a session state ([`Session::from_bytes`](crate::Session::from_bytes),
/// revision 2) was validated when it entered the
/// session; its point is decompressed, and checked again, only when it is
/// used to verify a signature (which a session's keys never are).
#[derive(Clone)]
pub struct IdentityKey {
    bytes: [u8; KEY_LEN],
    x25519: [u8; KEY_LEN],
    /// The decompressed, validated point; `None` for a stored key, whose
    /// point is parsed for each verification.
    ed: Option<VerifyingKey>,
}

impl IdentityKey {
    /// Length of the encoding.
    pub const LENGTH: usize = KEY_LEN;

    /// Parses and validates an identity key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] when the bytes are not a point, not its
    /// canonical encoding, a point of small order (a "weak" key, under
    /// which signatures can be forged), or a point with a small-order
    /// component (`A + T`, `T` of order dividing 8 — the same private key
    /// would otherwise have eight valid public keys).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> crate::Result<Self> {
        Ok(Self::from_verifying_key(parse_ed25519(
            bytes,
            KeyKind::Identity,
        )?))
    }

    fn from_verifying_key(ed: VerifyingKey) -> Self {
        IdentityKey {
            bytes: ed.to_bytes(),
            x25519: ed.to_montgomery().to_bytes(),
            ed: Some(ed),
        }
    }

    /// An identity key as a session state of revision 2 stores it
    /// (PROTOCOL.md §4.4): its encoding and its X25519 form, both checked
    /// when the key entered the session. Only the encodings are checked
    /// again here (both canonical), which costs no point arithmetic; the
    /// rest of §3.1 runs if the key is ever used to verify a signature.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] for a non-canonical encoding of either.
    pub(crate) fn from_stored(
        bytes: &[u8; KEY_LEN],
        x25519: &[u8; KEY_LEN],
    ) -> Result<Self, DecodeError> {
        if !y_is_canonical(bytes) || !crate::crypto::dh::is_canonical_public(x25519) {
            return Err(DecodeError::InvalidKey {
                kind: KeyKind::Identity,
            });
        }
        Ok(IdentityKey {
            bytes: *bytes,
            x25519: *x25519,
            ed: None,
        })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.bytes
    }

    /// The 32-byte encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The validated point: kept from parsing, or parsed now for a stored
    /// key.
    fn point(&self) -> Option<VerifyingKey> {
        match self.ed {
            Some(ed) => Some(ed),
            None => parse_ed25519(&self.bytes, KeyKind::Identity).ok(),
        }
    }

    /// The X25519 public key this identity uses in key agreement
    /// (the Montgomery u-coordinate of the Edwards point).
    pub fn x25519_public(&self) -> &[u8; KEY_LEN] {
        &self.x25519
    }

    /// Verifies `signature` over `label ‖ parts…`, strictly: non-canonical
    /// and small-order `R` values are rejected.
    pub(crate) fn verify(
        &self,
        object: SignedObject,
        label: &[u8],
        parts: &[&[u8]],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<(), ProtocolError> {
        // A stored key that no longer parses verifies nothing.
        let ed = self
            .point()
            .ok_or(ProtocolError::InvalidSignature { object })?;
        verify_strict(&ed, object, label, parts, signature)
    }
}

/// Equality, hashing and `Debug` (the key's hex) of a public Ed25519 key
/// type, all by its 32-byte encoding (`as_bytes`).
macro_rules! public_key_by_bytes {
    ($t:ident) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl Eq for $t {}

        impl core::hash::Hash for $t {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                self.as_bytes().hash(state);
            }
        }

        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_tuple(stringify!($t))
                    .field(&super::Hex(self.as_bytes()))
                    .finish()
            }
        }
    };
}
pub(super) use public_key_by_bytes;

public_key_by_bytes!(IdentityKey);

/// An identity key pair. The private half never leaves except through
/// [`IdentityKeyPair::to_secret_bytes`], is zeroized on drop, and is never printed.
pub struct IdentityKeyPair {
    signing: SigningKey,
    dh: StaticSecret,
    public: IdentityKey,
}

impl IdentityKeyPair {
    /// Generates a new identity from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret_array(&random_secret(rng))
    }

    /// Rebuilds an identity from the 32-byte Ed25519 secret key that
    /// [`IdentityKeyPair::to_secret_bytes`] returned.
    ///
    /// # Errors
    /// [`DecodeError::LengthOutOfRange`] unless `secret` is 32 bytes long.
    pub fn from_secret_bytes(secret: &[u8]) -> crate::Result<Self> {
        Ok(Self::from_secret_array(secret_array(secret)?))
    }

    fn from_secret_array(secret: &[u8; KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(secret);
        let dh = StaticSecret::from(*Zeroizing::new(signing.to_scalar_bytes()));
        let public = IdentityKey::from_verifying_key(signing.verifying_key());
        IdentityKeyPair {
            signing,
            dh,
            public,
        }
    }

    /// The 32-byte Ed25519 secret key, for the caller to store.
    ///
    /// # Security
    /// This is the device's long-term secret: store it encrypted, and let
    /// the returned buffer drop (it zeroizes itself) as soon as possible.
    pub fn to_secret_bytes(&self) -> crate::SecretBytes {
        crate::SecretBytes::new(Zeroizing::new(self.signing.as_bytes().to_vec()))
    }

    /// The public identity key.
    pub fn public_key(&self) -> &IdentityKey {
        &self.public
    }

    pub(crate) fn sign(&self, label: &[u8], parts: &[&[u8]]) -> [u8; SIGNATURE_LEN] {
        sign(&self.signing, label, parts)
    }

    /// The X25519 secret: the Ed25519 secret scalar, unreduced, which
    /// X25519 clamps.
    pub(crate) fn dh_secret(&self) -> &StaticSecret {
        &self.dh
    }
}

impl Clone for IdentityKeyPair {
    fn clone(&self) -> Self {
        Self::from_secret_array(self.signing.as_bytes())
    }
}

impl PartialEq for IdentityKeyPair {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.signing.as_bytes().ct_eq(other.signing.as_bytes()))
    }
}

impl Eq for IdentityKeyPair {}

impl ZeroizeOnDrop for IdentityKeyPair {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(pair: &IdentityKeyPair) {
    use crate::hygiene::zod;
    let IdentityKeyPair {
        signing,
        dh,
        public: _,
    } = pair;
    zod(signing);
    zod(dh);
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Parses an Ed25519 public key as PROTOCOL.md §3.1 requires of every
/// identity key, a device's or a user's (`kind` names which in the error).
/// 32 bytes from `rng`, for a new Ed25519 secret key.
pub(crate) fn random_secret<R: CryptoRng + ?Sized>(rng: &mut R) -> Zeroizing<[u8; KEY_LEN]> {
    let mut secret = Zeroizing::new([0u8; KEY_LEN]);
    rng.fill_bytes(&mut secret[..]);
    secret
}

/// A stored Ed25519 secret key's 32 bytes, or the length error of a key
/// pair that does not have them.
pub(super) fn secret_array(secret: &[u8]) -> Result<&[u8; KEY_LEN], DecodeError> {
    secret
        .try_into()
        .map_err(|_| DecodeError::LengthOutOfRange {
            wire_type: crate::WireType::KeyPair,
            min: KEY_LEN,
            max: KEY_LEN,
            found: secret.len(),
        })
}

pub(crate) fn parse_ed25519(
    bytes: &[u8; KEY_LEN],
    kind: KeyKind,
) -> Result<VerifyingKey, DecodeError> {
    let invalid = DecodeError::InvalidKey { kind };
    let ed = VerifyingKey::from_bytes(bytes).map_err(|_| invalid.clone())?;
    // ed25519-dalek decompresses under ZIP-215, which also accepts
    // non-canonical encodings; insist on the one canonical encoding.
    // Re-compressing the point and comparing would cost a field
    // inversion; checking the bytes is equivalent: an encoding is
    // canonical iff its y (the low 255 bits) is below p and, when x = 0,
    // its sign bit is clear. x = 0 only for y = ±1, the identity and the
    // point of order 2, which `is_weak` rejects anyway. (Both checks are
    // compared on every identity key of the test suite and on edge
    // encodings in `tests::canonical_check_matches_recompression`.)
    // Then the subgroup: [ℓ]A must be the neutral element, and A must
    // not be the neutral element itself (`is_weak` again).
    if !y_is_canonical(bytes) || ed.is_weak() || !ed.to_edwards().is_torsion_free() {
        return Err(invalid);
    }
    Ok(ed)
}

/// Verifies an Ed25519 signature over `label ‖ parts…` strictly
/// (PROTOCOL.md §3.5): non-canonical and small-order `R` values are rejected.
pub(super) fn verify_strict(
    key: &VerifyingKey,
    object: SignedObject,
    label: &[u8],
    parts: &[&[u8]],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), ProtocolError> {
    if verifies_strictly(key, label, parts, signature) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidSignature { object })
    }
}

/// Whether `signature` is a valid Ed25519 signature over `label ‖ parts…`
/// under `key`, checked as strictly as [`verify_strict`]: for callers that
/// report a failure their own way (a group message's is opaque).
pub(crate) fn verifies_strictly(
    key: &VerifyingKey,
    label: &[u8],
    parts: &[&[u8]],
    signature: &[u8; SIGNATURE_LEN],
) -> bool {
    crate::crypto::backend::ed25519_verify(key, &signed_message(label, parts), signature)
}

/// Signs `label ‖ parts…` (deterministic, RFC 8032).
pub(crate) fn sign(key: &SigningKey, label: &[u8], parts: &[&[u8]]) -> [u8; SIGNATURE_LEN] {
    crate::crypto::backend::ed25519_sign(key, &signed_message(label, parts))
}

/// Whether the y coordinate of an Edwards point encoding (the low 255
/// bits, little-endian) is below p = 2^255 - 19.
fn y_is_canonical(bytes: &[u8; KEY_LEN]) -> bool {
    let mut y = *bytes;
    if let Some(top) = y.last_mut() {
        *top &= 0x7f;
    }
    crate::crypto::dh::is_canonical_public(&y)
}

fn signed_message(label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let len = label.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(label);
    for p in parts {
        m.extend_from_slice(p);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check `IdentityKey::from_bytes` used before: decompress, then
    /// compare the re-compressed encoding.
    fn old_check(bytes: &[u8; KEY_LEN]) -> bool {
        match VerifyingKey::from_bytes(bytes) {
            Ok(ed) => {
                ed.to_edwards().compress().as_bytes() == bytes
                    && !ed.is_weak()
                    && in_subgroup_by_definition(&ed.to_edwards())
            }
            Err(_) => false,
        }
    }

    /// Whether `[ℓ]P` is the neutral element, computed another way than
    /// `is_torsion_free`: `[ℓ − 1]P = −P` holds exactly when `[ℓ]P = O`
    /// (ℓ − 1 is a reduced scalar, so this is an ordinary multiplication).
    fn in_subgroup_by_definition(p: &curve25519_dalek::EdwardsPoint) -> bool {
        use curve25519_dalek::Scalar;
        let l_minus_one = Scalar::ZERO - Scalar::ONE;
        p * l_minus_one == -p
    }

    /// `A + T` for every small-order `T ≠ O` is refused, for many honest
    /// `A` (which are accepted); so is every small-order point itself.
    /// Without the subgroup check all 7 · 12 torsioned keys would parse.
    #[test]
    fn identity_keys_outside_the_prime_order_subgroup_are_rejected() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let invalid = Err(crate::Error::Decode(DecodeError::InvalidKey {
            kind: KeyKind::Identity,
        }));
        let mut seed = [7u8; KEY_LEN];
        for round in 0..12u8 {
            seed[0] = round;
            let pair = IdentityKeyPair::from_secret_array(&seed);
            let a = pair.public_key().ed.unwrap().to_edwards();
            assert!(IdentityKey::from_bytes(pair.public_key().as_bytes()).is_ok());
            assert!(in_subgroup_by_definition(&a));
            for t in &EIGHT_TORSION[1..] {
                let torsioned = (a + t).compress().to_bytes();
                // A valid, canonical, large-order point: only the subgroup
                // check refuses it.
                let ed = VerifyingKey::from_bytes(&torsioned).unwrap();
                assert!(!ed.is_weak() && y_is_canonical(&torsioned));
                assert!(!in_subgroup_by_definition(&ed.to_edwards()));
                assert_eq!(IdentityKey::from_bytes(&torsioned), invalid);
            }
        }
        for t in &EIGHT_TORSION {
            assert_eq!(IdentityKey::from_bytes(&t.compress().to_bytes()), invalid);
        }
    }

    /// The byte-level canonical check accepts exactly what re-compression
    /// accepted: on random keys, on every y within 40 of p and of 0 with
    /// both sign bits, on y = ±1 and on the non-canonical encodings of the
    /// small-order points.
    #[test]
    fn canonical_check_matches_recompression() {
        let mut cases: Vec<[u8; KEY_LEN]> = Vec::new();
        let mut p = [0xffu8; KEY_LEN];
        p[0] = 0xed;
        p[31] = 0x7f;
        // y from p - 29 to p + 18 (2^255 - 1): the canonical values just
        // below p and every non-canonical one; and y from 0 to 39.
        for low in 0xd0u8..=0xff {
            let mut near_p = p;
            near_p[0] = low;
            cases.push(near_p);
        }
        for y in 0u8..40 {
            let mut small = [0u8; KEY_LEN];
            small[0] = y;
            cases.push(small);
        }
        // y = -1 = p - 1.
        let mut minus_one = p;
        minus_one[0] = 0xec;
        cases.push(minus_one);
        // Random keys: honest ones, and random bytes.
        let mut seed = 1u64;
        for _ in 0..200 {
            let mut b = [0u8; KEY_LEN];
            for byte in b.iter_mut() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *byte = (seed >> 56) as u8;
            }
            cases.push(b);
            let pair = IdentityKeyPair::from_secret_array(&b);
            cases.push(*pair.public_key().as_bytes());
        }
        for base in cases.clone() {
            let mut flipped = base;
            flipped[31] ^= 0x80;
            cases.push(flipped);
        }
        let mut accepted = 0;
        for bytes in &cases {
            let new = IdentityKey::from_bytes(bytes).is_ok();
            assert_eq!(
                new,
                old_check(bytes),
                "disagree on {:?}",
                super::super::Hex(bytes)
            );
            accepted += usize::from(new);
        }
        assert!(accepted >= 200, "too few valid keys exercised: {accepted}");
    }
}
