//! ML-KEM-768 prekeys, one-time or last-resort, signed by the identity key.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::{IdentityKey, IdentityKeyPair, Short, check_batch};
use crate::crypto::kem::{self, KemSecret};
use crate::crypto::labels;
use crate::error::{DecodeError, KeyKind, SignedObject};
use crate::sizes::KEM_SEED_LEN;
use crate::wire::{Frame, KEM_PUBLIC_KEY_LEN, KemPreKeyPairFrame, SIGNATURE_LEN};

/// The public half of an ML-KEM-768 prekey, as it appears in a bundle.
///
/// The signature covers the suite, the id, whether the key is last-resort,
/// the creation time and the whole encapsulation key.
#[derive(Clone, PartialEq, Eq)]
pub struct KemPreKey {
    pub(super) id: u32,
    pub(super) last_resort: bool,
    pub(super) created_at: u64,
    pub(super) public: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
    pub(super) signature: [u8; SIGNATURE_LEN],
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
        suite: [crate::wire::SUITE_V1],
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

    /// The private encoding of this pair, to store: the id, the last-resort
    /// flag, the creation time, the 64-byte key-generation seed `d ‖ z` and
    /// the signature (144 bytes, type `0x36`; layout in
    /// `docs/STORAGE.md`). Neither expanded key is in it;
    /// [`from_bytes`](Self::from_bytes) regenerates both from the seed.
    ///
    /// # Security
    /// The encoding holds the private key: store it encrypted (an
    /// [`Account`](crate::client::Account) seals it under its
    /// [`StorageKeyring`](crate::client::StorageKeyring)) and let the
    /// buffer drop (it wipes itself) as soon as it is written.
    pub fn to_bytes(&self) -> crate::SecretBytes {
        let mut seed = Zeroizing::new([0u8; KEM_SEED_LEN]);
        seed.copy_from_slice(&self.secret.seed()[..]);
        let frame = KemPreKeyPairFrame {
            suite: crate::wire::SUITE_V1,
            id: self.public.id,
            last_resort: self.public.last_resort,
            created_at: self.public.created_at,
            seed,
            signature: self.public.signature,
        };
        crate::SecretBytes::new(frame.to_secret_vec())
    }

    /// Loads a pair from the encoding [`to_bytes`](Self::to_bytes) wrote:
    /// the decapsulation and encapsulation keys are regenerated from the
    /// seed (FIPS 203 `ML-KEM.KeyGen_internal(d, z)`), which costs one key
    /// generation.
    ///
    /// The signature is **not** checked (no identity key is at hand): it is
    /// carried as stored. An encoding read from storage that an attacker may
    /// have written should be checked with [`KemPreKey::verify`] on
    /// [`public`](Self::public) before its public half is published.
    ///
    /// # Errors
    /// [`DecodeError`]: `UnsupportedVersion`, `UnexpectedType` (wire type
    /// `KeyRecord`), `UnsupportedSuite`, `InvalidField` (`last_resort` other
    /// than `0x00` or `0x01`), `Truncated` or `TrailingBytes`; `InvalidKey`
    /// if the regenerated encapsulation key failed the FIPS 203 check,
    /// which key generation never produces.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = KemPreKeyPairFrame::decode(bytes)?;
        let (secret, public) = kem::keypair_from_seed(&frame.seed);
        let public = KemPreKey::from_boxed(
            frame.id,
            frame.last_resort,
            frame.created_at,
            public,
            frame.signature,
        )?;
        Ok(KemPreKeyPair { secret, public })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireType;
    use crate::keys::prekey::tests::check_framing;
    use crate::vectors::seeded;
    use crate::{Error, ProtocolError};

    #[test]
    fn kem_prekey_record_round_trips() {
        let mut rng = seeded("key records: KEM");
        let identity = IdentityKeyPair::generate(&mut rng);
        for last_resort in [false, true] {
            let pair = KemPreKeyPair::generate(&mut rng, &identity, 40, last_resort, 1_767_225_600);
            let record = pair.to_bytes();
            assert_eq!(record.len(), 144);
            assert_eq!(record[7], u8::from(last_resort));
            assert_eq!(&record[16..80], &pair.secret().seed()[..]);
            let back = KemPreKeyPair::from_bytes(&record).unwrap();
            assert_eq!(back.public(), pair.public());
            assert_eq!(back.to_bytes(), record);
            back.public().verify(identity.public_key()).unwrap();
            check_framing(&record, |b| KemPreKeyPair::from_bytes(b).map(drop));
            let debug = format!("{back:?} {back:#?}");
            let seed_hex: String = record[16..48].iter().map(|b| format!("{b:02x}")).collect();
            assert!(!debug.contains(&seed_hex), "{debug}");
        }
    }

    #[test]
    fn kem_prekey_record_rejects_bad_flag_and_suite() {
        let mut rng = seeded("key records: KEM fields");
        let identity = IdentityKeyPair::generate(&mut rng);
        let record = KemPreKeyPair::generate(&mut rng, &identity, 1, false, 0).to_bytes();
        for flag in 2..=u8::MAX {
            let mut bad = record.to_vec();
            bad[7] = flag;
            assert_eq!(
                KemPreKeyPair::from_bytes(&bad).err(),
                Some(Error::Decode(DecodeError::InvalidField {
                    wire_type: WireType::KeyPair,
                    field: "last_resort",
                    found: flag.into(),
                }))
            );
        }
        let mut bad = record.to_vec();
        bad[2] = 0;
        assert_eq!(
            KemPreKeyPair::from_bytes(&bad).err(),
            Some(Error::Decode(DecodeError::UnsupportedSuite { found: 0 }))
        );
    }

    /// The keys are regenerated from the seed, so they always belong
    /// together: what the reloaded public key encapsulates, the reloaded
    /// secret decapsulates. An altered seed gives another key pair, which
    /// the stored signature then does not cover, and flipping the flag is
    /// caught by the signature too.
    #[test]
    fn a_kem_record_keys_always_belong_together() {
        let mut rng = seeded("key records: KEM consistency");
        let identity = IdentityKeyPair::generate(&mut rng);
        let pair = KemPreKeyPair::generate(&mut rng, &identity, 5, false, 9);
        let back = KemPreKeyPair::from_bytes(&pair.to_bytes()).unwrap();
        let (ct, shared) = kem::encapsulate(&mut rng, back.public().public_key());
        assert_eq!(*kem::decapsulate(pair.secret(), &ct), *shared);
        assert_eq!(*kem::decapsulate(back.secret(), &ct), *shared);

        let invalid = Err(Error::Protocol(ProtocolError::InvalidSignature {
            object: SignedObject::KemPreKey,
        }));
        let mut altered = pair.to_bytes().to_vec();
        altered[16] ^= 0x80;
        let other = KemPreKeyPair::from_bytes(&altered).unwrap();
        assert_ne!(other.public().public_key(), pair.public().public_key());
        let (ct, shared) = kem::encapsulate(&mut rng, other.public().public_key());
        assert_eq!(*kem::decapsulate(other.secret(), &ct), *shared);
        assert_eq!(other.public().verify(identity.public_key()), invalid);

        let mut flipped = pair.to_bytes().to_vec();
        flipped[7] = 1;
        let flipped = KemPreKeyPair::from_bytes(&flipped).unwrap();
        assert!(flipped.is_last_resort());
        assert_eq!(flipped.public().verify(identity.public_key()), invalid);
    }
}
