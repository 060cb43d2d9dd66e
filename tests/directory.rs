//! The server side: every malformed upload refused with the right error,
//! the directory's rules on every implementation, sessions set up from
//! bundles it hands out, and routing on valid and malformed messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use kinseal::server::{
    AddressField, DeviceAddress, MAX_BUNDLE_LEN, MAX_DEVICES_PER_USER, MAX_KEM_PREKEYS_PER_UPLOAD,
    MAX_MESSAGE_LEN, MAX_ONE_TIME_PREKEYS_PER_UPLOAD, MAX_STORED_ONE_TIME_PREKEYS, MAX_UPLOAD_LEN,
    MIN_BUNDLE_LEN, MIN_MESSAGE_LEN, MIN_UPLOAD_LEN, MemoryDirectory, PreKeyDirectory,
    PreKeyUpload, Registration, SIGNED_PREKEY_ROTATION_SECS, TYPE_PREKEY_UPLOAD, UserAddress,
    route,
};
use kinseal::{
    AddressError, DecodeError, DirectoryError, Error, IdentityKeyPair, KemPreKeyPair, KeyKind,
    MAX_PLAINTEXT_LEN, MessageKind, OneTimePreKeyPair, PreKeyBundle, PreKeyMessage, PreKeyRole,
    Session, SessionConfig, SignedPreKeyPair, UploadError, WireType,
};
use rand_core::SeedableRng;

const NOW: u64 = 1_767_225_600;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A device and a small set of keys: ids 10.. for one-time X25519 keys,
/// 1 for the last-resort ML-KEM key, 2.. for one-time ML-KEM keys.
struct Device {
    identity: IdentityKeyPair,
    spk: SignedPreKeyPair,
    last_resort: KemPreKeyPair,
    one_time: Vec<OneTimePreKeyPair>,
    kem: Vec<KemPreKeyPair>,
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
    fn full_upload(&self) -> Vec<u8> {
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
fn alice() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| Device::new(1))
}

fn bob() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| Device::new(2))
}

// Offsets into `full_upload()`: see the layout in `PreKeyUpload`'s docs.
const IDENTITY: usize = 3;
const SPK_PRESENT: usize = 35;
const SPK_PUBLIC: usize = 36 + 12;
const LAST_RESORT_PRESENT: usize = 36 + 108;
const LAST_RESORT: usize = LAST_RESORT_PRESENT + 1;
const OPK_COUNT: usize = LAST_RESORT + 1261;
const OPK: usize = OPK_COUNT + 4;
const KEM_COUNT: usize = OPK + 3 * 36;
const KEM: usize = KEM_COUNT + 4;

fn decode_err(bytes: &[u8]) -> Error {
    PreKeyUpload::from_bytes(bytes).unwrap_err()
}

fn upload_err(e: Error) -> UploadError {
    match e {
        Error::Upload(u) => u,
        other => panic!("expected an upload error, got {other:?}"),
    }
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

// ---------------------------------------------------------------------------
// Upload encoding and validation, without a directory.

#[test]
fn upload_round_trips_and_verifies() {
    let d = alice();
    let bytes = d.full_upload();
    assert_eq!(bytes.len(), MIN_UPLOAD_LEN + 108 + 1261 + 3 * 36 + 2 * 1261);
    assert_eq!(&bytes[..3], &[1, TYPE_PREKEY_UPLOAD, 1]);
    let upload = PreKeyUpload::from_bytes(&bytes).unwrap();
    assert_eq!(upload.to_bytes(), bytes);
    assert_eq!(upload.identity_key(), d.identity.public_key());
    assert_eq!(upload.signed_prekey(), Some(d.spk.public()));
    assert_eq!(upload.last_resort_prekey(), Some(d.last_resort.public()));
    assert_eq!(upload.one_time_prekeys().len(), 3);
    assert_eq!(upload.kem_prekeys().len(), 2);
    let verified = upload.clone().verify(d.identity.public_key()).unwrap();
    assert_eq!(verified.upload(), &upload);
    // Every part alone is an upload too.
    let one_time_only = PreKeyUpload::builder(&d.identity)
        .one_time_prekeys(d.one_time.iter().map(OneTimePreKeyPair::public))
        .to_bytes()
        .unwrap();
    PreKeyUpload::from_bytes(&one_time_only)
        .unwrap()
        .verify(d.identity.public_key())
        .unwrap();
    // Debug shows public data only, and no batch in full.
    let debug = format!("{upload:?}");
    assert!(debug.contains("one_time_prekeys: 3"), "{debug}");
}

#[test]
fn upload_sizes_match_the_limits() {
    let mut rng = rng(9);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW);
    let last_resort = KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW);
    let one_time =
        OneTimePreKeyPair::generate_batch(&mut rng, 1, MAX_ONE_TIME_PREKEYS_PER_UPLOAD).unwrap();
    let kem =
        KemPreKeyPair::generate_batch(&mut rng, &identity, 2, MAX_KEM_PREKEYS_PER_UPLOAD, NOW)
            .unwrap();
    let largest = PreKeyUpload::builder(&identity)
        .signed_prekey(spk.public())
        .last_resort_prekey(last_resort.public())
        .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
        .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
        .to_bytes()
        .unwrap();
    assert_eq!(largest.len(), MAX_UPLOAD_LEN);
    PreKeyUpload::from_bytes(&largest).unwrap();

    // One more of either kind is refused by the builder...
    let extra = OneTimePreKeyPair::generate(&mut rng, 1000);
    let e = PreKeyUpload::builder(&identity)
        .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
        .one_time_prekeys([extra.public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::TooMany {
            prekey: PreKeyRole::OneTime,
            max: MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
            found: MAX_ONE_TIME_PREKEYS_PER_UPLOAD + 1,
        }
    );
    let e = PreKeyUpload::builder(&identity)
        .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
        .kem_prekeys([kem[0].public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::TooMany {
            prekey: PreKeyRole::Kem,
            max: MAX_KEM_PREKEYS_PER_UPLOAD,
            found: MAX_KEM_PREKEYS_PER_UPLOAD + 1,
        }
    );
    // ...and by the server, from the count alone, before reading entries.
    let mut bytes = alice().full_upload();
    set_u32(&mut bytes, OPK_COUNT, 101);
    assert_eq!(
        upload_err(decode_err(&bytes)),
        UploadError::TooMany {
            prekey: PreKeyRole::OneTime,
            max: 100,
            found: 101
        }
    );
    let mut bytes = alice().full_upload();
    set_u32(&mut bytes, KEM_COUNT, u32::MAX);
    assert_eq!(
        upload_err(decode_err(&bytes)),
        UploadError::TooMany {
            prekey: PreKeyRole::Kem,
            max: 100,
            found: u32::MAX as usize
        }
    );

    // Oversize input is refused before it is read, whatever it holds.
    let oversize = vec![0u8; MAX_UPLOAD_LEN + 1];
    assert_eq!(
        decode_err(&oversize),
        Error::Decode(DecodeError::LengthOutOfRange {
            wire_type: WireType::PreKeyUpload,
            min: MIN_UPLOAD_LEN,
            max: MAX_UPLOAD_LEN,
            found: MAX_UPLOAD_LEN + 1,
        })
    );
}

#[test]
fn empty_upload_is_refused() {
    let d = alice();
    let e = PreKeyUpload::builder(&d.identity).to_bytes().unwrap_err();
    assert_eq!(upload_err(e), UploadError::Empty);
    // The shortest well-formed encoding: no key at all.
    let mut bytes = vec![1, TYPE_PREKEY_UPLOAD, 1];
    bytes.extend_from_slice(d.identity.public_key().as_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 64]);
    assert_eq!(bytes.len(), MIN_UPLOAD_LEN);
    assert_eq!(upload_err(decode_err(&bytes)), UploadError::Empty);
}

#[test]
fn malformed_upload_bytes_are_refused() {
    let good = alice().full_upload();
    let with = |at: usize, value: u8| {
        let mut b = good.clone();
        b[at] = value;
        decode_err(&b)
    };
    assert_eq!(
        with(0, 2),
        Error::Decode(DecodeError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(
        with(1, 0x03),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::PreKeyUpload,
            found: 0x03
        })
    );
    assert_eq!(
        with(2, 2),
        Error::Decode(DecodeError::UnsupportedSuite { found: 2 })
    );
    for (at, field) in [
        (SPK_PRESENT, "spk_present"),
        (LAST_RESORT_PRESENT, "last_resort_present"),
        (LAST_RESORT + 4, "kem_kind"),
        (KEM + 4, "kem_kind"),
    ] {
        assert_eq!(
            with(at, 2),
            Error::Decode(DecodeError::InvalidField {
                wire_type: WireType::PreKeyUpload,
                field,
                found: 2
            }),
            "{field}"
        );
    }
    // Every proper prefix is truncated.
    for len in 0..good.len() {
        match decode_err(&good[..len]) {
            Error::Decode(DecodeError::Truncated {
                wire_type: WireType::PreKeyUpload,
                ..
            }) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    // A byte too many.
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        decode_err(&long),
        Error::Decode(DecodeError::TrailingBytes {
            wire_type: WireType::PreKeyUpload,
            count: 1
        })
    );
}

#[test]
fn invalid_keys_are_refused_by_id() {
    let good = alice().full_upload();
    // The identity point y = 1 (the neutral element, of small order).
    let mut b = good.clone();
    b[IDENTITY..IDENTITY + 32].copy_from_slice(&{
        let mut y = [0u8; 32];
        y[0] = 1;
        y
    });
    assert_eq!(
        decode_err(&b),
        Error::Decode(DecodeError::InvalidKey {
            kind: KeyKind::Identity
        })
    );
    // X25519 keys with the top bit set are not canonical.
    let mut b = good.clone();
    b[SPK_PUBLIC + 31] |= 0x80;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::InvalidKey {
            prekey: PreKeyRole::Signed,
            id: 1
        }
    );
    let mut b = good.clone();
    b[OPK + 36 + 4 + 31] |= 0x80;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::InvalidKey {
            prekey: PreKeyRole::OneTime,
            id: 11
        }
    );
    // An ML-KEM key with a coefficient of 0xFFF >= q fails the FIPS 203 check.
    for (at, id) in [(LAST_RESORT, 1), (KEM + 1261, 3)] {
        let mut b = good.clone();
        b[at + 13] = 0xff;
        b[at + 14] |= 0x0f;
        assert_eq!(
            upload_err(decode_err(&b)),
            UploadError::InvalidKey {
                prekey: PreKeyRole::Kem,
                id
            }
        );
    }
}

#[test]
fn last_resort_flags_must_match_their_place() {
    let d = alice();
    // The builder refuses both mix-ups...
    let e = PreKeyUpload::builder(&d.identity)
        .last_resort_prekey(d.kem[0].public())
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::LastResortMismatch {
            id: 2,
            expected: true,
            found: false
        }
    );
    let e = PreKeyUpload::builder(&d.identity)
        .kem_prekeys([d.last_resort.public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::LastResortMismatch {
            id: 1,
            expected: false,
            found: true
        }
    );
    // ...and so does the server.
    let good = d.full_upload();
    let mut b = good.clone();
    b[LAST_RESORT + 4] = 0;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::LastResortMismatch {
            id: 1,
            expected: true,
            found: false
        }
    );
    let mut b = good.clone();
    b[KEM + 1261 + 4] = 1;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::LastResortMismatch {
            id: 3,
            expected: false,
            found: true
        }
    );
}

#[test]
fn duplicate_ids_within_an_upload_are_refused() {
    let d = alice();
    let e = PreKeyUpload::builder(&d.identity)
        .one_time_prekeys(d.one_time.iter().map(OneTimePreKeyPair::public))
        .one_time_prekeys([d.one_time[1].public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::DuplicateId {
            prekey: PreKeyRole::OneTime,
            id: 11
        }
    );
    let good = d.full_upload();
    // The third one-time key renamed to the first's id.
    let mut b = good.clone();
    set_u32(&mut b, OPK + 2 * 36, 10);
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::DuplicateId {
            prekey: PreKeyRole::OneTime,
            id: 10
        }
    );
    // A one-time ML-KEM key with the last-resort key's id: one id space.
    let mut b = good.clone();
    set_u32(&mut b, KEM + 1261, 1);
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::DuplicateId {
            prekey: PreKeyRole::Kem,
            id: 1
        }
    );
    // Equal ids of different kinds are fine.
    let mut rng = rng(3);
    let opk = OneTimePreKeyPair::generate(&mut rng, 2);
    PreKeyUpload::builder(&d.identity)
        .one_time_prekeys([opk.public()])
        .kem_prekeys([d.kem[0].public()])
        .to_bytes()
        .unwrap();
}

#[test]
fn uploads_from_another_identity_are_refused() {
    let (a, b) = (alice(), bob());
    let bytes = a.full_upload();
    // Checked against the wrong device: the upload names another identity.
    let e = PreKeyUpload::from_bytes(&bytes)
        .unwrap()
        .verify(b.identity.public_key())
        .unwrap_err();
    assert_eq!(upload_err(e), UploadError::IdentityMismatch);
    // Claiming Bob's identity does not help: Alice cannot sign for it.
    let mut forged = bytes.clone();
    forged[IDENTITY..IDENTITY + 32].copy_from_slice(b.identity.public_key().as_bytes());
    let e = PreKeyUpload::from_bytes(&forged)
        .unwrap()
        .verify(b.identity.public_key())
        .unwrap_err();
    assert_eq!(upload_err(e), UploadError::InvalidUploadSignature);
}

#[test]
fn altered_uploads_fail_the_upload_signature() {
    let d = alice();
    let good = d.full_upload();
    // The one-time X25519 keys carry no signature of their own; the upload
    // signature is what protects them. Replace one by another valid key
    // (a flipped bit would most likely leave the prime-order subgroup and
    // be refused when decoded), flip a bit of the signature itself, and
    // replace the signed prekey.
    let other = *kinseal::OneTimePreKeyPair::generate(&mut rng(77), 9)
        .public()
        .public_key();
    for (at, len) in [(OPK + 4, 32), (good.len() - 1, 1), (SPK_PUBLIC, 32)] {
        let mut b = good.clone();
        if len == 32 {
            b[at..at + 32].copy_from_slice(&other);
        } else {
            b[at] ^= 0x01;
        }
        let e = PreKeyUpload::from_bytes(&b)
            .unwrap()
            .verify(d.identity.public_key())
            .unwrap_err();
        assert_eq!(
            upload_err(e),
            UploadError::InvalidUploadSignature,
            "at {at}"
        );
    }
}

#[test]
fn prekeys_signed_by_another_identity_are_refused() {
    let (a, b) = (alice(), bob());
    let verify = |bytes: Vec<u8>| {
        PreKeyUpload::from_bytes(&bytes)
            .unwrap()
            .verify(a.identity.public_key())
            .unwrap_err()
    };
    // Bob's keys, in an upload Alice signs: the upload signature holds, the
    // prekey signatures do not.
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .signed_prekey(b.spk.public())
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Signed,
            id: 1
        }
    );
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .last_resort_prekey(b.last_resort.public())
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Kem,
            id: 1
        }
    );
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .kem_prekeys([a.kem[0].public(), b.kem[1].public()])
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Kem,
            id: 3
        }
    );
}

#[test]
fn every_error_displays() {
    let errors: Vec<Error> = vec![
        UploadError::Empty.into(),
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 3,
            highest: 9,
        }
        .into(),
        DirectoryError::NotReady {
            missing: PreKeyRole::Signed,
        }
        .into(),
        kinseal::StorageError::Busy.into(),
    ];
    for e in errors {
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 3,
            highest: 9
        }
        .to_string(),
        "OneTime prekey id 3 is not above the highest accepted id 9"
    );
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

on_every_directory!(
    registration,
    device_limits_and_addresses,
    unknown_devices,
    not_ready_takes_nothing,
    bundles_oldest_first_then_last_resort,
    ids_only_go_up,
    identity_is_checked_again_at_store,
    store_limit,
    signed_prekey_rotation,
    listing_devices,
    sessions_from_handed_out_bundles,
);

/// A directory written outside kinseal with only its public API, as a
/// server with its own database would: the same checks must pass.
mod outside {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use kinseal::server::{
        DeviceAddress, DeviceInfo, HighestIds, MAX_DEVICES_PER_USER, PreKeyCounts, PreKeyDirectory,
        Registration, TakenBundle, UserAddress, VerifiedUpload,
    };
    use kinseal::{
        DirectoryError, IdentityKey, KemPreKey, OneTimePreKey, PreKeyBundle, PreKeyRole,
        SignedPreKey,
    };

    #[derive(Default)]
    pub(super) struct Tiny(Mutex<BTreeMap<DeviceAddress, Device>>);

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
            if let Some(d) = devices.get_mut(device) {
                if d.identity == *identity {
                    return Ok(Registration::Unchanged);
                }
                *d = Device::new(identity);
                return Ok(Registration::Replaced);
            }
            let count = devices.keys().filter(|a| a.user() == device.user()).count();
            if count >= MAX_DEVICES_PER_USER {
                return Err(DirectoryError::TooManyDevices {
                    max: MAX_DEVICES_PER_USER,
                    found: count + 1,
                }
                .into());
            }
            devices.insert(device.clone(), Device::new(identity));
            Ok(Registration::New)
        }

        fn remove(&self, device: &DeviceAddress) -> kinseal::Result<bool> {
            Ok(self.0.lock().unwrap().remove(device).is_some())
        }

        fn store(
            &self,
            device: &DeviceAddress,
            upload: &VerifiedUpload,
        ) -> kinseal::Result<PreKeyCounts> {
            let mut devices = self.0.lock().unwrap();
            let d = devices
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
            let d = devices
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
            let d = devices.get(device).ok_or(DirectoryError::UnknownDevice)?;
            Ok(d.info(device))
        }

        fn devices(&self, user: &UserAddress) -> kinseal::Result<Vec<DeviceInfo>> {
            let devices = self.0.lock().unwrap();
            Ok(devices
                .iter()
                .filter(|(a, _)| a.user() == user)
                .map(|(a, d)| d.info(a))
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

// ---------------------------------------------------------------------------
// Routing.

struct Conversation {
    /// The first message, with a one-time prekey.
    first: Vec<u8>,
    /// A `PreKeyMessage` of a session set up without one.
    first_without_opk: Vec<u8>,
    /// A ratchet message: the responder's reply.
    reply: Vec<u8>,
}

fn conversation() -> &'static Conversation {
    static C: OnceLock<Conversation> = OnceLock::new();
    C.get_or_init(|| {
        let mut rng = rng(8);
        let b = bob();
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundle = |opk: bool| {
            PreKeyBundle::new(
                b.identity.public_key().clone(),
                b.spk.public().clone(),
                opk.then(|| *b.one_time[0].public()),
                b.kem[0].public().clone(),
            )
            .verify()
            .unwrap()
        };
        let config = SessionConfig::default();
        let mut session =
            Session::initiate(&mut rng, &alice, &bundle(true), config.clone()).unwrap();
        let first = session.encrypt(&mut rng, b"hi").unwrap();
        let message = PreKeyMessage::from_bytes(&first).unwrap();
        let mut inbound = Session::respond(
            &b.identity,
            &b.spk,
            Some(&b.one_time[0]),
            &b.kem[0],
            &message,
            config.clone(),
        )
        .unwrap();
        let reply = inbound.session.encrypt(&mut rng, b"").unwrap();
        let mut other = Session::initiate(&mut rng, &alice, &bundle(false), config).unwrap();
        let first_without_opk = other.encrypt(&mut rng, b"hello").unwrap();
        Conversation {
            first,
            first_without_opk,
            reply,
        }
    })
}

#[test]
fn route_reads_kind_version_size_and_prekey_ids() {
    let c = conversation();
    let info = route(&c.first).unwrap();
    assert_eq!(info.kind(), MessageKind::PreKeyMessage);
    assert_eq!(info.version(), 1);
    assert_eq!(info.size(), c.first.len());
    let ids = info.prekeys().unwrap();
    assert_eq!(
        (
            ids.signed_prekey_id(),
            ids.one_time_prekey_id(),
            ids.kem_prekey_id()
        ),
        (1, Some(10), 2)
    );
    let ids = route(&c.first_without_opk).unwrap().prekeys().unwrap();
    assert_eq!(ids.one_time_prekey_id(), None);
    let info = route(&c.reply).unwrap();
    assert_eq!(info.kind(), MessageKind::Message);
    assert_eq!(info.prekeys(), None);
    // An empty reply is the shortest message there is.
    assert_eq!(info.size(), MIN_MESSAGE_LEN);
}

#[test]
fn route_refuses_malformed_messages() {
    let c = conversation();
    let decode = |bytes: &[u8]| match route(bytes).unwrap_err() {
        Error::Decode(d) => d,
        other => panic!("{other:?}"),
    };
    assert!(matches!(decode(&[]), DecodeError::Truncated { .. }));
    for good in [&c.first, &c.reply] {
        let mut b = good.clone();
        b[0] = 2;
        assert_eq!(decode(&b), DecodeError::UnsupportedVersion { found: 2 });
        // Every proper prefix is truncated; a byte more is trailing.
        for len in 0..good.len() {
            assert!(
                matches!(decode(&good[..len]), DecodeError::Truncated { .. }),
                "prefix {len}"
            );
        }
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            decode(&b),
            DecodeError::TrailingBytes { count: 1, .. }
        ));
    }
    // A bundle, or an upload, is not a message.
    let bundle = PreKeyBundle::new(
        bob().identity.public_key().clone(),
        bob().spk.public().clone(),
        None,
        bob().last_resort.public().clone(),
    )
    .to_bytes();
    assert!(matches!(
        decode(&bundle),
        DecodeError::UnexpectedType { found: 0x03, .. }
    ));
    assert!(matches!(
        decode(&alice().full_upload()),
        DecodeError::UnexpectedType {
            found: TYPE_PREKEY_UPLOAD,
            ..
        }
    ));
    // Suite and flags of a PreKeyMessage.
    let mut b = c.first.clone();
    b[2] = 9;
    assert_eq!(decode(&b), DecodeError::UnsupportedSuite { found: 9 });
    let mut b = c.first.clone();
    b[39] = 2;
    assert!(matches!(
        decode(&b),
        DecodeError::InvalidField {
            field: "one_time_present",
            found: 2,
            ..
        }
    ));
    // A ciphertext length beyond the maximum, however short the input.
    let mut b = c.reply.clone();
    b[42..46].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&b), DecodeError::LengthOutOfRange { .. }));
    // Oversize input is refused before parsing, whatever it holds.
    let huge = vec![0xAB; MAX_MESSAGE_LEN + 1];
    assert_eq!(
        decode(&huge),
        DecodeError::LengthOutOfRange {
            wire_type: WireType::Message,
            min: MIN_MESSAGE_LEN,
            max: MAX_MESSAGE_LEN,
            found: MAX_MESSAGE_LEN + 1,
        }
    );
    // Routing does not validate keys: a message with a non-canonical
    // identity key is routed; its recipient refuses it.
    let mut b = c.first.clone();
    b[3..35].copy_from_slice(&[0xff; 32]);
    route(&b).unwrap();
    assert!(PreKeyMessage::from_bytes(&b).is_err());
}

#[test]
fn the_largest_message_is_max_message_len() {
    let mut rng = rng(10);
    let b = bob();
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::new(
        b.identity.public_key().clone(),
        b.spk.public().clone(),
        Some(*b.one_time[0].public()),
        b.kem[0].public().clone(),
    )
    .verify()
    .unwrap();
    let mut session =
        Session::initiate(&mut rng, &alice, &bundle, SessionConfig::default()).unwrap();
    let largest = session
        .encrypt(&mut rng, &vec![0; MAX_PLAINTEXT_LEN])
        .unwrap();
    assert_eq!(largest.len(), MAX_MESSAGE_LEN);
    assert_eq!(route(&largest).unwrap().size(), MAX_MESSAGE_LEN);
}

// ---------------------------------------------------------------------------
// Robustness: random damage to valid uploads and messages.

mod damage {
    use super::*;
    use kinseal::IncomingMessage;
    use proptest::prelude::*;

    /// Up to four byte edits (position as a fraction of the length, new
    /// value), and a new length: truncated, kept, or extended.
    fn edits() -> impl Strategy<Value = (Vec<(f64, u8)>, i8)> {
        (
            prop::collection::vec((0.0..1.0f64, any::<u8>()), 1..4),
            -3i8..3,
        )
    }

    fn damaged(good: &[u8], edits: &[(f64, u8)], resize: i8) -> Vec<u8> {
        let mut b = good.to_vec();
        for (at, value) in edits {
            let i = (((b.len() as f64) * at) as usize).min(b.len() - 1);
            b[i] = *value;
        }
        let len = (b.len() as isize + isize::from(resize)).max(0) as usize;
        b.resize(len, 0);
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A damaged upload is refused, or it decodes into exactly its bytes;
        /// and it verifies only if it is the original.
        #[test]
        fn damaged_uploads(edits in edits()) {
            let good = alice().full_upload();
            let b = damaged(&good, &edits.0, edits.1);
            if let Ok(upload) = PreKeyUpload::from_bytes(&b) {
                prop_assert_eq!(upload.to_bytes(), b.clone());
                let verified = upload.verify(alice().identity.public_key()).is_ok();
                prop_assert_eq!(verified, b == good);
            }
        }

        /// `route` accepts a damaged message only if the recipient's decoder
        /// would, or would refuse it only for a key (which routing does not
        /// check); and it reports the same kind and prekey ids.
        #[test]
        fn damaged_messages(edits in edits(), which in 0..3usize) {
            let c = conversation();
            let good = [&c.first, &c.first_without_opk, &c.reply][which];
            let b = damaged(good, &edits.0, edits.1);
            match (route(&b), IncomingMessage::from_bytes(&b)) {
                (Ok(info), Ok(IncomingMessage::PreKey(m))) => {
                    prop_assert_eq!(info.kind(), MessageKind::PreKeyMessage);
                    let ids = info.prekeys().unwrap();
                    prop_assert_eq!(ids.signed_prekey_id(), m.signed_prekey_id());
                    prop_assert_eq!(ids.one_time_prekey_id(), m.one_time_prekey_id());
                    prop_assert_eq!(ids.kem_prekey_id(), m.kem_prekey_id());
                }
                (Ok(info), Ok(IncomingMessage::Message(_))) => {
                    prop_assert_eq!(info.kind(), MessageKind::Message);
                    prop_assert_eq!(info.prekeys(), None);
                }
                (Ok(_), Err(e)) => {
                    prop_assert!(
                        matches!(e, Error::Decode(DecodeError::InvalidKey { .. })),
                        "routed, but refused for {:?}", e
                    );
                }
                (Err(r), Err(e)) => prop_assert_eq!(r, e),
                (Err(r), Ok(_)) => prop_assert!(false, "refused by route only: {:?}", r),
            }
        }
    }
}
