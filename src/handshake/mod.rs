//! Session setup: the hybrid X25519 + ML-KEM-768 handshake (PQXDH-style).
//!
//! This module is the one interface between key agreement and the ratchet:
//! [`initiate`] and [`respond`] turn long-term and prekey material into
//! [`SessionSecrets`] — a root key, the first chain key and the session's
//! associated data — and the ratchet never sees how they were made.
//!
//! With initiator A and responder B:
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
//! DH4 = DH(EK_A, OPK_B)   (only with a one-time prekey)
//! (CT, SS) = ML-KEM-768.Encaps(PQPK_B)
//! TH  = SHA-256(label ‖ version ‖ suite ‖ IK_A ‖ IK_B ‖ spk_id ‖ SPK_B
//!               ‖ opk_present [‖ opk_id ‖ OPK_B] ‖ kem_id ‖ PQPK_B ‖ EK_A ‖ CT)
//! RK0 ‖ CK0 = HKDF-SHA256(salt = 0³², ikm = 0xFF³² ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS,
//!                         info = label ‖ TH, 64 bytes)
//! ```
//!
//! Binding the KEM public key and ciphertext (and every other public input)
//! through TH closes the KEM re-encapsulation and key-substitution attacks
//! found in the analyses of PQXDH.

mod pqxdh;

#[cfg(test)]
pub(crate) use pqxdh::session_ad;
pub(crate) use pqxdh::{Initiation, SessionSecrets, initiate, respond};
