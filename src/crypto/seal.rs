//! The storage seal: XChaCha20-Poly1305 under a key derived from the
//! caller's storage key, with a random 192-bit nonce (random nonces of this
//! length can be drawn for every write without a counter).
//!
//! XChaCha20-Poly1305 is HChaCha20 of the key and the nonce's first 16
//! bytes, giving a subkey, then ChaCha20-Poly1305 (RFC 8439) under that
//! subkey with the nonce `0⁴ ‖ nonce[16..24]`
//! (draft-irtf-cfrg-xchacha-03 §2.3). Records are small, so what a seal
//! costs is mostly its setup, as with messages (see `super::aead`). Two
//! implementations of the same function are used, each where it is faster
//! (measured in `benches/backend.rs`, `seal/*`; see `docs/PERFORMANCE.md`):
//!
//! - up to [`SHORT_MAX`] bytes, the `chacha20` crate's HChaCha20 (the one
//!   RustCrypto's `XChaCha20Poly1305` calls) and then
//!   `libcrux-chacha20poly1305`'s ChaCha20-Poly1305 (HACL*'s formally
//!   verified portable code, which the ratchet uses for messages);
//! - above it, `chacha20poly1305`'s `XChaCha20Poly1305` (RustCrypto),
//!   whose auto-detected AVX2 path is faster on long records.
//!
//! Both produce the same bytes; both check the tag before decrypting
//! anything. Wycheproof's XChaCha20-Poly1305 cases run through both, and a
//! cross-check compares them over every length around the switch-over.

use chacha20::hchacha;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::labels;
use crate::sizes::{SEAL_NONCE_LEN, TAG_LEN};

/// The longest record sealed or opened with the short-record
/// implementation. The two cost the same at about 1 600 bytes here; a
/// session set (about 800 bytes with one session) is well inside.
pub(crate) const SHORT_MAX: usize = 1536;

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
    nonce: &[u8; SEAL_NONCE_LEN],
    ad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ()> {
    let mut out = vec![0u8; plaintext.len() + TAG_LEN];
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    let tag = if plaintext.len() <= SHORT_MAX {
        short::seal(key, nonce, ad, plaintext, body)?
    } else {
        long::seal(key, nonce, ad, plaintext, body)?
    };
    tag_out.copy_from_slice(&tag);
    Ok(out)
}

/// Opens ciphertext ‖ tag; the tag is checked before anything is decrypted.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; SEAL_NONCE_LEN],
    ad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ()> {
    let body_len = sealed.len().checked_sub(TAG_LEN).ok_or(())?;
    let (body, tag) = sealed.split_at(body_len);
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| ())?;
    let mut out = Zeroizing::new(vec![0u8; body_len]);
    if body_len <= SHORT_MAX {
        short::open(key, nonce, ad, body, tag, &mut out)?;
    } else {
        long::open(key, nonce, ad, body, tag, &mut out)?;
    }
    Ok(out)
}

/// HChaCha20 and libcrux's ChaCha20-Poly1305, for short records.
pub(crate) mod short {
    use super::*;

    /// The subkey and the 12-byte nonce that XChaCha20 runs ChaCha20
    /// under. The subkey is as secret as the key, and wiped on drop.
    fn derive(
        key: &[u8; 32],
        nonce: &[u8; SEAL_NONCE_LEN],
    ) -> Result<(Zeroizing<[u8; 32]>, [u8; 12]), ()> {
        let (first, last) = nonce.split_at(16);
        let first: &[u8; 16] = first.try_into().map_err(|_| ())?;
        let mut derived = hchacha::<chacha20::R20>(key.into(), first.into());
        let mut subkey = Zeroizing::new([0u8; 32]);
        subkey.copy_from_slice(&derived);
        derived.zeroize();
        let mut short_nonce = [0u8; 12];
        short_nonce.get_mut(4..).ok_or(())?.copy_from_slice(last);
        Ok((subkey, short_nonce))
    }

    pub(crate) fn seal(
        key: &[u8; 32],
        nonce: &[u8; SEAL_NONCE_LEN],
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        if out.len() != plaintext.len() {
            return Err(());
        }
        let (subkey, nonce) = derive(key, nonce)?;
        let mut tag = [0u8; TAG_LEN];
        libcrux_chacha20poly1305::encrypt_detached(&subkey, plaintext, out, &mut tag, ad, &nonce)
            .map_err(|_| ())?;
        Ok(tag)
    }

    /// HACL* computes and compares the tag, and decrypts only if it
    /// matches.
    pub(crate) fn open(
        key: &[u8; 32],
        nonce: &[u8; SEAL_NONCE_LEN],
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        if out.len() != ciphertext.len() {
            return Err(());
        }
        let (subkey, nonce) = derive(key, nonce)?;
        libcrux_chacha20poly1305::decrypt_detached(&subkey, out, ciphertext, tag, ad, &nonce)
            .map(|_| ())
            .map_err(|_| ())
    }
}

/// RustCrypto's XChaCha20-Poly1305, for long records.
pub(crate) mod long {
    use super::*;

    pub(crate) fn seal(
        key: &[u8; 32],
        nonce: &[u8; SEAL_NONCE_LEN],
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], ()> {
        let buffer = InOutBuf::new(plaintext, out).map_err(|_| ())?;
        let tag = XChaCha20Poly1305::new(key.into())
            .encrypt_inout_detached(&XNonce::from(*nonce), ad, buffer)
            .map_err(|_| ())?;
        Ok(tag.into())
    }

    pub(crate) fn open(
        key: &[u8; 32],
        nonce: &[u8; SEAL_NONCE_LEN],
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        let buffer = InOutBuf::new(ciphertext, out).map_err(|_| ())?;
        XChaCha20Poly1305::new(key.into())
            .decrypt_inout_detached(&XNonce::from(*nonce), ad, buffer, &Tag::from(*tag))
            .map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test bytes.
    fn bytes(seed: u8, n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed))
            .collect()
    }

    /// Both implementations compute the same function at every length
    /// around the switch-over (and at a few far from it), open each
    /// other's output, and reject a flipped bit in the tag, the
    /// ciphertext, the nonce or the AD without writing to the output.
    #[test]
    fn implementations_agree_and_verify_before_decrypting() {
        let lengths = (0..=160)
            .chain(SHORT_MAX - 80..=SHORT_MAX + 80)
            .chain([800, 4096, 25_000]);
        for n in lengths {
            let key: [u8; 32] = bytes(n as u8, 32).try_into().unwrap();
            let nonce: [u8; SEAL_NONCE_LEN] =
                bytes(7 ^ n as u8, SEAL_NONCE_LEN).try_into().unwrap();
            let ad = bytes(3, n % 97);
            let plaintext = bytes(5, n);
            let mut short_ct = vec![0u8; n];
            let mut long_ct = vec![0u8; n];
            let short_tag = short::seal(&key, &nonce, &ad, &plaintext, &mut short_ct).unwrap();
            let long_tag = long::seal(&key, &nonce, &ad, &plaintext, &mut long_ct).unwrap();
            assert_eq!(short_ct, long_ct, "ciphertexts differ at {n} bytes");
            assert_eq!(short_tag, long_tag, "tags differ at {n} bytes");
            let sealed = seal(&key, &nonce, &ad, &plaintext).unwrap();
            assert_eq!(sealed, [&long_ct[..], &long_tag[..]].concat());
            assert_eq!(
                &open(&key, &nonce, &ad, &sealed).unwrap()[..],
                &plaintext[..]
            );

            for open in [short::open, long::open] {
                let mut out = vec![0u8; n];
                assert_eq!(
                    open(&key, &nonce, &ad, &long_ct, &long_tag, &mut out),
                    Ok(())
                );
                assert_eq!(out, plaintext, "wrong plaintext at {n} bytes");

                let untouched = vec![0xa5u8; n];
                let mut bad_tag = long_tag;
                bad_tag[n % TAG_LEN] ^= 1;
                let mut out = untouched.clone();
                assert_eq!(
                    open(&key, &nonce, &ad, &long_ct, &bad_tag, &mut out),
                    Err(())
                );
                assert_eq!(out, untouched, "a failed open wrote its output");
                if n > 0 {
                    let mut tampered = long_ct.clone();
                    tampered[n / 2] ^= 0x80;
                    let mut out = untouched.clone();
                    assert_eq!(
                        open(&key, &nonce, &ad, &tampered, &long_tag, &mut out),
                        Err(())
                    );
                    assert_eq!(out, untouched, "a failed open wrote its output");
                }
                // Each half of the nonce counts: the first goes into the
                // subkey, the last into ChaCha20's nonce.
                for at in [0, 15, 16, 23] {
                    let mut other = nonce;
                    other[at] ^= 1;
                    let mut out = untouched.clone();
                    assert_eq!(
                        open(&key, &other, &ad, &long_ct, &long_tag, &mut out),
                        Err(())
                    );
                    assert_eq!(out, untouched, "a failed open wrote its output");
                }
                let mut longer_ad = ad.clone();
                longer_ad.push(0);
                let mut out = untouched.clone();
                assert_eq!(
                    open(&key, &nonce, &longer_ad, &long_ct, &long_tag, &mut out),
                    Err(())
                );
                assert_eq!(out, untouched, "a failed open wrote its output");
            }
        }
    }

    #[test]
    fn mismatched_buffers_are_refused() {
        let key = [1; 32];
        let nonce = [2; SEAL_NONCE_LEN];
        let mut out = [0u8; 3];
        assert_eq!(short::seal(&key, &nonce, b"", b"four", &mut out), Err(()));
        assert_eq!(long::seal(&key, &nonce, b"", b"four", &mut out), Err(()));
        let tag = [0u8; TAG_LEN];
        assert_eq!(
            short::open(&key, &nonce, b"", b"four", &tag, &mut out),
            Err(())
        );
        assert_eq!(
            long::open(&key, &nonce, b"", b"four", &tag, &mut out),
            Err(())
        );
    }

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
