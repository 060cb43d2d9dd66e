//! People, not devices: three apps — Chirp, Parley and Murmur — one
//! directory serving all three, and Dana, who has Parley on her phone and
//! her laptop and is one person to everyone she talks to.
//!
//! 1. Dana installs Parley on her phone and links her laptop by QR code:
//!    one user key, one signed device list naming both devices.
//! 2. Eli (on Chirp) fetches Dana's list, and one call encrypts to both of
//!    her devices; her devices fetch Eli's list on his first message.
//! 3. The directory turns malicious and registers a ghost "Dana" device.
//!    It is not on her signed list: nobody encrypts to it, and what it
//!    sends is refused.
//! 4. Dana's phone and Fay (on Murmur) start sessions at the same moment
//!    and settle on one.
//! 5. Dana's phone app is killed and restarted from its SQLite file with
//!    messages still on their way.
//! 6. Dana reinstalls Parley on her laptop. Eli's app learns of it from
//!    one decryption-error receipt and reaches the new laptop; nobody does
//!    anything.
//! 7. Dana and Eli compare one safety number for the two of them, the
//!    same on every device and unchanged by the reinstall.
//!
//! Every device keeps its account, prekeys, device lists and sessions in
//! its own SQLite file (in a temporary folder), sealed under a storage key
//! that a real app would keep in the platform keystore; at the end the
//! files are checked to hold nothing in the clear. Envelopes go from
//! device to device here; an app hands them to its server.
//!
//! ```sh
//! cargo run --example family_devices
//! ```

use std::error::Error as StdError;
use std::path::PathBuf;

use kinseal::client::{
    Account, DeviceAddress, DeviceListChange, FanOut, ReceiptOutcome, SqliteStore, StorageKey,
    StorageKeyring, UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{
    AccountError, Envelope, Error, FailedMessage, LinkCode, LinkRequest, OsRng, SecretBytes,
    VerifiedDeviceList,
};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

/// "Now", in seconds since the Unix epoch: kinseal has no clock.
const NOW: u64 = 1_767_225_600;

/// What the apps share: the directory (the one server here), and the
/// folder the devices' stores are in.
struct World {
    directory: MemoryDirectory,
    folder: PathBuf,
}

/// A device: where its store lives, the secret of its storage key (a real
/// app keeps it in the platform keystore), and its account.
struct Device<'w> {
    world: &'w World,
    name: &'static str,
    path: PathBuf,
    storage_secret: SecretBytes,
    account: Account<SqliteStore>,
}

impl World {
    /// A device with a new SQLite file and storage key, and the account
    /// `make` creates in that store.
    fn new_device(
        &self,
        name: &'static str,
        make: impl FnOnce(SqliteStore, StorageKeyring) -> kinseal::Result<Account<SqliteStore>>,
    ) -> Result<Device<'_>> {
        let path = self.folder.join(format!("{name}.sqlite"));
        let (storage_key, storage_secret) = StorageKey::generate_with_secret(&mut OsRng, 1);
        let account = make(SqliteStore::open(&path)?, StorageKeyring::new(storage_key))?;
        Ok(Device {
            world: self,
            name,
            path,
            storage_secret,
            account,
        })
    }

    /// A new account: a device key, a user key, and the user's device
    /// list v1 naming this device alone.
    fn create(&self, name: &'static str, address: &DeviceAddress) -> Result<Device<'_>> {
        self.new_device(name, |store, keyring| {
            Account::create(store, keyring, &mut OsRng, address, NOW)
        })
    }

    /// Installs an app as a person's first device: a new account,
    /// registered with the directory, its prekeys and its list published.
    fn install(&self, name: &'static str, address: &DeviceAddress) -> Result<Device<'_>> {
        let device = self.create(name, address)?;
        device.go_online()?;
        device.publish_list()?;
        Ok(device)
    }
}

impl<'w> Device<'w> {
    fn address(&self) -> &DeviceAddress {
        self.account.address()
    }

    fn user(&self) -> &UserAddress {
        self.address().user()
    }

    /// Registers the device with the directory and uploads its prekeys.
    fn go_online(&self) -> Result<()> {
        let directory = &self.world.directory;
        directory.register(self.address(), self.account.identity_key())?;
        let update = self.account.refresh_prekeys(&mut OsRng, NOW, None)?;
        directory.upload(self.address(), &self.account.upload_bytes(&update)?)?;
        Ok(())
    }

    /// Publishes this person's latest device list.
    fn publish_list(&self) -> Result<VerifiedDeviceList> {
        let list = self.account.device_list()?;
        let directory = &self.world.directory;
        directory.publish_device_list(self.user(), &list.to_bytes())?;
        Ok(list)
    }

    /// Links a new device of this person by QR code, as device
    /// `device_id`, and publishes the list that names it.
    fn link(&self, name: &'static str, device_id: u32) -> Result<Device<'w>> {
        // The new device shows a QR code ...
        let request = LinkRequest::new(&mut OsRng);
        let qr = request.code().to_bytes();
        // ... this device scans it, puts the new device on the list and
        // seals the user key to it ...
        let code = LinkCode::from_bytes(&qr)?;
        let linked = self
            .account
            .link_device(&mut OsRng, &code, device_id, NOW)?;
        // ... and the app's server relays the provisioning message.
        let provisioned = request.open(linked.provisioning_message())?;
        let device = self.world.new_device(name, |store, keyring| {
            Account::create_linked(store, keyring, &mut OsRng, provisioned, NOW)
        })?;
        device.go_online()?;
        self.publish_list()?;
        Ok(device)
    }

    /// Brings `user`'s device list on record up to date: the latest list
    /// on first contact, later the lists after the one held (the account
    /// checks that they follow it). `None` when nothing is newer.
    fn fetch_lists(&self, user: &UserAddress) -> Result<Option<DeviceListChange>> {
        let directory = &self.world.directory;
        // The latest list for a user met for the first time, else the
        // versions after the one on record.
        let mut source = |u: &UserAddress, held: Option<u64>| match held {
            None => Ok(directory.device_list(u)?.into_iter().collect()),
            Some(version) => directory.device_lists_since(u, version),
        };
        Ok(self
            .account
            .refresh_device_lists(&mut OsRng, user, &mut source, NOW)?)
    }

    /// Starts a session with each device on `user`'s list (and on this
    /// person's own) that has none; returns the devices whose bundles it
    /// fetched.
    fn sync(&self, user: &UserAddress) -> Result<Vec<DeviceAddress>> {
        let mut asked = Vec::new();
        let mut fetch = |d: &DeviceAddress| {
            asked.push(d.clone());
            self.world.directory.take_bundle(d)?.into_bundle().verify()
        };
        let report = self
            .account
            .sync_sessions(&mut OsRng, user, &mut fetch, NOW)?;
        assert!(report.failed().is_empty(), "{:?}", report.failed());
        assert_eq!(report.started().len(), asked.len());
        Ok(asked)
    }

    /// What the send button does: sessions with every listed device of
    /// `user` and this person's other devices, then one envelope each.
    fn send(&self, user: &UserAddress, text: &str) -> Result<FanOut> {
        self.sync(user)?;
        let sent = self
            .account
            .encrypt_to_user(&mut OsRng, user, text.as_bytes(), NOW)?;
        assert!(sent.missing().is_empty());
        Ok(sent)
    }

    /// The envelope of `sent` addressed to this device.
    fn mine<'s>(&self, sent: &'s FanOut) -> Result<&'s Envelope> {
        let mut envelopes = sent.envelopes().iter();
        let mine = envelopes.find(|e| e.recipient() == self.address());
        Ok(mine.ok_or("no envelope for this device")?)
    }

    /// Reads this device's envelope of `sent`, from `from`.
    fn receive(&self, from: &Device, sent: &FanOut, expected: &str) -> Result<()> {
        self.read(from, self.mine(sent)?, expected)
    }

    /// Decrypts an envelope from `from` and checks it says `expected`. The
    /// first message from a person whose list is not on record is refused
    /// with `NoDeviceList`: the app fetches the list and tries again.
    fn read(&self, from: &Device, envelope: &Envelope, expected: &str) -> Result<()> {
        assert_eq!(envelope.sender(), from.address());
        let got = match self.account.decrypt_envelope(&mut OsRng, envelope, NOW) {
            Err(Error::Account(AccountError::NoDeviceList { user, .. })) => {
                let change = self.fetch_lists(&user)?.ok_or("no list published")?;
                let v = change.version();
                println!(
                    "  {}: first message from {user:?}: fetched list v{v}",
                    self.name
                );
                self.account.decrypt_envelope(&mut OsRng, envelope, NOW)?
            }
            other => other?,
        };
        assert_eq!(got.plaintext(), expected.as_bytes());
        let copy = if from.user() == self.user() {
            " (her copy of what she sent)"
        } else {
            ""
        };
        println!("  {} <- {}: {expected:?}{copy}", self.name, from.name);
        Ok(())
    }

    /// The app is killed and started again: everything comes back from
    /// the SQLite file.
    fn restart(self) -> Result<Device<'w>> {
        drop(self.account);
        let secret: &[u8; 32] = self.storage_secret.as_bytes().try_into()?;
        let keyring = StorageKeyring::new(StorageKey::new(1, secret));
        let account = Account::open(SqliteStore::open(&self.path)?, keyring)?;
        Ok(Device { account, ..self })
    }

    /// The app is deleted, with its data.
    fn uninstall(self) -> Result<()> {
        drop(self.account);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", self.path.display()));
            if file.exists() {
                std::fs::remove_file(file)?;
            }
        }
        Ok(())
    }
}

/// A key's first bytes in hex, for the transcript.
fn short(key: &[u8]) -> String {
    key.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn show_list(list: &VerifiedDeviceList) {
    let (user, key) = (list.address(), short(list.user_key().as_bytes()));
    println!(
        "  {user:?} list v{}, signed by user key {key}…:",
        list.version()
    );
    for d in list.devices() {
        let key = short(d.identity_key().as_bytes());
        println!("    device {}, device key {key}…", d.device_id());
    }
}

fn main() -> Result<()> {
    let folder = std::env::temp_dir().join(format!("kinseal-family-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let world = World {
        directory: MemoryDirectory::new(),
        folder,
    };
    let result = run(&world);
    std::fs::remove_dir_all(&world.folder)?;
    result
}

fn run(world: &World) -> Result<()> {
    println!("stores in {}", world.folder.display());
    let dana = UserAddress::new(b"parley", b"dana@example.org")?;
    let (dana1, dana2, dana3) = (dana.device(1), dana.device(2), dana.device(3));

    println!("1. Dana installs Parley on her phone and links her laptop by QR code");
    let phone = world.install("dana-phone", &dana1)?;
    assert_eq!(phone.account.device_list()?.version(), 1);
    let laptop = phone.link("dana-laptop", 2)?;
    let same_person = laptop.account.user_identity_key() == phone.account.user_identity_key();
    assert!(same_person);
    let published = world.directory.device_list(&dana)?.ok_or("no list")?;
    assert_eq!(published, laptop.account.device_list()?.to_bytes());
    show_list(&phone.account.device_list()?);
    let eli = world.install("eli", &DeviceAddress::new(b"chirp", b"+15550100", 1)?)?;
    let fay = world.install("fay", &DeviceAddress::new(b"murmur", b"fay", 1)?)?;
    println!("  Eli installs Chirp, Fay installs Murmur");

    println!("2. Eli (Chirp) writes to Dana: one message, both her devices");
    let change = eli.fetch_lists(&dana)?.ok_or("no list")?;
    assert!(change.is_new_user() && change.added() == [dana1.clone(), dana2.clone()]);
    println!("  eli: fetched Dana's list v{}", change.version());
    let sent = eli.send(&dana, "hello Dana")?;
    assert_eq!(sent.envelopes().len(), 2);
    phone.receive(&eli, &sent, "hello Dana")?;
    laptop.receive(&eli, &sent, "hello Dana")?;
    // A reply goes to Eli, and to the person's other device.
    let sent = phone.send(eli.user(), "hi Eli, from my phone")?;
    eli.receive(&phone, &sent, "hi Eli, from my phone")?;
    laptop.receive(&phone, &sent, "hi Eli, from my phone")?;
    let sent = laptop.send(eli.user(), "and from my laptop")?;
    eli.receive(&laptop, &sent, "and from my laptop")?;
    phone.receive(&laptop, &sent, "and from my laptop")?;

    println!("3. The directory registers a ghost Dana device with keys of its own");
    let ghost = world.create("ghost", &dana3)?;
    ghost.go_online()?;
    assert_eq!(world.directory.devices(&dana)?.len(), 3);
    assert_eq!(phone.account.device_list()?.devices().len(), 2);
    println!("  the directory lists 3 devices for Dana; her signed list names 2");
    let sent = eli.send(&dana, "are you free Sunday?")?;
    assert!(sent.envelopes().len() == 2 && ghost.mine(&sent).is_err());
    println!("  ghost refused: Eli's message went to Dana's 2 listed devices only");
    phone.receive(&eli, &sent, "are you free Sunday?")?;
    laptop.receive(&eli, &sent, "are you free Sunday?")?;
    // The ghost writes to Eli, as Dana's device 3.
    ghost.fetch_lists(eli.user())?;
    ghost.sync(eli.user())?;
    let text = b"it's me, on my new tablet";
    let forged = ghost
        .account
        .encrypt_envelope(&mut OsRng, eli.address(), text, NOW)?;
    match eli.account.decrypt_envelope(&mut OsRng, &forged, NOW) {
        Err(Error::Account(AccountError::UnlistedDevice { address, .. })) => {
            assert_eq!(address, dana3)
        }
        other => return Err(format!("the ghost was let in: {:?}", other.map(|_| ())).into()),
    }
    let with_sessions = eli.account.devices_with_sessions(&dana)?;
    assert_eq!(with_sessions, [dana1.clone(), dana2.clone()]);
    assert!(eli.account.peer_identity(&dana3)?.is_none());
    println!("  ghost refused: its message to Eli is UnlistedDevice; Eli stored nothing");

    println!("4. Dana's phone and Fay (Murmur) start sessions with each other at once");
    phone.fetch_lists(fay.user())?;
    assert_eq!(fay.fetch_lists(&dana)?.ok_or("no list")?.added().len(), 2);
    assert_eq!(phone.sync(fay.user())?, [fay.address().clone()]);
    assert_eq!(fay.sync(&dana)?, [dana1.clone(), dana2.clone()]);
    println!("  ghost refused: Fay's app fetched bundles for Dana's devices 1 and 2 only");
    let to_fay = phone.send(fay.user(), "hi Fay")?;
    let to_dana = fay.send(&dana, "hi Dana")?;
    fay.receive(&phone, &to_fay, "hi Fay")?;
    phone.receive(&fay, &to_dana, "hi Dana")?;
    laptop.receive(&fay, &to_dana, "hi Dana")?;
    laptop.receive(&phone, &to_fay, "hi Fay")?;
    let settled = phone.account.current_session_id(fay.address())?;
    assert!(settled.is_some() && settled == fay.account.current_session_id(&dana1)?);
    println!("  the phone and Fay kept the same session");

    println!("5. Eli and Fay write; Dana's phone app is killed before it reads them");
    let first = eli.send(&dana, "are you there? (1)")?;
    let second = eli.send(&dana, "are you there? (2)")?;
    let lunch = fay.send(&dana, "lunch tomorrow?")?;
    let phone = phone.restart()?;
    println!("  the phone app restarted from {}", phone.path.display());
    // Read out of order, after the restart.
    phone.receive(&eli, &second, "are you there? (2)")?;
    phone.receive(&fay, &lunch, "lunch tomorrow?")?;
    phone.receive(&eli, &first, "are you there? (1)")?;
    let reply = phone.send(fay.user(), "yes, noon")?;
    fay.receive(&phone, &reply, "yes, noon")?;

    println!("6. Dana reinstalls Parley on her laptop");
    let number_before = eli.account.user_safety_number(&dana)?.ok_or("no key")?;
    let old_key = laptop.account.identity_key().clone();
    phone.account.remove_device(&mut OsRng, 2, NOW)?;
    let v3 = phone.publish_list()?;
    assert!(v3.device(2).is_none());
    let v3 = v3.version();
    world.directory.remove(&dana2)?;
    laptop.uninstall()?;
    let laptop = phone.link("dana-laptop", 2)?;
    assert_ne!(*laptop.account.identity_key(), old_key);
    println!("  the phone removed the old laptop (list v{v3}), then linked the new one:");
    show_list(&phone.account.device_list()?);
    // Eli, still on list v2, writes on the old laptop's session.
    let sent = eli.send(&dana, "did you get my photos?")?;
    phone.receive(&eli, &sent, "did you get my photos?")?;
    let lost = laptop.mine(&sent)?;
    let Err(error) = laptop.account.decrypt_envelope(&mut OsRng, lost, NOW) else {
        return Err("the new laptop read a message for the old one".into());
    };
    let receipt = laptop.account.decryption_error_receipt(lost, &error, NOW)?;
    let receipt = receipt.ok_or("no receipt")?.to_bytes();
    println!("  dana-laptop: cannot decrypt ({error}); sends Eli a decryption-error receipt");
    // Eli's app: the receipt is signed by a key that list v2 does not
    // name for the device, so it fetches the lists after v2 ...
    let Err(Error::Account(AccountError::UnlistedDevice { address, .. })) =
        eli.account.handle_receipt(&mut OsRng, &receipt, NOW)
    else {
        return Err("the receipt should be from an unlisted key".into());
    };
    assert_eq!(address, dana2);
    let held = eli.account.peer_user(&dana)?.ok_or("no list")?;
    assert_eq!(held.device_list().version(), 2);
    let change = eli.fetch_lists(address.user())?.ok_or("no newer list")?;
    assert_eq!(change.replaced(), std::slice::from_ref(&dana2));
    assert!(!eli.account.has_session(&dana2)?);
    let v = change.version();
    println!("  eli: the receipt's key is not on list v2; fetched v3..v{v}: device 2 replaced");
    // ... where the session the receipt named is gone with the old
    // laptop; it starts one with the new laptop and sends the message
    // the receipt names again.
    let ReceiptOutcome::AlreadyReplaced { failed, .. } =
        eli.account.handle_receipt(&mut OsRng, &receipt, NOW)?
    else {
        return Err("the receipt's session went with the old laptop".into());
    };
    assert_eq!(eli.sync(&dana)?, std::slice::from_ref(&dana2));
    let mut envelopes = sent.envelopes().iter();
    let named = envelopes.find(|e| FailedMessage::of(e.message()).ok() == Some(failed));
    assert_eq!(named.map(Envelope::recipient), Some(&dana2));
    let text = b"did you get my photos?";
    let again = eli
        .account
        .encrypt_envelope(&mut OsRng, &dana2, text, NOW)?;
    laptop.read(&eli, &again, "did you get my photos?")?;
    let sent = eli.send(&dana, "see you Sunday")?;
    phone.receive(&eli, &sent, "see you Sunday")?;
    laptop.receive(&eli, &sent, "see you Sunday")?;

    println!("7. Dana and Eli compare their safety number");
    let on_chirp = eli.account.user_safety_number(&dana)?.ok_or("no key")?;
    for device in [&phone, &laptop] {
        let on_parley = device.account.user_safety_number(eli.user())?;
        let on_parley = on_parley.ok_or("no key")?;
        assert_eq!(on_parley, on_chirp);
        assert!(on_chirp.matches_scanned(&on_parley.to_qr_bytes())?);
    }
    assert_eq!(on_chirp, number_before);
    println!("  {on_chirp}");
    println!("  the same on dana-phone, dana-laptop and eli, and before the reinstall");
    // Eli scanned the QR code on Dana's phone (it matched, above).
    let known = eli.account.peer_user(&dana)?.ok_or("no key")?;
    eli.account
        .mark_user_verified(&mut OsRng, &dana, known.key())?;
    assert!(
        eli.account
            .peer_user(&dana)?
            .is_some_and(|k| k.is_verified())
    );
    println!("  Eli scanned the code on Dana's phone: Dana is verified on Chirp");

    println!("8. What is on disk is sealed");
    for device in [&phone, &laptop, &eli, &fay] {
        device.account.store().check_integrity()?;
        device.account.store().checkpoint()?;
        let mut disk = std::fs::read(&device.path)?;
        if let Ok(wal) = std::fs::read(device.path.with_extension("sqlite-wal")) {
            disk.extend_from_slice(&wal);
        }
        let secret = device.storage_secret.as_bytes();
        for needle in [&b"lunch tomorrow?"[..], b"did you get my photos?", secret] {
            assert!(!disk.windows(needle.len()).any(|w| w == needle));
        }
    }
    println!("  every store passed its integrity check and holds nothing in the clear");
    Ok(())
}
