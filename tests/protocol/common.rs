//! Shared fixtures for the behavioural tests: a responder ("Bob") with a
//! full set of prekeys, bundle helpers, session-pair setup, a transport
//! model for loss/reordering, and `snapshot` for "state unchanged" checks.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chacha20::ChaCha20Rng;
use kinseal::{
    Error, IdentityKeyPair, InboundSession, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle,
    PreKeyMessage, ProtocolError, Session, SessionConfig, SignedPreKeyPair, VerifiedBundle,
};
use rand_core::SeedableRng;

/// A deterministic RNG for one test.
pub fn rng(seed: u64) -> ChaCha20Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(b"kinseal!");
    ChaCha20Rng::from_seed(s)
}

/// A uniform draw in `0..n` (n > 0) from the test RNG.
pub fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    use rand_core::Rng;
    assert!(n > 0);
    (rng.next_u32() as usize) % n
}

/// The session bytes, for "unchanged" comparisons.
pub fn snapshot(session: &Session) -> Vec<u8> {
    session.to_bytes().to_vec()
}

pub const SPK_ID: u32 = 1;
pub const OPK_ID: u32 = 7;
pub const KEM_ID: u32 = 9;
pub const KEM_LAST_RESORT_ID: u32 = 10;
pub const CREATED_AT: u64 = 1_700_000_000;

/// Which prekeys a bundle offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleChoice {
    pub one_time_ec: bool,
    pub last_resort_kem: bool,
}

impl BundleChoice {
    /// With a one-time EC prekey and a one-time KEM prekey.
    pub const FULL: BundleChoice = BundleChoice {
        one_time_ec: true,
        last_resort_kem: false,
    };

    pub const ALL: [BundleChoice; 4] = [
        BundleChoice {
            one_time_ec: true,
            last_resort_kem: false,
        },
        BundleChoice {
            one_time_ec: false,
            last_resort_kem: false,
        },
        BundleChoice {
            one_time_ec: true,
            last_resort_kem: true,
        },
        BundleChoice {
            one_time_ec: false,
            last_resort_kem: true,
        },
    ];
}

/// The responder and all its prekeys.
pub struct Bob {
    pub identity: IdentityKeyPair,
    pub spk: SignedPreKeyPair,
    pub opk: OneTimePreKeyPair,
    pub kem: KemPreKeyPair,
    pub kem_last_resort: KemPreKeyPair,
}

impl Bob {
    pub fn new(rng: &mut ChaCha20Rng) -> Bob {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPreKeyPair::generate(rng, &identity, SPK_ID, CREATED_AT);
        let opk = OneTimePreKeyPair::generate(rng, OPK_ID);
        let kem = KemPreKeyPair::generate(rng, &identity, KEM_ID, false, CREATED_AT);
        let kem_last_resort =
            KemPreKeyPair::generate(rng, &identity, KEM_LAST_RESORT_ID, true, CREATED_AT);
        Bob {
            identity,
            spk,
            opk,
            kem,
            kem_last_resort,
        }
    }

    /// The unverified bundle a server would hand out.
    pub fn bundle(&self, choice: BundleChoice) -> PreKeyBundle {
        let kem = if choice.last_resort_kem {
            &self.kem_last_resort
        } else {
            &self.kem
        };
        PreKeyBundle::new(
            self.identity.public_key().clone(),
            self.spk.public().clone(),
            choice.one_time_ec.then(|| *self.opk.public()),
            kem.public().clone(),
        )
    }

    /// The bundle as it travels: bytes, decoded and verified by the initiator.
    pub fn verified_bundle(&self, choice: BundleChoice) -> VerifiedBundle {
        let bytes = self.bundle(choice).to_bytes();
        PreKeyBundle::from_bytes(&bytes)
            .and_then(PreKeyBundle::verify)
            .expect("an honest bundle verifies")
    }

    /// The KEM prekey pair a message names, by id (falls back to the
    /// one-time key so that a mismatch is reported by `respond`).
    pub fn kem_for(&self, message: &PreKeyMessage) -> &KemPreKeyPair {
        if message.kem_prekey_id() == KEM_LAST_RESORT_ID {
            &self.kem_last_resort
        } else {
            &self.kem
        }
    }

    /// Answers a `PreKeyMessage` with the prekeys it names.
    pub fn respond(
        &self,
        message: &PreKeyMessage,
        config: SessionConfig,
    ) -> kinseal::Result<InboundSession> {
        let opk = message.one_time_prekey_id().map(|_| &self.opk);
        Session::respond(
            &self.identity,
            &self.spk,
            opk,
            self.kem_for(message),
            message,
            config,
        )
    }

    /// Answers raw bytes: decode, then respond.
    pub fn respond_bytes(
        &self,
        bytes: &[u8],
        config: SessionConfig,
    ) -> kinseal::Result<InboundSession> {
        let message = PreKeyMessage::from_bytes(bytes)?;
        self.respond(&message, config)
    }
}

/// An established pair of sessions, and the first message that set it up.
pub struct Pair {
    pub alice: Session,
    pub bob: Session,
    /// The `PreKeyMessage` Bob answered.
    pub first: Vec<u8>,
}

/// Alice initiates to Bob's bundle and sends one message; Bob answers it.
/// Alice still sends `PreKeyMessage`s (she has not heard back).
pub fn pair_with(
    rng: &mut ChaCha20Rng,
    bob: &Bob,
    choice: BundleChoice,
    alice_config: SessionConfig,
    bob_config: SessionConfig,
) -> Pair {
    let alice_identity = IdentityKeyPair::generate(rng);
    let bundle = bob.verified_bundle(choice);
    let mut alice = Session::initiate(rng, &alice_identity, &bundle, alice_config).unwrap();
    let first = alice.encrypt(rng, b"hello bob").unwrap();
    let inbound = bob.respond_bytes(&first, bob_config).unwrap();
    assert_eq!(inbound.plaintext, b"hello bob");
    Pair {
        alice,
        bob: inbound.session,
        first,
    }
}

/// A pair with default configurations and a full bundle.
pub fn pair(rng: &mut ChaCha20Rng) -> (Bob, Pair) {
    let bob = Bob::new(rng);
    let p = pair_with(
        rng,
        &bob,
        BundleChoice::FULL,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    (bob, p)
}

/// A pair where both sides have exchanged a message, so both send plain
/// `Message`s and both have a ratchet key.
pub fn established(rng: &mut ChaCha20Rng, config: SessionConfig) -> (Bob, Pair) {
    let bob = Bob::new(rng);
    let mut p = pair_with(rng, &bob, BundleChoice::FULL, config.clone(), config);
    let reply = p.bob.encrypt(rng, b"hello alice").unwrap();
    assert_eq!(p.alice.decrypt(&reply).unwrap(), b"hello alice");
    assert!(!p.alice.sends_prekey_messages());
    (bob, p)
}

/// A distinct plaintext for message `n` of a test.
pub fn plaintext(n: usize) -> Vec<u8> {
    format!("message #{n} {}", "x".repeat(n % 17)).into_bytes()
}

/// Asserts that `f` fails and leaves `session` byte-for-byte unchanged;
/// returns the error.
pub fn fails_unchanged<T: core::fmt::Debug>(
    session: &mut Session,
    f: impl FnOnce(&mut Session) -> kinseal::Result<T>,
) -> Error {
    let before = snapshot(session);
    let result = f(session);
    let after = snapshot(session);
    assert_eq!(before, after, "a failed call changed the session");
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Asserts `decrypt(bytes)` fails, leaving the session unchanged.
pub fn decrypt_fails_unchanged(session: &mut Session, bytes: &[u8]) -> Error {
    fails_unchanged(session, |s| s.decrypt(bytes))
}

/// `Error::Protocol(Duplicate { index })`.
pub fn duplicate(index: u32) -> Error {
    Error::Protocol(ProtocolError::Duplicate { index })
}

/// The chain index in a message's header (either kind).
pub fn index_of(bytes: &[u8]) -> u32 {
    match kinseal::IncomingMessage::from_bytes(bytes).unwrap() {
        kinseal::IncomingMessage::Message(m) => m.index(),
        kinseal::IncomingMessage::PreKey(p) => p.message().index(),
    }
}

/// Which side of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Alice,
    Bob,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }
}

/// A message in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub to: Side,
    pub bytes: Vec<u8>,
    pub plaintext: Vec<u8>,
}

/// Both sessions of a conversation, by side.
pub struct Conversation {
    pub alice: Session,
    pub bob: Session,
    pub sent: usize,
}

impl Conversation {
    pub fn new(pair: Pair) -> Conversation {
        Conversation {
            alice: pair.alice,
            bob: pair.bob,
            sent: 0,
        }
    }

    pub fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::Alice => &mut self.alice,
            Side::Bob => &mut self.bob,
        }
    }

    /// `from` encrypts a fresh, distinct plaintext.
    pub fn send(&mut self, rng: &mut ChaCha20Rng, from: Side) -> InFlight {
        let pt = plaintext(self.sent);
        self.sent += 1;
        let bytes = self.session(from).encrypt(rng, &pt).unwrap();
        InFlight {
            to: from.other(),
            bytes,
            plaintext: pt,
        }
    }

    /// Delivers a message that must decrypt to its plaintext.
    pub fn deliver(&mut self, m: &InFlight) {
        let got = self
            .session(m.to)
            .decrypt(&m.bytes)
            .unwrap_or_else(|e| panic!("delivery to {:?} failed: {e:?}", m.to));
        assert_eq!(got, m.plaintext);
    }

    /// Delivers a message a second time: a typed duplicate error and no change.
    pub fn redeliver(&mut self, m: &InFlight) {
        let e = decrypt_fails_unchanged(self.session(m.to), &m.bytes);
        assert_eq!(e, duplicate(index_of(&m.bytes)));
    }
}

/// Offset of the one-time-prekey flag in a `PreKeyMessage`.
pub const PREKEY_FLAG_OFFSET: usize = 39;

/// For a `PreKeyMessage`, the byte range of its setup data after the
/// identity key: prekey ids (and the one-time flag) and the KEM ciphertext,
/// up to the embedded message.
pub fn prekey_setup_data(bytes: &[u8]) -> core::ops::Range<usize> {
    let m = PreKeyMessage::from_bytes(bytes).unwrap();
    let embedded = m.message().to_bytes().len();
    35..bytes.len() - embedded
}

/// A session record (PROTOCOL.md §4.4) read field by field, for tests that
/// look at the key material a stolen state holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordView {
    pub initiator: bool,
    pub local_identity: [u8; 32],
    pub remote_identity: [u8; 32],
    pub session_ad: [u8; 32],
    pub base_key: [u8; 32],
    pub handshake_id: [u8; 32],
    pub root_key: [u8; 32],
    /// Our ratchet private key, as stored (unclamped).
    pub ratchet_secret: Option<[u8; 32]>,
    /// Sending chain key and the index of the next message on it.
    pub sending: Option<([u8; 32], u32)>,
    pub previous_sending_length: u32,
    pub next_chain_seq: u32,
    pub chains: Vec<RecordChain>,
    /// (chain seq, index, seed).
    pub skipped: Vec<(u32, u32, [u8; 32])>,
    pub pending: bool,
    /// Every header key in the record: the next header key, the sending
    /// chain's, then each receiving chain's, in record order.
    pub header_keys: Vec<[u8; 32]>,
}

/// A receiving chain in a session record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordChain {
    pub ratchet_key: [u8; 32],
    pub seq: u32,
    pub chain_key: [u8; 32],
    pub next_index: u32,
    pub expired_below: u32,
    pub header_key: [u8; 32],
}

impl RecordView {
    /// The header key a message under `ratchet_key` is checked with
    /// (PROTOCOL.md §7.4 step 1): its chain's, or the next header key.
    pub fn header_key_for(&self, ratchet_key: &[u8]) -> [u8; 32] {
        self.chains
            .iter()
            .find(|c| c.ratchet_key[..] == *ratchet_key)
            .map_or(self.header_keys[0], |c| c.header_key)
    }

    /// Recomputes the header tag (bytes 50..66) of the `Message` `bytes`
    /// as this session's peer would: a header with changed fields that the
    /// session's checks after the tag then see.
    pub fn retag(&self, bytes: &[u8]) -> Vec<u8> {
        use hmac::{Hmac, KeyInit, Mac};
        let mut b = bytes.to_vec();
        let key = self.header_key_for(&b[2..34]);
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(b"KINSEAL-v1 header tag\0");
        mac.update(&self.session_ad);
        mac.update(&b[..50]);
        let tag = mac.finalize().into_bytes();
        b[50..66].copy_from_slice(&tag[..16]);
        b
    }
}

/// Offset of the session AD in a record (revision 2: after each identity
/// key, its X25519 form).
pub const RECORD_SESSION_AD_OFFSET: usize = 132;

impl RecordView {
    /// Reads a record by the offsets of PROTOCOL.md §4.4 (independently of
    /// kinseal's decoder), checking that it reads to the end.
    pub fn parse(bytes: &[u8]) -> RecordView {
        struct R<'a>(&'a [u8], usize);
        impl R<'_> {
            fn take(&mut self, n: usize) -> &[u8] {
                let s = &self.0[self.1..self.1 + n];
                self.1 += n;
                s
            }
            fn k(&mut self) -> [u8; 32] {
                self.take(32).try_into().unwrap()
            }
            fn u32(&mut self) -> u32 {
                u32::from_be_bytes(self.take(4).try_into().unwrap())
            }
            fn flag(&mut self) -> bool {
                match self.take(1)[0] {
                    0 => false,
                    1 => true,
                    f => panic!("bad flag {f}"),
                }
            }
        }
        let mut r = R(bytes, 0);
        assert_eq!(r.take(3), [0x01, 0x11, 0x01], "version, type, suite");
        let initiator = !r.flag();
        let local_identity = r.k();
        let _local_x25519 = r.k();
        let remote_identity = r.k();
        let _remote_x25519 = r.k();
        assert_eq!(r.1, RECORD_SESSION_AD_OFFSET);
        let session_ad = r.k();
        let base_key = r.k();
        let handshake_id = r.k();
        let _padding_block = r.take(2);
        let _padding_padme = r.flag();
        let root_key = r.k();
        let mut header_keys = vec![r.k()];
        let _bounds = (r.u32(), r.u32(), r.u32());
        let ratchet_secret = r.flag().then(|| {
            let secret = r.k();
            let _public = r.k();
            secret
        });
        let sending = r.flag().then(|| {
            let sending = (r.k(), r.u32());
            header_keys.push(r.k());
            let _receiver_hint = r.take(4);
            sending
        });
        let previous_sending_length = r.u32();
        let next_chain_seq = r.u32();
        let chains = (0..r.u32())
            .map(|_| {
                let chain = RecordChain {
                    ratchet_key: r.k(),
                    seq: r.u32(),
                    chain_key: r.k(),
                    next_index: r.u32(),
                    expired_below: r.u32(),
                    header_key: r.k(),
                };
                header_keys.push(chain.header_key);
                chain
            })
            .collect();
        let skipped = (0..r.u32()).map(|_| (r.u32(), r.u32(), r.k())).collect();
        let pending = r.flag();
        if pending {
            r.u32();
            if r.flag() {
                r.u32();
            }
            r.u32();
            r.take(1088);
        }
        assert_eq!(r.1, bytes.len(), "record not read to its end");
        RecordView {
            initiator,
            local_identity,
            remote_identity,
            session_ad,
            base_key,
            handshake_id,
            root_key,
            ratchet_secret,
            sending,
            previous_sending_length,
            next_chain_seq,
            chains,
            skipped,
            pending,
            header_keys,
        }
    }

    /// Every secret 32-byte value in the record: the root key, our ratchet
    /// private key, the sending chain key, every receiving chain key, every
    /// skipped seed and every header key.
    pub fn secrets(&self) -> Vec<[u8; 32]> {
        let mut out = vec![self.root_key];
        out.extend(self.ratchet_secret);
        out.extend(self.sending.map(|(k, _)| k));
        out.extend(self.chains.iter().map(|c| c.chain_key));
        out.extend(self.skipped.iter().map(|s| s.2));
        out.extend(self.header_keys.iter().copied());
        out
    }
}
