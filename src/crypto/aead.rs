//! ChaCha20-Poly1305 with full 16-byte tags, keyed per message.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};

use crate::wire::TAG_LEN;

/// Encrypts `body` in place under the 44-byte key ‖ nonce, returning the tag.
pub(crate) fn seal(key_nonce: &[u8; 44], ad: &[u8], body: &mut [u8]) -> Result<[u8; TAG_LEN], ()> {
    let (key, nonce) = split(key_nonce);
    let cipher = ChaCha20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_inout_detached(&nonce, ad, body.into())
        .map_err(|_| ())?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&tag);
    Ok(out)
}

/// Checks the tag and decrypts `body` in place. On failure `body` is left
/// as it was given (the tag is verified before any byte is decrypted).
pub(crate) fn open(
    key_nonce: &[u8; 44],
    ad: &[u8],
    body: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), ()> {
    let (key, nonce) = split(key_nonce);
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_inout_detached(&nonce, ad, body.into(), &Tag::from(*tag))
        .map_err(|_| ())
}

fn split(key_nonce: &[u8; 44]) -> (&[u8; 32], Nonce) {
    let (key, nonce) = key_nonce
        .split_first_chunk::<32>()
        .unwrap_or((&[0u8; 32], &[]));
    let nonce: [u8; 12] = nonce.try_into().unwrap_or([0u8; 12]);
    (key, Nonce::from(nonce))
}
