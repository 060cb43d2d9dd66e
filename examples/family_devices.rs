//! A family of three apps — Chirp, Parley and Murmur — and one person,
//! Dana, with Parley on two devices: her phone and her laptop.
//!
//! Every device keeps its account, prekeys, trust records and sessions in
//! its own SQLite file (in a temporary folder), sealed under a storage key
//! that a real app would keep in the platform keystore. One directory
//! serves all three apps.
//!
//! On the way: Eli (on Chirp) writes to both of Dana's devices; Dana's
//! phone and Fay (on Murmur) start sessions with each other at the same
//! moment and settle on one; Dana's phone app is killed and restarted in
//! the middle of the conversation, with messages still on their way;
//! Dana and Eli compare safety numbers. Everything decrypts.
//!
//! ```sh
//! cargo run --example family_devices
//! ```

use std::error::Error as StdError;
use std::path::{Path, PathBuf};

use kinseal::client::{
    Account, AccountConfig, DeviceAddress, IdentityStatus, SqliteStore, StorageKey, StorageKeyring,
    UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{OsRng, SecretBytes};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

/// "Now", in seconds since the Unix epoch: kinseal has no clock.
const NOW: u64 = 1_767_225_600;

/// A device: where its store lives, the secret of its storage key (a real
/// app keeps it in the platform keystore), and its account.
struct Device {
    name: &'static str,
    address: DeviceAddress,
    path: PathBuf,
    storage_secret: SecretBytes,
    account: Account<SqliteStore>,
}

impl Device {
    /// Installs the app: a new account in a new SQLite file, registered
    /// with the directory, with its first prekeys uploaded.
    fn install(
        directory: &MemoryDirectory,
        folder: &Path,
        name: &'static str,
        address: DeviceAddress,
    ) -> Result<Device> {
        let path = folder.join(format!("{name}.sqlite"));
        let (storage_key, storage_secret) = StorageKey::generate_with_secret(&mut OsRng, 1);
        let store = SqliteStore::open(&path)?;
        let account = Account::create(
            store,
            StorageKeyring::new(storage_key),
            &mut OsRng,
            &address,
            NOW,
        )?
        .with_config(AccountConfig::default().with_device_lists_required(false));
        directory.register(&address, account.identity_key())?;
        let update = account.refresh_prekeys(&mut OsRng, NOW, None)?;
        directory.upload(&address, &account.upload_bytes(&update)?)?;
        Ok(Device {
            name,
            address,
            path,
            storage_secret,
            account,
        })
    }

    /// The app is killed and started again: everything comes back from
    /// the SQLite file.
    fn restart(self) -> Result<Device> {
        let Device {
            name,
            address,
            path,
            storage_secret,
            account,
        } = self;
        drop(account);
        let secret: &[u8; 32] = storage_secret.as_bytes().try_into()?;
        let keyring = StorageKeyring::new(StorageKey::new(1, secret));
        let account = Account::open(SqliteStore::open(&path)?, keyring)?
            .with_config(AccountConfig::default().with_device_lists_required(false));
        Ok(Device {
            name,
            address,
            path,
            storage_secret,
            account,
        })
    }

    /// Encrypts to every device of `user`, starting sessions with the ones
    /// it has none with.
    fn send_to_user(
        &self,
        directory: &MemoryDirectory,
        user: &UserAddress,
        text: &str,
    ) -> Result<Vec<(DeviceAddress, Vec<u8>)>> {
        let mut devices = Vec::new();
        for info in directory.devices(user)? {
            let to = info.address().clone();
            if !self.account.has_session(&to)? {
                let bundle = directory.take_bundle(&to)?.into_bundle().verify()?;
                self.account.start_session(&mut OsRng, &to, &bundle, NOW)?;
            }
            devices.push(to);
        }
        // One transaction (one durable commit) for every device.
        let sealed = self
            .account
            .encrypt_to_each(&mut OsRng, &devices, text.as_bytes(), NOW)?;
        Ok(devices.into_iter().zip(sealed).collect())
    }

    fn receive(&self, from: &Device, bytes: &[u8], expected: &str) -> Result<()> {
        let got = self
            .account
            .decrypt(&mut OsRng, &from.address, bytes, NOW)?;
        assert_eq!(got.plaintext(), expected.as_bytes());
        let note = match got.identity() {
            IdentityStatus::New => " (first contact: identity key recorded)",
            IdentityStatus::Changed { .. } => " (identity key CHANGED)",
            _ => "",
        };
        println!("  {} <- {}: {expected:?}{note}", self.name, from.name);
        Ok(())
    }
}

fn main() -> Result<()> {
    let folder = std::env::temp_dir().join(format!("kinseal-family-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let result = run(&folder);
    std::fs::remove_dir_all(&folder)?;
    result
}

fn run(folder: &Path) -> Result<()> {
    let directory = MemoryDirectory::new();
    let dana_user = UserAddress::new(b"parley", b"dana@example.org")?;
    let phone = Device::install(&directory, folder, "dana-phone", dana_user.device(1))?;
    let laptop = Device::install(&directory, folder, "dana-laptop", dana_user.device(2))?;
    let eli = Device::install(
        &directory,
        folder,
        "eli",
        DeviceAddress::new(b"chirp", b"+15550100", 1)?,
    )?;
    let fay = Device::install(
        &directory,
        folder,
        "fay",
        DeviceAddress::new(b"murmur", b"fay", 1)?,
    )?;
    println!("stores in {}", folder.display());

    println!("Eli (Chirp) writes to Dana on Parley: both her devices get it");
    let hello = eli.send_to_user(&directory, &dana_user, "hello Dana")?;
    for (to, bytes) in &hello {
        let device = if *to == phone.address {
            &phone
        } else {
            &laptop
        };
        device.receive(&eli, bytes, "hello Dana")?;
    }
    let reply = phone
        .account
        .encrypt(&mut OsRng, &eli.address, b"hi Eli, from my phone", NOW)?;
    eli.receive(&phone, &reply, "hi Eli, from my phone")?;
    let reply = laptop
        .account
        .encrypt(&mut OsRng, &eli.address, b"and from my laptop", NOW)?;
    eli.receive(&laptop, &reply, "and from my laptop")?;

    println!("Dana's phone and Fay (Murmur) start sessions with each other at once");
    let fay_bundle = directory
        .take_bundle(&fay.address)?
        .into_bundle()
        .verify()?;
    let phone_bundle = directory
        .take_bundle(&phone.address)?
        .into_bundle()
        .verify()?;
    phone
        .account
        .start_session(&mut OsRng, &fay.address, &fay_bundle, NOW)?;
    fay.account
        .start_session(&mut OsRng, &phone.address, &phone_bundle, NOW)?;
    let to_fay = phone
        .account
        .encrypt(&mut OsRng, &fay.address, b"hi Fay", NOW)?;
    let to_phone = fay
        .account
        .encrypt(&mut OsRng, &phone.address, b"hi Dana", NOW)?;
    fay.receive(&phone, &to_fay, "hi Fay")?;
    phone.receive(&fay, &to_phone, "hi Dana")?;
    let settled = phone.account.current_session_id(&fay.address)?;
    assert_eq!(settled, fay.account.current_session_id(&phone.address)?);
    println!("  both kept the same session");

    println!("Eli writes twice more; Dana's phone app is killed before reading");
    let ask = |i: u32| {
        eli.account.encrypt(
            &mut OsRng,
            &phone.address,
            format!("are you there? ({i})").as_bytes(),
            NOW,
        )
    };
    let (first, second) = (ask(1)?, ask(2)?);
    let from_fay = fay
        .account
        .encrypt(&mut OsRng, &phone.address, b"lunch tomorrow?", NOW)?;
    let phone = phone.restart()?;
    println!("  the phone app restarted from {}", phone.path.display());
    // Read out of order, after the restart.
    phone.receive(&eli, &second, "are you there? (2)")?;
    phone.receive(&fay, &from_fay, "lunch tomorrow?")?;
    phone.receive(&eli, &first, "are you there? (1)")?;
    let reply = phone
        .account
        .encrypt(&mut OsRng, &fay.address, b"yes, noon", NOW)?;
    fay.receive(&phone, &reply, "yes, noon")?;

    println!("Dana and Eli compare safety numbers");
    let on_phone = phone
        .account
        .safety_number(&eli.address)?
        .ok_or("no key on record")?;
    let on_chirp = eli
        .account
        .safety_number(&phone.address)?
        .ok_or("no key on record")?;
    assert_eq!(on_phone, on_chirp);
    assert!(on_chirp.matches_scanned(&on_phone.to_qr_bytes())?);
    println!("  {}", on_phone.groups().join(" "));
    phone
        .account
        .mark_verified(&mut OsRng, &eli.address, eli.account.identity_key())?;

    // What is on disk is sealed: no plaintext, no key in the clear.
    for device in [&phone, &laptop, &eli, &fay] {
        device.account.store().check_integrity()?;
        device.account.store().checkpoint()?;
        let mut disk = std::fs::read(&device.path)?;
        if let Ok(wal) = std::fs::read(device.path.with_extension("sqlite-wal")) {
            disk.extend_from_slice(&wal);
        }
        for needle in [&b"lunch tomorrow?"[..], device.storage_secret.as_bytes()] {
            assert!(!disk.windows(needle.len()).any(|w| w == needle));
        }
    }
    println!(
        "every message decrypted; the stores passed integrity checks and hold nothing in the clear"
    );
    Ok(())
}
