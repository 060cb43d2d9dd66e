//! The Double Ratchet (Signal specification, with kinseal's KDF labels).
//!
//! ```text
//! KDF_RK(rk, dh)  = HKDF-SHA256(salt = rk, ikm = dh, info = "KINSEAL-v1 root\0") → rk' ‖ ck ‖ nhk  (96 B)
//! KDF_CK(ck)      = HMAC-SHA256(ck, 0x01) → seed,  HMAC-SHA256(ck, 0x02) → ck'
//! message key     = HKDF-Expand(prk = seed, info = "KINSEAL-v1 message key\0", 44) → key ‖ nonce
//! header tag      = HMAC-SHA256(hk, "KINSEAL-v1 header tag\0" ‖ session_ad ‖ header[0..50])[0..16]
//! ENCRYPT         = ChaCha20-Poly1305(key, nonce, ad = session_ad ‖ header, plaintext), 16-byte tag
//! ```
//!
//! Every chain has a header key (`hk`): the handshake yields those of the
//! initiator's and the responder's first chains, and each KDF_RK step the
//! one of the chain after the one it starts (`nhk`). A receiver checks a
//! header's tag, under the key of the chain it names or, for a new ratchet
//! key, the next header key, before any chain work, DH or allocation.
//!
//! Every step that can fail is computed on the side and committed only
//! when the message authenticates, so a failed decryption leaves the state
//! exactly as it was.

//!
//! The ratchet owns its state and its persistence: its fields are private
//! to this module, [`DoubleRatchet::to_frame`] and
//! [`DoubleRatchet::from_frame`] (in `persist.rs`) turn it into the ratchet's
//! part of the session state and back, and `from_frame` checks every
//! invariant the state relies on.

mod bounds;
mod keys;
mod persist;
pub(crate) use persist::invalid_state;
mod skipped;
mod state;

pub(crate) use bounds::Bounds;
pub(crate) use keys::{
    ChainKey, Followed, HeaderKey, MessageKey, MessageKeySeed, RemoteChainKey, RootKey,
};
pub(crate) use skipped::SkippedKeys;
pub(crate) use state::{DoubleRatchet, OurRatchetKey, OurSide, ReceivingChain};
