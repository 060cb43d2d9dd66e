//! Thin wrappers over the primitive crates, so that the rest of kinseal
//! calls each primitive in exactly one way: DH that refuses non-contributory
//! outputs, HKDF/HMAC with kinseal's labels, the AEAD with full tags, and
//! ML-KEM-768 with seeds drawn from the caller's RNG. X25519 and Ed25519
//! are computed by [`backend`]: the dalek crates, or AWS-LC with the
//! `aws-lc` feature.

pub(crate) mod aead;
pub(crate) mod backend;
pub(crate) mod dh;
pub(crate) mod kdf;
pub(crate) mod kem;
pub(crate) mod labels;
pub(crate) mod seal;
#[cfg(test)]
mod wycheproof_tests;
