//! The storage seal: XChaCha20-Poly1305 under a key derived from the
//! caller's storage key, with a random 192-bit nonce (random nonces of this
//! length can be drawn for every write without a counter).

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::labels;
use crate::sizes::TAG_LEN;

/// Derives the sealing key from a caller-given storage key, so that the
/// caller's key is never used directly as an AEAD key.
pub(crate) fn derive_key(storage_key: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA-256's 8160-byte output limit.
    let _ = Hkdf::<Sha256>::new(None, storage_key).expand(labels::STORAGE_KEY, &mut out[..]);
    out
}

/// Seals `plaintext`, returning ciphertext ‖ tag. Fails only for a
/// plaintext longer than XChaCha20 can encrypt (256 GiB), which callers
/// bound far below.
pub(crate) fn seal(
    key: &[u8; 32],
    nonce: &[u8; 24],
    ad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ()> {
    let mut out = vec![0u8; plaintext.len() + TAG_LEN];
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    let buffer = InOutBuf::new(plaintext, body).map_err(|_| ())?;
    let tag = XChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(&XNonce::from(*nonce), ad, buffer)
        .map_err(|_| ())?;
    tag_out.copy_from_slice(&tag);
    Ok(out)
}

/// Opens ciphertext ‖ tag; the tag is checked before anything is decrypted.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 24],
    ad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ()> {
    let body_len = sealed.len().checked_sub(TAG_LEN).ok_or(())?;
    let (body, tag) = sealed.split_at(body_len);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| ())?;
    let mut out = Zeroizing::new(vec![0u8; body_len]);
    let buffer = InOutBuf::new(body, &mut out[..]).map_err(|_| ())?;
    XChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(&XNonce::from(*nonce), ad, buffer, &Tag::from(tag))
        .map_err(|_| ())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_bit_matters() {
        let key = derive_key(&[9; 32]);
        let sealed = seal(&key, &[1; 24], b"ad", b"record").unwrap();
        assert_eq!(
            &open(&key, &[1; 24], b"ad", &sealed).unwrap()[..],
            b"record"
        );
        for i in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(open(&key, &[1; 24], b"ad", &bad).is_err());
        }
        assert!(open(&key, &[2; 24], b"ad", &sealed).is_err());
        assert!(open(&key, &[1; 24], b"ae", &sealed).is_err());
        assert!(open(&derive_key(&[8; 32]), &[1; 24], b"ad", &sealed).is_err());
        assert!(open(&key, &[1; 24], b"ad", &sealed[..15]).is_err());
    }
}
