//! A prekey directory in memory, behind one lock.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::directory::{DeviceInfo, HighestIds, PreKeyDirectory, Registration, TakenBundle};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::PreKeyRole;
use crate::error::{DirectoryError, StorageError};
use crate::keys::{DeviceListUpdate, PreKeyCounts, VerifiedDeviceList, VerifiedUpload};
use crate::keys::{IdentityKey, KemPreKey, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::limits::{MAX_DEVICE_LIST_HISTORY, MAX_DEVICES_PER_USER};

/// A [`PreKeyDirectory`] in memory: for tests, examples, and servers that
/// keep their directory elsewhere and only need the rules.
///
/// Every operation runs under one [`Mutex`], so each is atomic and the
/// directory is linearizable; operations on different devices do not run
/// in parallel. A thread that panics while holding the lock poisons the
/// directory, and every later call fails with [`StorageError::Poisoned`].
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    devices: BTreeMap<DeviceAddress, Device>,
    /// The highest ids of identities no longer registered at an address
    /// (replaced or removed), kept so that they only go up if the identity
    /// comes back. Only identities that had ids accepted are kept.
    retired: BTreeMap<(DeviceAddress, [u8; 32]), HighestIds>,
    /// Each user's device lists, oldest first, at most
    /// `MAX_DEVICE_LIST_HISTORY`; never empty.
    lists: BTreeMap<UserAddress, VecDeque<VerifiedDeviceList>>,
}

impl Inner {
    /// A device registered afresh with `identity`: it continues the ids
    /// the identity had at this address, if it had any.
    fn device(&mut self, address: &DeviceAddress, identity: &IdentityKey) -> Device {
        let highest = self
            .retired
            .remove(&(address.clone(), *identity.as_bytes()))
            .unwrap_or_default();
        Device {
            highest,
            ..Device::new(identity.clone())
        }
    }

    /// Keeps the ids of a device leaving `address`.
    fn retire(&mut self, address: &DeviceAddress, device: &Device) {
        if device.highest != HighestIds::default() {
            self.retired.insert(
                (address.clone(), *device.identity.as_bytes()),
                device.highest,
            );
        }
    }
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

    fn lock(&self) -> crate::Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| StorageError::Poisoned.into())
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
        let mut inner = self.lock()?;
        match inner.devices.get(device).map(|d| d.identity == *identity) {
            Some(true) => return Ok(Registration::Unchanged),
            Some(false) => {
                let replacement = inner.device(device, identity);
                if let Some(old) = inner.devices.insert(device.clone(), replacement) {
                    inner.retire(device, &old);
                }
                return Ok(Registration::Replaced);
            }
            None => {}
        }
        let count = user_devices(&inner.devices, device.user()).count();
        if count >= MAX_DEVICES_PER_USER {
            return Err(DirectoryError::TooManyDevices {
                max: MAX_DEVICES_PER_USER,
                found: count + 1,
            }
            .into());
        }
        let new = inner.device(device, identity);
        inner.devices.insert(device.clone(), new);
        Ok(Registration::New)
    }

    fn remove(&self, device: &DeviceAddress) -> crate::Result<bool> {
        let mut inner = self.lock()?;
        let Some(removed) = inner.devices.remove(device) else {
            return Ok(false);
        };
        inner.retire(device, &removed);
        Ok(true)
    }

    fn store(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        let mut inner = self.lock()?;
        let d = inner
            .devices
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
        let mut inner = self.lock()?;
        let d = inner
            .devices
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
        let inner = self.lock()?;
        let d = inner
            .devices
            .get(device)
            .ok_or(DirectoryError::UnknownDevice)?;
        Ok(d.info(device))
    }

    fn devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
        let inner = self.lock()?;
        Ok(user_devices(&inner.devices, user)
            .map(|(address, d)| d.info(address))
            .collect())
    }

    fn store_device_list(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<DeviceListUpdate> {
        let mut inner = self.lock()?;
        let latest = inner.lists.get(user).and_then(VecDeque::back);
        let update = list.check_publish(user, latest)?;
        if update != DeviceListUpdate::Unchanged {
            let history = inner.lists.entry(user.clone()).or_default();
            history.push_back(list.clone());
            while history.len() > MAX_DEVICE_LIST_HISTORY {
                history.pop_front();
            }
        }
        Ok(update)
    }

    fn replace_device_lists(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<()> {
        let mut inner = self.lock()?;
        list.check_publish(user, None)?;
        inner
            .lists
            .insert(user.clone(), VecDeque::from([list.clone()]));
        Ok(())
    }

    fn device_list(&self, user: &UserAddress) -> crate::Result<Option<Vec<u8>>> {
        let inner = self.lock()?;
        Ok(inner
            .lists
            .get(user)
            .and_then(VecDeque::back)
            .map(VerifiedDeviceList::to_bytes))
    }

    fn device_lists_since(&self, user: &UserAddress, version: u64) -> crate::Result<Vec<Vec<u8>>> {
        let inner = self.lock()?;
        Ok(inner
            .lists
            .get(user)
            .into_iter()
            .flatten()
            .filter(|l| l.version() > version)
            .map(VerifiedDeviceList::to_bytes)
            .collect())
    }
}
