//! The `DecryptionErrorReceipt` frame: what a device sends back to the
//! sender of a message it could not decrypt, so that the sender starts a
//! new session (PROTOCOL.md §14). The typed receipt and its signature are
//! in `message/receipt.rs`.
//!
//! Wire layout (159 to 803 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version         = 0x01
//!      1     1  type            = 0x61 (DecryptionErrorReceipt)
//!      2     1  suite           = 0x01
//!      3  9..327  from          embedded device address (wire/address.rs):
//!                               the device that could not decrypt
//!      …  9..327  to            embedded device address: the message's sender
//!      …     1  reason          0x01 NoSession, 0x02 DecryptionFailed,
//!                               0x03 UnknownPreKey, 0x04 UnknownDevice
//!      …     1  failed_kind     the failed message's type byte:
//!                               0x01 (Message) or 0x02 (PreKeyMessage)
//!   then, for failed_kind = 0x01 (Message):
//!      …    32  ratchet_key     the message's ratchet key (the sender's own)
//!      …     4  index           u32, the message's index N
//!      …     4  previous_length u32, the message's previous chain length PN
//!   or, for failed_kind = 0x02 (PreKeyMessage):
//!      …    32  handshake_id    the message's handshake id (PROTOCOL.md §6.5)
//!      …     8  created_at      u64, seconds since the Unix epoch
//!      …    32  identity_key    the failing device's Ed25519 identity key
//!      …    64  signature       Ed25519 by identity_key over
//!                               "KINSEAL-v1 decryption-error receipt\0" ‖
//!                               every byte before it
//! ```
//!
//! Fields are read front to back: each id length against its range before
//! the id (`LengthOutOfRange`), the reason and the failed kind as their
//! bytes are read (`InvalidField` for an unknown code), then the rest, and
//! no trailing bytes. The identity key is validated one floor up; the
//! ratchet key is a locator the sender compares with its own keys, never
//! computed with, and is not validated.

use super::{
    DeviceAddressFrame, Frame, Reader, SIGNATURE_LEN, SUITE_V1, TYPE_MESSAGE, TYPE_PREKEY_MESSAGE,
    TYPE_RECEIPT, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::sizes::KEY_LEN;

/// The length of a handshake id (a SHA-256 output).
pub(crate) const HANDSHAKE_ID_LEN: usize = 32;

/// Why a device could not decrypt a message (PROTOCOL.md §14.2). Every
/// reason asks the sender for the same thing, a new session; the reason
/// says what to look at when that keeps happening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReceiptReason {
    /// `0x01`: the device has no session the message could belong to (a
    /// `Message` from a device it holds no session with, or whose sessions
    /// it lost).
    NoSession,
    /// `0x02`: the device has sessions with the sender, and the message
    /// decrypted under none of them.
    DecryptionFailed,
    /// `0x03`: a `PreKeyMessage` names a prekey the device no longer holds
    /// (used up, retired, or never uploaded).
    UnknownPreKey,
    /// `0x04`: the device does not accept the sending device: it is not on
    /// the device list the failing device holds for the sender's user, or
    /// is listed under another identity key. The sender should make sure
    /// its user's list names it before starting over.
    UnknownDevice,
}

impl ReceiptReason {
    /// The reason's byte on the wire.
    pub(crate) fn code(self) -> u8 {
        match self {
            ReceiptReason::NoSession => 0x01,
            ReceiptReason::DecryptionFailed => 0x02,
            ReceiptReason::UnknownPreKey => 0x03,
            ReceiptReason::UnknownDevice => 0x04,
        }
    }

    /// The reason a byte names, if it names one.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(ReceiptReason::NoSession),
            0x02 => Some(ReceiptReason::DecryptionFailed),
            0x03 => Some(ReceiptReason::UnknownPreKey),
            0x04 => Some(ReceiptReason::UnknownDevice),
            _ => None,
        }
    }
}

/// Which message failed, as bytes: its locator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailedMessageFrame {
    /// A `Message`'s ratchet key, index and previous chain length.
    Message {
        ratchet_key: [u8; KEY_LEN],
        index: u32,
        previous_length: u32,
    },
    /// A `PreKeyMessage`'s handshake id.
    PreKey {
        handshake_id: [u8; HANDSHAKE_ID_LEN],
    },
}

impl FailedMessageFrame {
    fn encoded_len(&self) -> usize {
        1 + match self {
            FailedMessageFrame::Message { .. } => KEY_LEN + 4 + 4,
            FailedMessageFrame::PreKey { .. } => HANDSHAKE_ID_LEN,
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        match self {
            FailedMessageFrame::Message {
                ratchet_key,
                index,
                previous_length,
            } => {
                w.u8(TYPE_MESSAGE)
                    .bytes(ratchet_key)
                    .u32(*index)
                    .u32(*previous_length);
            }
            FailedMessageFrame::PreKey { handshake_id } => {
                w.u8(TYPE_PREKEY_MESSAGE).bytes(handshake_id);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            TYPE_MESSAGE => Ok(FailedMessageFrame::Message {
                ratchet_key: r.array()?,
                index: r.u32()?,
                previous_length: r.u32()?,
            }),
            TYPE_PREKEY_MESSAGE => Ok(FailedMessageFrame::PreKey {
                handshake_id: r.array()?,
            }),
            found => Err(DecodeError::InvalidField {
                wire_type: WireType::DecryptionErrorReceipt,
                field: "failed_kind",
                found: found.into(),
            }),
        }
    }
}

/// Everything a receipt's signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceiptBodyFrame<'a> {
    pub(crate) from: DeviceAddressFrame<'a>,
    pub(crate) to: DeviceAddressFrame<'a>,
    pub(crate) reason: ReceiptReason,
    pub(crate) failed: FailedMessageFrame,
    pub(crate) created_at: u64,
    pub(crate) identity_key: [u8; KEY_LEN],
}

/// A whole receipt as bytes: the body and the identity key's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceiptFrame<'a> {
    pub(crate) body: ReceiptBodyFrame<'a>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl ReceiptBodyFrame<'_> {
    /// The length of the body: the receipt's without its signature.
    pub(crate) fn encoded_len(&self) -> usize {
        3 + self.from.embedded_len()
            + self.to.embedded_len()
            + 1
            + self.failed.encoded_len()
            + 8
            + KEY_LEN
    }

    /// Appends everything before the signature to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_RECEIPT).u8(SUITE_V1);
        self.from.write_embedded(&mut w);
        self.to.write_embedded(&mut w);
        w.u8(self.reason.code());
        self.failed.write(&mut w);
        w.u64(self.created_at).bytes(&self.identity_key);
    }

    /// The body's encoding, in a buffer with room for the signature.
    pub(crate) fn to_vec_with_room(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() + SIGNATURE_LEN);
        self.encode(&mut out);
        out
    }
}

impl<'a> Frame<'a> for ReceiptFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        self.body.encoded_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        out.extend_from_slice(&self.signature);
    }

    /// Decodes a receipt's structure front to back (see the module
    /// documentation); the identity key is validated one floor up.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::DecryptionErrorReceipt);
        r.header(TYPE_RECEIPT)?;
        r.suite()?;
        let from = DeviceAddressFrame::read_embedded(&mut r)?;
        let to = DeviceAddressFrame::read_embedded(&mut r)?;
        let code = r.u8()?;
        let reason = ReceiptReason::from_code(code).ok_or(DecodeError::InvalidField {
            wire_type: WireType::DecryptionErrorReceipt,
            field: "reason",
            found: code.into(),
        })?;
        let failed = FailedMessageFrame::read(&mut r)?;
        let created_at = r.u64()?;
        let identity_key = r.array()?;
        let signature = r.array()?;
        r.finish()?;
        Ok(ReceiptFrame {
            body: ReceiptBodyFrame {
                from,
                to,
                reason,
                failed,
                created_at,
                identity_key,
            },
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::UserAddressFrame;
    use super::*;
    use crate::limits::{MAX_APP_ID_LEN, MAX_RECEIPT_LEN, MAX_USER_ID_LEN, MIN_RECEIPT_LEN};

    fn address(app: &'static [u8], user: &'static [u8], id: u32) -> DeviceAddressFrame<'static> {
        DeviceAddressFrame {
            user: UserAddressFrame {
                app_id: app,
                user_id: user,
            },
            device_id: id,
        }
    }

    fn frame(
        from: DeviceAddressFrame<'static>,
        to: DeviceAddressFrame<'static>,
        failed: FailedMessageFrame,
    ) -> ReceiptFrame<'static> {
        ReceiptFrame {
            body: ReceiptBodyFrame {
                from,
                to,
                reason: ReceiptReason::DecryptionFailed,
                failed,
                created_at: 0x0102_0304_0506_0708,
                identity_key: [0x11; KEY_LEN],
            },
            signature: [0x22; SIGNATURE_LEN],
        }
    }

    const PREKEY: FailedMessageFrame = FailedMessageFrame::PreKey {
        handshake_id: [0x33; HANDSHAKE_ID_LEN],
    };
    const MESSAGE: FailedMessageFrame = FailedMessageFrame::Message {
        ratchet_key: [0x44; KEY_LEN],
        index: 5,
        previous_length: 6,
    };

    #[test]
    fn the_layout_is_the_documented_one_at_both_bounds() {
        let short = frame(address(b"a", b"u", 1), address(b"b", b"v", 2), PREKEY);
        let bytes = short.to_vec();
        assert_eq!(bytes.len(), MIN_RECEIPT_LEN);
        let mut want = vec![1, 0x61, 1];
        want.extend_from_slice(b"\x01a\x00\x01u\x00\x00\x00\x01");
        want.extend_from_slice(b"\x01b\x00\x01v\x00\x00\x00\x02");
        want.extend_from_slice(&[0x02, 0x02]);
        want.extend_from_slice(&[0x33; 32]);
        want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        want.extend_from_slice(&[0x11; 32]);
        want.extend_from_slice(&[0x22; 64]);
        assert_eq!(bytes, want);

        let app: &'static [u8] = &[b'a'; MAX_APP_ID_LEN];
        let user: &'static [u8] = &[b'u'; MAX_USER_ID_LEN];
        let long = frame(address(app, user, 0), address(app, user, u32::MAX), MESSAGE);
        let long_bytes = long.to_vec();
        assert_eq!(long_bytes.len(), MAX_RECEIPT_LEN);
        let at = 3 + 2 * (MAX_APP_ID_LEN + MAX_USER_ID_LEN + 7);
        assert_eq!(long_bytes[at..at + 2], [0x02, 0x01]);
        assert_eq!(long_bytes[at + 2..at + 34], [0x44; 32]);
        assert_eq!(long_bytes[at + 34..at + 42], [0, 0, 0, 5, 0, 0, 0, 6]);
        for (f, b) in [(short, bytes), (long, long_bytes)] {
            assert_eq!(f.encoded_len(), b.len());
            assert_eq!(ReceiptFrame::decode(&b), Ok(f.clone()));
            assert_eq!(f.body.to_vec_with_room()[..], b[..b.len() - SIGNATURE_LEN]);
        }
    }

    #[test]
    fn unknown_codes_are_refused_when_their_byte_is_read() {
        let good = frame(address(b"a", b"u", 1), address(b"b", b"v", 2), PREKEY).to_vec();
        let reason_at = 3 + 9 + 9;
        let invalid = |field, found| DecodeError::InvalidField {
            wire_type: WireType::DecryptionErrorReceipt,
            field,
            found,
        };
        for code in [0u8, 5, 0xff] {
            // Cut right after the byte: the code is refused, not the length.
            let mut b = good[..=reason_at].to_vec();
            b[reason_at] = code;
            assert_eq!(
                ReceiptFrame::decode(&b),
                Err(invalid("reason", code.into()))
            );
        }
        for code in 1..=4u8 {
            assert_eq!(
                ReceiptReason::from_code(code).map(ReceiptReason::code),
                Some(code)
            );
        }
        for kind in [0u8, 3, 0x60, 0x61] {
            let mut b = good[..=reason_at + 1].to_vec();
            b[reason_at + 1] = kind;
            assert_eq!(
                ReceiptFrame::decode(&b),
                Err(invalid("failed_kind", kind.into()))
            );
        }
    }

    #[test]
    fn truncation_and_trailing_bytes_are_refused() {
        let good = frame(address(b"ab", b"uv", 1), address(b"b", b"v", 2), MESSAGE).to_vec();
        for cut in 0..good.len() {
            let e = ReceiptFrame::decode(&good[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DecodeError::Truncated {
                        wire_type: WireType::DecryptionErrorReceipt,
                        ..
                    }
                ),
                "{cut}: {e:?}"
            );
        }
        let long = [&good[..], &[0]].concat();
        assert_eq!(
            ReceiptFrame::decode(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::DecryptionErrorReceipt,
                count: 1
            })
        );
    }
}
