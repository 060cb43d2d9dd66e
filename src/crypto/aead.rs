//! ChaCha20-Poly1305 (RFC 8439) with full 16-byte tags, keyed per message.
//!
//! Every message has its own key, so the cost that matters for chat-sized
//! messages is the per-call setup, not the throughput. Two implementations
//! of the same function are used, each where it is faster (measured in
//! `benches/kinseal.rs`, `floor/aead_*`; see `docs/PERFORMANCE.md`):
//!
//! - up to [`SHORT_MAX`] bytes, `libcrux-chacha20poly1305` (HACL*'s
//!   formally verified portable code): about 0.5 µs for 100 bytes, where
//!   the `chacha20poly1305` crate's auto-detected AVX2 path spends about
//!   1.7 µs setting up its four-block keystream and Poly1305 powers;
//! - above it, `chacha20poly1305` (RustCrypto, audited by NCC Group),
//!   whose AVX2 path is about three times faster on 64 KiB.
//!
//! Both produce the same bytes (it is one function); both check the tag
//! before decrypting anything. The Wycheproof cases and a cross-check over
//! every length around the switch-over run through both.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::sizes::TAG_LEN;

/// Length of a ChaCha20-Poly1305 key.
pub(crate) const KEY_LEN: usize = 32;
/// Length of a ChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Length of the HKDF output a message key is cut from: key, then nonce.
pub(crate) const KEY_NONCE_LEN: usize = KEY_LEN + NONCE_LEN;

/// One message's AEAD key and nonce: derived together, used for exactly one
/// message, wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct AeadKey {
    key: [u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
}

impl AeadKey {
    /// Cuts a key-derivation output into the key (its first 32 bytes) and
    /// the nonce (its last 12).
    pub(crate) fn from_okm(okm: &[u8; KEY_NONCE_LEN]) -> Self {
        let mut key = [0u8; KEY_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        key.copy_from_slice(&okm[..KEY_LEN]);
        nonce.copy_from_slice(&okm[KEY_LEN..]);
        AeadKey { key, nonce }
    }

    /// The key and nonce as the 44 bytes they were cut from, for tests that
    /// compare a derivation with an independent one.
    #[cfg(test)]
    pub(crate) fn to_okm(&self) -> [u8; KEY_NONCE_LEN] {
        let mut okm = [0u8; KEY_NONCE_LEN];
        okm[..KEY_LEN].copy_from_slice(&self.key);
        okm[KEY_LEN..].copy_from_slice(&self.nonce);
        okm
    }
}

/// The longest message sealed or opened with the short-message
/// implementation. The two cost the same at about 850 bytes here.
pub(crate) const SHORT_MAX: usize = 768;

/// Encrypts `plaintext` into `out` (of the same length) under one
/// message's key and nonce, returning the tag: the out-of-place form of
/// [`encrypt_in_place`], which the ratchet uses (it seals the padded
/// plaintext where the ciphertext goes). Kept for the cross-checks.
#[cfg(test)]
pub(crate) fn encrypt(
    key: &AeadKey,
    ad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<[u8; TAG_LEN], ()> {
    if plaintext.len() <= SHORT_MAX {
        short::encrypt(key, ad, plaintext, out)
    } else {
        long::encrypt(key, ad, plaintext, out)
    }
}

/// Encrypts `buffer` in place, returning the tag: the same function as
/// [`encrypt`]. The ratchet pads the plaintext where its ciphertext goes
/// and seals it there. Short buffers are copied to the stack first (the
/// short-message implementation does not work in place), and the copy is
/// wiped.
pub(crate) fn encrypt_in_place(
    key: &AeadKey,
    ad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; TAG_LEN], ()> {
    let n = buffer.len();
    if n <= SHORT_MAX {
        let mut copy = [0u8; SHORT_MAX];
        let plaintext = copy.get_mut(..n).ok_or(())?;
        plaintext.copy_from_slice(buffer);
        let tag = short::encrypt(key, ad, plaintext, buffer);
        plaintext.zeroize();
        tag
    } else {
        long::encrypt_in_place(key, ad, buffer)
    }
}

/// Checks the tag, then decrypts `ciphertext` into `out` (of the same
/// length). On failure nothing is written to `out`: the tag is verified
/// before any byte is decrypted. Decryption does not work in place: the
/// ratchet opens from the received bytes into the plaintext it returns, so
/// nothing is copied before it is decrypted.
pub(crate) fn decrypt(
    key: &AeadKey,
    ad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
    out: &mut [u8],
) -> Result<(), ()> {
    if ciphertext.len() <= SHORT_MAX {
        short::decrypt(key, ad, ciphertext, tag, out)
    } else {
        long::decrypt(key, ad, ciphertext, tag, out)
    }
}

/// libcrux-chacha20poly1305 (HACL*), for short messages.
pub(crate) mod short {
    use super::{AeadKey, TAG_LEN};

    pub(crate) fn encrypt(
        key: &AeadKey,
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let AeadKey { key, nonce } = key;
        let mut tag = [0u8; TAG_LEN];
        if out.len() != plaintext.len() {
            return Err(());
        }
        libcrux_chacha20poly1305::encrypt_detached(key, plaintext, out, &mut tag, ad, nonce)
            .map_err(|_| ())?;
        Ok(tag)
    }

    /// HACL* computes and compares the tag, and decrypts only if it matches.
    pub(crate) fn decrypt(
        key: &AeadKey,
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        let AeadKey { key, nonce } = key;
        if out.len() != ciphertext.len() {
            return Err(());
        }
        libcrux_chacha20poly1305::decrypt_detached(key, out, ciphertext, tag, ad, nonce)
            .map(|_| ())
            .map_err(|_| ())
    }
}

/// chacha20poly1305 (RustCrypto), for long messages.
pub(crate) mod long {
    use super::{AeadInOut, AeadKey, ChaCha20Poly1305, InOutBuf, KeyInit, Nonce, TAG_LEN, Tag};

    pub(crate) fn encrypt_in_place(
        key: &AeadKey,
        ad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let AeadKey { key, nonce } = key;
        let tag = ChaCha20Poly1305::new(key.into())
            .encrypt_inout_detached(&Nonce::from(*nonce), ad, InOutBuf::from(buffer))
            .map_err(|_| ())?;
        Ok(tag.into())
    }

    #[cfg(test)]
    pub(crate) fn encrypt(
        key: &AeadKey,
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let AeadKey { key, nonce } = key;
        let buffer = InOutBuf::new(plaintext, out).map_err(|_| ())?;
        let tag = ChaCha20Poly1305::new(key.into())
            .encrypt_inout_detached(&Nonce::from(*nonce), ad, buffer)
            .map_err(|_| ())?;
        Ok(tag.into())
    }

    /// The MAC over the ciphertext is checked before the keystream is
    /// applied to `out`.
    pub(crate) fn decrypt(
        key: &AeadKey,
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        let AeadKey { key, nonce } = key;
        let buffer = InOutBuf::new(ciphertext, out).map_err(|_| ())?;
        ChaCha20Poly1305::new(key.into())
            .decrypt_inout_detached(&Nonce::from(*nonce), ad, buffer, &Tag::from(*tag))
            .map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test bytes.
    fn bytes(seed: u8, n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Both implementations compute the same function at every length
    /// around the switch-over (and at a few far from it), open each other's
    /// output, and reject a flipped bit in the tag, the ciphertext or the
    /// AD without writing anything to the output.
    #[test]
    fn implementations_agree_and_verify_before_decrypting() {
        let lengths = (0..=SHORT_MAX + 80).chain([1024, 4096, 65536 + 7]);
        for n in lengths {
            let key_nonce = AeadKey::from_okm(&bytes(n as u8, KEY_NONCE_LEN).try_into().unwrap());
            let ad = bytes(3, n % 97);
            let plaintext = bytes(5, n);
            let mut short_ct = vec![0u8; n];
            let mut long_ct = vec![0u8; n];
            let short_tag = short::encrypt(&key_nonce, &ad, &plaintext, &mut short_ct).unwrap();
            let long_tag = long::encrypt(&key_nonce, &ad, &plaintext, &mut long_ct).unwrap();
            assert_eq!(short_ct, long_ct, "ciphertexts differ at {n} bytes");
            assert_eq!(short_tag, long_tag, "tags differ at {n} bytes");
            let mut dispatched = vec![0u8; n];
            assert_eq!(
                encrypt(&key_nonce, &ad, &plaintext, &mut dispatched),
                Ok(long_tag)
            );
            assert_eq!(dispatched, long_ct);
            let mut in_place = plaintext.clone();
            assert_eq!(
                encrypt_in_place(&key_nonce, &ad, &mut in_place),
                Ok(long_tag)
            );
            assert_eq!(
                in_place, long_ct,
                "in-place ciphertext differs at {n} bytes"
            );

            for decrypt in [short::decrypt, long::decrypt, super::decrypt] {
                let mut out = vec![0u8; n];
                assert_eq!(
                    decrypt(&key_nonce, &ad, &long_ct, &long_tag, &mut out),
                    Ok(())
                );
                assert_eq!(out, plaintext, "wrong plaintext at {n} bytes");

                // Failures write nothing.
                let untouched = vec![0xa5u8; n];
                let mut bad_tag = long_tag;
                bad_tag[n % TAG_LEN] ^= 1;
                let mut out = untouched.clone();
                assert_eq!(
                    decrypt(&key_nonce, &ad, &long_ct, &bad_tag, &mut out),
                    Err(())
                );
                assert_eq!(out, untouched, "a failed open wrote its output");
                if n > 0 {
                    let mut tampered = long_ct.clone();
                    tampered[n / 2] ^= 0x80;
                    let mut out = untouched.clone();
                    assert_eq!(
                        decrypt(&key_nonce, &ad, &tampered, &long_tag, &mut out),
                        Err(())
                    );
                    assert_eq!(out, untouched, "a failed open wrote its output");
                }
                let mut longer_ad = ad.clone();
                longer_ad.push(0);
                let mut out = untouched.clone();
                assert_eq!(
                    decrypt(&key_nonce, &longer_ad, &long_ct, &long_tag, &mut out),
                    Err(())
                );
                assert_eq!(out, untouched, "a failed open wrote its output");
            }
        }
    }

    #[test]
    fn the_key_comes_first_then_the_nonce() {
        let okm: [u8; KEY_NONCE_LEN] = core::array::from_fn(|i| i as u8);
        let k = AeadKey::from_okm(&okm);
        assert_eq!(k.key[..], okm[..KEY_LEN]);
        assert_eq!(k.nonce[..], okm[KEY_LEN..]);
    }

    #[test]
    fn mismatched_buffers_are_refused() {
        let key_nonce = AeadKey::from_okm(&[1u8; KEY_NONCE_LEN]);
        for encrypt in [short::encrypt, long::encrypt, super::encrypt] {
            assert_eq!(encrypt(&key_nonce, b"", b"abc", &mut [0u8; 2]), Err(()));
        }
        for decrypt in [short::decrypt, long::decrypt, super::decrypt] {
            let tag = [0u8; TAG_LEN];
            assert_eq!(
                decrypt(&key_nonce, b"", b"abc", &tag, &mut [0u8; 4]),
                Err(())
            );
        }
    }
}
