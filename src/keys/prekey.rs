//! Signed and one-time X25519 prekeys.

use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::ZeroizeOnDrop;

use super::{Hex, IdentityKey, IdentityKeyPair, check_batch};
use crate::crypto::{dh, labels};
use crate::error::{DecodeError, KeyKind, SignedObject};
use crate::wire::{KEY_LEN, SIGNATURE_LEN};

/// Parses a public X25519 key, rejecting non-canonical encodings.
pub(crate) fn x25519_public(bytes: &[u8; KEY_LEN]) -> Result<[u8; KEY_LEN], DecodeError> {
    if dh::is_canonical_public(bytes) {
        Ok(*bytes)
    } else {
        Err(DecodeError::InvalidKey {
            kind: KeyKind::X25519,
        })
    }
}

/// The public half of a signed prekey, as it appears in a bundle.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPreKey {
    pub(crate) id: u32,
    pub(crate) created_at: u64,
    pub(crate) public: [u8; KEY_LEN],
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl SignedPreKey {
    /// Assembles a signed prekey from its published parts. The signature is
    /// checked by [`SignedPreKey::verify`] or bundle verification, not here.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] if `public` is not a canonical X25519 key.
    pub fn from_parts(
        id: u32,
        created_at: u64,
        public: &[u8; KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
    ) -> crate::Result<Self> {
        Ok(SignedPreKey {
            id,
            created_at,
            public: x25519_public(public)?,
            signature: *signature,
        })
    }

    /// The prekey id, chosen by its owner.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The creation time its owner gave, in seconds since the Unix epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The Ed25519 signature by the owner's identity key.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Checks that `identity` signed this prekey.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature).
    pub fn verify(&self, identity: &IdentityKey) -> crate::Result<()> {
        let (id, created) = (self.id.to_be_bytes(), self.created_at.to_be_bytes());
        identity.verify(
            SignedObject::SignedPreKey,
            labels::SIG_SIGNED_PREKEY,
            &[&[crate::SUITE_V1], &id, &created, &self.public],
            &self.signature,
        )?;
        Ok(())
    }
}

impl fmt::Debug for SignedPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKey")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("public", &Hex(&self.public))
            .finish_non_exhaustive()
    }
}

/// A signed prekey with its private half.
pub struct SignedPreKeyPair {
    secret: StaticSecret,
    public: SignedPreKey,
}

impl SignedPreKeyPair {
    /// Generates a signed prekey with the given id and creation time
    /// (seconds since the Unix epoch; kinseal has no clock of its own).
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
    ) -> Self {
        Self::from_secret(identity, id, created_at, StaticSecret::random_from_rng(rng))
    }

    fn from_secret(
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
        secret: StaticSecret,
    ) -> Self {
        let public = dh::public_of(&secret);
        let signature = identity.sign(
            labels::SIG_SIGNED_PREKEY,
            &[
                &[crate::SUITE_V1],
                &id.to_be_bytes(),
                &created_at.to_be_bytes(),
                &public,
            ],
        );
        SignedPreKeyPair {
            secret,
            public: SignedPreKey {
                id,
                created_at,
                public,
                signature,
            },
        }
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The public half, to publish.
    pub fn public(&self) -> &SignedPreKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl fmt::Debug for SignedPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The public half of a one-time prekey.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OneTimePreKey {
    pub(crate) id: u32,
    pub(crate) public: [u8; KEY_LEN],
}

impl OneTimePreKey {
    /// Assembles a one-time prekey from its published parts.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] if `public` is not a canonical X25519 key.
    pub fn from_parts(id: u32, public: &[u8; KEY_LEN]) -> crate::Result<Self> {
        Ok(OneTimePreKey {
            id,
            public: x25519_public(public)?,
        })
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }
}

impl fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKey")
            .field("id", &self.id)
            .field("public", &Hex(&self.public))
            .finish()
    }
}

/// A one-time prekey with its private half. Used for at most one session.
pub struct OneTimePreKeyPair {
    secret: StaticSecret,
    public: OneTimePreKey,
}

impl OneTimePreKeyPair {
    /// Generates one one-time prekey.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: u32) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        let public = dh::public_of(&secret);
        OneTimePreKeyPair {
            secret,
            public: OneTimePreKey { id, public },
        }
    }

    /// Generates `count` one-time prekeys with ids `first_id`, `first_id + 1`, ….
    ///
    /// # Errors
    /// [`MisuseError::BatchTooLarge`](crate::MisuseError::BatchTooLarge) if
    /// `count` exceeds [`MAX_PREKEY_BATCH`](crate::MAX_PREKEY_BATCH) or the
    /// ids would pass `u32::MAX`.
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        rng: &mut R,
        first_id: u32,
        count: usize,
    ) -> crate::Result<Vec<Self>> {
        check_batch(first_id, count)?;
        Ok((first_id..)
            .take(count)
            .map(|id| Self::generate(rng, id))
            .collect())
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The public half, to publish.
    pub fn public(&self) -> &OneTimePreKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl fmt::Debug for OneTimePreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for SignedPreKeyPair {}
impl ZeroizeOnDrop for OneTimePreKeyPair {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(signed: &SignedPreKeyPair, one_time: &OneTimePreKeyPair) {
    use crate::hygiene::zod;
    let SignedPreKeyPair { secret, public: _ } = signed;
    zod(secret);
    let OneTimePreKeyPair { secret, public: _ } = one_time;
    zod(secret);
}
