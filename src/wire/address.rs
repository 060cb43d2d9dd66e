//! User and device addresses: embedded in other encodings (an envelope),
//! and on their own.
//!
//! Embedded user address (5 to 323 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  app_id_len    u8, 1 ..= MAX_APP_ID_LEN (64)
//!      1     a  app_id        opaque bytes
//!    1+a     2  user_id_len   u16, 1 ..= MAX_USER_ID_LEN (256; a u16, since 256 does not fit a u8)
//!    3+a     u  user_id       opaque bytes
//! ```
//!
//! Embedded device address (9 to 327 bytes): an embedded user address,
//! then
//!
//! ```text
//!  3+a+u     4  device_id     u32
//! ```
//!
//! On its own, each opens with the version and its type byte:
//!
//! ```text
//! offset  size  field
//!      0     1  version       = 0x01
//!      1     1  type          = 0x50 (UserAddress) or 0x51 (DeviceAddress)
//!      2     …  address       the embedded form above, to the end
//! ```
//!
//! The embedded device address is the client store's address locator
//! (`docs/STORAGE.md` §3), byte for byte.
//!
//! An address's only rule is the length of its ids, which these decoders
//! check (before reading the ids); so the typed addresses' `to_bytes` and
//! `from_bytes` are here, one floor above `address.rs`, which cannot name
//! the wire layer.

use super::{Frame, Reader, TYPE_DEVICE_ADDRESS, TYPE_USER_ADDRESS, Writer};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::{DecodeError, WireType};
use crate::limits::{MAX_APP_ID_LEN, MAX_USER_ID_LEN};

/// A user address's ids, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserAddressFrame<'a> {
    pub(crate) app_id: &'a [u8],
    pub(crate) user_id: &'a [u8],
}

/// A device address's ids, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceAddressFrame<'a> {
    pub(crate) user: UserAddressFrame<'a>,
    pub(crate) device_id: u32,
}

// The lengths fit the widths they are written in.
const _: () = assert!(MAX_APP_ID_LEN <= u8::MAX as usize);
const _: () = assert!(MAX_USER_ID_LEN <= u16::MAX as usize);

impl<'a> UserAddressFrame<'a> {
    pub(crate) fn of(address: &'a UserAddress) -> Self {
        UserAddressFrame {
            app_id: address.app_id(),
            user_id: address.user_id(),
        }
    }

    /// The length of the embedded form.
    pub(crate) fn embedded_len(&self) -> usize {
        1 + self.app_id.len() + 2 + self.user_id.len()
    }

    /// Writes the embedded form. The ids' lengths are bounded by the
    /// address they came from or by the decoder that read them.
    pub(crate) fn write_embedded(&self, w: &mut Writer<'_>) {
        w.u8(u8::try_from(self.app_id.len()).unwrap_or(u8::MAX))
            .bytes(self.app_id)
            .u16(u16::try_from(self.user_id.len()).unwrap_or(u16::MAX))
            .bytes(self.user_id);
    }

    /// Reads the embedded form, each length against its range before the
    /// bytes it counts.
    pub(crate) fn read_embedded(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let len = r.u8()?.into();
        let app_id = r.take(r.check_len(len, 1, MAX_APP_ID_LEN)?)?;
        let len = r.u16()?.into();
        let user_id = r.take(r.check_len(len, 1, MAX_USER_ID_LEN)?)?;
        Ok(UserAddressFrame { app_id, user_id })
    }

    /// The embedded form on its own: also the client store's locator of a
    /// record kept per user (docs/STORAGE.md §3).
    pub(crate) fn embedded(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.embedded_len());
        self.write_embedded(&mut Writer::new(&mut out));
        out
    }

    /// The typed address; the lengths were checked when the frame was read.
    pub(crate) fn to_address(self) -> crate::Result<UserAddress> {
        UserAddress::new(self.app_id, self.user_id)
    }
}

impl<'a> DeviceAddressFrame<'a> {
    pub(crate) fn of(address: &'a DeviceAddress) -> Self {
        DeviceAddressFrame {
            user: UserAddressFrame::of(address.user()),
            device_id: address.device_id(),
        }
    }

    /// The length of the embedded form.
    pub(crate) fn embedded_len(&self) -> usize {
        self.user.embedded_len() + 4
    }

    /// Writes the embedded form.
    pub(crate) fn write_embedded(&self, w: &mut Writer<'_>) {
        self.user.write_embedded(w);
        w.u32(self.device_id);
    }

    /// The embedded form on its own: also the client store's locator of a
    /// record kept per peer device (docs/STORAGE.md §3).
    pub(crate) fn embedded(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.embedded_len());
        self.write_embedded(&mut Writer::new(&mut out));
        out
    }

    /// Reads the embedded form.
    pub(crate) fn read_embedded(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(DeviceAddressFrame {
            user: UserAddressFrame::read_embedded(r)?,
            device_id: r.u32()?,
        })
    }

    /// The typed address.
    pub(crate) fn to_address(self) -> crate::Result<DeviceAddress> {
        Ok(self.user.to_address()?.device(self.device_id))
    }
}

impl<'a> Frame<'a> for UserAddressFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + self.embedded_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_USER_ADDRESS);
        self.write_embedded(&mut w);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::UserAddress);
        r.header(TYPE_USER_ADDRESS)?;
        let frame = Self::read_embedded(&mut r)?;
        r.finish()?;
        Ok(frame)
    }
}

impl<'a> Frame<'a> for DeviceAddressFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + self.embedded_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_DEVICE_ADDRESS);
        self.write_embedded(&mut w);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::DeviceAddress);
        r.header(TYPE_DEVICE_ADDRESS)?;
        let frame = Self::read_embedded(&mut r)?;
        r.finish()?;
        Ok(frame)
    }
}

impl UserAddress {
    /// The address's canonical encoding (PROTOCOL.md §4.5): 7 to 325 bytes
    /// ([`MIN_USER_ADDRESS_LEN`](crate::wire::MIN_USER_ADDRESS_LEN),
    /// [`MAX_USER_ADDRESS_LEN`](crate::wire::MAX_USER_ADDRESS_LEN)).
    pub fn to_bytes(&self) -> Vec<u8> {
        UserAddressFrame::of(self).to_vec()
    }

    /// Decodes an address from [`UserAddress::to_bytes`]. For every
    /// accepted input `b`, `UserAddress::from_bytes(b)?.to_bytes() == b`.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::UserAddress`]: `LengthOutOfRange` for an empty or too
    /// long id (checked before the id is read), and the version, type,
    /// `Truncated` and `TrailingBytes` errors of every decoder.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        UserAddressFrame::decode(bytes)?.to_address()
    }
}

impl DeviceAddress {
    /// The address's canonical encoding (PROTOCOL.md §4.5): 11 to 329 bytes
    /// ([`MIN_DEVICE_ADDRESS_LEN`](crate::wire::MIN_DEVICE_ADDRESS_LEN),
    /// [`MAX_DEVICE_ADDRESS_LEN`](crate::wire::MAX_DEVICE_ADDRESS_LEN)).
    pub fn to_bytes(&self) -> Vec<u8> {
        DeviceAddressFrame::of(self).to_vec()
    }

    /// Decodes an address from [`DeviceAddress::to_bytes`]. For every
    /// accepted input `b`, `DeviceAddress::from_bytes(b)?.to_bytes() == b`.
    ///
    /// # Errors
    /// As [`UserAddress::from_bytes`], with [`WireType::DeviceAddress`].
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        DeviceAddressFrame::decode(bytes)?.to_address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        MAX_DEVICE_ADDRESS_LEN, MAX_USER_ADDRESS_LEN, MIN_DEVICE_ADDRESS_LEN, MIN_USER_ADDRESS_LEN,
    };

    fn longest() -> DeviceAddress {
        DeviceAddress::new(&[b'a'; MAX_APP_ID_LEN], &[b'u'; MAX_USER_ID_LEN], u32::MAX).unwrap()
    }

    fn out_of_range(wire_type: WireType, max: usize, found: usize) -> crate::Error {
        DecodeError::LengthOutOfRange {
            wire_type,
            min: 1,
            max,
            found,
        }
        .into()
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let a = DeviceAddress::new(b"chirp", b"bob", 0x0102_0304).unwrap();
        assert_eq!(
            a.to_bytes(),
            b"\x01\x51\x05chirp\x00\x03bob\x01\x02\x03\x04".to_vec()
        );
        assert_eq!(
            a.user().to_bytes(),
            b"\x01\x50\x05chirp\x00\x03bob".to_vec()
        );
    }

    #[test]
    fn shortest_and_longest_round_trip_at_their_documented_lengths() {
        let short = DeviceAddress::new(b"a", b"u", 0).unwrap();
        for (a, user_len, device_len) in [
            (short, MIN_USER_ADDRESS_LEN, MIN_DEVICE_ADDRESS_LEN),
            (longest(), MAX_USER_ADDRESS_LEN, MAX_DEVICE_ADDRESS_LEN),
        ] {
            let bytes = a.to_bytes();
            assert_eq!(bytes.len(), device_len);
            assert_eq!(DeviceAddress::from_bytes(&bytes).unwrap(), a);
            let user = a.user().to_bytes();
            assert_eq!(user.len(), user_len);
            assert_eq!(&UserAddress::from_bytes(&user).unwrap(), a.user());
        }
    }

    #[test]
    fn ids_out_of_range_are_refused_before_they_are_read() {
        // An app id length of 0 and of 65, then a user id length of 0 and
        // 257, each with no bytes after it: the range is checked first.
        let cases: [(&[u8], usize, usize); 4] = [
            (b"\x01\x50\x00", MAX_APP_ID_LEN, 0),
            (b"\x01\x50\x41", MAX_APP_ID_LEN, 65),
            (b"\x01\x50\x01a\x00\x00", MAX_USER_ID_LEN, 0),
            (b"\x01\x50\x01a\x01\x01", MAX_USER_ID_LEN, 257),
        ];
        for (bytes, max, found) in cases {
            assert_eq!(
                UserAddress::from_bytes(bytes),
                Err(out_of_range(WireType::UserAddress, max, found))
            );
        }
        assert_eq!(
            DeviceAddress::from_bytes(b"\x01\x51\x00"),
            Err(out_of_range(WireType::DeviceAddress, MAX_APP_ID_LEN, 0))
        );
    }

    #[test]
    fn version_type_truncation_and_trailing_bytes_are_refused() {
        let device = longest().to_bytes();
        let user = longest().user().to_bytes();
        let wrong_version = [&[2u8][..], &user[1..]].concat();
        assert_eq!(
            UserAddress::from_bytes(&wrong_version),
            Err(DecodeError::UnsupportedVersion { found: 2 }.into())
        );
        // Each kind refuses the other's bytes by their type byte.
        assert_eq!(
            UserAddress::from_bytes(&device),
            Err(DecodeError::UnexpectedType {
                expected: WireType::UserAddress,
                found: TYPE_DEVICE_ADDRESS
            }
            .into())
        );
        assert_eq!(
            DeviceAddress::from_bytes(&user),
            Err(DecodeError::UnexpectedType {
                expected: WireType::DeviceAddress,
                found: TYPE_USER_ADDRESS
            }
            .into())
        );
        for cut in 0..device.len() {
            let e = DeviceAddress::from_bytes(&device[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    crate::Error::Decode(DecodeError::Truncated {
                        wire_type: WireType::DeviceAddress,
                        ..
                    })
                ),
                "{cut}: {e:?}"
            );
        }
        let long = [&device[..], b"x"].concat();
        assert_eq!(
            DeviceAddress::from_bytes(&long),
            Err(DecodeError::TrailingBytes {
                wire_type: WireType::DeviceAddress,
                count: 1
            }
            .into())
        );
    }

    proptest::proptest! {
        #[test]
        fn every_address_round_trips(
            app in proptest::collection::vec(proptest::num::u8::ANY, 1..=MAX_APP_ID_LEN),
            user in proptest::collection::vec(proptest::num::u8::ANY, 1..=MAX_USER_ID_LEN),
            device in proptest::num::u32::ANY,
        ) {
            let a = DeviceAddress::new(&app, &user, device).unwrap();
            let bytes = a.to_bytes();
            proptest::prop_assert_eq!(bytes.len(), DeviceAddressFrame::of(&a).encoded_len());
            proptest::prop_assert_eq!(DeviceAddress::from_bytes(&bytes).unwrap(), a.clone());
            let user_bytes = a.user().to_bytes();
            proptest::prop_assert_eq!(&UserAddress::from_bytes(&user_bytes).unwrap(), a.user());
        }

        #[test]
        fn every_accepted_input_re_encodes_to_itself(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let mut framed = vec![1, TYPE_DEVICE_ADDRESS];
            framed.extend_from_slice(&bytes);
            if let Ok(a) = DeviceAddress::from_bytes(&framed) {
                proptest::prop_assert_eq!(a.to_bytes(), framed);
            }
        }
    }
}
