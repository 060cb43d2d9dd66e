//! The group records a client keeps at rest (STORAGE.md §4.9–§4.10):
//! one per group, and one per group and sending device. Both
//! are secret and stored sealed; what they hold is checked one layer up.
//!
//! Group record:
//!
//! ```text
//! field                size  notes
//! version                 1  = 0x01
//! type                    1  = 0x3c (GroupRecord)
//! state_len               4  u32, MIN_GROUP_STATE_LEN ..= MAX_GROUP_STATE_LEN
//! state           state_len  the current group state (type 0x72)
//! has_previous            1  flag: a change was applied since the group began here
//!   previous_len          4  u32, as state_len
//!   previous   previous_len  the state before the current one (type 0x72)
//!   change_hash          32  the hash of the change between them
//! has_sender_key          1  flag: this device has a sender key for the group
//!   sender_key          115  its sender-key record (type 0x74, secret)
//!   created_at            8  u64, when it was made
//!   sent                  4  u32, how many messages it encrypted
//!   distributed_count     4  u32, 0 ..= MAX_GROUP_DEVICES
//!   distributed           …  the devices it was sent to, each an embedded
//!                            device address
//! ```
//!
//! Sender-keys record, what a device holds of one other device's sender
//! keys for one group:
//!
//! ```text
//! field                size  notes
//! version                 1  = 0x01
//! type                    1  = 0x3d (GroupSenderKeysRecord)
//! count                   1  u8, 1 ..= MAX_SENDER_KEYS_PER_DEVICE, oldest first
//! count × key:
//!   length                4  u32, MIN_RECEIVED_SENDER_KEY_LEN ..= MAX_RECEIVED_SENDER_KEY_LEN
//!   key              length  a received sender-key record (type 0x75, secret)
//! ```

use super::{DeviceAddressFrame, Frame, Reader, TYPE_GROUP_RECORD, TYPE_GROUP_SENDER_KEYS, Writer};
use crate::error::{DecodeError, WireType};
use crate::limits::{
    MAX_GROUP_DEVICES, MAX_GROUP_STATE_LEN, MAX_RECEIVED_SENDER_KEY_LEN,
    MAX_SENDER_KEYS_PER_DEVICE, MIN_GROUP_STATE_LEN, MIN_RECEIVED_SENDER_KEY_LEN,
    SENDER_KEY_RECORD_LEN,
};

/// This device's own sender key for a group, and what became of it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct OwnSenderKeyFrame<'a> {
    /// The sender-key record (type 0x74).
    pub(crate) sender_key: &'a [u8],
    pub(crate) created_at: u64,
    pub(crate) sent: u32,
    pub(crate) distributed: Vec<DeviceAddressFrame<'a>>,
}

/// A group record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct GroupRecordFrame<'a> {
    pub(crate) state: &'a [u8],
    /// The state before, and the hash of the change that made the current one.
    pub(crate) previous: Option<(&'a [u8], [u8; 32])>,
    pub(crate) sender_key: Option<OwnSenderKeyFrame<'a>>,
}

impl<'a> Frame<'a> for GroupRecordFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + 4
            + self.state.len()
            + 1
            + self.previous.map_or(0, |(p, _)| 4 + p.len() + 32)
            + 1
            + self.sender_key.as_ref().map_or(0, |k| {
                k.sender_key.len()
                    + 8
                    + 4
                    + 4
                    + k.distributed
                        .iter()
                        .map(DeviceAddressFrame::embedded_len)
                        .sum::<usize>()
            })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_GROUP_RECORD)
            .length(self.state.len())
            .bytes(self.state);
        w.flag(self.previous.is_some());
        if let Some((previous, hash)) = &self.previous {
            w.length(previous.len()).bytes(previous).bytes(hash);
        }
        w.flag(self.sender_key.is_some());
        if let Some(key) = &self.sender_key {
            w.bytes(key.sender_key)
                .u64(key.created_at)
                .u32(key.sent)
                .length(key.distributed.len());
            for device in &key.distributed {
                device.write_embedded(&mut w);
            }
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::GroupRecord);
        r.header(TYPE_GROUP_RECORD)?;
        let len = r.length(MIN_GROUP_STATE_LEN, MAX_GROUP_STATE_LEN)?;
        let state = r.take(len)?;
        let previous = match r.flag("has_previous")? {
            true => {
                let len = r.length(MIN_GROUP_STATE_LEN, MAX_GROUP_STATE_LEN)?;
                let previous = r.take(len)?;
                Some((previous, r.array()?))
            }
            false => None,
        };
        let sender_key = match r.flag("has_sender_key")? {
            true => {
                let sender_key = r.take(SENDER_KEY_RECORD_LEN)?;
                let created_at = r.u64()?;
                let sent = r.u32()?;
                let count = r.length(0, MAX_GROUP_DEVICES)?;
                // Each address is at least 11 bytes: bound the allocation
                // by what the input can hold.
                let mut distributed = Vec::with_capacity(count.min(bytes.len() / 8));
                for _ in 0..count {
                    distributed.push(DeviceAddressFrame::read_embedded(&mut r)?);
                }
                Some(OwnSenderKeyFrame {
                    sender_key,
                    created_at,
                    sent,
                    distributed,
                })
            }
            false => None,
        };
        r.finish()?;
        Ok(GroupRecordFrame {
            state,
            previous,
            sender_key,
        })
    }
}

/// What a device holds of one other device's sender keys for one group.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct GroupSenderKeysFrame<'a> {
    /// Received sender-key records (type 0x75), oldest first.
    pub(crate) keys: Vec<&'a [u8]>,
}

impl<'a> Frame<'a> for GroupSenderKeysFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + 1 + self.keys.iter().map(|k| 4 + k.len()).sum::<usize>()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_GROUP_SENDER_KEYS);
        // At most MAX_SENDER_KEYS_PER_DEVICE (2): the account's own bound.
        w.u8(u8::try_from(self.keys.len()).unwrap_or(u8::MAX));
        for key in &self.keys {
            w.length(key.len()).bytes(key);
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::GroupSenderKeysRecord);
        r.header(TYPE_GROUP_SENDER_KEYS)?;
        let count = usize::from(r.u8()?);
        if !(1..=MAX_SENDER_KEYS_PER_DEVICE).contains(&count) {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::GroupSenderKeysRecord,
                min: 1,
                max: MAX_SENDER_KEYS_PER_DEVICE,
                found: count,
            });
        }
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            let len = r.length(MIN_RECEIVED_SENDER_KEY_LEN, MAX_RECEIVED_SENDER_KEY_LEN)?;
            keys.push(r.take(len)?);
        }
        r.finish()?;
        Ok(GroupSenderKeysFrame { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceAddress;

    fn record<'a>(
        state: &'a [u8],
        key: &'a [u8],
        devices: &'a [DeviceAddress],
    ) -> GroupRecordFrame<'a> {
        GroupRecordFrame {
            state,
            previous: Some((state, [3; 32])),
            sender_key: Some(OwnSenderKeyFrame {
                sender_key: key,
                created_at: 1_700_000_000,
                sent: 42,
                distributed: devices.iter().map(DeviceAddressFrame::of).collect(),
            }),
        }
    }

    #[test]
    fn a_group_record_round_trips_with_and_without_its_parts() {
        let state = vec![1u8; MIN_GROUP_STATE_LEN];
        let key = vec![2u8; SENDER_KEY_RECORD_LEN];
        let devices = [
            DeviceAddress::new(b"app.one", b"alice", 1).unwrap(),
            DeviceAddress::new(b"app.two", b"bob", 7).unwrap(),
        ];
        let full = record(&state, &key, &devices);
        let bare = GroupRecordFrame {
            state: &state,
            previous: None,
            sender_key: None,
        };
        for frame in [full, bare] {
            let bytes = frame.to_vec();
            assert_eq!(bytes.len(), frame.encoded_len());
            assert_eq!(GroupRecordFrame::decode(&bytes).unwrap(), frame);
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(matches!(
                GroupRecordFrame::decode(&longer),
                Err(DecodeError::TrailingBytes { .. })
            ));
            for cut in [0, 1, 5, bytes.len() - 1] {
                assert!(GroupRecordFrame::decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn a_sender_keys_record_round_trips_and_bounds_its_count() {
        let a = vec![5u8; MIN_RECEIVED_SENDER_KEY_LEN];
        let b = vec![6u8; MIN_RECEIVED_SENDER_KEY_LEN + 36];
        let frame = GroupSenderKeysFrame { keys: vec![&a, &b] };
        let bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.encoded_len());
        assert_eq!(GroupSenderKeysFrame::decode(&bytes).unwrap(), frame);
        for count in [0u8, 3] {
            let mut bad = bytes.clone();
            bad[2] = count;
            assert!(matches!(
                GroupSenderKeysFrame::decode(&bad),
                Err(DecodeError::LengthOutOfRange { .. })
            ));
        }
        let short = vec![5u8; MIN_RECEIVED_SENDER_KEY_LEN - 1];
        let bytes = GroupSenderKeysFrame { keys: vec![&short] }.to_vec();
        assert!(matches!(
            GroupSenderKeysFrame::decode(&bytes),
            Err(DecodeError::LengthOutOfRange { .. })
        ));
    }
}
