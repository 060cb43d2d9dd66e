//! The frames of linking a device (PROTOCOL.md §13): the link code a new
//! device shows as a QR code, the provisioning message an existing device
//! sends back, and the payload that message encrypts. Keys, the key
//! schedule, the AEAD and every check of meaning live in `keys/link.rs`.
//!
//! Link code, the QR payload (67 bytes):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x53 (LinkCode)
//!      2     1  suite             = 0x01
//!      3    32  ephemeral_key     the new device's fresh X25519 public key
//!     35    32  identity_key      the new device's Ed25519 identity key
//! ```
//!
//! Provisioning message (290 to 1268 bytes; integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x54 (ProvisioningMessage)
//!      2     1  suite             = 0x01
//!      3    32  ephemeral_key     the sender's fresh X25519 public key
//!     35     4  ciphertext_len    u32, 251 ..= 1229
//!     39     n  ciphertext        the sealed payload ‖ 16-byte tag
//! ```
//!
//! The first 39 bytes are the message's header, the AEAD's associated data.
//!
//! Provisioning payload, the plaintext (235 to 1213 bytes; secret):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x55 (ProvisioningPayload)
//!      2    32  user_secret       the user identity key's Ed25519 secret key
//!     34     4  device_id         u32, the new device's id on the list
//!     38     …  device_list       a device list (§12.1), to the end
//! ```
//!
//! The payload's frame borrows every field, the secret included, from the
//! buffer it was decoded from or will be encoded into; that buffer is the
//! caller's to wipe (`Frame::to_secret_vec`).

use super::{
    Frame, KEY_LEN, Reader, SUITE_V1, TAG_LEN, TYPE_LINK_CODE, TYPE_PROVISIONING_MESSAGE,
    TYPE_PROVISIONING_PAYLOAD, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{
    LINK_CODE_LEN, MAX_PROVISIONING_CIPHERTEXT_LEN, MIN_PROVISIONING_CIPHERTEXT_LEN,
    PROVISIONING_HEADER_LEN, PROVISIONING_PAYLOAD_FIXED_LEN,
};

/// A link code as bytes: two keys, not yet validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkCodeFrame {
    pub(crate) ephemeral_key: [u8; KEY_LEN],
    pub(crate) identity_key: [u8; KEY_LEN],
}

impl Frame<'_> for LinkCodeFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        LINK_CODE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_LINK_CODE)
            .u8(SUITE_V1)
            .bytes(&self.ephemeral_key)
            .bytes(&self.identity_key);
    }

    /// Version, type, suite, both keys, no trailing bytes. The keys are
    /// validated one floor up.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::LinkCode);
        r.header(TYPE_LINK_CODE)?;
        r.suite()?;
        let ephemeral_key = r.array()?;
        let identity_key = r.array()?;
        r.finish()?;
        Ok(LinkCodeFrame {
            ephemeral_key,
            identity_key,
        })
    }
}

/// A provisioning message as bytes: the sender's ephemeral key and the
/// sealed payload (its tag included), borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProvisioningFrame<'a> {
    pub(crate) ephemeral_key: [u8; KEY_LEN],
    pub(crate) ciphertext: &'a [u8],
}

impl ProvisioningFrame<'_> {
    /// The header of a message with this key and a ciphertext of
    /// `ciphertext_len` bytes: what the AEAD authenticates, and the first
    /// bytes of the encoding. The caller bounds `ciphertext_len`.
    pub(crate) fn header(
        ephemeral_key: &[u8; KEY_LEN],
        ciphertext_len: usize,
    ) -> [u8; PROVISIONING_HEADER_LEN] {
        let mut out = Vec::with_capacity(PROVISIONING_HEADER_LEN);
        Writer::new(&mut out)
            .header(TYPE_PROVISIONING_MESSAGE)
            .u8(SUITE_V1)
            .bytes(ephemeral_key)
            .length(ciphertext_len);
        let mut header = [0u8; PROVISIONING_HEADER_LEN];
        if let Some(h) = out.get(..PROVISIONING_HEADER_LEN) {
            header.copy_from_slice(h);
        }
        header
    }

    /// The ciphertext without its tag, and the tag.
    pub(crate) fn split_tag(&self) -> Option<(&[u8], &[u8; TAG_LEN])> {
        self.ciphertext.split_last_chunk::<TAG_LEN>()
    }
}

impl<'a> Frame<'a> for ProvisioningFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        PROVISIONING_HEADER_LEN + self.ciphertext.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::header(&self.ephemeral_key, self.ciphertext.len()));
        out.extend_from_slice(self.ciphertext);
    }

    /// Version, type, suite, the key, the ciphertext length against
    /// `MIN_ ..= MAX_PROVISIONING_CIPHERTEXT_LEN` before the ciphertext
    /// (`LengthOutOfRange`), no trailing bytes.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::ProvisioningMessage);
        r.header(TYPE_PROVISIONING_MESSAGE)?;
        r.suite()?;
        let ephemeral_key = r.array()?;
        let len = r.length(
            MIN_PROVISIONING_CIPHERTEXT_LEN,
            MAX_PROVISIONING_CIPHERTEXT_LEN,
        )?;
        let ciphertext = r.take(len)?;
        r.finish()?;
        Ok(ProvisioningFrame {
            ephemeral_key,
            ciphertext,
        })
    }
}

/// The provisioning payload as bytes, every field borrowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProvisioningPayloadFrame<'a> {
    pub(crate) user_secret: &'a [u8; KEY_LEN],
    pub(crate) device_id: u32,
    pub(crate) device_list: &'a [u8],
}

impl core::fmt::Debug for ProvisioningPayloadFrame<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProvisioningPayloadFrame")
            .field("device_id", &self.device_id)
            .field("device_list_len", &self.device_list.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Frame<'a> for ProvisioningPayloadFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        PROVISIONING_PAYLOAD_FIXED_LEN + self.device_list.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_PROVISIONING_PAYLOAD)
            .bytes(self.user_secret)
            .u32(self.device_id)
            .bytes(self.device_list);
    }

    /// Version, type, the secret, the device id; the rest of the input is
    /// the device list, which its own decoder reads (PROTOCOL.md §12.3).
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::ProvisioningPayload);
        r.header(TYPE_PROVISIONING_PAYLOAD)?;
        let user_secret = r.array_ref()?;
        let device_id = r.u32()?;
        Ok(ProvisioningPayloadFrame {
            user_secret,
            device_id,
            device_list: r.remaining(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        MAX_DEVICE_LIST_LEN, MAX_PROVISIONING_MESSAGE_LEN, MIN_DEVICE_LIST_LEN,
        MIN_PROVISIONING_MESSAGE_LEN,
    };

    #[test]
    fn link_code_layout_round_trips() {
        let f = LinkCodeFrame {
            ephemeral_key: [1; KEY_LEN],
            identity_key: [2; KEY_LEN],
        };
        let bytes = f.to_vec();
        assert_eq!(bytes.len(), LINK_CODE_LEN);
        assert_eq!(bytes.len(), 67);
        assert_eq!(bytes[..3], [1, TYPE_LINK_CODE, SUITE_V1]);
        assert_eq!(bytes[3..35], [1; KEY_LEN]);
        assert_eq!(bytes[35..], [2; KEY_LEN]);
        assert_eq!(LinkCodeFrame::decode(&bytes).unwrap(), f);
    }

    #[test]
    fn provisioning_lengths_are_exact_and_the_layout_round_trips() {
        for (ct_len, total) in [
            (
                MIN_PROVISIONING_CIPHERTEXT_LEN,
                MIN_PROVISIONING_MESSAGE_LEN,
            ),
            (
                MAX_PROVISIONING_CIPHERTEXT_LEN,
                MAX_PROVISIONING_MESSAGE_LEN,
            ),
        ] {
            let ct = vec![7u8; ct_len];
            let f = ProvisioningFrame {
                ephemeral_key: [3; KEY_LEN],
                ciphertext: &ct,
            };
            let bytes = f.to_vec();
            assert_eq!((bytes.len(), f.encoded_len()), (total, total));
            assert_eq!(
                bytes[..PROVISIONING_HEADER_LEN],
                ProvisioningFrame::header(&[3; 32], ct_len)
            );
            assert_eq!(bytes[35..39], (ct_len as u32).to_be_bytes());
            assert_eq!(ProvisioningFrame::decode(&bytes).unwrap(), f);
        }
        assert_eq!(
            (MIN_PROVISIONING_MESSAGE_LEN, MAX_PROVISIONING_MESSAGE_LEN),
            (290, 1268)
        );
        // The ciphertext bounds are exactly a payload's, sealed.
        assert_eq!(
            MIN_PROVISIONING_CIPHERTEXT_LEN,
            PROVISIONING_PAYLOAD_FIXED_LEN + MIN_DEVICE_LIST_LEN + TAG_LEN
        );
        assert_eq!(
            MAX_PROVISIONING_CIPHERTEXT_LEN,
            PROVISIONING_PAYLOAD_FIXED_LEN + MAX_DEVICE_LIST_LEN + TAG_LEN
        );
    }

    #[test]
    fn payload_layout_round_trips() {
        let secret = [9u8; KEY_LEN];
        let list = [5u8; 10];
        let f = ProvisioningPayloadFrame {
            user_secret: &secret,
            device_id: 0x0102_0304,
            device_list: &list,
        };
        let bytes = f.to_secret_vec();
        assert_eq!(bytes.len(), 38 + 10);
        assert_eq!(bytes[..2], [1, TYPE_PROVISIONING_PAYLOAD]);
        assert_eq!(bytes[34..38], [1, 2, 3, 4]);
        assert_eq!(ProvisioningPayloadFrame::decode(&bytes).unwrap(), f);
        assert!(!format!("{f:?}").contains("9, 9"));
    }
}
