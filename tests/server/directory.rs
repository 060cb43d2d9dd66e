//! The directory's rules on every implementation (the memory and SQLite
//! directories and one written outside kinseal), and sessions set up from
//! the bundles it hands out; and the server suites' fixture: the devices
//! `alice()` and `bob()` with their keys, shared by the other modules.

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use kinseal::server::{
    AddressField, DeviceAddress, MAX_BUNDLE_LEN, MAX_DEVICES_PER_USER,
    MAX_ONE_TIME_PREKEYS_PER_UPLOAD, MAX_STORED_ONE_TIME_PREKEYS, MIN_BUNDLE_LEN, MemoryDirectory,
    PreKeyDirectory, PreKeyUpload, Registration, SIGNED_PREKEY_ROTATION_SECS, UserAddress, route,
};
use kinseal::{
    AddressError, DirectoryError, Error, IdentityKeyPair, KemPreKeyPair, MessageKind,
    OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, PreKeyRole, Session, SessionConfig,
    SignedPreKeyPair, UploadError,
};
use rand_core::SeedableRng;

pub(crate) const NOW: u64 = 1_767_225_600;

pub(crate) fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A device and a small set of keys: ids 10.. for one-time X25519 keys,
/// 1 for the last-resort ML-KEM key, 2.. for one-time ML-KEM keys.
pub(crate) struct Device {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) spk: SignedPreKeyPair,
    pub(crate) last_resort: KemPreKeyPair,
    pub(crate) one_time: Vec<OneTimePreKeyPair>,
    pub(crate) kem: Vec<KemPreKeyPair>,
}

impl Device {
    fn new(seed: u8) -> Device {
        let mut rng = rng(seed);
        let identity = IdentityKeyPair::generate(&mut rng);
        Device {
            spk: SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW),
            last_resort: KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW),
            one_time: OneTimePreKeyPair::generate_batch(&mut rng, 10, 3).unwrap(),
            kem: KemPreKeyPair::generate_batch(&mut rng, &identity, 2, 2, NOW).unwrap(),
            identity,
        }
    }

    /// Everything: signed prekey, last-resort key, 3 + 2 one-time keys.
    pub(crate) fn full_upload(&self) -> Vec<u8> {
        PreKeyUpload::builder(&self.identity)
            .signed_prekey(self.spk.public())
            .last_resort_prekey(self.last_resort.public())
            .one_time_prekeys(self.one_time.iter().map(OneTimePreKeyPair::public))
            .kem_prekeys(self.kem.iter().map(KemPreKeyPair::public))
            .to_bytes()
            .unwrap()
    }
}

/// Two devices made once per test binary (key generation is slow in debug).
pub(crate) fn alice() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| Device::new(1))
}

pub(crate) fn bob() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| Device::new(2))
}

pub(crate) fn upload_err(e: Error) -> UploadError {
    match e {
        Error::Upload(u) => u,
        other => panic!("expected an upload error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The directory, on every implementation.

/// Runs each named check against a fresh directory of every implementation.
macro_rules! on_every_directory {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $check() { super::$check(&super::MemoryDirectory::new()); })*
        }
        mod external {
            $(#[test] fn $check() { super::$check(&super::outside::Tiny::default()); })*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test] fn $check() {
                if let Some(dir) = crate::pg::directory(module_path!(), stringify!($check)) {
                    super::$check(&dir);
                }
            })*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite {
            $(#[test] fn $check() {
                let dir = kinseal::server::SqliteDirectory::open_in_memory().unwrap();
                super::$check(&dir);
            })*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite_file {
            $(#[test] fn $check() {
                let path = std::env::temp_dir().join(format!(
                    "kinseal-directory-{}-{}.sqlite",
                    stringify!($check),
                    std::process::id()
                ));
                let _ = std::fs::remove_file(&path);
                {
                    let dir = kinseal::server::SqliteDirectory::open(&path).unwrap();
                    super::$check(&dir);
                }
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            })*
        }
    };
}

pub(crate) use on_every_directory;

on_every_directory!(
    registration,
    device_limits_and_addresses,
    unknown_devices,
    not_ready_takes_nothing,
    bundles_oldest_first_then_last_resort,
    ids_only_go_up,
    ids_only_go_up_across_replacements,
    identity_is_checked_again_at_store,
    store_limit,
    signed_prekey_rotation,
    listing_devices,
    sessions_from_handed_out_bundles,
);

/// A directory written outside kinseal with only its public API, as a
/// server with its own database would: the same checks must pass.
pub(crate) mod outside {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use kinseal::server::{
        DeviceAddress, DeviceInfo, DeviceListUpdate, HighestIds, MAX_DEVICE_LIST_HISTORY,
        MAX_DEVICES_PER_USER, PreKeyCounts, PreKeyDirectory, Registration, TakenBundle,
        UserAddress, VerifiedDeviceList, VerifiedUpload,
    };
    use kinseal::{
        DirectoryError, IdentityKey, KemPreKey, OneTimePreKey, PreKeyBundle, PreKeyRole,
        SignedPreKey,
    };

    /// The devices, and the highest ids of identities no longer registered
    /// at an address, which must only go up if they come back.
    #[derive(Default)]
    pub(crate) struct Tiny(Mutex<Devices>);

    #[derive(Default)]
    struct Devices {
        live: BTreeMap<DeviceAddress, Device>,
        retired: BTreeMap<(DeviceAddress, [u8; 32]), HighestIds>,
        /// Each user's device lists, oldest first.
        lists: BTreeMap<UserAddress, Vec<VerifiedDeviceList>>,
    }

    impl Devices {
        fn arrive(&mut self, address: &DeviceAddress, identity: &IdentityKey) -> Device {
            let key = (address.clone(), *identity.as_bytes());
            Device {
                highest: self.retired.remove(&key).unwrap_or_default(),
                ..Device::new(identity)
            }
        }

        fn leave(&mut self, address: &DeviceAddress, d: Device) {
            self.retired
                .insert((address.clone(), *d.identity.as_bytes()), d.highest);
        }
    }

    struct Device {
        identity: IdentityKey,
        spk: Option<SignedPreKey>,
        last_resort: Option<KemPreKey>,
        one_time: BTreeMap<u32, OneTimePreKey>,
        kem: BTreeMap<u32, KemPreKey>,
        highest: HighestIds,
    }

    impl Device {
        fn new(identity: &IdentityKey) -> Device {
            Device {
                identity: identity.clone(),
                spk: None,
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
                self.spk.as_ref().map(|k| (k.id(), k.created_at())),
                self.last_resort.as_ref().map(KemPreKey::id),
                self.counts(),
            )
        }
    }

    impl PreKeyDirectory for Tiny {
        fn register(
            &self,
            device: &DeviceAddress,
            identity: &IdentityKey,
        ) -> kinseal::Result<Registration> {
            let mut devices = self.0.lock().unwrap();
            if let Some(d) = devices.live.get(device) {
                if d.identity == *identity {
                    return Ok(Registration::Unchanged);
                }
                let new = devices.arrive(device, identity);
                let old = devices.live.insert(device.clone(), new).unwrap();
                devices.leave(device, old);
                return Ok(Registration::Replaced);
            }
            let count = (devices.live.keys())
                .filter(|a| a.user() == device.user())
                .count();
            if count >= MAX_DEVICES_PER_USER {
                return Err(DirectoryError::TooManyDevices {
                    max: MAX_DEVICES_PER_USER,
                    found: count + 1,
                }
                .into());
            }
            let new = devices.arrive(device, identity);
            devices.live.insert(device.clone(), new);
            Ok(Registration::New)
        }

        fn remove(&self, device: &DeviceAddress) -> kinseal::Result<bool> {
            let mut devices = self.0.lock().unwrap();
            let Some(old) = devices.live.remove(device) else {
                return Ok(false);
            };
            devices.leave(device, old);
            Ok(true)
        }

        fn store(
            &self,
            device: &DeviceAddress,
            upload: &VerifiedUpload,
        ) -> kinseal::Result<PreKeyCounts> {
            let mut devices = self.0.lock().unwrap();
            let d = (devices.live)
                .get_mut(device)
                .ok_or(DirectoryError::UnknownDevice)?;
            let (highest, counts) = upload.check_store(&d.identity, d.highest, d.counts())?;
            let upload = upload.upload();
            if let Some(k) = upload.signed_prekey() {
                d.spk = Some(k.clone());
            }
            if let Some(k) = upload.last_resort_prekey() {
                d.last_resort = Some(k.clone());
            }
            for k in upload.one_time_prekeys() {
                d.one_time.insert(k.id(), *k);
            }
            for k in upload.kem_prekeys() {
                d.kem.insert(k.id(), k.clone());
            }
            d.highest = highest;
            Ok(counts)
        }

        fn take_bundle(&self, device: &DeviceAddress) -> kinseal::Result<TakenBundle> {
            let mut devices = self.0.lock().unwrap();
            let d = (devices.live)
                .get_mut(device)
                .ok_or(DirectoryError::UnknownDevice)?;
            let not_ready = |missing| DirectoryError::NotReady { missing };
            let spk = d.spk.clone().ok_or(not_ready(PreKeyRole::Signed))?;
            let kem = match d.kem.pop_first() {
                Some((_, k)) => k,
                None => d.last_resort.clone().ok_or(not_ready(PreKeyRole::Kem))?,
            };
            let one_time = d.one_time.pop_first().map(|(_, k)| k);
            let bundle = PreKeyBundle::new(d.identity.clone(), spk, one_time, kem);
            Ok(TakenBundle::new(bundle, d.counts()))
        }

        fn device(&self, device: &DeviceAddress) -> kinseal::Result<DeviceInfo> {
            let devices = self.0.lock().unwrap();
            let d = devices
                .live
                .get(device)
                .ok_or(DirectoryError::UnknownDevice)?;
            Ok(d.info(device))
        }

        fn devices(&self, user: &UserAddress) -> kinseal::Result<Vec<DeviceInfo>> {
            let devices = self.0.lock().unwrap();
            Ok((devices.live)
                .iter()
                .filter(|(a, _)| a.user() == user)
                .map(|(a, d)| d.info(a))
                .collect())
        }

        fn store_device_list(
            &self,
            user: &UserAddress,
            list: &VerifiedDeviceList,
        ) -> kinseal::Result<DeviceListUpdate> {
            let mut devices = self.0.lock().unwrap();
            let latest = devices.lists.get(user).and_then(|h| h.last());
            let update = list.check_publish(user, latest)?;
            if update != DeviceListUpdate::Unchanged {
                let history = devices.lists.entry(user.clone()).or_default();
                history.push(list.clone());
                let excess = history.len().saturating_sub(MAX_DEVICE_LIST_HISTORY);
                history.drain(..excess);
            }
            Ok(update)
        }

        fn replace_device_lists(
            &self,
            user: &UserAddress,
            list: &VerifiedDeviceList,
        ) -> kinseal::Result<()> {
            list.check_publish(user, None)?;
            let mut devices = self.0.lock().unwrap();
            devices.lists.insert(user.clone(), vec![list.clone()]);
            Ok(())
        }

        fn device_list(&self, user: &UserAddress) -> kinseal::Result<Option<Vec<u8>>> {
            let devices = self.0.lock().unwrap();
            let latest = devices.lists.get(user).and_then(|h| h.last());
            Ok(latest.map(VerifiedDeviceList::to_bytes))
        }

        fn device_lists_since(
            &self,
            user: &UserAddress,
            version: u64,
        ) -> kinseal::Result<Vec<Vec<u8>>> {
            let devices = self.0.lock().unwrap();
            Ok((devices.lists.get(user).into_iter().flatten())
                .filter(|l| l.version() > version)
                .map(VerifiedDeviceList::to_bytes)
                .collect())
        }
    }
}

fn addr(app: &str, user: &str, device: u32) -> DeviceAddress {
    DeviceAddress::new(app.as_bytes(), user.as_bytes(), device).unwrap()
}

fn registration(dir: &dyn PreKeyDirectory) {
    let (a, b) = (alice(), bob());
    let at = addr("chirp", "alice", 1);
    assert_eq!(
        dir.register(&at, a.identity.public_key()).unwrap(),
        Registration::New
    );
    assert_eq!(
        dir.register(&at, a.identity.public_key()).unwrap(),
        Registration::Unchanged
    );
    dir.upload(&at, &a.full_upload()).unwrap();
    assert_eq!(dir.device(&at).unwrap().counts().one_time(), 3);
    // A reinstall with a new identity drops every key of the old one, and
    // its ids start afresh.
    assert_eq!(
        dir.register(&at, b.identity.public_key()).unwrap(),
        Registration::Replaced
    );
    let info = dir.device(&at).unwrap();
    assert_eq!(info.identity_key(), b.identity.public_key());
    assert_eq!(info.signed_prekey_id(), None);
    assert_eq!(info.last_resort_id(), None);
    assert_eq!((info.counts().one_time(), info.counts().kem()), (0, 0));
    assert!(!info.is_ready());
    // Alice's upload no longer fits the device; Bob's, with the same ids, does.
    let e = dir.upload(&at, &a.full_upload()).unwrap_err();
    assert_eq!(upload_err(e), UploadError::IdentityMismatch);
    dir.upload(&at, &b.full_upload()).unwrap();
    assert!(dir.device(&at).unwrap().is_ready());
    // Removal.
    assert!(dir.remove(&at).unwrap());
    assert!(!dir.remove(&at).unwrap());
    assert_eq!(
        dir.register(&at, a.identity.public_key()).unwrap(),
        Registration::New
    );
    assert_eq!(dir.device(&at).unwrap().counts().one_time(), 0);
}

fn device_limits_and_addresses(dir: &dyn PreKeyDirectory) {
    let a = alice();
    for id in 0..MAX_DEVICES_PER_USER as u32 {
        dir.register(&addr("chirp", "carol", id * 7), a.identity.public_key())
            .unwrap();
    }
    let e = dir
        .register(&addr("chirp", "carol", 999), a.identity.public_key())
        .unwrap_err();
    assert_eq!(
        e,
        Error::Directory(DirectoryError::TooManyDevices {
            max: MAX_DEVICES_PER_USER,
            found: MAX_DEVICES_PER_USER + 1
        })
    );
    // Re-registering an existing device, another user, or the same user id
    // in another app is fine.
    dir.register(&addr("chirp", "carol", 7), a.identity.public_key())
        .unwrap();
    dir.register(&addr("chirp", "dave", 999), a.identity.public_key())
        .unwrap();
    dir.register(&addr("parley", "carol", 999), a.identity.public_key())
        .unwrap();
    // Addresses are bounded and non-empty.
    assert_eq!(
        DeviceAddress::new(b"", b"x", 1).unwrap_err(),
        Error::Address(AddressError::OutOfRange {
            field: AddressField::AppId,
            min: 1,
            max: 64,
            found: 0
        })
    );
    assert_eq!(
        UserAddress::new(b"chirp", &[b'u'; 257]).unwrap_err(),
        Error::Address(AddressError::OutOfRange {
            field: AddressField::UserId,
            min: 1,
            max: 256,
            found: 257
        })
    );
    // User ids are opaque bytes, not text.
    let binary = DeviceAddress::new(b"chirp", &[0, 255, 10], 1).unwrap();
    dir.register(&binary, a.identity.public_key()).unwrap();
    assert_eq!(dir.device(&binary).unwrap().address(), &binary);
}

fn unknown_devices(dir: &dyn PreKeyDirectory) {
    let at = addr("chirp", "nobody", 1);
    let unknown = Error::Directory(DirectoryError::UnknownDevice);
    assert_eq!(dir.take_bundle(&at).unwrap_err(), unknown);
    assert_eq!(dir.device(&at).unwrap_err(), unknown);
    assert_eq!(
        dir.upload(&at, &alice().full_upload()).unwrap_err(),
        unknown
    );
    let verified = PreKeyUpload::from_bytes(&alice().full_upload())
        .unwrap()
        .verify(alice().identity.public_key())
        .unwrap();
    assert_eq!(dir.store(&at, &verified).unwrap_err(), unknown);
    assert!(!dir.remove(&at).unwrap());
    assert!(dir.devices(at.user()).unwrap().is_empty());
}

fn not_ready_takes_nothing(dir: &dyn PreKeyDirectory) {
    let a = alice();
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let one_time = PreKeyUpload::builder(&a.identity)
        .one_time_prekeys(a.one_time.iter().map(OneTimePreKeyPair::public))
        .to_bytes()
        .unwrap();
    dir.upload(&at, &one_time).unwrap();
    let not_ready = |missing| Error::Directory(DirectoryError::NotReady { missing });
    assert_eq!(
        dir.take_bundle(&at).unwrap_err(),
        not_ready(PreKeyRole::Signed)
    );
    let spk = PreKeyUpload::builder(&a.identity)
        .signed_prekey(a.spk.public())
        .to_bytes()
        .unwrap();
    dir.upload(&at, &spk).unwrap();
    assert_eq!(
        dir.take_bundle(&at).unwrap_err(),
        not_ready(PreKeyRole::Kem)
    );
    // The refusals took nothing.
    assert_eq!(dir.device(&at).unwrap().counts().one_time(), 3);
    assert!(!dir.device(&at).unwrap().is_ready());
    // A one-time ML-KEM key alone makes the device ready, for one bundle.
    let kem = PreKeyUpload::builder(&a.identity)
        .kem_prekeys([a.kem[0].public()])
        .to_bytes()
        .unwrap();
    dir.upload(&at, &kem).unwrap();
    assert!(dir.device(&at).unwrap().is_ready());
    let taken = dir.take_bundle(&at).unwrap();
    assert_eq!(taken.prekey_ids().kem_prekey_id(), 2);
    assert_eq!(
        dir.take_bundle(&at).unwrap_err(),
        not_ready(PreKeyRole::Kem)
    );
    assert_eq!(dir.device(&at).unwrap().counts().one_time(), 2);
}

fn bundles_oldest_first_then_last_resort(dir: &dyn PreKeyDirectory) {
    let a = alice();
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let counts = dir.upload(&at, &a.full_upload()).unwrap();
    assert_eq!((counts.one_time(), counts.kem()), (3, 2));
    let mut seen = Vec::new();
    for _ in 0..5 {
        let taken = dir.take_bundle(&at).unwrap();
        let bytes = taken.to_bytes();
        assert!(bytes.len() == MIN_BUNDLE_LEN || bytes.len() == MAX_BUNDLE_LEN);
        let bundle = PreKeyBundle::from_bytes(&bytes).unwrap().verify().unwrap();
        assert_eq!(bundle.bundle(), taken.bundle());
        assert_eq!(taken.bundle().identity_key(), a.identity.public_key());
        assert_eq!(taken.bundle().signed_prekey(), a.spk.public());
        let ids = taken.prekey_ids();
        seen.push((
            ids.one_time_prekey_id(),
            ids.kem_prekey_id(),
            taken.used_last_resort(),
            taken.remaining().one_time(),
            taken.remaining().kem(),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (Some(10), 2, false, 2, 1),
            (Some(11), 3, false, 1, 0),
            (Some(12), 1, true, 0, 0),
            (None, 1, true, 0, 0),
            (None, 1, true, 0, 0),
        ]
    );
    // The handed-out one-time keys are the uploaded ones, byte for byte.
    let taken = dir.take_bundle(&at).unwrap();
    assert_eq!(taken.bundle().kem_prekey(), a.last_resort.public());
    assert!(taken.remaining().needs_replenish(1));
}

fn ids_only_go_up(dir: &dyn PreKeyDirectory) {
    let a = alice();
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let upload = a.full_upload();
    dir.upload(&at, &upload).unwrap();
    // Take a bundle: keys 10 (X25519) and 2 (ML-KEM) are handed out.
    dir.take_bundle(&at).unwrap();
    // A retried or replayed upload would put them back; it is refused, and
    // changes nothing.
    let e = dir.upload(&at, &upload).unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::StaleId {
            prekey: PreKeyRole::Signed,
            id: 1,
            highest: 1
        }
    );
    let info = dir.device(&at).unwrap();
    assert_eq!((info.counts().one_time(), info.counts().kem()), (2, 1));
    let mut rng = rng(4);
    let reuse = |keys: &[OneTimePreKeyPair]| {
        PreKeyUpload::builder(&a.identity)
            .one_time_prekeys(keys.iter().map(OneTimePreKeyPair::public))
            .to_bytes()
            .unwrap()
    };
    // An id below or equal to the highest, even one never used, and even
    // after fresh ones in the same upload: refused.
    let stale = [
        OneTimePreKeyPair::generate(&mut rng, 20),
        OneTimePreKeyPair::generate(&mut rng, 5),
    ];
    let e = dir.upload(&at, &reuse(&stale)).unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 5,
            highest: 12
        }
    );
    // A new last-resort key must be above every ML-KEM id so far.
    let lr = KemPreKeyPair::generate(&mut rng, &a.identity, 3, true, NOW);
    let e = dir
        .upload(
            &at,
            &PreKeyUpload::builder(&a.identity)
                .last_resort_prekey(lr.public())
                .to_bytes()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::StaleId {
            prekey: PreKeyRole::Kem,
            id: 3,
            highest: 3
        }
    );
    // Fresh ids, in any order, are accepted.
    let fresh = [
        OneTimePreKeyPair::generate(&mut rng, 30),
        OneTimePreKeyPair::generate(&mut rng, 13),
    ];
    let counts = dir.upload(&at, &reuse(&fresh)).unwrap();
    assert_eq!(counts.one_time(), 4);
    let e = dir.upload(&at, &reuse(&fresh[1..])).unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 13,
            highest: 30
        }
    );
}

/// Replaced by another identity, then registered again with the old one
/// (or removed and registered again): the old identity's ids still only go
/// up, so its old signed upload, replayed, cannot make the directory hand
/// out a one-time key a second time.
fn ids_only_go_up_across_replacements(dir: &dyn PreKeyDirectory) {
    let (a, b) = (alice(), bob());
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let old = a.full_upload();
    dir.upload(&at, &old).unwrap();
    let handed_out = dir.take_bundle(&at).unwrap().prekey_ids();
    assert_eq!(
        (handed_out.one_time_prekey_id(), handed_out.kem_prekey_id()),
        (Some(10), 2)
    );
    let stale_signed = UploadError::StaleId {
        prekey: PreKeyRole::Signed,
        id: 1,
        highest: 1,
    };
    // Replaced: Bob's ids are a space of their own.
    assert_eq!(
        dir.register(&at, b.identity.public_key()).unwrap(),
        Registration::Replaced
    );
    dir.upload(&at, &b.full_upload()).unwrap();
    // Alice's key again, and her old upload replayed: refused, nothing stored.
    assert_eq!(
        dir.register(&at, a.identity.public_key()).unwrap(),
        Registration::Replaced
    );
    assert_eq!(upload_err(dir.upload(&at, &old).unwrap_err()), stale_signed);
    let info = dir.device(&at).unwrap();
    assert_eq!((info.counts().one_time(), info.counts().kem()), (0, 0));
    assert!(!info.is_ready());
    // Its one-time keys alone, without the signed prekey: refused too.
    let one_time_only = PreKeyUpload::builder(&a.identity)
        .one_time_prekeys(a.one_time.iter().map(OneTimePreKeyPair::public))
        .kem_prekeys(a.kem.iter().map(KemPreKeyPair::public))
        .to_bytes()
        .unwrap();
    assert_eq!(
        upload_err(dir.upload(&at, &one_time_only).unwrap_err()),
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 10,
            highest: 12
        }
    );
    // The same after a removal.
    assert!(dir.remove(&at).unwrap());
    assert_eq!(
        dir.register(&at, a.identity.public_key()).unwrap(),
        Registration::New
    );
    assert_eq!(upload_err(dir.upload(&at, &old).unwrap_err()), stale_signed);
    assert_eq!(
        dir.take_bundle(&at).unwrap_err(),
        Error::Directory(DirectoryError::NotReady {
            missing: PreKeyRole::Signed
        })
    );
    // Bob's space was kept as well.
    dir.register(&at, b.identity.public_key()).unwrap();
    assert_eq!(
        upload_err(dir.upload(&at, &b.full_upload()).unwrap_err()),
        stale_signed
    );
    // Fresh ids above the old ones are accepted, and the bundles hand out
    // the new keys only.
    dir.register(&at, a.identity.public_key()).unwrap();
    let mut rng = rng(7);
    let spk = SignedPreKeyPair::generate(&mut rng, &a.identity, 2, NOW);
    let opk = OneTimePreKeyPair::generate(&mut rng, 13);
    let kem = KemPreKeyPair::generate(&mut rng, &a.identity, 4, false, NOW);
    let fresh = PreKeyUpload::builder(&a.identity)
        .signed_prekey(spk.public())
        .one_time_prekeys([opk.public()])
        .kem_prekeys([kem.public()])
        .to_bytes()
        .unwrap();
    dir.upload(&at, &fresh).unwrap();
    let ids = dir.take_bundle(&at).unwrap().prekey_ids();
    assert_eq!(
        (
            ids.signed_prekey_id(),
            ids.one_time_prekey_id(),
            ids.kem_prekey_id()
        ),
        (2, Some(13), 4)
    );
}

fn identity_is_checked_again_at_store(dir: &dyn PreKeyDirectory) {
    let (a, b) = (alice(), bob());
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let verified = PreKeyUpload::from_bytes(&a.full_upload())
        .unwrap()
        .verify(a.identity.public_key())
        .unwrap();
    // The device is replaced between verification and storage.
    dir.register(&at, b.identity.public_key()).unwrap();
    let e = dir.store(&at, &verified).unwrap_err();
    assert_eq!(upload_err(e), UploadError::IdentityMismatch);
    assert_eq!(dir.device(&at).unwrap().counts().one_time(), 0);
}

fn store_limit(dir: &dyn PreKeyDirectory) {
    let a = alice();
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let batches = big_batches();
    let full = MAX_STORED_ONE_TIME_PREKEYS / MAX_ONE_TIME_PREKEYS_PER_UPLOAD;
    for batch in &batches[..full] {
        dir.upload(&at, batch).unwrap();
    }
    assert_eq!(
        dir.device(&at).unwrap().counts().one_time(),
        MAX_STORED_ONE_TIME_PREKEYS
    );
    let e = dir.upload(&at, &batches[full]).unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::StoreFull {
            prekey: PreKeyRole::OneTime,
            max: MAX_STORED_ONE_TIME_PREKEYS,
            found: MAX_STORED_ONE_TIME_PREKEYS + MAX_ONE_TIME_PREKEYS_PER_UPLOAD
        }
    );
    // Room again after one bundle; the refused batch's ids were not used.
    dir.take_bundle(&at).unwrap_err(); // not ready: no signed prekey
    let spk = PreKeyUpload::builder(&a.identity)
        .signed_prekey(a.spk.public())
        .last_resort_prekey(a.last_resort.public())
        .to_bytes()
        .unwrap();
    dir.upload(&at, &spk).unwrap();
    for _ in 0..MAX_ONE_TIME_PREKEYS_PER_UPLOAD {
        dir.take_bundle(&at).unwrap();
    }
    dir.upload(&at, &batches[full]).unwrap();
}

/// Enough one-time X25519 batches for Alice to fill a directory and one
/// more (ids 1000..), built once.
fn big_batches() -> &'static [Vec<u8>] {
    static B: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    B.get_or_init(|| {
        let mut rng = rng(5);
        let n = MAX_STORED_ONE_TIME_PREKEYS + MAX_ONE_TIME_PREKEYS_PER_UPLOAD;
        OneTimePreKeyPair::generate_batch(&mut rng, 1000, n)
            .unwrap()
            .chunks(MAX_ONE_TIME_PREKEYS_PER_UPLOAD)
            .map(|c| {
                PreKeyUpload::builder(&alice().identity)
                    .one_time_prekeys(c.iter().map(OneTimePreKeyPair::public))
                    .to_bytes()
                    .unwrap()
            })
            .collect()
    })
}

fn signed_prekey_rotation(dir: &dyn PreKeyDirectory) {
    let a = alice();
    let at = addr("chirp", "alice", 1);
    dir.register(&at, a.identity.public_key()).unwrap();
    let info = dir.device(&at).unwrap();
    assert!(info.needs_signed_prekey_rotation(NOW, SIGNED_PREKEY_ROTATION_SECS));
    dir.upload(&at, &a.full_upload()).unwrap();
    let info = dir.device(&at).unwrap();
    assert_eq!(info.signed_prekey_id(), Some(1));
    assert_eq!(info.signed_prekey_created_at(), Some(NOW));
    let later = NOW + SIGNED_PREKEY_ROTATION_SECS;
    assert!(!info.needs_signed_prekey_rotation(later, SIGNED_PREKEY_ROTATION_SECS));
    assert!(info.needs_signed_prekey_rotation(later + 1, SIGNED_PREKEY_ROTATION_SECS));
    // A clock behind the key's time is not "old".
    assert!(!info.needs_signed_prekey_rotation(0, SIGNED_PREKEY_ROTATION_SECS));

    // Rotate: the new signed prekey replaces the old one in every bundle.
    // Times are whatever the device says, even the largest u64.
    let mut rng = rng(6);
    let new_spk = SignedPreKeyPair::generate(&mut rng, &a.identity, 2, u64::MAX);
    let rotation = PreKeyUpload::builder(&a.identity)
        .signed_prekey(new_spk.public())
        .to_bytes()
        .unwrap();
    dir.upload(&at, &rotation).unwrap();
    let info = dir.device(&at).unwrap();
    assert_eq!(info.signed_prekey_id(), Some(2));
    assert_eq!(info.signed_prekey_created_at(), Some(u64::MAX));
    let taken = dir.take_bundle(&at).unwrap();
    assert_eq!(taken.bundle().signed_prekey(), new_spk.public());
    PreKeyBundle::from_bytes(&taken.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    // The old one cannot come back.
    let back = PreKeyUpload::builder(&a.identity)
        .signed_prekey(a.spk.public())
        .to_bytes()
        .unwrap();
    assert_eq!(
        upload_err(dir.upload(&at, &back).unwrap_err()),
        UploadError::StaleId {
            prekey: PreKeyRole::Signed,
            id: 1,
            highest: 2
        }
    );
}

fn listing_devices(dir: &dyn PreKeyDirectory) {
    let (a, b) = (alice(), bob());
    for (app, user, device, id) in [
        ("chirp", "erin", 3, a),
        ("chirp", "erin", 1, b),
        ("chirp", "erin", 2, a),
        ("parley", "erin", 1, a),
        ("chirp", "erin2", 1, a),
        ("chirp", "eri", 1, a),
    ] {
        dir.register(&addr(app, user, device), id.identity.public_key())
            .unwrap();
    }
    dir.upload(&addr("chirp", "erin", 1), &b.full_upload())
        .unwrap();
    let erin = UserAddress::new(b"chirp", b"erin").unwrap();
    let devices = dir.devices(&erin).unwrap();
    let ids: Vec<u32> = devices.iter().map(|d| d.address().device_id()).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(devices[0].identity_key(), b.identity.public_key());
    assert_eq!(devices[0].counts().one_time(), 3);
    assert_eq!(devices[0].last_resort_id(), Some(1));
    assert!(devices[0].is_ready());
    assert!(!devices[1].is_ready());
    assert_eq!(devices[1], dir.device(&addr("chirp", "erin", 2)).unwrap());
    assert_eq!(
        dir.devices(&UserAddress::new(b"parley", b"erin").unwrap())
            .unwrap()
            .len(),
        1
    );
}

fn sessions_from_handed_out_bundles(dir: &dyn PreKeyDirectory) {
    let b = bob();
    let at = addr("parley", "bob", 1);
    dir.register(&at, b.identity.public_key()).unwrap();
    dir.upload(&at, &b.full_upload()).unwrap();
    let mut rng = rng(7);
    let alice = IdentityKeyPair::generate(&mut rng);
    // Four senders: two get one-time ML-KEM keys, the rest the last-resort
    // one; three get one-time X25519 keys. Every session works, and the
    // first message names exactly the keys that were handed out.
    for n in 0..4u8 {
        let taken = dir.take_bundle(&at).unwrap();
        let bundle = PreKeyBundle::from_bytes(&taken.to_bytes())
            .unwrap()
            .verify()
            .unwrap();
        let mut session =
            Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
        let first = session.encrypt(&mut rng, &[n; 5]).unwrap();
        let info = route(&first).unwrap();
        assert_eq!(info.kind(), MessageKind::PreKeyMessage);
        assert_eq!(info.prekeys(), Some(taken.prekey_ids()));
        // Bob's device looks the keys up by the ids the message names.
        let message = PreKeyMessage::from_bytes(&first).unwrap();
        let opk = message
            .one_time_prekey_id()
            .map(|id| b.one_time.iter().find(|k| k.id() == id).unwrap());
        let kem = std::iter::once(&b.last_resort)
            .chain(&b.kem)
            .find(|k| k.id() == message.kem_prekey_id())
            .unwrap();
        let inbound = Session::respond(
            &b.identity,
            &b.spk,
            opk,
            kem,
            &message,
            SessionConfig::default(),
        )
        .unwrap();
        assert_eq!(inbound.plaintext, vec![n; 5]);
    }
}
