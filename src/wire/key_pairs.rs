//! Frames of prekey pair encodings: a prekey pair's secret half, with the
//! public data its signature covers, for a client's store. Layouts in
//! `docs/STORAGE.md`.
//!
//! An encoding keeps what cannot be derived and nothing that can: the
//! public keys are recomputed from the secrets when an encoding is loaded,
//! so an encoding cannot hold a public key that does not match its secret.

use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::{
    Frame, KEY_LEN, Reader, SIGNATURE_LEN, TYPE_KEM_PREKEY_PAIR, TYPE_ONE_TIME_PREKEY_PAIR,
    TYPE_SIGNED_PREKEY_PAIR, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::sizes::KEM_SEED_LEN;

/// Length of a signed prekey pair encoding.
pub(crate) const SIGNED_PREKEY_PAIR_LEN: usize = 2 + 1 + 4 + 8 + KEY_LEN + SIGNATURE_LEN;
/// Length of a one-time prekey pair encoding.
pub(crate) const ONE_TIME_PREKEY_PAIR_LEN: usize = 2 + 4 + KEY_LEN;
/// Length of a KEM prekey pair encoding.
pub(crate) const KEM_PREKEY_PAIR_LEN: usize = 2 + 1 + 4 + 1 + 8 + KEM_SEED_LEN + SIGNATURE_LEN;

/// A signed prekey pair, private half included (111 bytes).
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x34 (KeyRecord: signed prekey pair)
/// suite             1  = 0x01, as covered by the signature
/// id                4  u32
/// created_at        8  u64, seconds since the Unix epoch
/// secret           32  X25519 private key, unclamped (secret)
/// signature        64  Ed25519, by the owner's identity key
/// ```
///
/// The public key is not stored: it is `X25519(secret, 9)`.
pub(crate) struct SignedPreKeyPairFrame {
    pub(crate) suite: u8,
    pub(crate) id: u32,
    pub(crate) created_at: u64,
    pub(crate) secret: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// A one-time prekey pair, private half included (38 bytes).
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x35 (KeyRecord: one-time prekey pair)
/// id                4  u32
/// secret           32  X25519 private key, unclamped (secret)
/// ```
///
/// No suite byte: nothing signs a one-time prekey. The public key is
/// `X25519(secret, 9)`.
pub(crate) struct OneTimePreKeyPairFrame {
    pub(crate) id: u32,
    pub(crate) secret: Zeroizing<[u8; KEY_LEN]>,
}

/// An ML-KEM-768 prekey pair, private half included (144 bytes).
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x36 (KeyRecord: KEM prekey pair)
/// suite             1  = 0x01, as covered by the signature
/// id                4  u32
/// last_resort       1  0x00 one-time, 0x01 last-resort
/// created_at        8  u64, seconds since the Unix epoch
/// seed             64  d ‖ z, the FIPS 203 key-generation seed (secret)
/// signature        64  Ed25519, by the owner's identity key
/// ```
///
/// The decapsulation and encapsulation keys are not stored: both are
/// `ML-KEM.KeyGen_internal(d, z)`.
pub(crate) struct KemPreKeyPairFrame {
    pub(crate) suite: u8,
    pub(crate) id: u32,
    pub(crate) last_resort: bool,
    pub(crate) created_at: u64,
    pub(crate) seed: Zeroizing<[u8; KEM_SEED_LEN]>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl ZeroizeOnDrop for SignedPreKeyPairFrame {}
impl ZeroizeOnDrop for OneTimePreKeyPairFrame {}
impl ZeroizeOnDrop for KemPreKeyPairFrame {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
/// Public fields: the suite, ids, flags and times (all published in the
/// bundle) and the signatures (published too).
#[allow(dead_code)]
fn zeroize_audit(
    signed: &SignedPreKeyPairFrame,
    one_time: &OneTimePreKeyPairFrame,
    kem: &KemPreKeyPairFrame,
) {
    use crate::hygiene::zod;
    // The markers themselves: removing one fails to compile here.
    zod(signed);
    zod(one_time);
    zod(kem);
    let SignedPreKeyPairFrame {
        suite: _,
        id: _,
        created_at: _,
        secret,
        signature: _,
    } = signed;
    zod(secret);
    let OneTimePreKeyPairFrame { id: _, secret } = one_time;
    zod(secret);
    let KemPreKeyPairFrame {
        suite: _,
        id: _,
        last_resort: _,
        created_at: _,
        seed,
        signature: _,
    } = kem;
    zod(seed);
}

/// Reads `N` secret bytes straight into a zeroizing array.
fn secret<const N: usize>(r: &mut Reader<'_>) -> Result<Zeroizing<[u8; N]>, DecodeError> {
    let mut out = Zeroizing::new([0u8; N]);
    out.copy_from_slice(r.take(N)?);
    Ok(out)
}

impl Frame<'_> for SignedPreKeyPairFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        SIGNED_PREKEY_PAIR_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_SIGNED_PREKEY_PAIR)
            .u8(self.suite)
            .u32(self.id)
            .u64(self.created_at)
            .bytes(&self.secret[..])
            .bytes(&self.signature);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::KeyPair);
        r.header(TYPE_SIGNED_PREKEY_PAIR)?;
        let frame = SignedPreKeyPairFrame {
            suite: r.suite()?,
            id: r.u32()?,
            created_at: r.u64()?,
            secret: secret(&mut r)?,
            signature: r.array()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

impl Frame<'_> for OneTimePreKeyPairFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        ONE_TIME_PREKEY_PAIR_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_ONE_TIME_PREKEY_PAIR)
            .u32(self.id)
            .bytes(&self.secret[..]);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::KeyPair);
        r.header(TYPE_ONE_TIME_PREKEY_PAIR)?;
        let frame = OneTimePreKeyPairFrame {
            id: r.u32()?,
            secret: secret(&mut r)?,
        };
        r.finish()?;
        Ok(frame)
    }
}

impl Frame<'_> for KemPreKeyPairFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        KEM_PREKEY_PAIR_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_KEM_PREKEY_PAIR)
            .u8(self.suite)
            .u32(self.id)
            .flag(self.last_resort)
            .u64(self.created_at)
            .bytes(&self.seed[..])
            .bytes(&self.signature);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::KeyPair);
        r.header(TYPE_KEM_PREKEY_PAIR)?;
        let frame = KemPreKeyPairFrame {
            suite: r.suite()?,
            id: r.u32()?,
            last_resort: r.flag("last_resort")?,
            created_at: r.u64()?,
            seed: secret(&mut r)?,
            signature: r.array()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> SignedPreKeyPairFrame {
        SignedPreKeyPairFrame {
            suite: crate::wire::SUITE_V1,
            id: 0x0102_0304,
            created_at: 0x0a0b_0c0d_0e0f_1011,
            secret: Zeroizing::new([0x55; KEY_LEN]),
            signature: [0x66; SIGNATURE_LEN],
        }
    }

    fn kem(last_resort: bool) -> KemPreKeyPairFrame {
        KemPreKeyPairFrame {
            suite: crate::wire::SUITE_V1,
            id: 9,
            last_resort,
            created_at: 7,
            seed: Zeroizing::new([0x77; KEM_SEED_LEN]),
            signature: [0x88; SIGNATURE_LEN],
        }
    }

    /// Every field sits where the layout says, and the lengths add up.
    #[test]
    fn layouts_are_as_documented() {
        let s = signed().to_vec();
        assert_eq!(s.len(), SIGNED_PREKEY_PAIR_LEN);
        assert_eq!(s.len(), 111);
        assert_eq!(&s[..3], &[1, 0x34, 1]);
        assert_eq!(&s[3..7], &[1, 2, 3, 4]);
        assert_eq!(&s[7..15], &[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]);
        assert_eq!(&s[15..47], &[0x55; 32]);
        assert_eq!(&s[47..], &[0x66; 64]);

        let o = OneTimePreKeyPairFrame {
            id: 5,
            secret: Zeroizing::new([0x44; KEY_LEN]),
        }
        .to_vec();
        assert_eq!(o.len(), ONE_TIME_PREKEY_PAIR_LEN);
        assert_eq!(o.len(), 38);
        assert_eq!(&o[..6], &[1, 0x35, 0, 0, 0, 5]);
        assert_eq!(&o[6..], &[0x44; 32]);

        let k = kem(true).to_vec();
        assert_eq!(k.len(), KEM_PREKEY_PAIR_LEN);
        assert_eq!(k.len(), 144);
        assert_eq!(&k[..8], &[1, 0x36, 1, 0, 0, 0, 9, 1]);
        assert_eq!(&k[8..16], &7u64.to_be_bytes());
        assert_eq!(&k[16..80], &[0x77; 64]);
        assert_eq!(&k[80..], &[0x88; 64]);
    }

    #[test]
    fn round_trips() {
        assert_eq!(signed().to_vec().len(), signed().encoded_len());
        assert_eq!(kem(true).to_vec().len(), kem(true).encoded_len());
        let s = signed().to_vec();
        assert_eq!(SignedPreKeyPairFrame::decode(&s).unwrap().to_vec(), s);
        for last_resort in [false, true] {
            let k = kem(last_resort).to_vec();
            let back = KemPreKeyPairFrame::decode(&k).unwrap();
            assert_eq!(back.last_resort, last_resort);
            assert_eq!(back.to_vec(), k);
        }
    }

    #[test]
    fn the_kem_flag_and_the_suite_are_checked() {
        let mut k = kem(false).to_vec();
        k[7] = 2;
        assert!(matches!(
            KemPreKeyPairFrame::decode(&k),
            Err(DecodeError::InvalidField {
                wire_type: WireType::KeyPair,
                field: "last_resort",
                found: 2,
            })
        ));
        let mut s = signed().to_vec();
        s[2] = 2;
        assert_eq!(
            SignedPreKeyPairFrame::decode(&s).err(),
            Some(DecodeError::UnsupportedSuite { found: 2 })
        );
    }

    /// One pair type never decodes as another.
    #[test]
    fn types_do_not_mix() {
        let s = signed().to_vec();
        let k = kem(false).to_vec();
        let expected = Some(DecodeError::UnexpectedType {
            expected: WireType::KeyPair,
            found: TYPE_SIGNED_PREKEY_PAIR,
        });
        assert_eq!(OneTimePreKeyPairFrame::decode(&s).err(), expected);
        assert_eq!(KemPreKeyPairFrame::decode(&s).err(), expected);
        assert!(SignedPreKeyPairFrame::decode(&k).is_err());
    }
}
