//! ML-KEM-768 (FIPS 203) through libcrux-ml-kem, with randomness drawn
//! from the caller's RNG and private material kept in zeroizing buffers.

use libcrux_ml_kem::mlkem768;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::sizes::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KEM_SEED_LEN};

/// Length of the key-generation seed (d ‖ z), the stored form of the key.
pub(crate) const SEED_LEN: usize = KEM_SEED_LEN;
/// Length of an expanded ML-KEM-768 decapsulation key.
pub(crate) const PRIVATE_KEY_LEN: usize = 2400;
/// Length of the KEM shared secret.
pub(crate) const SHARED_SECRET_LEN: usize = 32;

/// A decapsulation key, with the seed it was expanded from.
///
/// Both live on the heap so moves do not leave copies, and both are wiped
/// on drop.
pub(crate) struct KemSecret {
    seed: Box<[u8; SEED_LEN]>,
    expanded: Box<[u8; PRIVATE_KEY_LEN]>,
}

impl KemSecret {
    /// The 64-byte seed `d ‖ z` the key was generated from: all a key
    /// record stores, since [`keypair_from_seed`] rebuilds the rest.
    pub(crate) fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }
}

impl Drop for KemSecret {
    fn drop(&mut self) {
        self.seed.zeroize();
        self.expanded.zeroize();
    }
}

impl ZeroizeOnDrop for KemSecret {}

impl core::fmt::Debug for KemSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KemSecret(<redacted>)")
    }
}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(secret: &KemSecret) {
    // Both fields are boxed arrays (not zeroizing types themselves): the
    // `Drop` impl above wipes each. A new field must be added there too.
    let KemSecret {
        seed: _,
        expanded: _,
    } = secret;
}

impl Clone for KemSecret {
    fn clone(&self) -> Self {
        KemSecret {
            seed: self.seed.clone(),
            expanded: self.expanded.clone(),
        }
    }
}

/// Deterministic key generation from a 64-byte seed (FIPS 203 `ML-KEM.KeyGen_internal(d, z)`).
pub(crate) fn keypair_from_seed(
    seed: &[u8; SEED_LEN],
) -> (KemSecret, Box<[u8; KEM_PUBLIC_KEY_LEN]>) {
    let kp = mlkem768::generate_key_pair(*seed);
    let (sk, pk) = kp.into_parts();
    let mut sk_bytes: [u8; PRIVATE_KEY_LEN] = sk.into();
    let mut expanded = Box::new([0u8; PRIVATE_KEY_LEN]);
    expanded.copy_from_slice(&sk_bytes);
    sk_bytes.zeroize();
    let public = Box::new(<[u8; KEM_PUBLIC_KEY_LEN]>::from(pk));
    let secret = KemSecret {
        seed: Box::new(*seed),
        expanded,
    };
    (secret, public)
}

/// Fresh key generation.
pub(crate) fn generate<R: CryptoRng + ?Sized>(
    rng: &mut R,
) -> (KemSecret, Box<[u8; KEM_PUBLIC_KEY_LEN]>) {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    rng.fill_bytes(&mut seed[..]);
    keypair_from_seed(&seed)
}

/// FIPS 203 encapsulation-key check (modulus check): every coefficient
/// must be reduced. Keys failing it are rejected before use.
pub(crate) fn public_key_is_valid(public: &[u8; KEM_PUBLIC_KEY_LEN]) -> bool {
    mlkem768::validate_public_key(&mlkem768::MlKem768PublicKey::from(public))
}

/// Encapsulates to `public` with 32 bytes from `rng`.
///
/// The caller must have checked `public` with [`public_key_is_valid`].
pub(crate) fn encapsulate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    public: &[u8; KEM_PUBLIC_KEY_LEN],
) -> (
    Box<[u8; KEM_CIPHERTEXT_LEN]>,
    Zeroizing<[u8; SHARED_SECRET_LEN]>,
) {
    let mut m = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut m[..]);
    encapsulate_deterministic(public, &m)
}

/// Encapsulation with explicit randomness `m` (FIPS 203 `ML-KEM.Encaps_internal`).
pub(crate) fn encapsulate_deterministic(
    public: &[u8; KEM_PUBLIC_KEY_LEN],
    m: &[u8; 32],
) -> (
    Box<[u8; KEM_CIPHERTEXT_LEN]>,
    Zeroizing<[u8; SHARED_SECRET_LEN]>,
) {
    let pk = mlkem768::MlKem768PublicKey::from(public);
    let (ct, mut ss) = mlkem768::encapsulate(&pk, *m);
    let shared = Zeroizing::new(ss);
    ss.zeroize();
    (Box::new(<[u8; KEM_CIPHERTEXT_LEN]>::from(ct)), shared)
}

/// Decapsulates. ML-KEM has implicit rejection: a tampered ciphertext
/// yields an unrelated secret rather than an error, and the AEAD then fails.
pub(crate) fn decapsulate(
    secret: &KemSecret,
    ciphertext: &[u8; KEM_CIPHERTEXT_LEN],
) -> Zeroizing<[u8; SHARED_SECRET_LEN]> {
    let sk = mlkem768::MlKem768PrivateKey::from(&*secret.expanded);
    let ct = mlkem768::MlKem768Ciphertext::from(ciphertext);
    let mut ss = mlkem768::decapsulate(&sk, &ct);
    let shared = Zeroizing::new(ss);
    ss.zeroize();
    let mut sk_bytes: [u8; PRIVATE_KEY_LEN] = sk.into();
    sk_bytes.zeroize();
    shared
}

/// Decapsulation with an expanded decapsulation key given as bytes, for
/// the Wycheproof checks of the wrapper. Returns `None` when the key fails
/// the FIPS 203 decapsulation-key check (hash check).
#[cfg(test)]
pub(crate) fn decapsulate_expanded(
    expanded: &[u8; PRIVATE_KEY_LEN],
    ciphertext: &[u8; KEM_CIPHERTEXT_LEN],
) -> Option<[u8; SHARED_SECRET_LEN]> {
    let sk = mlkem768::MlKem768PrivateKey::from(expanded);
    let ct = mlkem768::MlKem768Ciphertext::from(ciphertext);
    if !mlkem768::validate_private_key(&sk, &ct) {
        return None;
    }
    Some(mlkem768::decapsulate(&sk, &ct))
}
