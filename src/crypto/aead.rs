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

use crate::wire::TAG_LEN;

/// The longest message sealed or opened with the short-message
/// implementation. The two cost the same at about 850 bytes here.
pub(crate) const SHORT_MAX: usize = 768;

/// Encrypts `plaintext` into `out` (of the same length) under the 44-byte
/// key ‖ nonce, returning the tag.
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

/// Checks the tag and decrypts `body` in place. On failure `body` is left
/// as it was given (the tag is verified before any byte is decrypted).
pub(crate) fn open(
    key_nonce: &[u8; 44],
    ad: &[u8],
    body: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), ()> {
    if body.len() <= SHORT_MAX {
        short::open(key_nonce, ad, body, tag)
    } else {
        long::open(key_nonce, ad, body, tag)
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
    use super::{SHORT_MAX, TAG_LEN, split};

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

    /// The implementation decrypts from one buffer into another and writes
    /// nothing unless the tag verifies, so the ciphertext (public) is
    /// copied aside first: on the stack up to `SHORT_MAX` bytes (the only
    /// lengths the dispatcher sends here), on the heap beyond.
    pub(crate) fn open(
        key_nonce: &[u8; 44],
        ad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), ()> {
        let (key, nonce) = split(key_nonce);
        let mut stack = [0u8; SHORT_MAX];
        let mut heap = Vec::new();
        let ciphertext = match stack.get_mut(..body.len()) {
            Some(c) => c,
            None => {
                heap.resize(body.len(), 0);
                &mut heap[..]
            }
        };
        ciphertext.copy_from_slice(body);
        libcrux_chacha20poly1305::decrypt_detached(key, body, ciphertext, tag, ad, nonce)
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

    pub(crate) fn open(
        key_nonce: &[u8; 44],
        ad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), ()> {
        let (key, nonce) = split(key_nonce);
        ChaCha20Poly1305::new(key.into())
            .decrypt_inout_detached(&Nonce::from(*nonce), ad, body.into(), &Tag::from(*tag))
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
    /// AD without touching the buffer.
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
                let mut body = long_ct.clone();
                assert_eq!(open(&key_nonce, &ad, &mut body, &long_tag), Ok(()));
                assert_eq!(body, plaintext, "wrong plaintext at {n} bytes");

                let mut bad_tag = long_tag;
                bad_tag[n % TAG_LEN] ^= 1;
                let mut body = long_ct.clone();
                assert_eq!(open(&key_nonce, &ad, &mut body, &bad_tag), Err(()));
                assert_eq!(body, long_ct, "a failed open changed the buffer");
                if n > 0 {
                    let mut body = long_ct.clone();
                    body[n / 2] ^= 0x80;
                    let tampered = body.clone();
                    assert_eq!(open(&key_nonce, &ad, &mut body, &long_tag), Err(()));
                    assert_eq!(body, tampered, "a failed open changed the buffer");
                }
                let mut longer_ad = ad.clone();
                longer_ad.push(0);
                let mut body = long_ct.clone();
                assert_eq!(open(&key_nonce, &longer_ad, &mut body, &long_tag), Err(()));
            }
        }
    }

    #[test]
    fn mismatched_buffers_are_refused() {
        let key_nonce = [1u8; 44];
        for seal in [short::seal, long::seal, super::seal] {
            assert_eq!(seal(&key_nonce, b"", b"abc", &mut [0u8; 2]), Err(()));
        }
    }
}
