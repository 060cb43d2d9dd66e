//! The `Envelope` frame: one message with the device addresses of its
//! sender and its recipient, as servers route it. The typed envelope is in
//! `message/envelope.rs`.
//!
//! Wire layout (107 to 272 214 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version          = 0x01
//!      1     1  type             = 0x60 (Envelope)
//!      2  9..327  sender         embedded device address (wire/address.rs)
//!      …  9..327  recipient      embedded device address
//!      …     4  message_length   u32, MIN_MESSAGE_LEN (83) ..= MAX_MESSAGE_LEN (271 554)
//!      …     L  message          a complete Message or PreKeyMessage
//! ```
//!
//! Input longer than `MAX_ENVELOPE_LEN` is refused before a byte is read.
//! After the envelope's own fields, the message is checked as the message
//! decoders check it, structure only (version, type, suite, flags, lengths,
//! no trailing bytes; its errors name `Message` or `PreKeyMessage`): no key
//! is validated and nothing is authenticated, as in `server::route`.

use super::{
    DeviceAddressFrame, Frame, MessageFrame, MessageKind, PreKeyFrame, PreKeyMessageFrame, Reader,
    TYPE_ENVELOPE, Writer, peek_kind,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{MAX_ENVELOPE_LEN, MAX_MESSAGE_LEN, MIN_ENVELOPE_LEN, MIN_MESSAGE_LEN};

/// An envelope as bytes: the addresses' ids and the message, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnvelopeFrame<'a> {
    pub(crate) sender: DeviceAddressFrame<'a>,
    pub(crate) recipient: DeviceAddressFrame<'a>,
    /// The message's kind, from its type byte.
    pub(crate) kind: MessageKind,
    /// A complete `Message` or `PreKeyMessage`, checked by [`check_message`].
    pub(crate) message: &'a [u8],
}

impl<'a> Frame<'a> for EnvelopeFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + self.sender.embedded_len() + self.recipient.embedded_len() + 4 + self.message.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_ENVELOPE);
        self.sender.write_embedded(&mut w);
        self.recipient.write_embedded(&mut w);
        w.length(self.message.len()).bytes(self.message);
    }

    /// Decodes an envelope: its length against [`MAX_ENVELOPE_LEN`] first,
    /// then its fields front to back, then the message's structure.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::Envelope,
                min: MIN_ENVELOPE_LEN,
                max: MAX_ENVELOPE_LEN,
                found: bytes.len(),
            });
        }
        let mut r = Reader::new(bytes, WireType::Envelope);
        r.header(TYPE_ENVELOPE)?;
        let sender = DeviceAddressFrame::read_embedded(&mut r)?;
        let recipient = DeviceAddressFrame::read_embedded(&mut r)?;
        let len = r.length(MIN_MESSAGE_LEN, MAX_MESSAGE_LEN)?;
        let message = r.take(len)?;
        r.finish()?;
        // Its length was checked as the field was read.
        let (kind, _) = check_structure(message)?;
        Ok(EnvelopeFrame {
            sender,
            recipient,
            kind,
            message,
        })
    }
}

/// Checks that `message` can be an envelope's message: its length within
/// `MIN_MESSAGE_LEN ..= MAX_MESSAGE_LEN` (`LengthOutOfRange` with
/// [`WireType::Envelope`]), then its whole structure, with the message
/// decoders' checks and errors, copying nothing.
pub(crate) fn check_message(message: &[u8]) -> Result<MessageKind, DecodeError> {
    if message.len() < MIN_MESSAGE_LEN || message.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::LengthOutOfRange {
            wire_type: WireType::Envelope,
            min: MIN_MESSAGE_LEN,
            max: MAX_MESSAGE_LEN,
            found: message.len(),
        });
    }
    Ok(check_structure(message)?.0)
}

/// The whole structure of a `Message` or `PreKeyMessage`, by its type
/// byte, with exactly the message decoders' checks and errors but copying
/// nothing: its kind, and the prekey ids a `PreKeyMessage` names. No
/// length bound of its own (the callers' errors name what was too long)
/// and no key is validated.
pub(crate) fn check_structure(
    message: &[u8],
) -> Result<(MessageKind, Option<PreKeyFrame>), DecodeError> {
    match peek_kind(message)? {
        MessageKind::Message => {
            MessageFrame::decode_view(message)?;
            Ok((MessageKind::Message, None))
        }
        MessageKind::PreKeyMessage => Ok((
            MessageKind::PreKeyMessage,
            Some(PreKeyMessageFrame::check(message)?),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::address::UserAddressFrame;
    use super::super::{MAX_CIPHERTEXT_LEN, MIN_CIPHERTEXT_LEN};
    use super::*;
    use crate::limits::{MAX_APP_ID_LEN, MAX_USER_ID_LEN};

    /// A structurally valid `Message` with a `ct_len`-byte ciphertext.
    fn message(ct_len: usize) -> Vec<u8> {
        let mut m = vec![1, super::super::TYPE_MESSAGE];
        m.extend_from_slice(&[7; 32 + 4 + 4 + 4]);
        m.extend_from_slice(&u32::try_from(ct_len).unwrap().to_be_bytes());
        m.extend_from_slice(&[8; 16]);
        m.resize(m.len() + ct_len, 9);
        m
    }

    fn address(
        app: &'static [u8],
        user: &'static [u8],
        device_id: u32,
    ) -> DeviceAddressFrame<'static> {
        DeviceAddressFrame {
            user: UserAddressFrame {
                app_id: app,
                user_id: user,
            },
            device_id,
        }
    }

    fn envelope(message: &[u8]) -> Vec<u8> {
        EnvelopeFrame {
            sender: address(b"a", b"u", 1),
            recipient: address(b"chirp", b"bob", 2),
            kind: MessageKind::Message,
            message,
        }
        .to_vec()
    }

    fn message_len_error(found: usize) -> DecodeError {
        DecodeError::LengthOutOfRange {
            wire_type: WireType::Envelope,
            min: MIN_MESSAGE_LEN,
            max: MAX_MESSAGE_LEN,
            found,
        }
    }

    #[test]
    fn the_smallest_and_largest_envelopes_round_trip_at_their_bounds() {
        let small = envelope(&message(MIN_CIPHERTEXT_LEN));
        let smallest = EnvelopeFrame {
            sender: address(b"a", b"u", 0),
            recipient: address(b"b", b"v", 0),
            kind: MessageKind::Message,
            message: &message(MIN_CIPHERTEXT_LEN),
        }
        .to_vec();
        assert_eq!(smallest.len(), MIN_ENVELOPE_LEN);
        let long_app: &'static [u8] = &[b'a'; MAX_APP_ID_LEN];
        let long_user: &'static [u8] = &[b'u'; MAX_USER_ID_LEN];
        let big_message = message(MAX_CIPHERTEXT_LEN);
        let largest = EnvelopeFrame {
            sender: address(long_app, long_user, u32::MAX),
            recipient: address(long_app, long_user, 0),
            kind: MessageKind::Message,
            message: &big_message,
        };
        // The longest Message is shorter than the longest PreKeyMessage
        // (MAX_MESSAGE_LEN) by the prekey prefix.
        let prefix = PreKeyMessageFrame::PREFIX_MAX_LEN;
        assert_eq!(largest.encoded_len() + prefix, MAX_ENVELOPE_LEN);
        for bytes in [small, smallest, largest.to_vec()] {
            let frame = EnvelopeFrame::decode(&bytes).unwrap();
            assert_eq!(frame.kind, MessageKind::Message);
            assert_eq!(frame.to_vec(), bytes);
            assert_eq!(frame.encoded_len(), bytes.len());
        }
    }

    #[test]
    fn oversize_input_is_refused_before_it_is_read() {
        let mut bytes = vec![0u8; MAX_ENVELOPE_LEN + 1];
        assert_eq!(
            EnvelopeFrame::decode(&bytes),
            Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::Envelope,
                min: MIN_ENVELOPE_LEN,
                max: MAX_ENVELOPE_LEN,
                found: MAX_ENVELOPE_LEN + 1,
            })
        );
        bytes.truncate(MAX_ENVELOPE_LEN);
        assert_eq!(
            EnvelopeFrame::decode(&bytes),
            Err(DecodeError::UnsupportedVersion { found: 0 })
        );
    }

    #[test]
    fn the_message_length_is_checked_before_the_message_is_read() {
        let good = envelope(&message(MIN_CIPHERTEXT_LEN));
        let at = good.len() - MIN_MESSAGE_LEN - 4;
        for found in [
            0,
            MIN_MESSAGE_LEN - 1,
            MAX_MESSAGE_LEN + 1,
            u32::MAX as usize,
        ] {
            let mut bytes = good[..at].to_vec();
            bytes.extend_from_slice(&u32::try_from(found).unwrap().to_be_bytes());
            assert_eq!(EnvelopeFrame::decode(&bytes), Err(message_len_error(found)));
        }
        assert_eq!(
            check_message(&message(MIN_CIPHERTEXT_LEN)[1..]),
            Err(message_len_error(MIN_MESSAGE_LEN - 1))
        );
    }

    #[test]
    fn truncation_and_trailing_bytes_are_the_envelopes_and_a_bad_message_is_the_messages() {
        let good = envelope(&message(MIN_CIPHERTEXT_LEN));
        for cut in 0..good.len() {
            let e = EnvelopeFrame::decode(&good[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DecodeError::Truncated {
                        wire_type: WireType::Envelope,
                        ..
                    }
                ),
                "{cut}: {e:?}"
            );
        }
        let long = [&good[..], &[0]].concat();
        assert_eq!(
            EnvelopeFrame::decode(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::Envelope,
                count: 1
            })
        );
        // A message one byte longer than its ciphertext length says: the
        // envelope's length covers it, the message decoder refuses it.
        let mut padded = message(MIN_CIPHERTEXT_LEN);
        padded.push(0);
        assert_eq!(
            EnvelopeFrame::decode(&envelope(&padded)),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::Message,
                count: 1
            })
        );
        let mut wrong = message(MIN_CIPHERTEXT_LEN);
        wrong[1] = super::super::TYPE_BUNDLE;
        assert_eq!(
            EnvelopeFrame::decode(&envelope(&wrong)),
            Err(DecodeError::UnexpectedType {
                expected: WireType::Message,
                found: super::super::TYPE_BUNDLE
            })
        );
        // A PreKeyMessage whose one-time flag is 2.
        let mut prekey = vec![1, super::super::TYPE_PREKEY_MESSAGE, 1];
        prekey.extend_from_slice(&[0; 36]);
        prekey.push(2);
        prekey.resize(MIN_MESSAGE_LEN, 0);
        assert_eq!(
            EnvelopeFrame::decode(&envelope(&prekey)),
            Err(DecodeError::InvalidField {
                wire_type: WireType::PreKeyMessage,
                field: "one_time_present",
                found: 2
            })
        );
    }
}
