//! HKDF-SHA256 and HMAC-SHA256, used the ways kinseal uses them.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::aead::{AeadKey, KEY_NONCE_LEN};
use super::labels;

type HmacSha256 = Hmac<Sha256>;

/// Two 32-byte secrets derived together.
pub(crate) type KeyPair32 = (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

/// Length of a `Message`'s header tag: HMAC-SHA256 truncated to 16 bytes.
pub(crate) const HEADER_TAG_LEN: usize = 16;

/// What the handshake KDF yields: the first root key, the initiator's first
/// chain key, that chain's header key, and the header key of the
/// responder's first chain.
pub(crate) struct HandshakeKeys {
    root_key: Zeroizing<[u8; 32]>,
    chain_key: Zeroizing<[u8; 32]>,
    initiator_header_key: Zeroizing<[u8; 32]>,
    responder_header_key: Zeroizing<[u8; 32]>,
}

/// The four keys of [`HandshakeKeys`], in its order.
pub(crate) type HandshakeKeyParts = (
    Zeroizing<[u8; 32]>,
    Zeroizing<[u8; 32]>,
    Zeroizing<[u8; 32]>,
    Zeroizing<[u8; 32]>,
);

impl HandshakeKeys {
    /// The root key, the chain key, the initiator's first header key and
    /// the responder's.
    pub(crate) fn into_parts(self) -> HandshakeKeyParts {
        (
            self.root_key,
            self.chain_key,
            self.initiator_header_key,
            self.responder_header_key,
        )
    }
}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(keys: &HandshakeKeys) {
    use crate::hygiene::zod;
    let HandshakeKeys {
        root_key,
        chain_key,
        initiator_header_key,
        responder_header_key,
    } = keys;
    zod(root_key);
    zod(chain_key);
    zod(initiator_header_key);
    zod(responder_header_key);
}

impl zeroize::ZeroizeOnDrop for HandshakeKeys {}

/// The handshake KDF: HKDF-SHA256 with a zero salt over `ikm`, info =
/// label ‖ transcript hash, 128 bytes out, split into root key ‖ chain key
/// ‖ initiator's header key ‖ responder's header key.
pub(crate) fn handshake(ikm: &[u8], transcript_hash: &[u8; 32]) -> HandshakeKeys {
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), ikm);
    let mut okm = Zeroizing::new([0u8; 128]);
    // 128 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand_multi_info(&[labels::HANDSHAKE_INFO, transcript_hash], &mut okm[..]);
    HandshakeKeys {
        root_key: part(&okm[..], 0),
        chain_key: part(&okm[..], 1),
        initiator_header_key: part(&okm[..], 2),
        responder_header_key: part(&okm[..], 3),
    }
}

/// Three 32-byte secrets derived together.
pub(crate) type KeyTriple32 = (
    Zeroizing<[u8; 32]>,
    Zeroizing<[u8; 32]>,
    Zeroizing<[u8; 32]>,
);

/// The root KDF: HKDF-SHA256 with salt = root key, ikm = DH output,
/// info = the root label; 96 bytes out, split into new root key ‖ chain key
/// ‖ next header key (of the chain after the new one).
pub(crate) fn root_step(root_key: &[u8; 32], dh_output: &[u8; 32]) -> KeyTriple32 {
    let hk = Hkdf::<Sha256>::new(Some(root_key), dh_output);
    let mut okm = Zeroizing::new([0u8; 96]);
    let _ = hk.expand(labels::ROOT_INFO, &mut okm[..]);
    (part(&okm[..], 0), part(&okm[..], 1), part(&okm[..], 2))
}

/// The `i`-th 32-byte part of `okm` (zeros past its end, which the callers
/// above never ask for).
fn part(okm: &[u8], i: usize) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if let Some(p) = okm.get(32 * i..32 * (i + 1)) {
        out.copy_from_slice(p);
    }
    out
}

/// A `Message`'s header tag: HMAC-SHA256(header key, HEADER_TAG label ‖
/// session AD ‖ header bytes before the tag), truncated to 16 bytes.
pub(crate) fn header_tag(
    header_key: &[u8; 32],
    session_ad: &[u8; 32],
    header: &[u8],
) -> [u8; HEADER_TAG_LEN] {
    let mut mac = keyed_hmac(header_key);
    mac.update(labels::HEADER_TAG);
    mac.update(session_ad);
    mac.update(header);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; HEADER_TAG_LEN];
    if let Some(t) = full.get(..HEADER_TAG_LEN) {
        out.copy_from_slice(t);
    }
    out
}

/// The chain KDF: message-key seed = HMAC(ck, 0x01), next chain key =
/// HMAC(ck, 0x02). The keyed HMAC state is computed once and cloned.
pub(crate) fn chain_step(chain_key: &[u8; 32]) -> KeyPair32 {
    let keyed = keyed_hmac(chain_key);
    let mut seed_mac = keyed.clone();
    seed_mac.update(&[0x01]);
    let mut next_mac = keyed;
    next_mac.update(&[0x02]);
    (finish(seed_mac), finish(next_mac))
}

/// Only the next chain key: for indices whose message key is not kept.
pub(crate) fn chain_advance(chain_key: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut mac = keyed_hmac(chain_key);
    mac.update(&[0x02]);
    finish(mac)
}

/// The group chain KDF (PROTOCOL.md §16.3): message-key seed =
/// HMAC(ck, GROUP_CHAIN ‖ 0x01), next chain key = HMAC(ck, GROUP_CHAIN ‖
/// 0x02). The label keeps group keys apart from the pairwise chain's.
pub(crate) fn group_chain_step(chain_key: &[u8; 32]) -> KeyPair32 {
    let mut keyed = keyed_hmac(chain_key);
    keyed.update(labels::GROUP_CHAIN);
    let mut seed_mac = keyed.clone();
    seed_mac.update(&[0x01]);
    let mut next_mac = keyed;
    next_mac.update(&[0x02]);
    (finish(seed_mac), finish(next_mac))
}

/// Expands a group message-key seed with HKDF-Expand (info = the group
/// message-key label) into a 32-byte AEAD key and a 12-byte nonce.
pub(crate) fn group_message_key(seed: &[u8; 32]) -> AeadKey {
    let mut okm = Zeroizing::new([0u8; KEY_NONCE_LEN]);
    // As in `message_key`: neither call can fail.
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(seed) {
        let _ = hk.expand(labels::GROUP_MESSAGE_KEY, &mut okm[..]);
    }
    AeadKey::from_okm(&okm)
}

fn keyed_hmac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC accepts keys of any length; a 32-byte key never fails.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    }
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // new_from_slice is infallible for HMAC; this arm exists only to avoid a panic path.
    <HmacSha256 as KeyInit>::new(&Default::default())
}

fn finish(mac: HmacSha256) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Expands a message-key seed (a uniformly random 32-byte PRK) with
/// HKDF-Expand into a 32-byte AEAD key and a 12-byte nonce.
pub(crate) fn message_key(seed: &[u8; 32]) -> AeadKey {
    let mut okm = Zeroizing::new([0u8; KEY_NONCE_LEN]);
    // A 32-byte PRK is a valid HKDF-SHA-256 PRK and 44 bytes is far below
    // the 8160-byte limit, so neither call can fail.
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(seed) {
        let _ = hk.expand(labels::MESSAGE_KEY_INFO, &mut okm[..]);
    }
    AeadKey::from_okm(&okm)
}

/// A provisioning message's AEAD key and nonce: HKDF-SHA256 with a zero
/// salt over the DH output, info = the provisioning label ‖ the link code
/// ‖ the sender's ephemeral public key, 44 bytes out (PROTOCOL.md §13.4).
pub(crate) fn provisioning_key(
    shared: &[u8; 32],
    link_code: &[u8],
    sender_ephemeral: &[u8; 32],
) -> AeadKey {
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), shared);
    let mut okm = Zeroizing::new([0u8; KEY_NONCE_LEN]);
    // 44 bytes is far below HKDF-SHA-256's 8160-byte limit.
    let _ = hk.expand_multi_info(
        &[labels::PROVISIONING, link_code, sender_ephemeral],
        &mut okm[..],
    );
    AeadKey::from_okm(&okm)
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}
