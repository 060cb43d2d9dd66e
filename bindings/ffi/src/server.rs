//! For JVM and Python servers: check a prekey upload, keep a prekey
//! directory in SQLite, and route messages by their headers. A server
//! never holds a private key or a plaintext.

use std::sync::Arc;

use kinseal::server::{self as ks, PreKeyDirectory};

use crate::error::Result;
use crate::types::{self, DeviceAddress, PreKeyCounts, UserAddress};

/// Whether a `register` was new, a no-op or replaced a device's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Registration {
    /// The device was not registered before.
    New,
    /// Same identity key; nothing changed.
    Unchanged,
    /// Another identity key was registered; its keys were deleted.
    Replaced,
    /// A result this version of the bindings does not know.
    Other,
}

/// What a valid prekey upload holds.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UploadSummary {
    /// Whether it has a new signed prekey.
    pub has_signed_prekey: bool,
    /// Whether it has a new last-resort ML-KEM prekey.
    pub has_last_resort_prekey: bool,
    /// How many one-time prekeys of each kind.
    pub counts: PreKeyCounts,
}

/// Decodes a prekey upload and checks its signatures under the device's
/// registered `identity_key`, before a server stores it by other means.
#[uniffi::export]
pub fn validate_upload(upload: Vec<u8>, identity_key: Vec<u8>) -> Result<UploadSummary> {
    let identity = types::identity_key(&identity_key)?;
    let verified = kinseal::PreKeyUpload::from_bytes(&upload)?.verify(&identity)?;
    let u = verified.upload();
    Ok(UploadSummary {
        has_signed_prekey: u.signed_prekey().is_some(),
        has_last_resort_prekey: u.last_resort_prekey().is_some(),
        counts: PreKeyCounts {
            one_time: u.one_time_prekeys().len() as u64,
            kem: u.kem_prekeys().len() as u64,
        },
    })
}

/// A registered device, as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceInfo {
    /// The device.
    pub address: DeviceAddress,
    /// Its identity key.
    pub identity_key: Vec<u8>,
    /// One-time prekeys left.
    pub counts: PreKeyCounts,
    /// Whether a bundle can be given out (a signed and a last-resort
    /// prekey are stored).
    pub ready: bool,
}

/// A prekey directory in an SQLite file: registered devices, their
/// prekeys (each one-time key given out once) and users' device lists.
/// Safe to share between threads.
#[derive(uniffi::Object)]
pub struct Directory {
    inner: ks::SqliteDirectory,
}

#[uniffi::export]
impl Directory {
    /// Opens (creating it if needed) the directory at `path`.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Directory {
            inner: ks::SqliteDirectory::open(&path)?,
        }))
    }

    /// A directory in memory (for tests).
    #[uniffi::constructor]
    pub fn open_in_memory() -> Result<Arc<Self>> {
        Ok(Arc::new(Directory {
            inner: ks::SqliteDirectory::open_in_memory()?,
        }))
    }

    /// Registers `device` with its identity key (after the app
    /// authenticated the device's user).
    pub fn register(&self, device: DeviceAddress, identity_key: Vec<u8>) -> Result<Registration> {
        let (device, key) = (device.to_core()?, types::identity_key(&identity_key)?);
        Ok(match self.inner.register(&device, &key)? {
            ks::Registration::New => Registration::New,
            ks::Registration::Unchanged => Registration::Unchanged,
            ks::Registration::Replaced => Registration::Replaced,
            _ => Registration::Other,
        })
    }

    /// Removes `device` and its keys; whether it was registered.
    pub fn remove(&self, device: DeviceAddress) -> Result<bool> {
        Ok(self.inner.remove(&device.to_core()?)?)
    }

    /// Checks and stores a prekey upload from `device`: what it holds now.
    pub fn upload(&self, device: DeviceAddress, upload: Vec<u8>) -> Result<PreKeyCounts> {
        Ok(self.inner.upload(&device.to_core()?, &upload)?.into())
    }

    /// Gives out a bundle for `device` (its one-time prekeys are taken):
    /// the bytes for `Account.start_session`.
    pub fn take_bundle(&self, device: DeviceAddress) -> Result<Vec<u8>> {
        Ok(self.inner.take_bundle(&device.to_core()?)?.to_bytes())
    }

    /// The registered devices of `user`.
    pub fn devices(&self, user: UserAddress) -> Result<Vec<DeviceInfo>> {
        let devices = self.inner.devices(&user.to_core()?)?;
        Ok(devices
            .iter()
            .map(|d| DeviceInfo {
                address: d.address().into(),
                identity_key: d.identity_key().to_bytes().to_vec(),
                counts: d.counts().into(),
                ready: d.is_ready(),
            })
            .collect())
    }

    /// Checks and stores `user`'s signed device list (it must follow the
    /// one stored).
    pub fn publish_device_list(&self, user: UserAddress, list: Vec<u8>) -> Result<()> {
        self.inner.publish_device_list(&user.to_core()?, &list)?;
        Ok(())
    }

    /// Replaces every stored list of `user` with `list`, which may start a
    /// new chain (a user who lost every device and started over, after
    /// the server authenticated them again).
    pub fn reset_device_list(&self, user: UserAddress, list: Vec<u8>) -> Result<()> {
        Ok(self.inner.reset_device_list(&user.to_core()?, &list)?)
    }

    /// `user`'s latest device list, if any.
    pub fn device_list(&self, user: UserAddress) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.device_list(&user.to_core()?)?)
    }

    /// `user`'s device lists after version `version`, oldest first.
    pub fn device_lists_since(&self, user: UserAddress, version: u64) -> Result<Vec<Vec<u8>>> {
        Ok(self.inner.device_lists_since(&user.to_core()?, version)?)
    }
}

/// The kind of a pairwise message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageKind {
    /// The first messages of a session (they carry the handshake).
    PreKeyMessage,
    /// A ratchet message.
    Message,
    /// A kind this version of the bindings does not know.
    Other,
}

/// The prekeys a `PreKeyMessage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PreKeyIds {
    /// The signed prekey.
    pub signed_prekey_id: u32,
    /// The one-time X25519 prekey, if one was used.
    pub one_time_prekey_id: Option<u32>,
    /// The ML-KEM prekey.
    pub kem_prekey_id: u32,
}

/// What a server reads from a pairwise message's header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RouteInfo {
    /// Its kind.
    pub kind: MessageKind,
    /// Its protocol version.
    pub version: u8,
    /// Its size in bytes.
    pub size: u64,
    /// The prekeys a `PreKeyMessage` names.
    pub prekeys: Option<PreKeyIds>,
}

/// Reads a pairwise message's header for routing (no key needed).
#[uniffi::export]
pub fn route(message: Vec<u8>) -> Result<RouteInfo> {
    let info = ks::route(&message)?;
    Ok(RouteInfo {
        kind: match info.kind() {
            kinseal::MessageKind::PreKeyMessage => MessageKind::PreKeyMessage,
            kinseal::MessageKind::Message => MessageKind::Message,
            _ => MessageKind::Other,
        },
        version: info.version(),
        size: info.size() as u64,
        prekeys: info.prekeys().map(|p| PreKeyIds {
            signed_prekey_id: p.signed_prekey_id(),
            one_time_prekey_id: p.one_time_prekey_id(),
            kem_prekey_id: p.kem_prekey_id(),
        }),
    })
}

/// What a server reads from a group message's header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupRouteInfo {
    /// The group's id.
    pub group: Vec<u8>,
    /// The epoch it was sent in.
    pub epoch: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// Reads a group message's header for fan-out (no key needed).
#[uniffi::export]
pub fn route_group(message: Vec<u8>) -> Result<GroupRouteInfo> {
    let info = ks::route_group(&message)?;
    Ok(GroupRouteInfo {
        group: info.group_id().as_bytes().to_vec(),
        epoch: info.epoch(),
        size: info.size() as u64,
    })
}
