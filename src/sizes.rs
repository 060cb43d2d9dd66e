//! The sizes of the primitives' values, in bytes.
//!
//! They sit on the ground floor because two layers read them and neither
//! may import the other: [`wire`](crate::wire) lays them out, `crypto`
//! computes with them. Each is fixed by the primitive's specification; none
//! is a setting.

/// Length of an Ed25519 public key or an X25519 public key.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an ML-KEM-768 encapsulation (public) key.
pub const KEM_PUBLIC_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub const KEM_CIPHERTEXT_LEN: usize = 1088;
/// Length of the ChaCha20-Poly1305 authentication tag that ends every ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of the seed an ML-KEM-768 key pair is derived from (FIPS 203
/// `d ‖ z`), which is what a stored KEM prekey keeps.
pub(crate) const KEM_SEED_LEN: usize = 64;
/// Length of a group id (PROTOCOL.md §16): 32 random bytes, so that two
/// groups created anywhere never share one.
pub(crate) const GROUP_ID_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce, as records sealed at rest carry.
pub(crate) const SEAL_NONCE_LEN: usize = 24;
