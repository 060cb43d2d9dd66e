//! The `DeviceList` frame: a user's signed, versioned, hash-chained list
//! of devices (PROTOCOL.md §12). The typed list, its checks, its
//! signature and its history rules live in `keys/device_list.rs`.
//!
//! Wire layout (197 to 1175 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x52 (DeviceList)
//!      2     1  suite             = 0x01
//!      3    32  user_key          the user's Ed25519 user identity key
//!     35     1  app_id_len        u8, 1 ..= MAX_APP_ID_LEN (64)
//!      …     a  app_id
//!      …     2  user_id_len       u16, 1 ..= MAX_USER_ID_LEN (256)
//!      …     u  user_id
//!      …     8  list_version      u64, ≥ 1
//!      …    32  previous_hash     the hash of list list_version − 1;
//!                                 all zero if and only if list_version = 1
//!      …     8  created_at        u64, seconds since the Unix epoch
//!      …     1  device_count      u8, 1 ..= MAX_DEVICES_PER_USER (16)
//!      …  44·n  devices           device_count entries, strictly ascending by id:
//!                 4  device_id    u32
//!                32  identity_key the device's Ed25519 identity key
//!                 8  added_at     u64, seconds since the Unix epoch
//!      …    64  signature         Ed25519 by user_key over
//!                                 "KINSEAL-v1 device list\0" ‖ every byte before it
//! ```
//!
//! The list's hash is SHA-256 over "KINSEAL-v1 device list hash\0" ‖ the
//! whole encoding, signature included.

use super::{Frame, Reader, SIGNATURE_LEN, SUITE_V1, TYPE_DEVICE_LIST, UserAddressFrame, Writer};
use crate::error::{DecodeError, WireType};
use crate::limits::{DEVICE_LIST_ENTRY_LEN, MAX_DEVICES_PER_USER};
use crate::sizes::KEY_LEN;

/// The length of a SHA-256 list hash.
pub(crate) const DEVICE_LIST_HASH_LEN: usize = 32;

/// One device of a list, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceEntryFrame {
    pub(crate) device_id: u32,
    pub(crate) identity_key: [u8; KEY_LEN],
    pub(crate) added_at: u64,
}

/// Everything the list signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceListBodyFrame<'a> {
    pub(crate) user_key: [u8; KEY_LEN],
    pub(crate) address: UserAddressFrame<'a>,
    pub(crate) list_version: u64,
    pub(crate) previous_hash: [u8; DEVICE_LIST_HASH_LEN],
    pub(crate) created_at: u64,
    pub(crate) devices: Vec<DeviceEntryFrame>,
}

/// A whole device list as bytes: the body and the user key's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceListFrame<'a> {
    pub(crate) body: DeviceListBodyFrame<'a>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl DeviceListBodyFrame<'_> {
    /// The length of the body: the list's without its signature.
    pub(crate) fn encoded_len(&self) -> usize {
        3 + KEY_LEN
            + self.address.embedded_len()
            + 8
            + DEVICE_LIST_HASH_LEN
            + 8
            + 1
            + DEVICE_LIST_ENTRY_LEN * self.devices.len()
    }

    /// Appends everything before the signature to `out`: what the
    /// signature covers. The device count is bounded by the caller
    /// (the typed list, or the decoder).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_DEVICE_LIST)
            .u8(SUITE_V1)
            .bytes(&self.user_key);
        self.address.write_embedded(&mut w);
        w.u64(self.list_version)
            .bytes(&self.previous_hash)
            .u64(self.created_at)
            .u8(u8::try_from(self.devices.len()).unwrap_or(u8::MAX));
        for d in &self.devices {
            w.u32(d.device_id).bytes(&d.identity_key).u64(d.added_at);
        }
    }

    /// The body's encoding, in a buffer with room for the signature.
    pub(crate) fn to_vec_with_room(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() + SIGNATURE_LEN);
        self.encode(&mut out);
        out
    }
}

// The device count fits its byte.
const _: () = assert!(MAX_DEVICES_PER_USER <= u8::MAX as usize);

impl<'a> Frame<'a> for DeviceListFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        self.body.encoded_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        out.extend_from_slice(&self.signature);
    }

    /// Decodes a list's structure, front to back: the header, each id
    /// length before its id, a version of 0 (`InvalidField`), the device
    /// count against `1 ..= MAX_DEVICES_PER_USER` before the entries it
    /// counts (`LengthOutOfRange`), the signature, no trailing bytes. Keys
    /// and the order of the entries are checked one floor up.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::DeviceList);
        r.header(TYPE_DEVICE_LIST)?;
        r.suite()?;
        let user_key = r.array()?;
        let address = UserAddressFrame::read_embedded(&mut r)?;
        let list_version = r.u64()?;
        if list_version == 0 {
            return Err(DecodeError::InvalidField {
                wire_type: WireType::DeviceList,
                field: "list_version",
                found: 0,
            });
        }
        let previous_hash = r.array()?;
        let created_at = r.u64()?;
        let count = r.u8()?.into();
        let count = r.check_len(count, 1, MAX_DEVICES_PER_USER)?;
        let mut devices = Vec::with_capacity(count);
        for _ in 0..count {
            devices.push(DeviceEntryFrame {
                device_id: r.u32()?,
                identity_key: r.array()?,
                added_at: r.u64()?,
            });
        }
        let signature = r.array()?;
        r.finish()?;
        Ok(DeviceListFrame {
            body: DeviceListBodyFrame {
                user_key,
                address,
                list_version,
                previous_hash,
                created_at,
                devices,
            },
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        MAX_APP_ID_LEN, MAX_DEVICE_LIST_LEN, MAX_USER_ID_LEN, MIN_DEVICE_LIST_LEN,
    };

    fn frame<'a>(app: &'a [u8], user: &'a [u8], n: u32) -> DeviceListFrame<'a> {
        DeviceListFrame {
            body: DeviceListBodyFrame {
                user_key: [0x11; KEY_LEN],
                address: UserAddressFrame {
                    app_id: app,
                    user_id: user,
                },
                list_version: 2,
                previous_hash: [0x22; 32],
                created_at: 3,
                devices: (0..n)
                    .map(|i| DeviceEntryFrame {
                        device_id: i,
                        identity_key: [0x33; KEY_LEN],
                        added_at: 4,
                    })
                    .collect(),
            },
            signature: [0x44; SIGNATURE_LEN],
        }
    }

    #[test]
    fn lengths_are_exact_and_the_layout_round_trips() {
        let long_app = [b'a'; MAX_APP_ID_LEN];
        let long_user = [b'u'; MAX_USER_ID_LEN];
        for (f, len) in [
            (frame(b"a", b"u", 1), MIN_DEVICE_LIST_LEN),
            (
                frame(&long_app, &long_user, MAX_DEVICES_PER_USER as u32),
                MAX_DEVICE_LIST_LEN,
            ),
        ] {
            let bytes = f.to_vec();
            assert_eq!(bytes.len(), f.encoded_len());
            assert_eq!(bytes.len(), len);
            assert_eq!(bytes[..3], [1, TYPE_DEVICE_LIST, SUITE_V1]);
            assert_eq!(DeviceListFrame::decode(&bytes).unwrap(), f);
            assert_eq!(f.body.to_vec_with_room()[..], bytes[..len - SIGNATURE_LEN]);
        }
    }
}
