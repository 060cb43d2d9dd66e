//! A prekey directory in memory, behind one lock.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::directory::{DeviceInfo, HighestIds, PreKeyDirectory, Registration, TakenBundle};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::PreKeyRole;
use crate::error::{DirectoryError, StorageError};
use crate::keys::{IdentityKey, KemPreKey, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::keys::{PreKeyCounts, VerifiedUpload};
use crate::limits::MAX_DEVICES_PER_USER;

/// A [`PreKeyDirectory`] in memory: for tests, examples, and servers that
/// keep their directory elsewhere and only need the rules.
///
/// Every operation runs under one [`Mutex`], so each is atomic and the
/// directory is linearizable; operations on different devices do not run
/// in parallel. A thread that panics while holding the lock poisons the
/// directory, and every later call fails with [`StorageError::Poisoned`].
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    devices: Mutex<BTreeMap<DeviceAddress, Device>>,
}

#[derive(Debug)]
struct Device {
    identity: IdentityKey,
    signed_prekey: Option<SignedPreKey>,
    last_resort: Option<KemPreKey>,
    one_time: BTreeMap<u32, OneTimePreKey>,
    kem: BTreeMap<u32, KemPreKey>,
    highest: HighestIds,
}

impl Device {
    fn new(identity: IdentityKey) -> Self {
        Device {
            identity,
            signed_prekey: None,
            last_resort: None,
            one_time: BTreeMap::new(),
            kem: BTreeMap::new(),
            highest: HighestIds::default(),
        }
    }

    fn counts(&self) -> PreKeyCounts {
        PreKeyCounts::new(self.one_time.len(), self.kem.len())
    }

    fn info(&self, address: &DeviceAddress) -> DeviceInfo {
        DeviceInfo::new(
            address.clone(),
            self.identity.clone(),
            self.signed_prekey
                .as_ref()
                .map(|k| (k.id(), k.created_at())),
            self.last_resort.as_ref().map(KemPreKey::id),
            self.counts(),
        )
    }
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> crate::Result<MutexGuard<'_, BTreeMap<DeviceAddress, Device>>> {
        self.devices
            .lock()
            .map_err(|_| StorageError::Poisoned.into())
    }
}

/// The devices of `user`, in device-id order.
fn user_devices<'a>(
    devices: &'a BTreeMap<DeviceAddress, Device>,
    user: &UserAddress,
) -> impl Iterator<Item = (&'a DeviceAddress, &'a Device)> {
    devices.range(user.device(0)..=user.device(u32::MAX))
}

impl PreKeyDirectory for MemoryDirectory {
    fn register(
        &self,
        device: &DeviceAddress,
        identity: &IdentityKey,
    ) -> crate::Result<Registration> {
        let mut devices = self.lock()?;
        if let Some(existing) = devices.get_mut(device) {
            if existing.identity == *identity {
                return Ok(Registration::Unchanged);
            }
            *existing = Device::new(identity.clone());
            return Ok(Registration::Replaced);
        }
        let count = user_devices(&devices, device.user()).count();
        if count >= MAX_DEVICES_PER_USER {
            return Err(DirectoryError::TooManyDevices {
                max: MAX_DEVICES_PER_USER,
                found: count + 1,
            }
            .into());
        }
        devices.insert(device.clone(), Device::new(identity.clone()));
        Ok(Registration::New)
    }

    fn remove(&self, device: &DeviceAddress) -> crate::Result<bool> {
        Ok(self.lock()?.remove(device).is_some())
    }

    fn store(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        let mut devices = self.lock()?;
        let d = devices
            .get_mut(device)
            .ok_or(DirectoryError::UnknownDevice)?;
        let (highest, counts) = upload.check_store(&d.identity, d.highest, d.counts())?;
        let upload = upload.upload();
        if let Some(k) = upload.signed_prekey() {
            d.signed_prekey = Some(k.clone());
        }
        if let Some(k) = upload.last_resort_prekey() {
            d.last_resort = Some(k.clone());
        }
        d.one_time
            .extend(upload.one_time_prekeys().iter().map(|k| (k.id(), *k)));
        d.kem
            .extend(upload.kem_prekeys().iter().map(|k| (k.id(), k.clone())));
        d.highest = highest;
        Ok(counts)
    }

    fn take_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        let mut devices = self.lock()?;
        let d = devices
            .get_mut(device)
            .ok_or(DirectoryError::UnknownDevice)?;
        let signed_prekey = d.signed_prekey.clone().ok_or(DirectoryError::NotReady {
            missing: PreKeyRole::Signed,
        })?;
        // Check before taking anything, so that a refusal takes nothing.
        if d.kem.is_empty() && d.last_resort.is_none() {
            return Err(DirectoryError::NotReady {
                missing: PreKeyRole::Kem,
            }
            .into());
        }
        let kem_prekey = match d.kem.pop_first() {
            Some((_, k)) => k,
            None => d.last_resort.clone().ok_or(DirectoryError::NotReady {
                missing: PreKeyRole::Kem,
            })?,
        };
        let one_time = d.one_time.pop_first().map(|(_, k)| k);
        Ok(TakenBundle::new(
            PreKeyBundle::new(d.identity.clone(), signed_prekey, one_time, kem_prekey),
            d.counts(),
        ))
    }

    fn device(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo> {
        let devices = self.lock()?;
        let d = devices.get(device).ok_or(DirectoryError::UnknownDevice)?;
        Ok(d.info(device))
    }

    fn devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
        let devices = self.lock()?;
        Ok(user_devices(&devices, user)
            .map(|(address, d)| d.info(address))
            .collect())
    }
}
