//! A group chat across three apps — Chirp, Parley and Murmur — whose
//! membership the server cannot change.
//!
//! 1. Ana (Chirp, on her phone and her laptop), Ben (Parley) and Cleo
//!    (Murmur) install their apps; Ana creates a group of the three. The
//!    genesis she signs goes to every device, her laptop included.
//! 2. They talk: each message is encrypted once under its sender's sender
//!    key, and the server fans the same bytes out to every device. The
//!    server sees the group id, the epoch and the size, and no more.
//! 3. Ana adds Dev (Chirp). He reads what is said from then on, and
//!    nothing said before he joined.
//! 4. Cleo leaves: she signs her own removal, which needs no admin.
//!    Everyone replaces their sender key before their next message, and
//!    Cleo reads nothing sent after.
//! 5. The server tries to add a ghost: a user of its choosing, and a
//!    device it registered under Ben's address without Ben's signature.
//!    No member hands either a key, and what they send is refused.
//!
//! Each device keeps its account, sessions, group state and sender keys
//! in its own sealed in-memory store (`family_devices` shows the SQLite
//! one). Envelopes and group messages go through a stand-in server that
//! keeps every byte it was handed; at the end the demo checks that none
//! of them holds a plaintext.
//!
//! ```sh
//! cargo run --example group_chat
//! ```

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use kinseal::client::{
    Account, DeviceAddress, FanOut, GroupEvent, MemoryStore, StorageKey, StorageKeyring,
    UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory, route_group};
use kinseal::{AccountError, Error, GroupId, LinkCode, LinkRequest, OsRng, SenderKey};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

/// "Now", in seconds since the Unix epoch: kinseal has no clock.
const NOW: u64 = 1_767_225_600;

/// A device: a name for the transcript and its account.
struct Device {
    name: &'static str,
    account: Account<Arc<MemoryStore>>,
}

/// The stand-in for the apps' servers: a prekey directory, and a copy of
/// every byte it carried, for the audit at the end.
struct Server {
    directory: MemoryDirectory,
    carried: Vec<Vec<u8>>,
}

impl Server {
    /// Carries pairwise envelopes: hands each to the device it names.
    fn deliver(&mut self, devices: &[&Device], sent: &FanOut) -> Result<Vec<(String, GroupEvent)>> {
        let mut events = Vec::new();
        for envelope in sent.envelopes() {
            self.carried.push(envelope.to_bytes());
            let Some(to) = devices.iter().find(|d| d.address() == envelope.recipient()) else {
                continue;
            };
            let decrypted = to.account.decrypt_envelope(&mut OsRng, envelope, NOW)?;
            if let Some(event) = decrypted.group_event() {
                events.push((to.name.to_string(), event.clone()));
            }
        }
        Ok(events)
    }

    /// Carries one group message: what the server reads of it to fan it
    /// out, then the same bytes to every device it chooses.
    fn fan_out(&mut self, message: &[u8]) -> Result<()> {
        let route = route_group(message)?;
        println!(
            "   server: group message for {}, epoch {}, {} bytes",
            hex(route.group_id().as_bytes()),
            route.epoch(),
            route.size()
        );
        self.carried.push(message.to_vec());
        Ok(())
    }
}

impl Device {
    fn address(&self) -> &DeviceAddress {
        self.account.address()
    }

    fn user(&self) -> &UserAddress {
        self.address().user()
    }

    /// Registers with the directory and uploads prekeys.
    fn register(&self, server: &Server) -> Result<()> {
        let directory = &server.directory;
        directory.register(self.address(), self.account.identity_key())?;
        let update = self.account.refresh_prekeys(&mut OsRng, NOW, None)?;
        directory.upload(self.address(), &self.account.upload_bytes(&update)?)?;
        Ok(())
    }

    /// Registers, and publishes this user's device list.
    fn go_online(&self, server: &Server) -> Result<()> {
        self.register(server)?;
        let list = self.account.device_list()?.to_bytes();
        server.directory.publish_device_list(self.user(), &list)?;
        Ok(())
    }

    /// Fetches `users`' device lists and starts sessions with their
    /// devices (and this user's other devices), as an app does before it
    /// sends.
    fn meet(&self, server: &Server, users: &[&UserAddress]) -> Result<()> {
        let directory = &server.directory;
        for user in users {
            if *user == self.user() {
                // This user's own list: the account keeps it itself.
                let mut bundles =
                    |d: &DeviceAddress| directory.take_bundle(d)?.into_bundle().verify();
                self.account
                    .sync_sessions(&mut OsRng, user, &mut bundles, NOW)?;
                continue;
            }
            let mut lists = |u: &UserAddress, held: Option<u64>| match held {
                None => Ok(directory.device_list(u)?.into_iter().collect()),
                Some(version) => directory.device_lists_since(u, version),
            };
            self.account
                .refresh_device_lists(&mut OsRng, user, &mut lists, NOW)?;
            let mut bundles = |d: &DeviceAddress| directory.take_bundle(d)?.into_bundle().verify();
            self.account
                .sync_sessions(&mut OsRng, user, &mut bundles, NOW)?;
        }
        Ok(())
    }

    /// Sends `text` to the group: the sender-key distributions first (to
    /// devices that lack this device's key), then the one group message.
    fn say(
        &self,
        server: &mut Server,
        devices: &[&Device],
        group: &GroupId,
        text: &str,
    ) -> Result<Vec<u8>> {
        let sent = self
            .account
            .group_send(&mut OsRng, group, text.as_bytes(), NOW)?;
        let keys = distinct_recipients(sent.distributions());
        if keys > 0 {
            println!("   {} hands its sender key to {keys} device(s)", self.name);
        }
        server.deliver(devices, sent.distributions())?;
        server.fan_out(sent.message())?;
        println!("   {}: {text:?}", self.name);
        Ok(sent.message().to_vec())
    }

    /// Reads a group message from `from`; `None` when it is refused.
    fn hear(&self, from: &Device, message: &[u8]) -> Option<String> {
        match self
            .account
            .group_decrypt(&mut OsRng, from.address(), message)
        {
            Ok(d) => Some(String::from_utf8_lossy(d.plaintext()).into_owned()),
            Err(_) => None,
        }
    }
}

/// Creates an account for `address`.
fn create(name: &'static str, address: DeviceAddress) -> Result<Device> {
    let keyring = StorageKeyring::new(StorageKey::generate(&mut OsRng, 1));
    let store = Arc::new(MemoryStore::new());
    let account = Account::create(store, keyring, &mut OsRng, &address, NOW)?;
    Ok(Device { name, account })
}

/// Creates an account for `address` and brings it online.
fn install(server: &Server, name: &'static str, address: DeviceAddress) -> Result<Device> {
    let device = create(name, address)?;
    device.go_online(server)?;
    Ok(device)
}

/// How many devices `sent` reaches.
fn distinct_recipients(sent: &FanOut) -> usize {
    let mut to: Vec<_> = sent.envelopes().iter().map(|e| e.recipient()).collect();
    to.sort();
    to.dedup();
    to.len()
}

/// Links a second device of `existing`'s user by QR code.
fn link(server: &Server, existing: &Device, name: &'static str, id: u32) -> Result<Device> {
    let request = LinkRequest::new(&mut OsRng);
    let code = LinkCode::from_bytes(&request.code().to_bytes())?;
    let linked = existing.account.link_device(&mut OsRng, &code, id, NOW)?;
    let provisioned = request.open(linked.provisioning_message())?;
    let keyring = StorageKeyring::new(StorageKey::generate(&mut OsRng, 1));
    let store = Arc::new(MemoryStore::new());
    let account = Account::create_linked(store, keyring, &mut OsRng, provisioned, NOW)?;
    let device = Device { name, account };
    device.go_online(server)?;
    Ok(device)
}

/// The first bytes of `bytes` in hex, for the transcript.
fn hex(bytes: &[u8]) -> String {
    let head: String = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{head}…")
}

/// The group and the devices its messages are fanned out to.
struct Chat<'a> {
    everyone: &'a [&'a Device],
    group: GroupId,
}

impl Chat<'_> {
    /// `from` says `text`; every device of `readers` must read it.
    fn talk(
        &self,
        server: &mut Server,
        from: &Device,
        readers: &[&Device],
        text: &str,
    ) -> Result<Vec<u8>> {
        let message = from.say(server, self.everyone, &self.group, text)?;
        all_hear(readers, from, &message, text)?;
        Ok(message)
    }
}

/// Checks that every device of `readers` reads `message` from `from` as
/// `text`, and prints who did.
fn all_hear(readers: &[&Device], from: &Device, message: &[u8], text: &str) -> Result<()> {
    let mut names = Vec::new();
    for reader in readers {
        let heard = reader
            .hear(from, message)
            .ok_or("a member could not read")?;
        assert_eq!(heard, text);
        names.push(reader.name);
    }
    println!("     read by {}", names.join(", "));
    Ok(())
}

fn main() -> Result<()> {
    let mut server = Server {
        directory: MemoryDirectory::new(),
        carried: Vec::new(),
    };
    let address = |app: &[u8], user: &[u8], id| DeviceAddress::new(app, user, id);

    println!("1. Ana, Ben and Cleo install their apps; Ana creates the group");
    let ana = install(&server, "ana-phone", address(b"chirp", b"ana", 1)?)?;
    let ana_laptop = link(&server, &ana, "ana-laptop", 2)?;
    let ben = install(&server, "ben", address(b"parley", b"ben", 1)?)?;
    let cleo = install(&server, "cleo", address(b"murmur", b"cleo", 1)?)?;
    let dev = install(&server, "dev", address(b"chirp", b"dev", 1)?)?;
    let people = [ana.user(), ben.user(), cleo.user(), dev.user()];
    for device in [&ana, &ana_laptop, &ben, &cleo, &dev] {
        device.meet(&server, &people)?;
    }
    let everyone = [&ana, &ana_laptop, &ben, &cleo, &dev];
    let (group, genesis) =
        ana.account
            .create_group(&mut OsRng, &[ben.user().clone(), cleo.user().clone()], NOW)?;
    println!(
        "   group {} (its id is bound to Ana's user key)",
        hex(group.as_bytes())
    );
    for (name, event) in server.deliver(&everyone, &genesis)? {
        assert!(matches!(event, GroupEvent::Joined { epoch: 0, .. }));
        println!("   {name} joined at epoch 0");
    }
    let state = ben.account.group_state(&group)?.ok_or("no state")?;
    assert_eq!(
        Some(&state),
        ana_laptop.account.group_state(&group)?.as_ref()
    );
    println!(
        "   every device computed the same state: {} members, hash {}",
        state.members().len(),
        hex(state.hash())
    );

    println!("2. They talk");
    let chat = Chat {
        everyone: &everyone,
        group,
    };
    let hello = chat.talk(
        &mut server,
        &ana,
        &[&ana_laptop, &ben, &cleo],
        "Dinner on Friday?",
    )?;
    let yes = chat.talk(
        &mut server,
        &ben,
        &[&ana, &ana_laptop, &cleo],
        "Yes! Where?",
    )?;
    let place = chat.talk(
        &mut server,
        &cleo,
        &[&ana, &ana_laptop, &ben],
        "The usual place, 8pm",
    )?;

    println!("3. Ana adds Dev");
    let add = ana
        .account
        .add_group_members(&mut OsRng, &group, &[dev.user().clone()], NOW)?;
    for (name, event) in server.deliver(&everyone, &add)? {
        match event {
            GroupEvent::Joined { epoch, .. } => println!("   {name} joined at epoch {epoch}"),
            GroupEvent::Changed { epoch, added, .. } => {
                println!("   {name} moved to epoch {epoch}: {} added", added.len())
            }
            other => println!("   {name}: {other:?}"),
        }
    }
    let earlier = [(&ana, &hello), (&ben, &yes), (&cleo, &place)];
    let read_earlier = earlier
        .iter()
        .filter(|(from, m)| dev.hear(from, m).is_some())
        .count();
    assert_eq!(read_earlier, 0);
    println!("   Dev reads {read_earlier} of the 3 messages from before he joined");
    let members = [&ana_laptop, &ben, &cleo, &dev];
    chat.talk(&mut server, &ana, &members, "Welcome, Dev")?;
    let members = [&ana, &ana_laptop, &ben, &cleo];
    chat.talk(&mut server, &dev, &members, "Thanks! See you Friday")?;

    println!("4. Cleo leaves the group");
    let removal = cleo.account.leave_group(&mut OsRng, &group, NOW)?;
    for (name, event) in server.deliver(&everyone, &removal)? {
        if let GroupEvent::Changed { removed, epoch, .. } = event {
            println!(
                "   {name} moved to epoch {epoch}: {} removed",
                removed.len()
            );
        }
    }
    let after: Vec<(&Device, Vec<u8>)> = vec![
        (
            &ben,
            ben.say(
                &mut server,
                &everyone,
                &group,
                "Cleo's surprise party: Saturday",
            )?,
        ),
        (
            &ana,
            ana.say(&mut server, &everyone, &group, "I'll bring the cake")?,
        ),
    ];
    let cleo_read = after
        .iter()
        .filter(|(f, m)| cleo.hear(f, m).is_some())
        .count();
    assert_eq!(cleo_read, 0);
    println!(
        "   Cleo reads {cleo_read} of the {} messages sent after",
        after.len()
    );
    for (from, m) in &after {
        for reader in [&ana, &ana_laptop, &ben, &dev] {
            if reader.name != from.name {
                reader.hear(from, m).ok_or("a member could not read")?;
            }
        }
    }
    println!("     the four remaining devices read both");

    println!("5. The server tries to add a ghost");
    let mallory = install(&server, "mallory", address(b"parley", b"mallory", 1)?)?;
    // The directory cannot publish a list for Ben under another user key
    // (it would be refused: Ben signs his list), so the ghost device is
    // registered with prekeys alone, as if the server slipped it in.
    let fake_ben = create("fake-ben", address(b"parley", b"ben", 7)?)?;
    fake_ben.register(&server)?;
    for device in [&ana, &ana_laptop, &ben, &dev] {
        device.meet(&server, &[mallory.user()])?;
    }
    let ghosts = [&mallory, &fake_ben];
    let sent = ben
        .account
        .group_send(&mut OsRng, &group, b"Anyone new here?", NOW)?;
    let to_ghosts = sent
        .distributions()
        .envelopes()
        .iter()
        .filter(|e| ghosts.iter().any(|g| g.address() == e.recipient()))
        .count();
    assert_eq!(to_ghosts, 0);
    server.deliver(&everyone, sent.distributions())?;
    server.fan_out(sent.message())?;
    println!("   Ben's device sends its key to {to_ghosts} ghost devices");
    for ghost in ghosts {
        assert!(ghost.hear(&ben, sent.message()).is_none());
        let mut forged_key = SenderKey::generate(&mut OsRng, group, 0);
        let forged = forged_key.encrypt(ghost.address(), b"I'm one of you")?;
        for member in [&ana, &ana_laptop, &ben, &dev] {
            match member
                .account
                .group_decrypt(&mut OsRng, ghost.address(), &forged)
            {
                Err(Error::Account(AccountError::SenderNotMember { .. })) => {}
                other => return Err(format!("{}: {other:?}", member.name).into()),
            }
        }
        println!(
            "   {} reads nothing, and every member refuses what it sends",
            ghost.name
        );
    }
    let ghost_add =
        ben.account
            .add_group_members(&mut OsRng, &group, &[mallory.user().clone()], NOW);
    assert!(ghost_add.is_err());
    println!("   Ben, a member but not an admin, cannot add Mallory either");

    println!("6. What the server carried");
    let plaintexts: [&[u8]; 4] = [
        b"Dinner on Friday?",
        b"Cleo's surprise party: Saturday",
        b"I'll bring the cake",
        b"Anyone new here?",
    ];
    let leaked = server.carried.iter().any(|bytes| {
        plaintexts
            .iter()
            .any(|p| bytes.windows(p.len()).any(|w| w == *p))
    });
    assert!(!leaked);
    let sizes: HashMap<bool, usize> = server.carried.iter().fold(HashMap::new(), |mut m, b| {
        *m.entry(route_group(b).is_ok()).or_default() += 1;
        m
    });
    println!(
        "   {} pairwise envelopes and {} group messages, none with a plaintext in it",
        sizes.get(&false).copied().unwrap_or(0),
        sizes.get(&true).copied().unwrap_or(0)
    );
    Ok(())
}
