//! The `PreKeyCounts` frame: what a server tells a device about the
//! one-time prekeys it still holds for it. The typed counts are in
//! `keys/upload.rs`.
//!
//! Wire layout (10 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version     = 0x01
//!      1     1  type        = 0x21 (PreKeyCounts)
//!      2     4  one_time    u32, one-time X25519 prekeys held
//!      6     4  kem         u32, one-time ML-KEM-768 prekeys held (the
//!                           last-resort key is not counted)
//! ```
//!
//! Any u32 is a count: the directory's storage bounds are its policy, not
//! part of the format.

use super::{Frame, Reader, TYPE_PREKEY_COUNTS, Writer};
use crate::error::{DecodeError, WireType};
use crate::limits::PREKEY_COUNTS_LEN;

/// Two counts of one-time prekeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreKeyCountsFrame {
    pub(crate) one_time: u32,
    pub(crate) kem: u32,
}

impl Frame<'_> for PreKeyCountsFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        PREKEY_COUNTS_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_PREKEY_COUNTS)
            .u32(self.one_time)
            .u32(self.kem);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::PreKeyCounts);
        r.header(TYPE_PREKEY_COUNTS)?;
        let frame = PreKeyCountsFrame {
            one_time: r.u32()?,
            kem: r.u32()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_the_documented_one_and_round_trips() {
        let f = PreKeyCountsFrame {
            one_time: 0x0102_0304,
            kem: u32::MAX,
        };
        let bytes = f.to_vec();
        assert_eq!(
            bytes,
            [1, TYPE_PREKEY_COUNTS, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(bytes.len(), f.encoded_len());
        assert_eq!(PreKeyCountsFrame::decode(&bytes), Ok(f));
    }

    #[test]
    fn anything_but_exactly_ten_bytes_of_the_right_type_is_refused() {
        let bytes = PreKeyCountsFrame {
            one_time: 5,
            kem: 6,
        }
        .to_vec();
        for cut in 0..bytes.len() {
            assert!(matches!(
                PreKeyCountsFrame::decode(&bytes[..cut]),
                Err(DecodeError::Truncated {
                    wire_type: WireType::PreKeyCounts,
                    ..
                })
            ));
        }
        let long = [&bytes[..], &[0]].concat();
        assert_eq!(
            PreKeyCountsFrame::decode(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::PreKeyCounts,
                count: 1
            })
        );
        let mut other = bytes.clone();
        other[1] = super::super::TYPE_PREKEY_UPLOAD;
        assert_eq!(
            PreKeyCountsFrame::decode(&other),
            Err(DecodeError::UnexpectedType {
                expected: WireType::PreKeyCounts,
                found: super::super::TYPE_PREKEY_UPLOAD
            })
        );
        other[0] = 0;
        assert_eq!(
            PreKeyCountsFrame::decode(&other),
            Err(DecodeError::UnsupportedVersion { found: 0 })
        );
    }
}
