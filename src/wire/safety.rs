//! The safety-number QR payload (`docs/PROTOCOL.md` §11). No cryptography
//! and no digits here: the fingerprints, their digits and their order are
//! one layer up, in `client/safety.rs`; this file only lays them out as
//! bytes.
//!
//! ```text
//! field             size  notes
//! version              1  the safety-number version SV (not the protocol
//!                         version): 0x01 for two devices' identity keys,
//!                         0x02 for two users' identity keys
//! type                 1  = 0x40 (SafetyNumber)
//! fingerprint_low     32  fp of the key whose digits come first
//! fingerprint_high    32  fp of the other key
//!                   ----
//!                     66
//! ```
//!
//! The two fingerprints MUST be in safety-number order; a payload with them
//! the other way round is not a canonical encoding, and
//! `SafetyNumber::from_qr_bytes` rejects it as
//! `InvalidField { field: "fingerprint order" }` (the order is a rule of
//! the digits, so it is checked where the digits are computed).

use super::{Frame, Reader, TYPE_SAFETY_NUMBER, Writer};
use crate::error::{DecodeError, WireType};

/// The safety-number version of two devices' identity keys: the first byte
/// of their QR payload, and (as a u16) part of every fingerprint's hash
/// input.
pub(crate) const SAFETY_NUMBER_DEVICE_VERSION: u8 = 1;
/// The safety-number version of two users' identity keys.
pub(crate) const SAFETY_NUMBER_USER_VERSION: u8 = 2;
/// Length of one key's fingerprint in the QR payload: the first 32 bytes
/// of its final hash.
pub(crate) const FINGERPRINT_LEN: usize = 32;
/// Length of the whole QR payload.
pub(crate) const SAFETY_NUMBER_QR_LEN: usize = 2 + 2 * FINGERPRINT_LEN;
/// One key's fingerprint.
pub(crate) type Fingerprint = [u8; FINGERPRINT_LEN];

/// A safety-number QR payload: its version and two fingerprints, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SafetyNumberFrame {
    /// [`SAFETY_NUMBER_DEVICE_VERSION`] or [`SAFETY_NUMBER_USER_VERSION`].
    pub(crate) version: u8,
    pub(crate) low: Fingerprint,
    pub(crate) high: Fingerprint,
}

impl Frame<'_> for SafetyNumberFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        SAFETY_NUMBER_QR_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .u8(self.version)
            .u8(TYPE_SAFETY_NUMBER)
            .bytes(&self.low)
            .bytes(&self.high);
    }

    /// Reads the version byte first (a payload of another version may have
    /// another length), then the type byte, then both fingerprints; rejects
    /// trailing bytes, then fingerprints out of order.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SafetyNumber);
        // Not `Reader::header`: this version byte is the safety-number
        // version, which need not follow the protocol version.
        let version = r.u8()?;
        if version != SAFETY_NUMBER_DEVICE_VERSION && version != SAFETY_NUMBER_USER_VERSION {
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
        Ok(SafetyNumberFrame { version, low, high })
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
    fn round_trip_and_layout() {
        for version in [1, 2] {
            let frame = SafetyNumberFrame {
                version,
                low: fp(0),
                high: fp(0xff),
            };
            let bytes = frame.to_vec();
            assert_eq!(bytes.len(), SAFETY_NUMBER_QR_LEN);
            assert_eq!(frame.encoded_len(), SAFETY_NUMBER_QR_LEN);
            assert_eq!(bytes[..2], [version, 0x40]);
            assert_eq!(SafetyNumberFrame::decode(&bytes), Ok(frame));
        }
    }

    #[test]
    fn rejections() {
        let good = SafetyNumberFrame {
            version: 1,
            low: fp(0),
            high: fp(0xff),
        }
        .to_vec();
        for version in [0, 3, 0xff] {
            let mut other = good.clone();
            other[0] = version;
            // The version is read first, whatever the length.
            other.push(0);
            assert_eq!(
                SafetyNumberFrame::decode(&other),
                Err(DecodeError::UnsupportedVersion { found: version })
            );
        }
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
    }
}
