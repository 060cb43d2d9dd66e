//! The group message and sender-key distribution frames (PROTOCOL.md
//! §16.1, §16.2). The keys, the chain and the checks live in `group/`.
//!
//! Group message (136 to 270 471 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x70 (GroupMessage)
//!      2     1  suite             = 0x01
//!      3    32  group_id
//!     35     8  epoch             u64, the group state's epoch
//!     43     4  key_id            u32, names the sender's chain
//!     47     4  iteration         u32, the message's position in the chain
//!     51     4  ciphertext_len    u32, MIN_CIPHERTEXT_LEN (17) ..= MAX_CIPHERTEXT_LEN
//!     55     c  ciphertext        ChaCha20-Poly1305 of the padded plaintext
//!                                 (§7.6), tag (16) last
//!  55 + c   64  signature         Ed25519 by the sender key's signing key over
//!                                 "KINSEAL-v1 group message\0" ‖ the embedded
//!                                 sender address ‖ every byte before it
//! ```
//!
//! Sender-key distribution (115 bytes, secret: it travels only inside
//! pairwise messages):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x71 (SenderKeyDistribution)
//!      2     1  suite             = 0x01
//!      3    32  group_id
//!     35     8  epoch             u64
//!     43     4  key_id            u32
//!     47     4  iteration         u32, the chain key's iteration
//!     51    32  chain_key         secret
//!     83    32  signing_key       the sender key's Ed25519 public key
//! ```

use super::{
    Frame, Reader, SIGNATURE_LEN, TYPE_GROUP_MESSAGE, TYPE_SENDER_KEY_DISTRIBUTION, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{
    GROUP_MESSAGE_HEADER_LEN, MAX_CIPHERTEXT_LEN, MIN_CIPHERTEXT_LEN, SENDER_KEY_DISTRIBUTION_LEN,
};
use crate::sizes::{GROUP_ID_LEN, KEY_LEN};

/// A group message's header fields, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupHeaderFrame {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) key_id: u32,
    pub(crate) iteration: u32,
}

impl GroupHeaderFrame {
    /// Writes the header, ciphertext length included: what the AEAD's
    /// associated data ends with. The caller has bounded `ciphertext_len`.
    pub(crate) fn write(&self, out: &mut Vec<u8>, ciphertext_len: usize) {
        Writer::new(out)
            .header(TYPE_GROUP_MESSAGE)
            .u8(super::SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.epoch)
            .u32(self.key_id)
            .u32(self.iteration)
            .length(ciphertext_len);
    }
}

/// A whole group message as bytes, borrowing its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupMessageFrame<'a> {
    pub(crate) header: GroupHeaderFrame,
    pub(crate) ciphertext: &'a [u8],
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl GroupMessageFrame<'_> {
    /// The length of the bytes the signature covers (all before it).
    pub(crate) fn signed_len(&self) -> usize {
        GROUP_MESSAGE_HEADER_LEN + self.ciphertext.len()
    }
}

impl<'a> Frame<'a> for GroupMessageFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        self.signed_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.header.write(out, self.ciphertext.len());
        Writer::new(out)
            .bytes(self.ciphertext)
            .bytes(&self.signature);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::GroupMessage);
        r.header(TYPE_GROUP_MESSAGE)?;
        r.suite()?;
        let header = GroupHeaderFrame {
            group_id: r.array()?,
            epoch: r.u64()?,
            key_id: r.u32()?,
            iteration: r.u32()?,
        };
        let len = r.length(MIN_CIPHERTEXT_LEN, MAX_CIPHERTEXT_LEN)?;
        let ciphertext = r.take(len)?;
        let signature = r.array()?;
        r.finish()?;
        Ok(GroupMessageFrame {
            header,
            ciphertext,
            signature,
        })
    }
}

/// A sender-key distribution as bytes. The chain key is borrowed, so
/// decoding leaves no copy of it behind; the typed distribution owns it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SenderKeyDistributionFrame<'a> {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) key_id: u32,
    pub(crate) iteration: u32,
    pub(crate) chain_key: &'a [u8; 32],
    pub(crate) signing_key: [u8; KEY_LEN],
}

impl<'a> Frame<'a> for SenderKeyDistributionFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        SENDER_KEY_DISTRIBUTION_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_SENDER_KEY_DISTRIBUTION)
            .u8(super::SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.epoch)
            .u32(self.key_id)
            .u32(self.iteration)
            .bytes(self.chain_key)
            .bytes(&self.signing_key);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SenderKeyDistribution);
        r.header(TYPE_SENDER_KEY_DISTRIBUTION)?;
        r.suite()?;
        let frame = SenderKeyDistributionFrame {
            group_id: r.array()?,
            epoch: r.u64()?,
            key_id: r.u32()?,
            iteration: r.u32()?,
            chain_key: r.array_ref()?,
            signing_key: r.array()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(ciphertext: &[u8]) -> GroupMessageFrame<'_> {
        GroupMessageFrame {
            header: GroupHeaderFrame {
                group_id: [7; 32],
                epoch: 0x0102_0304_0506_0708,
                key_id: 0x0a0b_0c0d,
                iteration: 5,
            },
            ciphertext,
            signature: [9; 64],
        }
    }

    #[test]
    fn a_group_message_has_the_documented_layout_and_round_trips() {
        let ct = [3u8; MIN_CIPHERTEXT_LEN];
        let f = message(&ct);
        let bytes = f.to_vec();
        assert_eq!(bytes.len(), crate::limits::MIN_GROUP_MESSAGE_LEN);
        assert_eq!(bytes.len(), f.encoded_len());
        assert_eq!(&bytes[..3], &[1, 0x70, 1]);
        assert_eq!(&bytes[3..35], &[7; 32]);
        assert_eq!(&bytes[35..43], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[43..47], &[10, 11, 12, 13]);
        assert_eq!(&bytes[47..51], &[0, 0, 0, 5]);
        assert_eq!(&bytes[51..55], &[0, 0, 0, 17]);
        assert_eq!(&bytes[55..72], &ct);
        assert_eq!(&bytes[72..], &[9; 64]);
        assert_eq!(GroupMessageFrame::decode(&bytes), Ok(f));
    }

    #[test]
    fn a_group_message_is_decoded_strictly() {
        let ct = [3u8; 40];
        let bytes = message(&ct).to_vec();
        for cut in 0..bytes.len() {
            assert!(
                GroupMessageFrame::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let long = [&bytes[..], &[0]].concat();
        assert_eq!(
            GroupMessageFrame::decode(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::GroupMessage,
                count: 1
            })
        );
        for (at, value, want) in [
            (0, 2, DecodeError::UnsupportedVersion { found: 2 }),
            (
                1,
                0x71,
                DecodeError::UnexpectedType {
                    expected: WireType::GroupMessage,
                    found: 0x71,
                },
            ),
            (2, 2, DecodeError::UnsupportedSuite { found: 2 }),
        ] {
            let mut b = bytes.clone();
            b[at] = value;
            assert_eq!(GroupMessageFrame::decode(&b), Err(want));
        }
        // A ciphertext length out of bounds is refused before its bytes.
        for len in [0u32, 16, (MAX_CIPHERTEXT_LEN + 1) as u32, u32::MAX] {
            let mut b = bytes.clone();
            b[51..55].copy_from_slice(&len.to_be_bytes());
            assert!(matches!(
                GroupMessageFrame::decode(&b),
                Err(DecodeError::LengthOutOfRange { found, .. }) if found == len as usize
            ));
        }
    }

    #[test]
    fn a_distribution_has_the_documented_layout_and_is_decoded_strictly() {
        let chain_key = [0x55; 32];
        let f = SenderKeyDistributionFrame {
            group_id: [1; 32],
            epoch: 2,
            key_id: 3,
            iteration: 4,
            chain_key: &chain_key,
            signing_key: [6; 32],
        };
        let bytes = f.to_secret_vec();
        assert_eq!(bytes.len(), SENDER_KEY_DISTRIBUTION_LEN);
        assert_eq!(&bytes[..3], &[1, 0x71, 1]);
        assert_eq!(&bytes[47..51], &[0, 0, 0, 4]);
        assert_eq!(&bytes[51..83], &chain_key);
        assert_eq!(&bytes[83..], &[6; 32]);
        assert!(SenderKeyDistributionFrame::decode(&bytes) == Ok(f));
        for cut in 0..bytes.len() {
            assert!(SenderKeyDistributionFrame::decode(&bytes[..cut]).is_err());
        }
        let long = [&bytes[..], &[0]].concat();
        assert!(SenderKeyDistributionFrame::decode(&long).is_err());
        let mut other = bytes.to_vec();
        other[1] = 0x70;
        assert!(SenderKeyDistributionFrame::decode(&other).is_err());
    }
}
