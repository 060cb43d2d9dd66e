//! The sender-key records a device keeps at rest (PROTOCOL.md §16.4):
//! its own sender key for a group, and what it holds of another device's.
//! Both are secret; the checks of what they hold live in `group/`.
//!
//! Sender key record (115 bytes):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x74 (SenderKeyRecord)
//!      2     1  suite             = 0x01
//!      3    32  group_id
//!     35     8  epoch             u64
//!     43     4  key_id            u32
//!     47     4  iteration         u32, of the next message to send
//!     51    32  chain_key         secret, at that iteration
//!     83    32  signing_secret    secret, the Ed25519 secret key
//! ```
//!
//! Received sender key record (132 to 72 450 bytes):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x75 (ReceivedSenderKeyRecord)
//!      2     1  suite             = 0x01
//!      3    32  group_id
//!     35     8  epoch             u64
//!     43     4  key_id            u32
//!     47     4  floor             u32, no key below this iteration is held
//!     51     4  next_iteration    u32, ≥ floor, the chain key's iteration
//!     55    32  chain_key         secret
//!     87    32  signing_key       the sender key's Ed25519 public key
//!    119     s  sender            the sender's embedded device address
//!      …     4  skipped_count     u32, 0 ..= MAX_GROUP_SKIPPED_KEYS (2 000)
//!      …  36·n  skipped           strictly ascending, floor ≤ iteration < next:
//!                 4  iteration    u32
//!                32  seed         secret, the message-key seed
//! ```

use super::{
    DeviceAddressFrame, Frame, Reader, TYPE_RECEIVED_SENDER_KEY, TYPE_SENDER_KEY_RECORD, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{
    MAX_GROUP_SKIPPED_KEYS, RECEIVED_SENDER_KEY_FIXED_LEN, RECEIVED_SKIPPED_ENTRY_LEN,
    SENDER_KEY_RECORD_LEN,
};
use crate::sizes::{GROUP_ID_LEN, KEY_LEN};

/// A sending device's sender key, as bytes (its secrets borrowed).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SenderKeyRecordFrame<'a> {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) key_id: u32,
    pub(crate) iteration: u32,
    pub(crate) chain_key: &'a [u8; 32],
    pub(crate) signing_secret: &'a [u8; 32],
}

impl<'a> Frame<'a> for SenderKeyRecordFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        SENDER_KEY_RECORD_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_SENDER_KEY_RECORD)
            .u8(super::SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.epoch)
            .u32(self.key_id)
            .u32(self.iteration)
            .bytes(self.chain_key)
            .bytes(self.signing_secret);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SenderKeyRecord);
        r.header(TYPE_SENDER_KEY_RECORD)?;
        r.suite()?;
        let frame = SenderKeyRecordFrame {
            group_id: r.array()?,
            epoch: r.u64()?,
            key_id: r.u32()?,
            iteration: r.u32()?,
            chain_key: r.array_ref()?,
            signing_secret: r.array_ref()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

/// A receiving device's record of another device's sender key, as bytes
/// (its secrets borrowed).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ReceivedSenderKeyFrame<'a> {
    pub(crate) group_id: [u8; GROUP_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) key_id: u32,
    pub(crate) floor: u32,
    pub(crate) next_iteration: u32,
    pub(crate) chain_key: &'a [u8; 32],
    pub(crate) signing_key: [u8; KEY_LEN],
    pub(crate) sender: DeviceAddressFrame<'a>,
    pub(crate) skipped: Vec<(u32, &'a [u8; 32])>,
}

impl<'a> Frame<'a> for ReceivedSenderKeyFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        RECEIVED_SENDER_KEY_FIXED_LEN
            + self.sender.embedded_len()
            + 4
            + self.skipped.len() * RECEIVED_SKIPPED_ENTRY_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_RECEIVED_SENDER_KEY)
            .u8(super::SUITE_V1)
            .bytes(&self.group_id)
            .u64(self.epoch)
            .u32(self.key_id)
            .u32(self.floor)
            .u32(self.next_iteration)
            .bytes(self.chain_key)
            .bytes(&self.signing_key);
        self.sender.write_embedded(&mut w);
        w.length(self.skipped.len());
        for (iteration, seed) in &self.skipped {
            w.u32(*iteration).bytes(*seed);
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::ReceivedSenderKeyRecord);
        r.header(TYPE_RECEIVED_SENDER_KEY)?;
        r.suite()?;
        let group_id = r.array()?;
        let epoch = r.u64()?;
        let key_id = r.u32()?;
        let floor = r.u32()?;
        let next_iteration = r.u32()?;
        let chain_key = r.array_ref()?;
        let signing_key = r.array()?;
        let sender = DeviceAddressFrame::read_embedded(&mut r)?;
        let count = r.length(0, MAX_GROUP_SKIPPED_KEYS as usize)?;
        let mut skipped = Vec::new();
        for _ in 0..count {
            skipped.push((r.u32()?, r.array_ref()?));
        }
        r.finish()?;
        Ok(ReceivedSenderKeyFrame {
            group_id,
            epoch,
            key_id,
            floor,
            next_iteration,
            chain_key,
            signing_key,
            sender,
            skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::UserAddressFrame;

    #[test]
    fn records_have_the_documented_layouts_and_round_trip() {
        let (ck, sk) = ([1u8; 32], [2u8; 32]);
        let f = SenderKeyRecordFrame {
            group_id: [3; 32],
            epoch: 4,
            key_id: 5,
            iteration: 6,
            chain_key: &ck,
            signing_secret: &sk,
        };
        let b = f.to_secret_vec();
        assert_eq!(b.len(), SENDER_KEY_RECORD_LEN);
        assert_eq!(&b[..3], &[1, 0x74, 1]);
        assert_eq!(&b[47..51], &[0, 0, 0, 6]);
        assert_eq!(&b[83..], &sk);
        assert!(SenderKeyRecordFrame::decode(&b) == Ok(f));
        for cut in 0..b.len() {
            assert!(SenderKeyRecordFrame::decode(&b[..cut]).is_err());
        }
        assert!(SenderKeyRecordFrame::decode(&[&b[..], &[0]].concat()).is_err());

        let seeds = [[7u8; 32], [8u8; 32]];
        let f = ReceivedSenderKeyFrame {
            group_id: [3; 32],
            epoch: 4,
            key_id: 5,
            floor: 1,
            next_iteration: 9,
            chain_key: &ck,
            signing_key: [6; 32],
            sender: DeviceAddressFrame {
                user: UserAddressFrame {
                    app_id: b"a",
                    user_id: b"u",
                },
                device_id: 3,
            },
            skipped: vec![(2, &seeds[0]), (5, &seeds[1])],
        };
        let b = f.to_secret_vec();
        assert_eq!(b.len(), f.encoded_len());
        assert_eq!(b.len(), 119 + 9 + 4 + 72);
        assert_eq!(&b[..3], &[1, 0x75, 1]);
        assert_eq!(&b[119..128], &[1, b'a', 0, 1, b'u', 0, 0, 0, 3]);
        assert_eq!(&b[128..132], &[0, 0, 0, 2]);
        assert!(ReceivedSenderKeyFrame::decode(&b) == Ok(f));
        for cut in 0..b.len() {
            assert!(ReceivedSenderKeyFrame::decode(&b[..cut]).is_err());
        }
        assert!(ReceivedSenderKeyFrame::decode(&[&b[..], &[0]].concat()).is_err());
        // A count above the bound is refused before the entries are read.
        let mut big = b[..132].to_vec();
        big[128..132].copy_from_slice(&(MAX_GROUP_SKIPPED_KEYS + 1).to_be_bytes());
        assert!(matches!(
            ReceivedSenderKeyFrame::decode(&big),
            Err(DecodeError::LengthOutOfRange { .. })
        ));
    }
}
