//! Alice uses the Chirp app and Bob uses the Parley app. Both apps link
//! kinseal, so they can talk end to end across apps.
//!
//! Each app's server is an in-memory stand-in that holds only bytes:
//!
//! * Parley's server keeps a directory of the public keys Bob published.
//!   It hands out each one-time prekey at most once.
//! * Each server keeps a mailbox per user. A relay between the two servers
//!   carries envelopes, holds some back and delivers them late, in reverse
//!   order.
//!
//! At the end the demo checks every buffer either server or the relay ever
//! stored, to show that none of it contains a plaintext or a private key.
//!
//! Run it with `cargo run --example cross_app_chat`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::error::Error as StdError;

use kinseal::wire::{KEM_PUBLIC_KEY_LEN, KEY_LEN, SIGNATURE_LEN};
use kinseal::{
    Error, HandshakeId, IdentityKey, IdentityKeyPair, KemPreKey, KemPreKeyPair, MessageKind,
    OneTimePreKey, OneTimePreKeyPair, OsRng, PreKeyBundle, PreKeyMessage, ProtocolError, Session,
    SessionConfig, SignedPreKey, SignedPreKeyPair, message_kind,
};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

const ALICE: &str = "alice@chirp.example";
const BOB: &str = "bob@parley.example";
/// Both sides bind the same context into the session: which app and
/// address each party is on. If the two disagreed, nothing would decrypt.
const CONTEXT: &[u8] = b"kinseal-demo/1 initiator=chirp:alice@chirp.example \
                         responder=parley:bob@parley.example";
/// A fixed "now" in seconds since the Unix epoch, stamped on Bob's prekeys.
const NOW: u64 = 1_767_225_600;

// ---------------------------------------------------------------------------
// The servers. They store bytes and routing metadata, and never link a key.
// ---------------------------------------------------------------------------

/// One envelope: routing metadata the servers need, and the ciphertext.
/// kinseal does not hide who talks to whom, when, or how much.
struct Envelope {
    /// A number the sending app gives each message, for the transcript.
    id: u32,
    from: &'static str,
    to: &'static str,
    bytes: Vec<u8>,
}

/// An ML-KEM prekey as the directory stores it: its published fields.
struct StoredKemPreKey {
    id: u32,
    last_resort: bool,
    created_at: u64,
    public: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
    signature: [u8; SIGNATURE_LEN],
}

/// The public keys one user published, as plain bytes.
struct DirectoryEntry {
    identity: [u8; KEY_LEN],
    spk_id: u32,
    spk_created_at: u64,
    spk_public: [u8; KEY_LEN],
    spk_signature: [u8; SIGNATURE_LEN],
    one_time: VecDeque<(u32, [u8; KEY_LEN])>,
    kem_one_time: VecDeque<StoredKemPreKey>,
    kem_last_resort: StoredKemPreKey,
}

/// One app's server: a prekey directory and a mailbox per user.
struct AppServer {
    app: &'static str,
    directory: HashMap<&'static str, DirectoryEntry>,
    mailboxes: HashMap<&'static str, VecDeque<Envelope>>,
    /// A copy of every buffer this server ever stored. Only the audit at
    /// the end of the demo reads it.
    ever_stored: Vec<Vec<u8>>,
}

impl AppServer {
    fn new(app: &'static str) -> Self {
        AppServer {
            app,
            directory: HashMap::new(),
            mailboxes: HashMap::new(),
            ever_stored: Vec::new(),
        }
    }

    fn publish(&mut self, user: &'static str, entry: DirectoryEntry) {
        self.ever_stored.push(entry.identity.to_vec());
        self.ever_stored.push(entry.spk_public.to_vec());
        self.ever_stored.push(entry.spk_signature.to_vec());
        for (_, public) in &entry.one_time {
            self.ever_stored.push(public.to_vec());
        }
        for k in entry.kem_one_time.iter().chain([&entry.kem_last_resort]) {
            self.ever_stored.push(k.public.to_vec());
            self.ever_stored.push(k.signature.to_vec());
        }
        self.directory.insert(user, entry);
    }

    /// Builds a bundle for `user`. A one-time prekey leaves the directory
    /// when it is handed out, so no two people ever get the same one. When
    /// no one-time KEM prekey is left, the last-resort one goes out.
    fn fetch_bundle(&mut self, user: &str) -> Result<Vec<u8>> {
        let Some(entry) = self.directory.get_mut(user) else {
            return Err(format!("{}: no such user {user}", self.app).into());
        };
        let identity = IdentityKey::from_bytes(&entry.identity)?;
        let signed = SignedPreKey::from_parts(
            entry.spk_id,
            entry.spk_created_at,
            &entry.spk_public,
            &entry.spk_signature,
        )?;
        let one_time = match entry.one_time.pop_front() {
            Some((id, public)) => Some(OneTimePreKey::from_parts(id, &public)?),
            None => None,
        };
        let stored_kem = entry.kem_one_time.pop_front();
        let k = stored_kem.as_ref().unwrap_or(&entry.kem_last_resort);
        let kem =
            KemPreKey::from_parts(k.id, k.last_resort, k.created_at, &k.public, &k.signature)?;
        let bytes = PreKeyBundle::new(identity, signed, one_time, kem).to_bytes();
        self.ever_stored.push(bytes.clone());
        Ok(bytes)
    }

    fn remaining_prekeys(&self, user: &str) -> (usize, usize) {
        self.directory
            .get(user)
            .map_or((0, 0), |e| (e.one_time.len(), e.kem_one_time.len()))
    }

    fn accept(&mut self, envelope: Envelope) {
        self.ever_stored.push(envelope.bytes.clone());
        self.mailboxes
            .entry(envelope.to)
            .or_default()
            .push_back(envelope);
    }

    fn take_mail(&mut self, user: &str) -> Vec<Envelope> {
        self.mailboxes
            .get_mut(user)
            .map(|m| m.drain(..).collect())
            .unwrap_or_default()
    }
}

/// The link between the two apps' servers. It may hold an envelope back
/// and release everything it held later, newest first.
#[derive(Default)]
struct Relay {
    held: Vec<Envelope>,
    ever_stored: Vec<Vec<u8>>,
}

// ---------------------------------------------------------------------------
// The devices. Only these hold private keys and plaintext.
// ---------------------------------------------------------------------------

/// Bob's phone: his identity, his private prekeys, his session.
struct BobDevice {
    identity: IdentityKeyPair,
    signed_prekey: SignedPreKeyPair,
    one_time: HashMap<u32, OneTimePreKeyPair>,
    kem_one_time: HashMap<u32, KemPreKeyPair>,
    kem_last_resort: KemPreKeyPair,
    /// Handshakes accepted on the last-resort KEM prekey, to refuse replays.
    last_resort_handshakes: HashSet<HandshakeId>,
    /// Alice's identity key, as Bob got it from her contact card.
    trusted_alice: IdentityKey,
    session: Option<Session>,
}

impl BobDevice {
    /// What Bob's app uploads to Parley: the public halves, as bytes.
    fn directory_entry(&self) -> DirectoryEntry {
        let spk = self.signed_prekey.public();
        let stored = |k: &KemPreKeyPair| StoredKemPreKey {
            id: k.id(),
            last_resort: k.is_last_resort(),
            created_at: k.public().created_at(),
            public: Box::new(*k.public().public_key()),
            signature: *k.public().signature(),
        };
        let mut one_time: Vec<_> = self
            .one_time
            .values()
            .map(|k| (k.id(), *k.public().public_key()))
            .collect();
        one_time.sort_by_key(|(id, _)| *id);
        let mut kem: Vec<_> = self.kem_one_time.values().map(stored).collect();
        kem.sort_by_key(|k| k.id);
        DirectoryEntry {
            identity: self.identity.public_key().to_bytes(),
            spk_id: spk.id(),
            spk_created_at: spk.created_at(),
            spk_public: *spk.public_key(),
            spk_signature: *spk.signature(),
            one_time: one_time.into(),
            kem_one_time: kem.into(),
            kem_last_resort: stored(&self.kem_last_resort),
        }
    }

    /// Handles one incoming message and returns its plaintext.
    fn receive(&mut self, bytes: &[u8], config: &SessionConfig) -> Result<Vec<u8>> {
        if message_kind(bytes)? == MessageKind::PreKeyMessage {
            let first = PreKeyMessage::from_bytes(bytes)?;
            // A copy of the first message of the session we already have
            // (Alice repeats the setup data until she hears back): the
            // session decrypts it like any other message.
            let ours = self.session.as_ref().map(Session::base_key);
            if ours != Some(first.base_key()) {
                return self.accept_new_session(&first, config);
            }
        }
        let Some(session) = self.session.as_mut() else {
            return Err("a Message arrived before any session exists".into());
        };
        Ok(session.decrypt(bytes)?)
    }

    /// Sets up a session from a `PreKeyMessage` naming Bob's prekeys, then
    /// deletes the one-time prekeys it used.
    fn accept_new_session(
        &mut self,
        first: &PreKeyMessage,
        config: &SessionConfig,
    ) -> Result<Vec<u8>> {
        if first.identity_key() != &self.trusted_alice {
            return Err("PreKeyMessage from an identity Bob does not trust".into());
        }
        // Look up the keys the message names. A key Bob no longer has is
        // passed as "none" / the last-resort key, and `respond` reports the
        // mismatch.
        let one_time = first
            .one_time_prekey_id()
            .and_then(|id| self.one_time.get(&id));
        let kem = self
            .kem_one_time
            .get(&first.kem_prekey_id())
            .unwrap_or(&self.kem_last_resort);
        let on_last_resort = kem.is_last_resort();
        if on_last_resort && self.last_resort_handshakes.contains(&first.handshake_id()) {
            return Err("replayed handshake on the last-resort KEM prekey".into());
        }
        let inbound = Session::respond(
            &self.identity,
            &self.signed_prekey,
            one_time,
            kem,
            first,
            config.clone(),
        )?;

        // Success: the one-time keys must never serve a second session.
        // (A real app deletes them in the same transaction that stores the
        // new session.)
        let mut deleted = Vec::new();
        if let Some(id) = first.one_time_prekey_id() {
            self.one_time.remove(&id);
            deleted.push(format!("one-time EC prekey #{id}"));
        }
        if on_last_resort {
            self.last_resort_handshakes.insert(inbound.handshake_id);
        } else {
            self.kem_one_time.remove(&first.kem_prekey_id());
            deleted.push(format!("one-time KEM prekey #{}", first.kem_prekey_id()));
        }
        println!(
            "          new session from signed prekey #{}, one-time EC prekey {}, KEM prekey #{}{}",
            first.signed_prekey_id(),
            first
                .one_time_prekey_id()
                .map_or("none".to_string(), |id| format!("#{id}")),
            first.kem_prekey_id(),
            if on_last_resort { " (last-resort)" } else { "" },
        );
        println!("          Bob deleted: {}", deleted.join(", "));
        self.session = Some(inbound.session);
        Ok(inbound.plaintext)
    }
}

/// Alice's phone: her identity and her session with Bob.
struct AliceDevice {
    identity: IdentityKeyPair,
    /// Bob's identity key, as Alice got it from scanning his QR code.
    trusted_bob: IdentityKey,
    session: Option<Session>,
}

// ---------------------------------------------------------------------------
// The demo.
// ---------------------------------------------------------------------------

struct World {
    alice: AliceDevice,
    bob: BobDevice,
    chirp: AppServer,
    parley: AppServer,
    relay: Relay,
    config: SessionConfig,
    next_id: u32,
    /// Every plaintext sent, for the audit.
    plaintexts: Vec<Vec<u8>>,
    delivered_to_alice: Vec<String>,
    delivered_to_bob: Vec<String>,
}

impl World {
    /// Encrypts `text` on the sender's phone and hands the bytes to the
    /// sender's app server, which forwards them over the relay to the
    /// recipient's app server. With `hold`, the relay keeps the envelope
    /// back until `release_held`.
    fn send(&mut self, from: &'static str, text: &str, hold: bool) -> Result<()> {
        let (to, session) = match from {
            ALICE => (BOB, self.alice.session.as_mut()),
            _ => (ALICE, self.bob.session.as_mut()),
        };
        let Some(session) = session else {
            return Err(format!("{from} has no session").into());
        };
        let bytes = session.encrypt(&mut OsRng, text.as_bytes())?;
        self.plaintexts.push(text.as_bytes().to_vec());
        self.next_id += 1;
        let id = self.next_id;
        println!(
            "  #{id:<2} {} → {}  {:<13} {:>5} B  {}  \"{text}\"",
            name(from),
            name(to),
            kind_name(&bytes)?,
            bytes.len(),
            if hold { "held back" } else { "relayed  " },
        );
        let envelope = Envelope {
            id,
            from,
            to,
            bytes,
        };
        // The sender's own server sees the envelope first.
        match from {
            ALICE => self.chirp.ever_stored.push(envelope.bytes.clone()),
            _ => self.parley.ever_stored.push(envelope.bytes.clone()),
        }
        self.relay.ever_stored.push(envelope.bytes.clone());
        if hold {
            self.relay.held.push(envelope);
        } else {
            self.server_of(to).accept(envelope);
        }
        Ok(())
    }

    fn server_of(&mut self, user: &str) -> &mut AppServer {
        if user == ALICE {
            &mut self.chirp
        } else {
            &mut self.parley
        }
    }

    /// The relay lets go of everything it held back, newest first.
    fn release_held(&mut self) {
        let held: Vec<Envelope> = self.relay.held.drain(..).rev().collect();
        let ids: Vec<String> = held.iter().map(|e| format!("#{}", e.id)).collect();
        println!(
            "  relay releases held envelopes, newest first: {}",
            ids.join(" ")
        );
        for envelope in held {
            self.server_of(envelope.to).accept(envelope);
        }
    }

    /// A user's phone fetches its mail and decrypts it, in arrival order.
    fn deliver(&mut self, user: &'static str) -> Result<()> {
        let mail = self.server_of(user).take_mail(user);
        for envelope in mail {
            println!(
                "  deliver #{:<2} to {}  {:<13} {:>5} B  from {}",
                envelope.id,
                name(user),
                kind_name(&envelope.bytes)?,
                envelope.bytes.len(),
                envelope.from,
            );
            let result = if user == ALICE {
                match self.alice.session.as_mut() {
                    Some(s) => s.decrypt(&envelope.bytes).map_err(Into::into),
                    None => Err("Alice has no session".into()),
                }
            } else {
                self.bob.receive(&envelope.bytes, &self.config)
            };
            let plaintext = match result {
                Ok(p) => p,
                // Transport delivered a copy twice: the session refuses it
                // and is left exactly as it was.
                Err(e) => match e.downcast_ref::<Error>() {
                    Some(Error::Protocol(ProtocolError::Duplicate { index })) => {
                        println!(
                            "          rejected: duplicate of message {index} in its chain; session unchanged"
                        );
                        self.delivered(user).push(format!("#{}(dup)", envelope.id));
                        continue;
                    }
                    _ => return Err(e),
                },
            };
            println!(
                "          decrypted: \"{}\"",
                String::from_utf8_lossy(&plaintext)
            );
            let skipped = match user {
                ALICE => self.alice.session.as_ref(),
                _ => self.bob.session.as_ref(),
            }
            .map_or(0, Session::stored_skipped_keys);
            if skipped > 0 {
                println!("          (keeps {skipped} skipped key(s) for messages still in flight)");
            }
            self.delivered(user).push(format!("#{}", envelope.id));
        }
        Ok(())
    }

    fn delivered(&mut self, user: &str) -> &mut Vec<String> {
        if user == ALICE {
            &mut self.delivered_to_alice
        } else {
            &mut self.delivered_to_bob
        }
    }
}

fn name(user: &str) -> &'static str {
    if user == ALICE { "Alice" } else { "Bob  " }
}

fn kind_name(bytes: &[u8]) -> Result<&'static str> {
    Ok(match message_kind(bytes)? {
        MessageKind::PreKeyMessage => "PreKeyMessage",
        MessageKind::Message => "Message",
        _ => "unknown",
    })
}

fn fingerprint(key: &IdentityKey) -> String {
    key.as_bytes()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn main() -> Result<()> {
    let mut rng = OsRng;
    let config = SessionConfig::default().with_context(CONTEXT)?;

    // Alice and Bob met in person and scanned each other's QR codes, so
    // each already knows the other's identity key.
    let alice_identity = IdentityKeyPair::generate(&mut rng);
    let bob_identity = IdentityKeyPair::generate(&mut rng);

    println!("== 1. Bob's Parley app generates prekeys and publishes their public halves");
    let bob = BobDevice {
        signed_prekey: SignedPreKeyPair::generate(&mut rng, &bob_identity, 1, NOW),
        one_time: OneTimePreKeyPair::generate_batch(&mut rng, 100, 4)?
            .into_iter()
            .map(|k| (k.id(), k))
            .collect(),
        kem_one_time: KemPreKeyPair::generate_batch(&mut rng, &bob_identity, 200, 3, NOW)?
            .into_iter()
            .map(|k| (k.id(), k))
            .collect(),
        kem_last_resort: KemPreKeyPair::generate(&mut rng, &bob_identity, 299, true, NOW),
        last_resort_handshakes: HashSet::new(),
        trusted_alice: alice_identity.public_key().clone(),
        identity: bob_identity,
        session: None,
    };
    let alice = AliceDevice {
        trusted_bob: bob.identity.public_key().clone(),
        identity: alice_identity,
        session: None,
    };
    let mut world = World {
        alice,
        bob,
        chirp: AppServer::new("Chirp"),
        parley: AppServer::new("Parley"),
        relay: Relay::default(),
        config,
        next_id: 0,
        plaintexts: Vec::new(),
        delivered_to_alice: Vec::new(),
        delivered_to_bob: Vec::new(),
    };
    let entry = world.bob.directory_entry();
    world.parley.publish(BOB, entry);
    let (ec, kem) = world.parley.remaining_prekeys(BOB);
    println!(
        "  Bob {} ({}): signed prekey #1, one-time EC prekeys #100–#103, \
         one-time KEM prekeys #200–#202, last-resort KEM prekey #299",
        BOB,
        fingerprint(world.bob.identity.public_key()),
    );
    println!(
        "  {}'s directory holds {ec} one-time EC and {kem} one-time KEM prekeys for Bob",
        world.parley.app
    );

    println!();
    println!("== 2. Alice's Chirp app fetches Bob's bundle from Parley, via Chirp's server");
    let bundle_bytes = world.parley.fetch_bundle(BOB)?;
    world.chirp.ever_stored.push(bundle_bytes.clone());
    let verified = PreKeyBundle::from_bytes(&bundle_bytes)?.verify()?;
    let b = verified.bundle();
    println!(
        "  bundle: {} B, signed prekey #{}, one-time EC prekey {}, KEM prekey #{}{}",
        bundle_bytes.len(),
        b.signed_prekey().id(),
        b.one_time_prekey()
            .map_or("none".to_string(), |k| format!("#{}", k.id())),
        b.kem_prekey().id(),
        if b.kem_prekey().is_last_resort() {
            " (last-resort)"
        } else {
            " (one-time)"
        },
    );
    println!(
        "  both signatures verify under identity {}",
        fingerprint(b.identity_key())
    );
    if b.identity_key() != &world.alice.trusted_bob {
        return Err("the bundle's identity key is not the one Alice scanned".into());
    }
    println!("  and that identity is the one Alice scanned from Bob's QR code");
    let (ec, kem) = world.parley.remaining_prekeys(BOB);
    println!("  Parley now has {ec} one-time EC and {kem} one-time KEM prekeys left for Bob");
    world.alice.session = Some(Session::initiate(
        &mut rng,
        &world.alice.identity,
        &verified,
        world.config.clone(),
    )?);
    println!(
        "  session context, on both sides: \"{}\"",
        String::from_utf8_lossy(CONTEXT)
    );

    println!();
    println!("== 3. They talk; the relay holds some envelopes back");
    world.send(ALICE, "Hi Bob, it's Alice. I'm on Chirp.", false)?;
    world.send(ALICE, "Found you in Parley's directory.", true)?;
    world.send(ALICE, "Is this thing on?", false)?;
    world.deliver(BOB)?;

    world.send(BOB, "Hi Alice! Loud and clear, from Parley.", false)?;
    world.send(BOB, "Post-quantum too, apparently.", true)?;
    world.send(BOB, "What's new?", false)?;
    world.deliver(ALICE)?;

    world.send(ALICE, "Lunch on Friday?", false)?;
    world.send(ALICE, "The usual place, 12:30.", true)?;
    world.send(ALICE, "Bring the book you borrowed.", false)?;
    // At-least-once delivery: the relay delivers a second copy of the last one.
    if let Some(copy) = world.parley.mailboxes.get(BOB).and_then(|m| m.back()) {
        let dup = Envelope {
            id: copy.id,
            from: copy.from,
            to: copy.to,
            bytes: copy.bytes.clone(),
        };
        println!("  relay delivers #{} a second time", dup.id);
        world.parley.accept(dup);
    }
    world.deliver(BOB)?;

    println!("  Bob's phone restarts: its app saved the session record and loads it back");
    if let Some(session) = world.bob.session.take() {
        let record = session.to_bytes();
        drop(session);
        world.bob.session = Some(Session::from_bytes(&record)?);
        println!("          session record: {} B, restored", record.len());
    }

    world.send(BOB, "Friday works.", false)?;
    world.send(BOB, "Book's in my bag already.", false)?;
    world.deliver(ALICE)?;
    world.send(ALICE, "Perfect, see you then.", false)?;
    world.deliver(BOB)?;

    println!();
    println!("== 4. The late envelopes arrive, newest first");
    world.release_held();
    world.deliver(BOB)?;
    world.deliver(ALICE)?;

    println!();
    println!("== 5. Delivery order");
    println!("  to Alice: {}", world.delivered_to_alice.join(" "));
    println!("  to Bob:   {}", world.delivered_to_bob.join(" "));

    println!();
    println!("== 6. Audit: what did the servers hold?");
    let stored: Vec<&Vec<u8>> = world
        .chirp
        .ever_stored
        .iter()
        .chain(&world.parley.ever_stored)
        .chain(&world.relay.ever_stored)
        .collect();
    let total: usize = stored.iter().map(|b| b.len()).sum();
    let secrets = [
        world.alice.identity.to_secret_bytes(),
        world.bob.identity.to_secret_bytes(),
    ];
    for plaintext in &world.plaintexts {
        if stored.iter().any(|buffer| contains(buffer, plaintext)) {
            return Err(format!(
                "a server stored the plaintext \"{}\"",
                String::from_utf8_lossy(plaintext)
            )
            .into());
        }
    }
    for secret in &secrets {
        if stored.iter().any(|buffer| contains(buffer, secret)) {
            return Err("a server stored an identity private key".into());
        }
    }
    println!(
        "  scanned {} buffers ({total} B) on Chirp, Parley and the relay for {} plaintexts \
         and 2 identity private keys: none found.",
        stored.len(),
        world.plaintexts.len(),
    );
    println!("  The servers held only public keys and ciphertext.");
    Ok(())
}
