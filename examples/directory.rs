//! One prekey directory serving the clients of three apps — Chirp, Parley
//! and Murmur — with no network.
//!
//! Devices register and upload prekeys; senders fetch bundles, verify them
//! and start sessions; the server routes every message reading only what
//! `kinseal::server::route` exposes, and checks that the prekey ids a first
//! message names are ones it handed out for that device. On the way: a
//! user with two devices, a device whose one-time prekeys run out (bundles
//! fall back to its last-resort ML-KEM prekey, and the server asks it to
//! replenish), a retried upload and a forged one refused, and a replayed
//! first message refused by its recipient.
//!
//! At the end it prints what the server saw, and checks that no byte it
//! routed contains a plaintext.
//!
//! ```sh
//! cargo run --example directory            # in-memory directory
//! cargo run --example directory -- sqlite  # SQLite directory
//! ```

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;

use kinseal::server::{
    DEFAULT_REPLENISH_THRESHOLD, DeviceAddress, PreKeyDirectory, PreKeyIds, PreKeyUpload,
    SIGNED_PREKEY_ROTATION_SECS, TakenBundle, UserAddress, route,
};
use kinseal::{
    Error, HandshakeId, IdentityKeyPair, KemPreKeyPair, MessageKind, OneTimePreKeyPair, OsRng,
    PreKeyBundle, PreKeyMessage, Session, SessionConfig, SignedPreKeyPair, UploadError,
};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

/// "Now", in seconds since the Unix epoch. kinseal has no clock: every
/// time is the caller's.
const NOW: u64 = 1_767_225_600;
/// One-time keys of each kind a device uploads at a time.
const BATCH: usize = 12;

// ---------------------------------------------------------------------------
// A device: its keys, its sessions. Private keys never leave it.
// ---------------------------------------------------------------------------

struct Device {
    address: DeviceAddress,
    identity: IdentityKeyPair,
    spk: SignedPreKeyPair,
    last_resort: KemPreKeyPair,
    one_time: HashMap<u32, OneTimePreKeyPair>,
    kem: HashMap<u32, KemPreKeyPair>,
    next_one_time_id: u32,
    next_kem_id: u32,
    /// Handshake ids accepted on the last-resort key, to refuse replays.
    last_resort_handshakes: HashSet<HandshakeId>,
    sessions: HashMap<DeviceAddress, Session>,
}

impl Device {
    fn new(app: &str, user: &str, device_id: u32) -> Result<Device> {
        let mut rng = OsRng;
        let identity = IdentityKeyPair::generate(&mut rng);
        Ok(Device {
            address: DeviceAddress::new(app.as_bytes(), user.as_bytes(), device_id)?,
            spk: SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW),
            last_resort: KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW),
            identity,
            one_time: HashMap::new(),
            kem: HashMap::new(),
            next_one_time_id: 1,
            next_kem_id: 2,
            last_resort_handshakes: HashSet::new(),
            sessions: HashMap::new(),
        })
    }

    /// A batch of fresh one-time keys (ids continue where the last batch
    /// stopped), plus the signed prekey and last-resort key if `first`.
    fn upload(&mut self, first: bool) -> Result<Vec<u8>> {
        let mut rng = OsRng;
        let one_time = OneTimePreKeyPair::generate_batch(&mut rng, self.next_one_time_id, BATCH)?;
        let kem =
            KemPreKeyPair::generate_batch(&mut rng, &self.identity, self.next_kem_id, BATCH, NOW)?;
        self.next_one_time_id += BATCH as u32;
        self.next_kem_id += BATCH as u32;
        let mut upload = PreKeyUpload::builder(&self.identity)
            .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
            .kem_prekeys(kem.iter().map(KemPreKeyPair::public));
        if first {
            upload = upload
                .signed_prekey(self.spk.public())
                .last_resort_prekey(self.last_resort.public());
        }
        let bytes = upload.to_bytes()?;
        self.one_time
            .extend(one_time.into_iter().map(|k| (k.id(), k)));
        self.kem.extend(kem.into_iter().map(|k| (k.id(), k)));
        Ok(bytes)
    }

    fn send(&mut self, to: &Device, bundle: Option<&[u8]>, text: &str) -> Result<Envelope> {
        let mut rng = OsRng;
        if let Some(bundle) = bundle {
            let verified = PreKeyBundle::from_bytes(bundle)?.verify()?;
            // Trust on first use: a real app compares this with the key it
            // already trusts for the peer, or shows a safety number.
            assert_eq!(verified.bundle().identity_key(), to.identity.public_key());
            let config =
                SessionConfig::default().with_context(&context(&self.address, &to.address))?;
            let session = Session::initiate(&mut rng, &self.identity, &verified, config)?;
            self.sessions.insert(to.address.clone(), session);
        }
        let session = self.sessions.get_mut(&to.address).ok_or("no session")?;
        Ok(Envelope {
            from: self.address.clone(),
            to: to.address.clone(),
            bytes: session.encrypt(&mut rng, text.as_bytes())?,
        })
    }

    fn receive(&mut self, envelope: &Envelope) -> Result<String> {
        if let Some(session) = self.sessions.get_mut(&envelope.from) {
            return Ok(String::from_utf8(session.decrypt(&envelope.bytes)?)?);
        }
        // A new session: look the prekeys up by the ids the message names.
        let message = PreKeyMessage::from_bytes(&envelope.bytes)?;
        let opk = match message.one_time_prekey_id() {
            Some(id) => Some(self.one_time.get(&id).ok_or("unknown one-time prekey")?),
            None => None,
        };
        let on_last_resort = message.kem_prekey_id() == self.last_resort.id();
        let kem = if on_last_resort {
            if self
                .last_resort_handshakes
                .contains(&message.handshake_id())
            {
                return Err("replayed first message refused".into());
            }
            &self.last_resort
        } else {
            self.kem
                .get(&message.kem_prekey_id())
                .ok_or("unknown KEM prekey")?
        };
        let config =
            SessionConfig::default().with_context(&context(&envelope.from, &self.address))?;
        let inbound = Session::respond(&self.identity, &self.spk, opk, kem, &message, config)?;
        // In one atomic step in a real app: store the session, delete the
        // one-time keys, remember a last-resort handshake.
        if let Some(id) = message.one_time_prekey_id() {
            self.one_time.remove(&id);
        }
        if on_last_resort {
            self.last_resort_handshakes.insert(inbound.handshake_id);
        } else {
            self.kem.remove(&message.kem_prekey_id());
        }
        self.sessions.insert(envelope.from.clone(), inbound.session);
        Ok(String::from_utf8(inbound.plaintext)?)
    }
}

/// The context both sides bind into a session: who initiated, to whom.
fn context(initiator: &DeviceAddress, responder: &DeviceAddress) -> Vec<u8> {
    format!(
        "kinseal-directory-demo {} -> {}",
        show(initiator),
        show(responder)
    )
    .into_bytes()
}

fn show(a: &DeviceAddress) -> String {
    format!(
        "{}:{}/{}",
        String::from_utf8_lossy(a.app_id()),
        String::from_utf8_lossy(a.user_id()),
        a.device_id()
    )
}

// ---------------------------------------------------------------------------
// The server: a directory and a router. It links kinseal, but holds no
// private key and never decrypts.
// ---------------------------------------------------------------------------

/// What the server's own transport gives it: who sent the bytes and to
/// whom (kinseal does not hide this), and the bytes.
struct Envelope {
    from: DeviceAddress,
    to: DeviceAddress,
    bytes: Vec<u8>,
}

struct Server {
    directory: Box<dyn PreKeyDirectory>,
    /// The prekey ids handed out for each device, to account for the ids
    /// first messages name.
    handed_out: HashMap<DeviceAddress, HashSet<PreKeyIds>>,
    /// Devices the server has asked for more one-time keys.
    replenish: Vec<DeviceAddress>,
    /// Every message routed: what `route` exposed, and the bytes (kept only
    /// to check at the end that no plaintext is in them).
    seen: Vec<(Envelope, kinseal::server::RouteInfo)>,
}

/// The in-memory directory, or the SQLite one when the first argument is
/// `sqlite` (examples always have the `sqlite` feature).
fn open_directory() -> Result<Box<dyn PreKeyDirectory>> {
    if std::env::args().nth(1).as_deref() == Some("sqlite") {
        println!("directory: SQLite (in memory)");
        Ok(Box::new(kinseal::server::SqliteDirectory::open_in_memory()?))
    } else {
        println!("directory: in memory (pass `sqlite` for SQLite)");
        Ok(Box::new(kinseal::server::MemoryDirectory::new()))
    }
}

impl Server {
    fn new() -> Result<Server> {
        Ok(Server {
            directory: open_directory()?,
            handed_out: HashMap::new(),
            replenish: Vec::new(),
            seen: Vec::new(),
        })
    }

    /// One bundle for each device of `user`.
    fn fetch_bundles(&mut self, user: &UserAddress) -> Result<Vec<(DeviceAddress, Vec<u8>)>> {
        let mut bundles = Vec::new();
        for device in self.directory.devices(user)? {
            let taken = self.take_bundle(device.address())?;
            bundles.push((device.address().clone(), taken.to_bytes()));
        }
        Ok(bundles)
    }

    /// A bundle for one device: its one-time keys are handed out exactly
    /// once. Records the ids, and asks the device for more keys when few
    /// are left.
    fn take_bundle(&mut self, device: &DeviceAddress) -> Result<TakenBundle> {
        let taken = self.directory.take_bundle(device)?;
        self.handed_out
            .entry(device.clone())
            .or_default()
            .insert(taken.prekey_ids());
        let left = taken.remaining();
        if left.needs_replenish(DEFAULT_REPLENISH_THRESHOLD) && !self.replenish.contains(device) {
            println!(
                "  server: {} has {} one-time X25519 and {} ML-KEM prekeys left: \
                 asking it to upload more",
                show(device),
                left.one_time(),
                left.kem()
            );
            self.replenish.push(device.clone());
        }
        Ok(taken)
    }

    /// Routes an envelope by what `route` exposes: kind, version, size and,
    /// for a first message, the prekey ids, which must be ones handed out.
    fn route(&mut self, envelope: Envelope) -> Result<&Envelope> {
        let info = route(&envelope.bytes)?;
        if let Some(ids) = info.prekeys() {
            let handed = self.handed_out.get(&envelope.to);
            if !handed.is_some_and(|h| h.contains(&ids)) {
                return Err("first message names prekeys never handed out".into());
            }
        }
        self.seen.push((envelope, info));
        Ok(&self.seen.last().ok_or("just pushed")?.0)
    }
}

// ---------------------------------------------------------------------------

fn main() -> Result<()> {
    let mut server = Server::new()?;
    let mut plaintexts: Vec<String> = Vec::new();
    let mut say = |text: &str| {
        plaintexts.push(text.to_owned());
        text.to_owned()
    };

    println!("\n== registration and uploads");
    let mut alice = Device::new("chirp", "alice@chirp.example", 1)?;
    let mut bob_phone = Device::new("parley", "bob@parley.example", 1)?;
    let mut bob_laptop = Device::new("parley", "bob@parley.example", 2)?;
    let mut carol = Device::new("murmur", "carol", 7)?;
    for device in [&mut alice, &mut bob_phone, &mut bob_laptop, &mut carol] {
        server
            .directory
            .register(&device.address, device.identity.public_key())?;
        let upload = device.upload(true)?;
        let counts = server.directory.upload(&device.address, &upload)?;
        println!(
            "  {} registered; upload of {} bytes accepted; holds {} + {} one-time prekeys",
            show(&device.address),
            upload.len(),
            counts.one_time(),
            counts.kem()
        );
    }

    println!("\n== Alice (Chirp) writes to Bob (Parley) on both his devices");
    let bob = UserAddress::new(b"parley", b"bob@parley.example")?;
    for (address, bundle) in server.fetch_bundles(&bob)? {
        let to = if address == bob_phone.address {
            &mut bob_phone
        } else {
            &mut bob_laptop
        };
        let envelope = alice.send(to, Some(&bundle), &say("Hi Bob, Alice here"))?;
        let envelope = server.route(envelope)?;
        println!("  {} reads: {:?}", show(&to.address), to.receive(envelope)?);
    }
    let reply = bob_phone.send(&alice, None, &say("Hi Alice! (from my phone)"))?;
    println!("  Alice reads: {:?}", alice.receive(server.route(reply)?)?);

    println!("\n== Carol (Murmur) writes to Alice, who answers");
    let alice_user = UserAddress::new(b"chirp", b"alice@chirp.example")?;
    let (_, bundle) = server.fetch_bundles(&alice_user)?.remove(0);
    let hello = carol.send(&alice, Some(&bundle), &say("Alice, it's Carol from Murmur"))?;
    println!("  Alice reads: {:?}", alice.receive(server.route(hello)?)?);
    let answer = alice.send(&carol, None, &say("Hello Carol!"))?;
    println!("  Carol reads: {:?}", carol.receive(server.route(answer)?)?);

    println!("\n== fourteen new Murmur users write to Bob's laptop, which is offline");
    let mut fans = Vec::new();
    let mut last_first_message = None;
    for n in 1..=14 {
        let mut fan = Device::new("murmur", &format!("fan{n}"), 1)?;
        let taken = server.take_bundle(&bob_laptop.address)?;
        if taken.used_last_resort() {
            println!(
                "  fan{n}: no one-time prekey left; bundle carries the last-resort ML-KEM prekey"
            );
        }
        let envelope = fan.send(
            &bob_laptop,
            Some(&taken.to_bytes()),
            &say(&format!("fan mail {n}")),
        )?;
        last_first_message = Some(envelope.bytes.clone());
        let routed = server.route(envelope)?;
        bob_laptop.receive(routed)?;
        fans.push(fan);
    }
    let left = server.directory.device(&bob_laptop.address)?.counts();
    println!(
        "  Bob's laptop read all 14; the directory holds {} + {} one-time prekeys for it",
        left.one_time(),
        left.kem()
    );
    // A copy of the last first message, replayed by someone on the path: the
    // server routes it (it cannot tell), the device refuses it.
    let replay = Envelope {
        from: fans.last().ok_or("fans")?.address.clone(),
        to: bob_laptop.address.clone(),
        bytes: last_first_message.ok_or("a first message")?,
    };
    bob_laptop.sessions.remove(&replay.from); // as if it came on a new connection
    match bob_laptop.receive(server.route(replay)?) {
        Err(e) => println!("  a replayed first message on the last-resort key: {e}"),
        Ok(_) => return Err("a replay was accepted".into()),
    }

    println!("\n== Bob's laptop comes back and replenishes");
    let upload = bob_laptop.upload(false)?;
    let counts = server.directory.upload(&bob_laptop.address, &upload)?;
    println!(
        "  accepted: it now holds {} + {} one-time prekeys",
        counts.one_time(),
        counts.kem()
    );
    match server.directory.upload(&bob_laptop.address, &upload) {
        Err(Error::Upload(e @ UploadError::StaleId { .. })) => {
            println!("  the same upload retried is refused ({e}): taken keys cannot come back")
        }
        other => return Err(format!("a retried upload: {other:?}").into()),
    }
    let forged = carol.upload(false)?;
    match server.directory.upload(&bob_laptop.address, &forged) {
        Err(Error::Upload(e)) => {
            println!("  Carol's keys uploaded to Bob's address are refused: {e}")
        }
        other => return Err(format!("a forged upload: {other:?}").into()),
    }
    // Time is a parameter: the server asks for a new signed prekey once the
    // current one is older than the rotation interval.
    let next_week = NOW + 8 * 24 * 60 * 60;
    for device in server.directory.devices(&bob)? {
        println!(
            "  {}: signed prekey {:?} (rotation due now: {}, in 8 days: {}), \
             last-resort {:?}, {} + {} one-time prekeys",
            show(device.address()),
            device.signed_prekey_id(),
            device.needs_signed_prekey_rotation(NOW, SIGNED_PREKEY_ROTATION_SECS),
            device.needs_signed_prekey_rotation(next_week, SIGNED_PREKEY_ROTATION_SECS),
            device.last_resort_id(),
            device.counts().one_time(),
            device.counts().kem()
        );
    }

    println!("\n== what the server saw");
    println!(
        "  {:<32} {:<32} {:<14} {:>6}  prekey ids (signed, one-time, KEM)",
        "from", "to", "kind", "bytes"
    );
    for (envelope, info) in &server.seen {
        let kind = match info.kind() {
            MessageKind::PreKeyMessage => "PreKeyMessage",
            _ => "Message",
        };
        let ids = info.prekeys().map_or(String::new(), |p| {
            format!(
                "{}, {:?}, {}",
                p.signed_prekey_id(),
                p.one_time_prekey_id(),
                p.kem_prekey_id()
            )
        });
        println!(
            "  {:<32} {:<32} {:<14} {:>6}  {ids}",
            show(&envelope.from),
            show(&envelope.to),
            kind,
            info.size()
        );
    }

    // The server held every routed byte; none of it contains a plaintext.
    for (envelope, _) in &server.seen {
        for text in &plaintexts {
            let needle = text.as_bytes();
            if envelope.bytes.windows(needle.len()).any(|w| w == needle) {
                return Err(format!("plaintext {text:?} visible to the server").into());
            }
        }
    }
    println!(
        "\n{} messages routed; the server never held a plaintext or a private key.",
        server.seen.len()
    );
    Ok(())
}
