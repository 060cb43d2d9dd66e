//! Where a device lives in a directory: an app, a user of that app, a device
//! of that user.

use core::fmt;

use crate::error::{AddressError, AddressField};
use crate::limits::{MAX_APP_ID_LEN, MAX_USER_ID_LEN};

/// A user of one app: an app id and a user id, both opaque, non-empty
/// byte strings of bounded length ([`MAX_APP_ID_LEN`],
/// [`MAX_USER_ID_LEN`]).
///
/// Users of different apps are different users, even with equal user ids:
/// one directory can serve a whole family of apps.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserAddress {
    app_id: Box<[u8]>,
    user_id: Box<[u8]>,
}

impl UserAddress {
    /// Checks the lengths and builds the address.
    ///
    /// # Errors
    /// [`AddressError::OutOfRange`] for an empty or too long app id
    /// or user id.
    pub fn new(app_id: &[u8], user_id: &[u8]) -> crate::Result<Self> {
        check(AddressField::AppId, app_id, MAX_APP_ID_LEN)?;
        check(AddressField::UserId, user_id, MAX_USER_ID_LEN)?;
        Ok(UserAddress {
            app_id: app_id.into(),
            user_id: user_id.into(),
        })
    }

    /// The app id.
    pub fn app_id(&self) -> &[u8] {
        &self.app_id
    }

    /// The user id.
    pub fn user_id(&self) -> &[u8] {
        &self.user_id
    }

    /// The address of one of this user's devices.
    pub fn device(&self, device_id: u32) -> DeviceAddress {
        DeviceAddress {
            user: self.clone(),
            device_id,
        }
    }
}

/// Checks that `value` is 1 ..= `max` bytes and returns its length in the
/// width `L` it is kept in (which `max` fits).
fn check(field: AddressField, value: &[u8], max: usize) -> Result<(), AddressError> {
    if value.is_empty() || value.len() > max {
        return Err(AddressError::OutOfRange {
            field,
            min: 1,
            max,
            found: value.len(),
        });
    }
    Ok(())
}

impl fmt::Debug for UserAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            String::from_utf8_lossy(&self.app_id).escape_debug(),
            String::from_utf8_lossy(&self.user_id).escape_debug()
        )
    }
}

/// One device of one user of one app. Device ids are chosen by the server
/// (any `u32`); the directory keeps at most
/// [`MAX_DEVICES_PER_USER`](crate::limits::MAX_DEVICES_PER_USER) per user.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceAddress {
    user: UserAddress,
    device_id: u32,
}

impl DeviceAddress {
    /// Checks the lengths and builds the address.
    ///
    /// # Errors
    /// As [`UserAddress::new`].
    pub fn new(app_id: &[u8], user_id: &[u8], device_id: u32) -> crate::Result<Self> {
        Ok(UserAddress::new(app_id, user_id)?.device(device_id))
    }

    /// The user the device belongs to.
    pub fn user(&self) -> &UserAddress {
        &self.user
    }

    /// The app id.
    pub fn app_id(&self) -> &[u8] {
        self.user.app_id()
    }

    /// The user id.
    pub fn user_id(&self) -> &[u8] {
        self.user.user_id()
    }

    /// The device id.
    pub fn device_id(&self) -> u32 {
        self.device_id
    }
}

impl fmt::Debug for DeviceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{}", self.user, self.device_id)
    }
}
