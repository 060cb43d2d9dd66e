//! Wycheproof's ChaCha20-Poly1305 and XChaCha20-Poly1305 vectors through
//! kinseal's message AEAD ([`crate::crypto::aead`]) and storage seal
//! ([`crate::crypto::seal`]), and through each implementation behind them.

use super::*;

type Seal = fn(
    &crate::crypto::aead::AeadKey,
    &[u8],
    &[u8],
    &mut [u8],
) -> Result<[u8; crate::sizes::TAG_LEN], ()>;
type Open = fn(
    &crate::crypto::aead::AeadKey,
    &[u8],
    &[u8],
    &[u8; crate::sizes::TAG_LEN],
    &mut [u8],
) -> Result<(), ()>;

/// [`crate::crypto::aead::encrypt_in_place`], which the ratchet calls, as a `Seal`.
fn seal_in_place(
    key: &crate::crypto::aead::AeadKey,
    ad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<[u8; crate::sizes::TAG_LEN], ()> {
    let out = out.get_mut(..plaintext.len()).ok_or(())?;
    out.copy_from_slice(plaintext);
    crate::crypto::aead::encrypt_in_place(key, ad, out)
}

/// kinseal's AEAD entry points and the two implementations they dispatch to.
const AEADS: [(&str, Seal, Open); 4] = [
    ("aead in place", seal_in_place, crate::crypto::aead::decrypt),
    (
        "aead",
        crate::crypto::aead::encrypt,
        crate::crypto::aead::decrypt,
    ),
    (
        "aead::short",
        crate::crypto::aead::short::encrypt,
        crate::crypto::aead::short::decrypt,
    ),
    (
        "aead::long",
        crate::crypto::aead::long::encrypt,
        crate::crypto::aead::long::decrypt,
    ),
];

/// ChaCha20-Poly1305 through [`crate::crypto::aead::encrypt`] and [`crate::crypto::aead::decrypt`],
/// which take the 32-byte key and 12-byte nonce as one `AeadKey`, and
/// through each implementation behind them.
#[test]
fn chacha20_poly1305_through_seal_and_open() {
    use crate::sizes::TAG_LEN;

    let v = load_file(
        "chacha20_poly1305_test.json",
        "CHACHA20-POLY1305",
        "AeadTest",
    );
    let (mut sealed_exact, mut tag_rejected, mut wrong_nonce_length) = (0, 0, 0);
    for (group, test) in cases(&v) {
        let tc = tc(test);
        assert_eq!(group["keySize"], 256, "{tc}");
        assert_eq!(group["tagSize"], 128, "{tc}");
        let key = hex_field(test, "key");
        let iv = hex_field(test, "iv");
        let aad = hex_field(test, "aad");
        let msg = hex_field(test, "msg");
        let ct = hex_field(test, "ct");
        let valid = result(test) == "valid";
        let Some(key_nonce) = array::<44>(&[key, iv.clone()].concat())
            .filter(|_| iv.len() == 12)
            .map(|okm| crate::crypto::aead::AeadKey::from_okm(&okm))
        else {
            assert!(!valid, "{tc}: a valid case with a {}-byte nonce", iv.len());
            assert!(has_flag(test, "InvalidNonceSize"), "{tc}");
            wrong_nonce_length += 1;
            continue;
        };
        let tag: [u8; TAG_LEN] = array(&hex_field(test, "tag")).unwrap();
        // The dispatching functions kinseal calls, and each implementation
        // behind them (see `aead`): every case through all three.
        for (name, seal, open) in AEADS {
            // Opening: the original ciphertext and tag, or a modified tag.
            let untouched = vec![0xa5u8; ct.len()];
            let mut body = untouched.clone();
            let opened = open(&key_nonce, &aad, &ct, &tag, &mut body);
            if valid {
                assert_eq!(
                    opened,
                    Ok(()),
                    "{tc} ({name}): a valid ciphertext did not open"
                );
                assert_eq!(body, msg, "{tc} ({name}): wrong plaintext");
                // Sealing: exactly the expected ciphertext and tag.
                let mut body = vec![0u8; msg.len()];
                let got_tag = seal(&key_nonce, &aad, &msg, &mut body).unwrap();
                assert_eq!(body, ct, "{tc} ({name}): wrong ciphertext");
                assert_eq!(got_tag, tag, "{tc} ({name}): wrong tag");
            } else {
                assert!(has_flag(test, "ModifiedTag"), "{tc}");
                assert_eq!(
                    opened,
                    Err(()),
                    "{tc} ({name}): a modified tag was accepted"
                );
                assert_eq!(
                    body, untouched,
                    "{tc} ({name}): a failed open wrote its output"
                );
            }
        }
        if valid {
            sealed_exact += 1;
        } else {
            tag_rejected += 1;
        }
    }
    assert_eq!(
        (sealed_exact, tag_rejected, wrong_nonce_length),
        (256, 60, 9)
    );
}

/// XChaCha20-Poly1305 through the storage seal ([`crate::crypto::seal::seal`] and
/// [`crate::crypto::seal::open`], which take the 24-byte nonce apart from the
/// sealed bytes) and through each implementation behind them.
#[test]
fn xchacha20_poly1305_through_the_storage_seal() {
    use crate::crypto::seal;
    use crate::sizes::{SEAL_NONCE_LEN, TAG_LEN};

    let v = load_file(
        "xchacha20_poly1305_test.json",
        "XCHACHA20-POLY1305",
        "AeadTest",
    );
    let (mut sealed_exact, mut tag_rejected, mut wrong_nonce_length) = (0, 0, 0);
    for (group, test) in cases(&v) {
        let tc = tc(test);
        assert_eq!(group["keySize"], 256, "{tc}");
        assert_eq!(group["tagSize"], 128, "{tc}");
        let key: [u8; 32] = array(&hex_field(test, "key")).unwrap();
        let aad = hex_field(test, "aad");
        let msg = hex_field(test, "msg");
        let ct = hex_field(test, "ct");
        let valid = result(test) == "valid";
        let Some(nonce) = array::<SEAL_NONCE_LEN>(&hex_field(test, "iv")) else {
            assert!(!valid, "{tc}: a valid case with another nonce length");
            assert!(has_flag(test, "InvalidNonceSize"), "{tc}");
            wrong_nonce_length += 1;
            continue;
        };
        let tag: [u8; TAG_LEN] = array(&hex_field(test, "tag")).unwrap();
        let sealed_bytes = [&ct[..], &tag[..]].concat();
        let opened = seal::open(&key, &nonce, &aad, &sealed_bytes);
        let untouched = vec![0xa5u8; ct.len()];
        let implementations = [
            (
                "seal::short",
                seal::short::seal as Seal24,
                seal::short::open as Open24,
            ),
            ("seal::long", seal::long::seal, seal::long::open),
        ];
        if valid {
            assert_eq!(opened.as_deref().map(|p| &p[..]), Ok(&msg[..]), "{tc}");
            assert_eq!(
                seal::seal(&key, &nonce, &aad, &msg).unwrap(),
                sealed_bytes,
                "{tc}: wrong sealed bytes"
            );
            for (name, seal, open) in implementations {
                let mut body = vec![0u8; msg.len()];
                let got_tag = seal(&key, &nonce, &aad, &msg, &mut body).unwrap();
                assert_eq!((body, got_tag), (ct.clone(), tag), "{tc} ({name})");
                let mut out = untouched.clone();
                assert_eq!(
                    open(&key, &nonce, &aad, &ct, &tag, &mut out),
                    Ok(()),
                    "{tc} ({name})"
                );
                assert_eq!(out, msg, "{tc} ({name}): wrong plaintext");
            }
            sealed_exact += 1;
        } else {
            assert!(has_flag(test, "ModifiedTag"), "{tc}");
            assert!(opened.is_err(), "{tc}: a modified tag was accepted");
            for (name, _, open) in implementations {
                let mut out = untouched.clone();
                assert_eq!(
                    open(&key, &nonce, &aad, &ct, &tag, &mut out),
                    Err(()),
                    "{tc} ({name})"
                );
                assert_eq!(
                    out, untouched,
                    "{tc} ({name}): a failed open wrote its output"
                );
            }
            tag_rejected += 1;
        }
    }
    assert_eq!(
        (sealed_exact, tag_rejected, wrong_nonce_length),
        (246, 60, 9)
    );
}

/// A storage-seal implementation's seal, as in [`crate::crypto::seal::short`].
type Seal24 = fn(
    &[u8; 32],
    &[u8; crate::sizes::SEAL_NONCE_LEN],
    &[u8],
    &[u8],
    &mut [u8],
) -> Result<[u8; crate::sizes::TAG_LEN], ()>;
/// A storage-seal implementation's open.
type Open24 = fn(
    &[u8; 32],
    &[u8; crate::sizes::SEAL_NONCE_LEN],
    &[u8],
    &[u8],
    &[u8; crate::sizes::TAG_LEN],
    &mut [u8],
) -> Result<(), ()>;
