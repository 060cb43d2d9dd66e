//! Linking a new device of a person by QR code: the new device's side.
//! The existing device's side is `Account::link_device`.

use std::sync::{Arc, Mutex};

use kinseal::OsRng;

use crate::account::{Once, take_once};
use crate::error::Result;
use crate::types::{DeviceAddress, DeviceList};

/// What a new device shows as a QR code to be linked, and the keys to
/// open the answer with (they stay in Rust). Used once.
#[derive(uniffi::Object)]
pub struct LinkRequest {
    code: Vec<u8>,
    request: Once<kinseal::LinkRequest>,
}

#[uniffi::export]
impl LinkRequest {
    /// A new request: the new device's identity key and a one-use key.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        let request = kinseal::LinkRequest::new(&mut OsRng);
        Arc::new(LinkRequest {
            code: request.code().to_bytes(),
            request: Mutex::new(Some(request)),
        })
    }

    /// The bytes to show as a QR code (public).
    pub fn code(&self) -> Vec<u8> {
        self.code.clone()
    }

    /// Opens the provisioning message the existing device sent. The
    /// request is used up, whether this succeeds or not (start again with
    /// a new one). Show the user `Provisioned.device_address()` to confirm
    /// before creating the account.
    pub fn open(&self, provisioning_message: Vec<u8>) -> Result<Arc<Provisioned>> {
        let request = take_once(&self.request, "this link request")?;
        let provisioned = request.open(&provisioning_message)?;
        Ok(Arc::new(Provisioned {
            address: provisioned.device_address(),
            list: DeviceList::from(provisioned.device_list()),
            provisioned: Mutex::new(Some(provisioned)),
        }))
    }
}

/// What a new device received when linked: the person's user key and its
/// own keys (all in Rust). `Account.create_linked` uses it up.
#[derive(uniffi::Object)]
pub struct Provisioned {
    address: kinseal::DeviceAddress,
    list: DeviceList,
    provisioned: Once<kinseal::Provisioned>,
}

impl Provisioned {
    pub(crate) fn take(&self) -> Result<kinseal::Provisioned> {
        take_once(&self.provisioned, "this provisioning")
    }
}

#[uniffi::export]
impl Provisioned {
    /// The address the new device will have.
    pub fn device_address(&self) -> DeviceAddress {
        (&self.address).into()
    }

    /// The device list that names it.
    pub fn device_list(&self) -> DeviceList {
        self.list.clone()
    }
}
