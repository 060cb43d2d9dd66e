//! The prekey bundle and its verified form.

use core::fmt;

use super::{IdentityKey, KemPreKey, OneTimePreKey, SignedPreKey};
use crate::wire::{BundleFrame, Frame, KemPreKeyFrame, OneTimePreKeyFrame, SignedPreKeyFrame};

/// What a server hands to someone who wants to start a session with a
/// device: its identity key, its current signed prekey, perhaps a one-time
/// prekey, and one ML-KEM prekey (one-time when the server has one left,
/// else the last-resort key).
///
/// A bundle straight off the network is unverified; session setup accepts
/// only the [`VerifiedBundle`] that [`PreKeyBundle::verify`] returns.
///
/// Wire layout (1405 bytes, or 1441 with a one-time prekey):
///
/// ```text
/// offset  size  field
///      0     1  version             = 0x01
///      1     1  type                = 0x03 (PreKeyBundle)
///      2     1  suite               = 0x01
///      3    32  identity_key        Ed25519 public key
///     35     4  spk_id              u32, big-endian
///     39     8  spk_created_at      u64, seconds since the Unix epoch
///     47    32  spk_public          X25519 public key
///     79    64  spk_signature       Ed25519 signature
///    143     1  opk_present         0x00 or 0x01
///    144   0|4  opk_id              u32, only when opk_present = 0x01
///      …  0|32  opk_public          X25519 public key, only when opk_present = 0x01
///      …     4  kem_id              u32
///      …     1  kem_kind            0x00 one-time, 0x01 last-resort
///      …     8  kem_created_at      u64
///      …  1184  kem_public          ML-KEM-768 encapsulation key
///      …    64  kem_signature       Ed25519 signature
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeyBundle {
    identity_key: IdentityKey,
    signed_prekey: SignedPreKey,
    one_time_prekey: Option<OneTimePreKey>,
    kem_prekey: KemPreKey,
}

impl PreKeyBundle {
    /// Assembles a bundle from its parts.
    pub fn new(
        identity_key: IdentityKey,
        signed_prekey: SignedPreKey,
        one_time_prekey: Option<OneTimePreKey>,
        kem_prekey: KemPreKey,
    ) -> Self {
        PreKeyBundle {
            identity_key,
            signed_prekey,
            one_time_prekey,
            kem_prekey,
        }
    }

    /// Decodes a bundle and validates every key in it. Signatures are
    /// checked by [`PreKeyBundle::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for malformed bytes, an
    /// unknown version or suite, or an invalid key.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let f = BundleFrame::decode(bytes)?;
        let identity_key = IdentityKey::from_bytes(&f.identity_key)?;
        let s = f.signed_prekey;
        let signed_prekey = SignedPreKey::from_parts(s.id, s.created_at, &s.public, &s.signature)?;
        let one_time_prekey = match f.one_time_prekey {
            Some(o) => Some(OneTimePreKey::from_parts(o.id, &o.public)?),
            None => None,
        };
        let k = f.kem_prekey;
        let kem_prekey =
            KemPreKey::from_boxed(k.id, k.last_resort, k.created_at, k.public, k.signature)?;
        Ok(PreKeyBundle {
            identity_key,
            signed_prekey,
            one_time_prekey,
            kem_prekey,
        })
    }

    /// Encodes the bundle.
    pub fn to_bytes(&self) -> Vec<u8> {
        let frame = BundleFrame {
            suite: crate::wire::SUITE_V1,
            identity_key: self.identity_key.to_bytes(),
            signed_prekey: SignedPreKeyFrame {
                id: self.signed_prekey.id,
                created_at: self.signed_prekey.created_at,
                public: self.signed_prekey.public,
                signature: self.signed_prekey.signature,
            },
            one_time_prekey: self.one_time_prekey.map(|o| OneTimePreKeyFrame {
                id: o.id,
                public: o.public,
            }),
            kem_prekey: KemPreKeyFrame {
                id: self.kem_prekey.id,
                last_resort: self.kem_prekey.last_resort,
                created_at: self.kem_prekey.created_at,
                public: self.kem_prekey.public.clone(),
                signature: self.kem_prekey.signature,
            },
        };
        frame.to_vec()
    }

    /// The owner's identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// The signed prekey.
    pub fn signed_prekey(&self) -> &SignedPreKey {
        &self.signed_prekey
    }

    /// The one-time prekey, if the server had one left.
    pub fn one_time_prekey(&self) -> Option<&OneTimePreKey> {
        self.one_time_prekey.as_ref()
    }

    /// The ML-KEM prekey.
    pub fn kem_prekey(&self) -> &KemPreKey {
        &self.kem_prekey
    }

    /// Checks both signatures: the signed prekey's and the KEM prekey's,
    /// each by the bundle's identity key under its own label.
    ///
    /// Two signatures rather than one: one-time KEM prekeys are uploaded in
    /// batches, independently of signed-prekey rotation, and a server picks
    /// which one goes into a bundle, so no single signature can cover the
    /// pair a bundle ends up holding.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    /// naming the object whose signature failed.
    ///
    /// # Security
    /// Verification proves the prekeys belong to the identity key in the
    /// bundle, not that the identity key belongs to the person you mean:
    /// compare it with the one you already trust for that person.
    pub fn verify(self) -> crate::Result<VerifiedBundle> {
        self.signed_prekey.verify(&self.identity_key)?;
        self.kem_prekey.verify(&self.identity_key)?;
        Ok(VerifiedBundle(self))
    }
}

impl fmt::Debug for PreKeyBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreKeyBundle")
            .field("identity_key", &self.identity_key)
            .field("signed_prekey", &self.signed_prekey)
            .field("one_time_prekey", &self.one_time_prekey)
            .field("kem_prekey", &self.kem_prekey)
            .finish()
    }
}

/// A bundle whose signatures have been checked. The only way to get one is
/// [`PreKeyBundle::verify`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedBundle(PreKeyBundle);

impl VerifiedBundle {
    /// The verified bundle.
    pub fn bundle(&self) -> &PreKeyBundle {
        &self.0
    }

    /// Gives the bundle back.
    pub fn into_bundle(self) -> PreKeyBundle {
        self.0
    }
}
