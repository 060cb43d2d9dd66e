//! A user address embedded in other encodings (a device list), read and
//! written on a [`Reader`]/[`Writer`].
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
//! An address's only rule is the length of its ids, which the reader
//! checks before reading the ids.

use super::{Reader, Writer};
use crate::address::UserAddress;
use crate::error::DecodeError;
use crate::limits::{MAX_APP_ID_LEN, MAX_USER_ID_LEN};

/// A user address's ids, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserAddressFrame<'a> {
    pub(crate) app_id: &'a [u8],
    pub(crate) user_id: &'a [u8],
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

    /// The typed address; the lengths were checked when the frame was read.
    pub(crate) fn to_address(self) -> crate::Result<UserAddress> {
        UserAddress::new(self.app_id, self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireType;

    #[test]
    fn the_embedded_form_round_trips_and_bounds_each_length() {
        let address = UserAddress::new(b"chirp", b"alice").unwrap();
        let frame = UserAddressFrame::of(&address);
        let mut out = Vec::new();
        frame.write_embedded(&mut Writer::new(&mut out));
        assert_eq!(out, b"\x05chirp\x00\x05alice");
        assert_eq!(out.len(), frame.embedded_len());
        let mut r = Reader::new(&out, WireType::DeviceList);
        assert_eq!(UserAddressFrame::read_embedded(&mut r).unwrap(), frame);
        assert!(r.finish().is_ok());
        for bad in [
            &b"\x00\x00\x01a"[..],
            b"\x41",
            b"\x01a\x00\x00",
            b"\x01a\x01\x01",
        ] {
            let mut r = Reader::new(bad, WireType::DeviceList);
            assert!(matches!(
                UserAddressFrame::read_embedded(&mut r),
                Err(DecodeError::LengthOutOfRange { .. })
            ));
        }
    }
}
