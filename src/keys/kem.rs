//! ML-KEM-768 prekeys, one-time or last-resort, signed by the identity key.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::ZeroizeOnDrop;

use super::{IdentityKey, IdentityKeyPair, Short, check_batch};
use crate::crypto::kem::{self, KemSecret};
use crate::crypto::labels;
use crate::error::{DecodeError, KeyKind, SignedObject};
use crate::wire::{KEM_PUBLIC_KEY_LEN, SIGNATURE_LEN};

/// The public half of an ML-KEM-768 prekey, as it appears in a bundle.
///
/// The signature covers the suite, the id, whether the key is last-resort,
/// the creation time and the whole encapsulation key.
#[derive(Clone, PartialEq, Eq)]
pub struct KemPreKey {
    pub(crate) id: u32,
    pub(crate) last_resort: bool,
    pub(crate) created_at: u64,
    pub(crate) public: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl KemPreKey {
    /// Assembles a KEM prekey from its published parts.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] if `public` fails the FIPS 203
    /// encapsulation-key check.
    pub fn from_parts(
        id: u32,
        last_resort: bool,
        created_at: u64,
        public: &[u8; KEM_PUBLIC_KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
    ) -> crate::Result<Self> {
        Self::from_boxed(id, last_resort, created_at, Box::new(*public), *signature)
    }

    pub(crate) fn from_boxed(
        id: u32,
        last_resort: bool,
        created_at: u64,
        public: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
        signature: [u8; SIGNATURE_LEN],
    ) -> crate::Result<Self> {
        if !kem::public_key_is_valid(&public) {
            return Err(DecodeError::InvalidKey {
                kind: KeyKind::KemPublic,
            }
            .into());
        }
        Ok(KemPreKey {
            id,
            last_resort,
            created_at,
            public,
            signature,
        })
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether this is the device's reusable last-resort key.
    pub fn is_last_resort(&self) -> bool {
        self.last_resort
    }

    /// The creation time its owner gave, in seconds since the Unix epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The ML-KEM-768 encapsulation key.
    pub fn public_key(&self) -> &[u8; KEM_PUBLIC_KEY_LEN] {
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
        identity.verify(
            SignedObject::KemPreKey,
            labels::SIG_KEM_PREKEY,
            &signed_parts(self.id, self.last_resort, self.created_at, &self.public).as_slices(),
            &self.signature,
        )?;
        Ok(())
    }
}

struct SignedParts<'a> {
    suite: [u8; 1],
    id: [u8; 4],
    kind: [u8; 1],
    created: [u8; 8],
    public: &'a [u8; KEM_PUBLIC_KEY_LEN],
}

impl SignedParts<'_> {
    fn as_slices(&self) -> [&[u8]; 5] {
        [
            &self.suite,
            &self.id,
            &self.kind,
            &self.created,
            &self.public[..],
        ]
    }
}

fn signed_parts(
    id: u32,
    last_resort: bool,
    created_at: u64,
    public: &[u8; KEM_PUBLIC_KEY_LEN],
) -> SignedParts<'_> {
    SignedParts {
        suite: [crate::SUITE_V1],
        id: id.to_be_bytes(),
        kind: [u8::from(last_resort)],
        created: created_at.to_be_bytes(),
        public,
    }
}

impl fmt::Debug for KemPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemPreKey")
            .field("id", &self.id)
            .field("last_resort", &self.last_resort)
            .field("created_at", &self.created_at)
            .field("public", &Short(&self.public[..]))
            .finish_non_exhaustive()
    }
}

/// An ML-KEM-768 prekey with its private half.
pub struct KemPreKeyPair {
    secret: KemSecret,
    public: KemPreKey,
}

impl KemPreKeyPair {
    /// Generates a KEM prekey signed by `identity`. A one-time key
    /// (`last_resort = false`) must be used for at most one session; the
    /// last-resort key is reused when no one-time key is left.
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        id: u32,
        last_resort: bool,
        created_at: u64,
    ) -> Self {
        let (secret, public) = kem::generate(rng);
        let signature = identity.sign(
            labels::SIG_KEM_PREKEY,
            &signed_parts(id, last_resort, created_at, &public).as_slices(),
        );
        KemPreKeyPair {
            secret,
            public: KemPreKey {
                id,
                last_resort,
                created_at,
                public,
                signature,
            },
        }
    }

    /// Generates `count` one-time KEM prekeys with ids `first_id`, `first_id + 1`, ….
    ///
    /// # Errors
    /// [`MisuseError::BatchTooLarge`](crate::MisuseError::BatchTooLarge) if
    /// `count` exceeds [`MAX_PREKEY_BATCH`](crate::MAX_PREKEY_BATCH) or the
    /// ids would pass `u32::MAX`.
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        first_id: u32,
        count: usize,
        created_at: u64,
    ) -> crate::Result<Vec<Self>> {
        check_batch(first_id, count)?;
        Ok((first_id..)
            .take(count)
            .map(|id| Self::generate(rng, identity, id, false, created_at))
            .collect())
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// Whether this is the last-resort key.
    pub fn is_last_resort(&self) -> bool {
        self.public.last_resort
    }

    /// The public half, to publish.
    pub fn public(&self) -> &KemPreKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &KemSecret {
        &self.secret
    }
}

impl fmt::Debug for KemPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemPreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for KemPreKeyPair {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(pair: &KemPreKeyPair) {
    let KemPreKeyPair { secret, public: _ } = pair;
    crate::hygiene::zod(secret);
}
