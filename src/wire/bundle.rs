//! The `PreKeyBundle` frame.

use super::{Frame, KEM_PUBLIC_KEY_LEN, KEY_LEN, Reader, SIGNATURE_LEN, TYPE_BUNDLE, Writer};
use crate::error::{DecodeError, WireType};
use crate::limits::{MAX_BUNDLE_LEN, MIN_BUNDLE_LEN};

/// A signed X25519 prekey as published.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SignedPreKeyFrame {
    pub(crate) id: u32,
    pub(crate) created_at: u64,
    pub(crate) public: [u8; KEY_LEN],
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// A one-time X25519 prekey as published.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct OneTimePreKeyFrame {
    pub(crate) id: u32,
    pub(crate) public: [u8; KEY_LEN],
}

/// An ML-KEM-768 prekey as published.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KemPreKeyFrame {
    pub(crate) id: u32,
    /// `0x00` one-time, `0x01` last-resort.
    pub(crate) last_resort: bool,
    pub(crate) created_at: u64,
    pub(crate) public: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// What a server hands to someone who wants to start a session.
///
/// ```text
/// offset  size  field
///      0     1  version             = 0x01
///      1     1  type                = 0x03 (PreKeyBundle)
///      2     1  suite               = 0x01
///      3    32  identity_key        Ed25519 public key
///     35     4  spk_id              u32
///     39     8  spk_created_at      u64, seconds since the Unix epoch, as the owner gave it
///     47    32  spk_public          X25519 public key
///     79    64  spk_signature       Ed25519 signature
///    143     1  opk_present         0x00 or 0x01
///    144   0|4  opk_id              u32, only when opk_present = 0x01
///      …  0|32  opk_public          X25519 public key, only when opk_present = 0x01
///      …     4  kem_id              u32
///      …     1  kem_kind            0x00 one-time, 0x01 last-resort
///      …     8  kem_created_at      u64
///      …  1184  kem_public          ML-KEM-768 encapsulation key
///      …    64  kem_signature       Ed25519 signature
/// ```
///
/// The encoding is 1405 bytes without a one-time prekey and 1441 with one.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BundleFrame {
    pub(crate) suite: u8,
    pub(crate) identity_key: [u8; KEY_LEN],
    pub(crate) signed_prekey: SignedPreKeyFrame,
    pub(crate) one_time_prekey: Option<OneTimePreKeyFrame>,
    pub(crate) kem_prekey: KemPreKeyFrame,
}

impl Frame<'_> for BundleFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        match self.one_time_prekey {
            Some(_) => MAX_BUNDLE_LEN,
            None => MIN_BUNDLE_LEN,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_BUNDLE)
            .u8(self.suite)
            .bytes(&self.identity_key)
            .u32(self.signed_prekey.id)
            .u64(self.signed_prekey.created_at)
            .bytes(&self.signed_prekey.public)
            .bytes(&self.signed_prekey.signature)
            .flag(self.one_time_prekey.is_some());
        if let Some(opk) = &self.one_time_prekey {
            w.u32(opk.id).bytes(&opk.public);
        }
        w.u32(self.kem_prekey.id)
            .flag(self.kem_prekey.last_resort)
            .u64(self.kem_prekey.created_at)
            .bytes(&self.kem_prekey.public[..])
            .bytes(&self.kem_prekey.signature);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::PreKeyBundle);
        r.header(TYPE_BUNDLE)?;
        let suite = r.suite()?;
        let identity_key = r.array()?;
        let signed_prekey = SignedPreKeyFrame {
            id: r.u32()?,
            created_at: r.u64()?,
            public: r.array()?,
            signature: r.array()?,
        };
        let one_time_prekey = if r.flag("opk_present")? {
            Some(OneTimePreKeyFrame {
                id: r.u32()?,
                public: r.array()?,
            })
        } else {
            None
        };
        let kem_prekey = KemPreKeyFrame {
            id: r.u32()?,
            last_resort: r.flag("kem_kind")?,
            created_at: r.u64()?,
            public: r.boxed_array()?,
            signature: r.array()?,
        };
        r.finish()?;
        Ok(BundleFrame {
            suite,
            identity_key,
            signed_prekey,
            one_time_prekey,
            kem_prekey,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_exact() {
        let mut frame = BundleFrame {
            suite: crate::wire::SUITE_V1,
            identity_key: [1; KEY_LEN],
            signed_prekey: SignedPreKeyFrame {
                id: 1,
                created_at: 2,
                public: [3; KEY_LEN],
                signature: [4; SIGNATURE_LEN],
            },
            one_time_prekey: None,
            kem_prekey: KemPreKeyFrame {
                id: 5,
                last_resort: true,
                created_at: 6,
                public: Box::new([7; KEM_PUBLIC_KEY_LEN]),
                signature: [8; SIGNATURE_LEN],
            },
        };
        for one_time in [
            None,
            Some(OneTimePreKeyFrame {
                id: 9,
                public: [9; KEY_LEN],
            }),
        ] {
            frame.one_time_prekey = one_time;
            let bytes = frame.to_vec();
            assert_eq!(bytes.len(), frame.encoded_len());
            assert_eq!(BundleFrame::decode(&bytes).unwrap().to_vec(), bytes);
        }
    }
}
