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

use crate::sizes::TAG_LEN;

/// The longest message sealed or opened with the short-message
/// implementation. The two cost the same at about 850 bytes here.
pub(crate) const SHORT_MAX: usize = 768;

/// Encrypts `plaintext` into `out` (of the same length) under the 44-byte
/// key ‖ nonce, returning the tag. Neither function works in place: the
/// ratchet seals from the caller's plaintext into the message it builds
/// and opens from the received bytes into the plaintext it returns, so
/// nothing is copied before it is encrypted or decrypted.
pub(crate) fn seal(
    key_nonce: &[u8; 44],
    ad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<[u8; TAG_LEN], ()> {
    if plaintext.len() <= SHORT_MAX {
        short::seal(key_nonce, ad, plaintext, out)
    } else {
        long::seal(key_nonce, ad, plaintext, out)
    }
}

/// Checks the tag, then decrypts `ciphertext` into `out` (of the same
/// length). On failure nothing is written to `out`: the tag is verified
/// before any byte is decrypted.
pub(crate) fn open(
    key_nonce: &[u8; 44],
    ad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
    out: &mut [u8],
) -> Result<(), ()> {
    if ciphertext.len() <= SHORT_MAX {
        short::open(key_nonce, ad, ciphertext, tag, out)
    } else {
        long::open(key_nonce, ad, ciphertext, tag, out)
    }
}

fn split(key_nonce: &[u8; 44]) -> (&[u8; 32], &[u8; 12]) {
    let (key, nonce) = key_nonce
        .split_first_chunk::<32>()
        .unwrap_or((&[0u8; 32], &[]));
    let nonce = nonce.first_chunk::<12>().unwrap_or(&[0u8; 12]);
    (key, nonce)
}

/// libcrux-chacha20poly1305 (HACL*), for short messages.
pub(crate) mod short {
    use super::{TAG_LEN, split};

    pub(crate) fn seal(
        key_nonce: &[u8; 44],
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let (key, nonce) = split(key_nonce);
        let mut tag = [0u8; TAG_LEN];
        if out.len() != plaintext.len() {
            return Err(());
        }
        libcrux_chacha20poly1305::encrypt_detached(key, plaintext, out, &mut tag, ad, nonce)
            .map_err(|_| ())?;
        Ok(tag)
    }

    /// HACL* computes and compares the tag, and decrypts only if it matches.
    pub(crate) fn open(
        key_nonce: &[u8; 44],
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        let (key, nonce) = split(key_nonce);
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
    use super::{AeadInOut, ChaCha20Poly1305, InOutBuf, KeyInit, Nonce, TAG_LEN, Tag, split};

    pub(crate) fn seal(
        key_nonce: &[u8; 44],
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let (key, nonce) = split(key_nonce);
        let buffer = InOutBuf::new(plaintext, out).map_err(|_| ())?;
        let tag = ChaCha20Poly1305::new(key.into())
            .encrypt_inout_detached(&Nonce::from(*nonce), ad, buffer)
            .map_err(|_| ())?;
        Ok(tag.into())
    }

    /// The MAC over the ciphertext is checked before the keystream is
    /// applied to `out`.
    pub(crate) fn open(
        key_nonce: &[u8; 44],
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        let (key, nonce) = split(key_nonce);
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
            let key_nonce: [u8; 44] = bytes(n as u8, 44).try_into().unwrap();
            let ad = bytes(3, n % 97);
            let plaintext = bytes(5, n);
            let mut short_ct = vec![0u8; n];
            let mut long_ct = vec![0u8; n];
            let short_tag = short::seal(&key_nonce, &ad, &plaintext, &mut short_ct).unwrap();
            let long_tag = long::seal(&key_nonce, &ad, &plaintext, &mut long_ct).unwrap();
            assert_eq!(short_ct, long_ct, "ciphertexts differ at {n} bytes");
            assert_eq!(short_tag, long_tag, "tags differ at {n} bytes");
            let mut dispatched = vec![0u8; n];
            assert_eq!(
                seal(&key_nonce, &ad, &plaintext, &mut dispatched),
                Ok(long_tag)
            );
            assert_eq!(dispatched, long_ct);

            for open in [short::open, long::open, super::open] {
                let mut out = vec![0u8; n];
                assert_eq!(open(&key_nonce, &ad, &long_ct, &long_tag, &mut out), Ok(()));
                assert_eq!(out, plaintext, "wrong plaintext at {n} bytes");

                // Failures write nothing.
                let untouched = vec![0xa5u8; n];
                let mut bad_tag = long_tag;
                bad_tag[n % TAG_LEN] ^= 1;
                let mut out = untouched.clone();
                assert_eq!(open(&key_nonce, &ad, &long_ct, &bad_tag, &mut out), Err(()));
                assert_eq!(out, untouched, "a failed open wrote its output");
                if n > 0 {
                    let mut tampered = long_ct.clone();
                    tampered[n / 2] ^= 0x80;
                    let mut out = untouched.clone();
                    assert_eq!(
                        open(&key_nonce, &ad, &tampered, &long_tag, &mut out),
                        Err(())
                    );
                    assert_eq!(out, untouched, "a failed open wrote its output");
                }
                let mut longer_ad = ad.clone();
                longer_ad.push(0);
                let mut out = untouched.clone();
                assert_eq!(
                    open(&key_nonce, &longer_ad, &long_ct, &long_tag, &mut out),
                    Err(())
                );
                assert_eq!(out, untouched, "a failed open wrote its output");
            }
        }
    }

    #[test]
    fn mismatched_buffers_are_refused() {
        let key_nonce = [1u8; 44];
        for seal in [short::seal, long::seal, super::seal] {
            assert_eq!(seal(&key_nonce, b"", b"abc", &mut [0u8; 2]), Err(()));
        }
        for open in [short::open, long::open, super::open] {
            let tag = [0u8; TAG_LEN];
            assert_eq!(open(&key_nonce, b"", b"abc", &tag, &mut [0u8; 4]), Err(()));
        }
    }
}
