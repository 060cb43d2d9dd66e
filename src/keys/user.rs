//! The user identity key: one Ed25519 key per user of one app (an
//! account), which signs the user's device list (`device_list.rs`). It
//! only signs: unlike a device's identity key it never takes part in key
//! agreement, and it is a type of its own, so it cannot be passed where a
//! device key is expected.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::identity::{
    parse_ed25519, public_key_by_bytes, random_secret, secret_array, sign, verify_strict,
};
use crate::error::{KeyKind, ProtocolError, SignedObject};
use crate::wire::{KEY_LEN, SIGNATURE_LEN};

/// A public user identity key: 32 bytes, an Ed25519 public key, checked
/// exactly as a device's [`IdentityKey`](crate::IdentityKey) is
/// (PROTOCOL.md §3.1): the canonical encoding of a point of the
/// prime-order subgroup other than the neutral element.
///
/// It names a person's account, where an `IdentityKey` names one device,
/// and the two are different types:
///
/// ```
/// use kinseal::{OsRng, UserIdentityKey, UserIdentityKeyPair};
/// fn user_key(_: &UserIdentityKey) {}
/// let user = UserIdentityKeyPair::generate(&mut OsRng);
/// user_key(user.public_key());
/// ```
///
/// ```compile_fail
/// use kinseal::{IdentityKey, OsRng, UserIdentityKeyPair};
/// fn device_key(_: &IdentityKey) {}
/// let user = UserIdentityKeyPair::generate(&mut OsRng);
/// device_key(user.public_key()); // a user key is not a device key
/// ```
#[derive(Clone)]
pub struct UserIdentityKey {
    ed: VerifyingKey,
}

impl UserIdentityKey {
    /// Length of the encoding.
    pub const LENGTH: usize = KEY_LEN;

    /// Parses and validates a user identity key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`](crate::DecodeError::InvalidKey) with [`KeyKind::UserIdentity`], for
    /// the same inputs [`IdentityKey::from_bytes`](crate::IdentityKey::from_bytes)
    /// refuses: not a point, not its canonical encoding, of small order,
    /// or with a small-order component.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> crate::Result<Self> {
        Ok(UserIdentityKey {
            ed: parse_ed25519(bytes, KeyKind::UserIdentity)?,
        })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.ed.to_bytes()
    }

    /// The 32-byte encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        self.ed.as_bytes()
    }

    /// Verifies `signature` over `label ‖ parts…`, strictly (PROTOCOL.md §3.5).
    pub(crate) fn verify(
        &self,
        object: SignedObject,
        label: &[u8],
        parts: &[&[u8]],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<(), ProtocolError> {
        verify_strict(&self.ed, object, label, parts, signature)
    }
}

public_key_by_bytes!(UserIdentityKey);

/// A user identity key pair. The private half never leaves except through
/// [`UserIdentityKeyPair::to_secret_bytes`], is zeroized on drop, and is
/// never printed. Not `Clone`: every copy of the user's secret is one more
/// to wipe; rebuild one from [`UserIdentityKeyPair::to_secret_bytes`] when
/// a second is needed.
pub struct UserIdentityKeyPair {
    signing: SigningKey,
    public: UserIdentityKey,
}

impl UserIdentityKeyPair {
    /// Generates a new user identity from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret_array(&random_secret(rng))
    }

    /// Rebuilds a user identity from the 32-byte Ed25519 secret key that
    /// [`UserIdentityKeyPair::to_secret_bytes`] returned.
    ///
    /// # Errors
    /// [`DecodeError::LengthOutOfRange`](crate::DecodeError::LengthOutOfRange) unless `secret` is 32 bytes long.
    pub fn from_secret_bytes(secret: &[u8]) -> crate::Result<Self> {
        Ok(Self::from_secret_array(secret_array(secret)?))
    }

    fn from_secret_array(secret: &[u8; KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(secret);
        let public = UserIdentityKey {
            ed: signing.verifying_key(),
        };
        UserIdentityKeyPair { signing, public }
    }

    /// The 32-byte Ed25519 secret key, for the caller to store.
    ///
    /// # Security
    /// This is the account's long-term secret, which every device of the
    /// account holds (docs/DESIGN.md, "User identities"): store it
    /// encrypted, and let the returned buffer drop (it zeroizes itself) as
    /// soon as possible.
    pub fn to_secret_bytes(&self) -> crate::SecretBytes {
        crate::SecretBytes::new(Zeroizing::new(self.signing.as_bytes().to_vec()))
    }

    /// The public user identity key.
    pub fn public_key(&self) -> &UserIdentityKey {
        &self.public
    }

    pub(crate) fn sign(&self, label: &[u8], parts: &[&[u8]]) -> [u8; SIGNATURE_LEN] {
        sign(&self.signing, label, parts)
    }

    /// The 32-byte Ed25519 secret key, borrowed: for encodings that carry
    /// it into a buffer the caller wipes (a provisioning payload).
    pub(crate) fn secret_key_bytes(&self) -> &[u8; KEY_LEN] {
        self.signing.as_bytes()
    }
}

impl ZeroizeOnDrop for UserIdentityKeyPair {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(pair: &UserIdentityKeyPair) {
    use crate::hygiene::zod;
    let UserIdentityKeyPair { signing, public: _ } = pair;
    zod(signing);
}

impl fmt::Debug for UserIdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserIdentityKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
