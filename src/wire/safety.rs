//! The safety-number QR payload, and the decimal rendering of a fingerprint
//! (`docs/PROTOCOL.md` §11). No cryptography here: the fingerprints are
//! computed one layer up, in [`client::SafetyNumber`](crate::client::SafetyNumber);
//! this file only lays them out as digits and as bytes.
//!
//! ```text
//! field             size  notes
//! version              1  = 0x01, the safety-number version (not the
//!                         protocol version, though both are 1 today)
//! type                 1  = 0x40 (SafetyNumber)
//! fingerprint_low     32  fp of the key whose digits come first
//! fingerprint_high    32  fp of the other key
//!                   ----
//!                     66
//! ```
//!
//! The two fingerprints MUST be in safety-number order ([`in_order`]);
//! a payload with them the other way round is not a canonical encoding and
//! is rejected as `InvalidField { field: "fingerprint order" }`.

use core::cmp::Ordering;

use super::{Reader, TYPE_SAFETY_NUMBER, Writer};
use crate::error::{DecodeError, WireType};

/// The safety-number version this build computes and reads: the first byte
/// of the QR payload, and (as a u16) part of every fingerprint's hash input.
pub(crate) const SAFETY_NUMBER_VERSION: u8 = 1;
/// Length of one key's fingerprint in the QR payload: the first 32 bytes
/// of its final hash.
pub(crate) const FINGERPRINT_LEN: usize = 32;
/// Length of the whole QR payload.
pub(crate) const SAFETY_NUMBER_QR_LEN: usize = 2 + 2 * FINGERPRINT_LEN;
/// Five-digit chunks per key.
pub(crate) const CHUNKS_PER_KEY: usize = 6;
/// Bytes of the fingerprint behind each chunk (a 40-bit integer).
const CHUNK_BYTES: usize = 5;
/// Each chunk is its 40-bit integer modulo this: five decimal digits.
const CHUNK_MODULUS: u64 = 100_000;

/// One key's fingerprint.
pub(crate) type Fingerprint = [u8; FINGERPRINT_LEN];

/// The six five-digit chunks of a fingerprint: bytes `5j .. 5j + 5` as a
/// big-endian 40-bit integer, modulo 100000. Only the first 30 bytes count;
/// the last two are carried by the QR payload alone.
pub(crate) fn chunks(fp: &Fingerprint) -> [u32; CHUNKS_PER_KEY] {
    let mut out = [0u32; CHUNKS_PER_KEY];
    // 32 bytes in chunks of 5 give exactly six chunks and a remainder of 2.
    for (slot, chunk) in out.iter_mut().zip(fp.chunks_exact(CHUNK_BYTES)) {
        let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // Below 100000, so it fits.
        *slot = u32::try_from(value % CHUNK_MODULUS).unwrap_or(0);
    }
    out
}

/// The safety-number order of two fingerprints: by their digits (chunk by
/// chunk, which for zero-padded five-digit chunks is the order of the
/// digit strings), and by the fingerprint bytes only if the digits tie.
pub(crate) fn order(a: &Fingerprint, b: &Fingerprint) -> Ordering {
    chunks(a).cmp(&chunks(b)).then_with(|| a.cmp(b))
}

/// Whether `low` may come before `high` (equal fingerprints are in order).
pub(crate) fn in_order(low: &Fingerprint, high: &Fingerprint) -> bool {
    order(low, high) != Ordering::Greater
}

/// A safety-number QR payload: two fingerprints, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SafetyNumberFrame {
    pub(crate) low: Fingerprint,
    pub(crate) high: Fingerprint,
}

impl SafetyNumberFrame {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SAFETY_NUMBER_QR_LEN);
        Writer::new(&mut out)
            .u8(SAFETY_NUMBER_VERSION)
            .u8(TYPE_SAFETY_NUMBER)
            .bytes(&self.low)
            .bytes(&self.high);
        out
    }

    /// Reads the version byte first (a payload of another version may have
    /// another length), then the type byte, then both fingerprints; rejects
    /// trailing bytes, then fingerprints out of order.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SafetyNumber);
        // Not `Reader::header`: this version byte is the safety-number
        // version, which need not follow the protocol version.
        let version = r.u8()?;
        if version != SAFETY_NUMBER_VERSION {
            return Err(DecodeError::UnsupportedVersion { found: version });
        }
        let found = r.u8()?;
        if found != TYPE_SAFETY_NUMBER {
            return Err(DecodeError::UnexpectedType {
                expected: WireType::SafetyNumber,
                found,
            });
        }
        let low = r.array()?;
        let high = r.array()?;
        r.finish()?;
        if !in_order(&low, &high) {
            return Err(DecodeError::InvalidField {
                wire_type: WireType::SafetyNumber,
                field: "fingerprint order",
                found: 1,
            });
        }
        Ok(SafetyNumberFrame { low, high })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(first: u8) -> Fingerprint {
        let mut f = [0u8; FINGERPRINT_LEN];
        f[0] = first;
        f
    }

    #[test]
    fn chunks_are_big_endian_40_bit_mod_100000() {
        let mut f = [0u8; FINGERPRINT_LEN];
        // 0xffffffffff = 1099511627775; mod 100000 = 27775
        f[..5].copy_from_slice(&[0xff; 5]);
        // 0x0000000001 = 1
        f[9] = 1;
        // 0x00000186a0 = 100000 -> 0
        f[12..15].copy_from_slice(&[0x01, 0x86, 0xa0]);
        // the last two bytes do not count
        f[30] = 0xff;
        f[31] = 0xff;
        assert_eq!(chunks(&f), [27775, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn round_trip_and_layout() {
        let frame = SafetyNumberFrame {
            low: fp(0),
            high: fp(0xff),
        };
        let bytes = frame.encode();
        assert_eq!(bytes.len(), SAFETY_NUMBER_QR_LEN);
        assert_eq!(bytes[..2], [1, 0x40]);
        assert_eq!(SafetyNumberFrame::decode(&bytes), Ok(frame));
    }

    #[test]
    fn rejections() {
        let good = SafetyNumberFrame {
            low: fp(0),
            high: fp(0xff),
        }
        .encode();
        let mut v2 = good.clone();
        v2[0] = 2;
        // The version is read first, whatever the length.
        v2.push(0);
        assert_eq!(
            SafetyNumberFrame::decode(&v2),
            Err(DecodeError::UnsupportedVersion { found: 2 })
        );
        let mut other_type = good.clone();
        other_type[1] = 0x03;
        assert!(matches!(
            SafetyNumberFrame::decode(&other_type),
            Err(DecodeError::UnexpectedType { found: 0x03, .. })
        ));
        assert!(matches!(
            SafetyNumberFrame::decode(&good[..65]),
            Err(DecodeError::Truncated {
                wire_type: WireType::SafetyNumber,
                needed: 32,
                available: 31
            })
        ));
        assert!(matches!(
            SafetyNumberFrame::decode(&[]),
            Err(DecodeError::Truncated { .. })
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            SafetyNumberFrame::decode(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::SafetyNumber,
                count: 1
            })
        );
        let swapped = SafetyNumberFrame {
            low: fp(0xff),
            high: fp(0),
        }
        .encode();
        assert!(matches!(
            SafetyNumberFrame::decode(&swapped),
            Err(DecodeError::InvalidField {
                field: "fingerprint order",
                ..
            })
        ));
    }

    #[test]
    fn ties_in_digits_are_broken_by_bytes() {
        // Same first 30 bytes, so the same digits; the last two bytes decide.
        let mut a = fp(7);
        let mut b = fp(7);
        a[31] = 1;
        b[31] = 2;
        assert_eq!(chunks(&a), chunks(&b));
        assert_eq!(order(&a, &b), Ordering::Less);
        assert!(in_order(&a, &b) && !in_order(&b, &a) && in_order(&a, &a));
    }
}
