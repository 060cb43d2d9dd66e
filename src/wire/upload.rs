//! The `PreKeyUpload` frame: what a device sends its server. The typed
//! upload, its checks and its signature live in `keys/upload.rs`.
//!
//! Wire layout (109 to 131 178 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version               = 0x01
//!      1     1  type                  = 0x20 (PreKeyUpload)
//!      2     1  suite                 = 0x01
//!      3    32  identity_key          the device's Ed25519 identity key
//!     35     1  spk_present           0x00 or 0x01
//!      …  0|108 signed prekey         only when spk_present = 0x01:
//!                 4  id               u32
//!                 8  created_at       u64, seconds since the Unix epoch
//!                32  public           X25519 public key
//!                64  signature        Ed25519, as in a bundle
//!      …     1  last_resort_present   0x00 or 0x01
//!      … 0|1261 last-resort KEM key   only when last_resort_present = 0x01;
//!                                     a KEM entry (below) with kind = 0x01
//!      …     4  opk_count             u32, 0 ..= MAX_ONE_TIME_PREKEYS_PER_UPLOAD (100)
//!      …  36·n  one-time prekeys      opk_count entries of
//!                 4  id               u32
//!                32  public           X25519 public key
//!      …     4  kem_count             u32, 0 ..= MAX_KEM_PREKEYS_PER_UPLOAD (100)
//!      … 1261·m one-time KEM keys     kem_count KEM entries with kind = 0x00
//!      …    64  upload_signature      Ed25519 by identity_key over
//!                                     "KINSEAL-v1 prekey upload\0" ‖ every byte before it
//!
//! KEM entry (1261 bytes), the same fields as in a bundle:
//!                 4  id               u32
//!                 1  kind             0x00 one-time, 0x01 last-resort
//!                 8  created_at       u64
//!              1184  public           ML-KEM-768 encapsulation key
//!                64  signature        Ed25519, as in a bundle
//! ```

use super::{
    Frame, KemPreKeyFrame, OneTimePreKeyFrame, Reader, SIGNATURE_LEN, SUITE_V1, SignedPreKeyFrame,
    TYPE_PREKEY_UPLOAD, Writer,
};
use crate::error::{DecodeError, PreKeyRole, UploadError, WireType};
use crate::limits::{
    KEM_PREKEY_ENTRY_LEN, MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
    MAX_UPLOAD_LEN, MIN_UPLOAD_LEN, ONE_TIME_PREKEY_ENTRY_LEN, SIGNED_PREKEY_ENTRY_LEN,
};
use crate::sizes::KEY_LEN;

/// The keys of an upload as bytes, before any is validated: everything the
/// upload signature covers.
pub(crate) struct UploadBodyFrame {
    pub(crate) identity_key: [u8; KEY_LEN],
    pub(crate) signed_prekey: Option<SignedPreKeyFrame>,
    pub(crate) last_resort: Option<KemPreKeyFrame>,
    pub(crate) one_time_prekeys: Vec<OneTimePreKeyFrame>,
    pub(crate) kem_prekeys: Vec<KemPreKeyFrame>,
}

/// A whole upload as bytes: the body and the identity key's signature over
/// it.
pub(crate) struct UploadFrame {
    pub(crate) body: UploadBodyFrame,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl UploadBodyFrame {
    /// The length of the body: the upload's without its signature.
    pub(crate) fn encoded_len(&self) -> usize {
        MIN_UPLOAD_LEN - SIGNATURE_LEN
            + self
                .signed_prekey
                .as_ref()
                .map_or(0, |_| SIGNED_PREKEY_ENTRY_LEN)
            + self
                .last_resort
                .as_ref()
                .map_or(0, |_| KEM_PREKEY_ENTRY_LEN)
            + ONE_TIME_PREKEY_ENTRY_LEN * self.one_time_prekeys.len()
            + KEM_PREKEY_ENTRY_LEN * self.kem_prekeys.len()
    }

    /// Appends everything before the upload signature to `out`: what the
    /// signature covers.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_PREKEY_UPLOAD)
            .u8(SUITE_V1)
            .bytes(&self.identity_key)
            .flag(self.signed_prekey.is_some());
        if let Some(s) = &self.signed_prekey {
            w.u32(s.id)
                .u64(s.created_at)
                .bytes(&s.public)
                .bytes(&s.signature);
        }
        w.flag(self.last_resort.is_some());
        if let Some(k) = &self.last_resort {
            write_kem(&mut w, k);
        }
        w.length(self.one_time_prekeys.len());
        for k in &self.one_time_prekeys {
            w.u32(k.id).bytes(&k.public);
        }
        w.length(self.kem_prekeys.len());
        for k in &self.kem_prekeys {
            write_kem(&mut w, k);
        }
    }
}

impl Frame<'_> for UploadFrame {
    type Error = crate::Error;

    fn encoded_len(&self) -> usize {
        self.body.encoded_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        out.extend_from_slice(&self.signature);
    }

    /// Decodes an upload's structure. The length is checked against
    /// [`MAX_UPLOAD_LEN`] before anything is read, and each count against
    /// its maximum before the entries it counts.
    ///
    /// # Errors
    /// [`DecodeError`]s with [`WireType::PreKeyUpload`], and
    /// [`UploadError::TooMany`] for a count above its maximum.
    fn decode(bytes: &[u8]) -> crate::Result<Self> {
        if bytes.len() > MAX_UPLOAD_LEN {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::PreKeyUpload,
                min: MIN_UPLOAD_LEN,
                max: MAX_UPLOAD_LEN,
                found: bytes.len(),
            }
            .into());
        }
        let mut r = Reader::new(bytes, WireType::PreKeyUpload);
        r.header(TYPE_PREKEY_UPLOAD)?;
        r.suite()?;
        let identity_key = r.array()?;
        let signed_prekey = if r.flag("spk_present")? {
            Some(SignedPreKeyFrame {
                id: r.u32()?,
                created_at: r.u64()?,
                public: r.array()?,
                signature: r.array()?,
            })
        } else {
            None
        };
        let last_resort = if r.flag("last_resort_present")? {
            Some(read_kem(&mut r)?)
        } else {
            None
        };
        let count = read_count(&mut r, PreKeyRole::OneTime, MAX_ONE_TIME_PREKEYS_PER_UPLOAD)?;
        let mut one_time_prekeys = Vec::with_capacity(count);
        for _ in 0..count {
            one_time_prekeys.push(OneTimePreKeyFrame {
                id: r.u32()?,
                public: r.array()?,
            });
        }
        let count = read_count(&mut r, PreKeyRole::Kem, MAX_KEM_PREKEYS_PER_UPLOAD)?;
        let mut kem_prekeys = Vec::with_capacity(count);
        for _ in 0..count {
            kem_prekeys.push(read_kem(&mut r)?);
        }
        let signature = r.array()?;
        r.finish()?;
        Ok(UploadFrame {
            body: UploadBodyFrame {
                identity_key,
                signed_prekey,
                last_resort,
                one_time_prekeys,
                kem_prekeys,
            },
            signature,
        })
    }
}

fn write_kem(w: &mut Writer<'_>, k: &KemPreKeyFrame) {
    w.u32(k.id)
        .flag(k.last_resort)
        .u64(k.created_at)
        .bytes(&k.public[..])
        .bytes(&k.signature);
}

fn read_kem(r: &mut Reader<'_>) -> Result<KemPreKeyFrame, DecodeError> {
    Ok(KemPreKeyFrame {
        id: r.u32()?,
        last_resort: r.flag("kem_kind")?,
        created_at: r.u64()?,
        public: r.boxed_array()?,
        signature: r.array()?,
    })
}

/// Reads a batch count and refuses one above `max` before any entry is read.
fn read_count(r: &mut Reader<'_>, prekey: PreKeyRole, max: usize) -> crate::Result<usize> {
    let found = r.u32()? as usize;
    if found > max {
        return Err(UploadError::TooMany { prekey, max, found }.into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::KEM_PUBLIC_KEY_LEN;

    fn kem(id: u32, last_resort: bool) -> KemPreKeyFrame {
        KemPreKeyFrame {
            id,
            last_resort,
            created_at: 7,
            public: Box::new([0x44; KEM_PUBLIC_KEY_LEN]),
            signature: [0x55; SIGNATURE_LEN],
        }
    }

    fn upload(full: bool) -> UploadFrame {
        UploadFrame {
            body: UploadBodyFrame {
                identity_key: [0x11; KEY_LEN],
                signed_prekey: full.then_some(SignedPreKeyFrame {
                    id: 1,
                    created_at: 2,
                    public: [0x22; KEY_LEN],
                    signature: [0x33; SIGNATURE_LEN],
                }),
                last_resort: full.then(|| kem(1, true)),
                one_time_prekeys: (0..3)
                    .map(|id| OneTimePreKeyFrame {
                        id,
                        public: [0x66; KEY_LEN],
                    })
                    .collect(),
                kem_prekeys: if full { vec![kem(2, false)] } else { vec![] },
            },
            signature: [0x77; SIGNATURE_LEN],
        }
    }

    #[test]
    fn lengths_are_exact_and_the_layout_round_trips() {
        for full in [false, true] {
            let frame = upload(full);
            let bytes = frame.to_vec();
            assert_eq!(bytes.len(), frame.encoded_len());
            assert_eq!(bytes[..3], [1, TYPE_PREKEY_UPLOAD, SUITE_V1]);
            let back = UploadFrame::decode(&bytes).unwrap();
            assert_eq!(back.to_vec(), bytes);
        }
        let empty = UploadFrame {
            body: UploadBodyFrame {
                identity_key: [0; KEY_LEN],
                signed_prekey: None,
                last_resort: None,
                one_time_prekeys: vec![],
                kem_prekeys: vec![],
            },
            signature: [0; SIGNATURE_LEN],
        };
        assert_eq!(empty.to_vec().len(), MIN_UPLOAD_LEN);
    }
}
