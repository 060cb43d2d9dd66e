//! A session between two devices: the handshake, the ratchet, and the
//! setup data the initiator repeats until it hears back.
//!
//! ```
//! use kinseal::{
//!     IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, OsRng, PreKeyBundle, PreKeyMessage,
//!     Session, SessionConfig, SignedPreKeyPair,
//! };
//!
//! let mut rng = OsRng;
//! // Bob publishes a bundle.
//! let bob = IdentityKeyPair::generate(&mut rng);
//! let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, 1_700_000_000);
//! let opk = OneTimePreKeyPair::generate(&mut rng, 7);
//! let kem = KemPreKeyPair::generate(&mut rng, &bob, 9, false, 1_700_000_000);
//! let bundle = PreKeyBundle::new(
//!     bob.public_key().clone(),
//!     spk.public().clone(),
//!     Some(*opk.public()),
//!     kem.public().clone(),
//! );
//! let published = bundle.to_bytes();
//!
//! // Alice fetches it, verifies it and starts a session.
//! let alice = IdentityKeyPair::generate(&mut rng);
//! let verified = PreKeyBundle::from_bytes(&published)?.verify()?;
//! let mut to_bob = Session::initiate(&mut rng, &alice, &verified, SessionConfig::default())?;
//! let first = to_bob.encrypt(&mut rng, b"hi Bob")?;
//!
//! // Bob answers from the PreKeyMessage.
//! let prekey_message = PreKeyMessage::from_bytes(&first)?;
//! let inbound = Session::respond(&bob, &spk, Some(&opk), &kem, &prekey_message, SessionConfig::default())?;
//! assert_eq!(inbound.plaintext, b"hi Bob");
//! let mut to_alice = inbound.session;
//!
//! let reply = to_alice.encrypt(&mut rng, b"hi Alice")?;
//! assert_eq!(to_bob.decrypt(&reply)?, b"hi Alice");
//! # Ok::<(), kinseal::Error>(())
//! ```

mod config;
mod padding;
mod persist;
#[cfg(test)]
mod tests;

use core::fmt;

use rand_core::CryptoRng;

pub use config::SessionConfig;
pub use padding::Padding;

use crate::error::{MisuseError, ProtocolError};
use crate::handshake;
use crate::keys::{
    Hex, IdentityKey, IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair,
    VerifiedBundle, X25519PublicKey,
};
use crate::message::{
    HandshakeId, IncomingMessage, Message, MessageRef, PreKeyMessage, message_kind,
};
use crate::ratchet::{ChainKey, DoubleRatchet, HeaderKey, RemoteChainKey, RootKey};
use crate::wire::{
    Body, KEM_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN, MessageFrame, MessageKind, PreKeyFrame,
    PreKeyMessageFrame, TAG_LEN, encode_prekey_prefix,
};

/// The setup data an initiator sends with every message until it has
/// received one from the responder.
#[derive(Clone)]
struct PendingPreKey {
    prekeys: PreKeyFrame,
    kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
}

/// Which side of the handshake this session is, and what that side holds:
/// only an initiator has setup data to repeat.
enum Role {
    /// We started the session; `pending` until we decrypt a reply.
    Initiator { pending: Option<PendingPreKey> },
    /// The peer started it.
    Responder,
}

/// An end-to-end encrypted session with one peer device.
///
/// Build one with [`Session::initiate`] (you start) or
/// [`Session::respond`] (they started), then [`encrypt`](Session::encrypt)
/// and [`decrypt`](Session::decrypt). Persist it with
/// [`to_bytes`](Session::to_bytes) after every call that changed it.
pub struct Session {
    role: Role,
    local_identity: IdentityKey,
    remote_identity: IdentityKey,
    session_ad: [u8; 32],
    base_key: X25519PublicKey,
    /// [`PreKeyMessage::handshake_id`] of the handshake that made this session.
    handshake_id: HandshakeId,
    /// How what we send is padded.
    padding: Padding,
    ratchet: DoubleRatchet,
}

/// What [`Session::respond`] returns: the new session, the first plaintext,
/// and the handshake's id for replay detection.
///
/// Its `Debug` output shows the session (redacted), the plaintext's length
/// (not its bytes) and the handshake id.
pub struct InboundSession {
    /// The session, ready to encrypt replies.
    pub session: Session,
    /// The plaintext of the first message.
    pub plaintext: Vec<u8>,
    /// The handshake id ([`PreKeyMessage::handshake_id`]).
    pub handshake_id: HandshakeId,
}

impl Session {
    /// Starts a session with the owner of a verified bundle.
    ///
    /// Messages from this session are [`PreKeyMessage`]s until the first
    /// reply has been decrypted.
    ///
    /// # Errors
    /// [`ProtocolError::NonContributoryKey`] if a key in the bundle is of
    /// small order.
    ///
    /// # Security
    /// The bundle's signatures prove its prekeys belong to its identity
    /// key; the caller must still decide that the identity key is the
    /// person it means to talk to.
    pub fn initiate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        our_identity: &IdentityKeyPair,
        bundle: &VerifiedBundle,
        config: SessionConfig,
    ) -> crate::Result<Session> {
        let init = handshake::initiate(rng, our_identity, bundle, config.context())?;
        let handshake_id = crate::message::handshake_id(
            our_identity.public_key().as_bytes(),
            init.base_public().as_bytes(),
            init.prekeys(),
            init.kem_ciphertext(),
        );
        let base_key = *init.base_public();
        let (secrets, base, prekeys, kem_ciphertext, remote_identity) = init.into_parts();
        let session_ad = *secrets.session_ad();
        let (root_key, chain_key, initiator_header_key, responder_header_key) = secrets.into_keys();
        let ratchet = DoubleRatchet::initiator(
            RootKey::new(root_key),
            ChainKey::new(chain_key, 0),
            HeaderKey::new(initiator_header_key),
            HeaderKey::new(responder_header_key),
            base,
            config.bounds(),
        );
        Ok(Session {
            role: Role::Initiator {
                pending: Some(PendingPreKey {
                    prekeys,
                    kem_ciphertext,
                }),
            },
            local_identity: our_identity.public_key().clone(),
            remote_identity,
            session_ad,
            base_key,
            handshake_id,
            padding: config.padding(),
            ratchet,
        })
    }

    /// Answers a [`PreKeyMessage`]: derives the session from our prekeys and
    /// decrypts the first message. Nothing random is needed on this side.
    ///
    /// The prekeys given must be those the message names
    /// ([`PreKeyMessage::signed_prekey_id`] and friends).
    ///
    /// # Errors
    /// [`MisuseError::PreKeyMismatch`] if a prekey does not match the
    /// message; [`Error::DecryptionFailed`](crate::Error::DecryptionFailed) if the first message does not
    /// authenticate (a tampered KEM ciphertext, a wrong context, a forgery);
    /// [`ProtocolError::TooFarAhead`] past the jump bound.
    ///
    /// # Security
    /// After success the caller must delete the one-time EC and KEM prekeys
    /// used, in the same transaction that stores the session, and for a
    /// last-resort KEM prekey remember [`InboundSession::handshake_id`] and
    /// refuse it next time. [`PreKeyMessage::identity_key`] is whoever
    /// claims to be sending; check it against the identity you trust.
    pub fn respond(
        our_identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKeyPair,
        one_time_prekey: Option<&OneTimePreKeyPair>,
        kem_prekey: &KemPreKeyPair,
        message: &PreKeyMessage,
        config: SessionConfig,
    ) -> crate::Result<InboundSession> {
        let secrets = handshake::respond(
            our_identity,
            signed_prekey,
            one_time_prekey,
            kem_prekey,
            message,
            config.context(),
        )?;
        let session_ad = *secrets.session_ad();
        let (root_key, chain_key, initiator_header_key, responder_header_key) = secrets.into_keys();
        let base_key = *message.base_public();
        let ratchet = DoubleRatchet::responder(
            RootKey::new(root_key),
            RemoteChainKey::new(chain_key, 0),
            HeaderKey::new(initiator_header_key),
            HeaderKey::new(responder_header_key),
            base_key,
            config.bounds(),
        );
        let mut session = Session {
            role: Role::Responder,
            local_identity: our_identity.public_key().clone(),
            remote_identity: message.identity_key().clone(),
            session_ad,
            base_key,
            handshake_id: message.handshake_id(),
            padding: config.padding(),
            ratchet,
        };
        let plaintext = session
            .ratchet
            .decrypt(&session.session_ad, &message.view())?;
        Ok(InboundSession {
            handshake_id: session.handshake_id,
            session,
            plaintext,
        })
    }

    /// Encrypts a message to the peer, returning its wire bytes: a
    /// [`PreKeyMessage`] until the peer has been heard from, then a [`Message`].
    /// The plaintext is padded inside the AEAD by the session's
    /// [`Padding`] (from its [`SessionConfig`]).
    ///
    /// `rng` is drawn from only when the message starts a new ratchet step.
    ///
    /// # Errors
    /// [`MisuseError::PlaintextTooLong`] beyond [`MAX_PLAINTEXT_LEN`];
    /// [`ProtocolError::ChainExhausted`] after 2³² − 1 messages on one chain.
    /// On error the session is unchanged.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> crate::Result<Vec<u8>> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(MisuseError::PlaintextTooLong {
                max: MAX_PLAINTEXT_LEN,
                found: plaintext.len(),
            }
            .into());
        }
        let padded_len = self.padding.padded_len(plaintext.len());
        self.seal(
            rng,
            Body::Padded {
                plaintext,
                padded_len,
            },
        )
    }

    /// The wire bytes of one message sealing `body`: the setup data first
    /// while it is still sent, then the `Message`. On error the session is
    /// unchanged.
    fn seal<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        body: Body<'_>,
    ) -> crate::Result<Vec<u8>> {
        let pending = self.pending();
        let prefix = match pending {
            Some(_) => PreKeyMessageFrame::PREFIX_MAX_LEN,
            None => 0,
        };
        let mut out = Vec::with_capacity(prefix + MessageFrame::HEADER_LEN + body.len() + TAG_LEN);
        if let Some(p) = pending {
            encode_prekey_prefix(
                &mut out,
                crate::wire::SUITE_V1,
                self.local_identity.as_bytes(),
                &p.prekeys,
                &p.kem_ciphertext,
            );
        }
        self.ratchet
            .encrypt(rng, &self.session_ad, body, &mut out)?;
        Ok(out)
    }

    /// Decrypts a message from the peer: a [`Message`], or a copy of the
    /// [`PreKeyMessage`] that set this session up (the initiator repeats it
    /// until it hears back).
    ///
    /// Decodes as [`IncomingMessage::from_bytes`] does, with the same
    /// checks, then decrypts as [`decrypt_incoming`](Self::decrypt_incoming)
    /// does; a `Message`'s ciphertext is decrypted straight from `bytes`,
    /// not copied into a decoded value first. To try several sessions,
    /// decode once and call `decrypt_incoming` on each.
    ///
    /// Transactional: on any error the session is exactly as before.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for malformed bytes;
    /// [`Error::DecryptionFailed`](crate::Error::DecryptionFailed) for anything that does not authenticate;
    /// [`ProtocolError::Duplicate`] for a second copy of a decrypted message;
    /// [`ProtocolError::MessageKeyExpired`] for one older than the kept keys;
    /// [`ProtocolError::TooFarAhead`] past the jump bound;
    /// [`ProtocolError::UnexpectedPreKeyMessage`] for a `PreKeyMessage` of
    /// another session; [`ProtocolError::InvalidPadding`] for an
    /// authenticated message whose padded plaintext is not one (a broken
    /// peer).
    pub fn decrypt(&mut self, bytes: &[u8]) -> crate::Result<Vec<u8>> {
        match message_kind(bytes)? {
            MessageKind::Message => self.decrypt_ref(&MessageRef::decode(bytes)?),
            MessageKind::PreKeyMessage => {
                self.decrypt_prekey_message(&PreKeyMessage::from_bytes(bytes)?)
            }
        }
    }

    /// Decrypts an already-decoded message of either kind, as
    /// [`Session::decrypt`] decrypts its bytes.
    ///
    /// # Errors
    /// As [`Session::decrypt`], except that decoding already happened.
    pub fn decrypt_incoming(&mut self, message: &IncomingMessage) -> crate::Result<Vec<u8>> {
        match message {
            IncomingMessage::Message(m) => self.decrypt_ref(&m.view()),
            IncomingMessage::PreKey(p) => self.decrypt_prekey_message(p),
        }
    }

    /// Decrypts an already-decoded [`Message`].
    ///
    /// # Errors
    /// As [`Session::decrypt`].
    pub fn decrypt_message(&mut self, message: Message) -> crate::Result<Vec<u8>> {
        self.decrypt_ref(&message.view())
    }

    /// Decrypts another copy of the `PreKeyMessage` that set this session up.
    ///
    /// # Errors
    /// As [`Session::decrypt`].
    pub fn decrypt_prekey_message(&mut self, message: &PreKeyMessage) -> crate::Result<Vec<u8>> {
        // The handshake id covers the initiator's identity, its base key,
        // the prekey ids and the KEM ciphertext: a repeat whose setup data
        // was altered in transit is refused, not silently accepted.
        if self.is_initiator() || message.handshake_id() != self.handshake_id {
            return Err(ProtocolError::UnexpectedPreKeyMessage.into());
        }
        self.ratchet.decrypt(&self.session_ad, &message.view())
    }

    /// A `Message`: once one decrypts, the peer has heard from us, so the
    /// setup data is not sent again.
    fn decrypt_ref(&mut self, message: &MessageRef<'_>) -> crate::Result<Vec<u8>> {
        let plaintext = self.ratchet.decrypt(&self.session_ad, message)?;
        if let Role::Initiator { pending } = &mut self.role {
            *pending = None;
        }
        Ok(plaintext)
    }

    /// The setup data still sent with every message, if any.
    fn pending(&self) -> Option<&PendingPreKey> {
        match &self.role {
            Role::Initiator { pending } => pending.as_ref(),
            Role::Responder => None,
        }
    }

    /// Whether this side started the session.
    pub fn is_initiator(&self) -> bool {
        matches!(self.role, Role::Initiator { .. })
    }

    /// Whether outgoing messages still carry the setup data (the initiator
    /// has not yet decrypted a reply).
    pub fn sends_prekey_messages(&self) -> bool {
        self.pending().is_some()
    }

    /// Our identity key.
    pub fn local_identity(&self) -> &IdentityKey {
        &self.local_identity
    }

    /// The peer's identity key.
    pub fn remote_identity(&self) -> &IdentityKey {
        &self.remote_identity
    }

    /// The initiator's base key, which names this session in `PreKeyMessage`s.
    pub fn base_key(&self) -> &[u8; 32] {
        self.base_key.as_bytes()
    }

    /// The id of the handshake that set this session up
    /// ([`PreKeyMessage::handshake_id`]).
    pub fn handshake_id(&self) -> &HandshakeId {
        &self.handshake_id
    }

    /// How the session pads what it sends.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// How many skipped message keys the session holds for late messages.
    pub fn stored_skipped_keys(&self) -> usize {
        self.ratchet.stored_skipped_keys()
    }
}

impl fmt::Debug for InboundSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InboundSession {
            session,
            plaintext,
            handshake_id,
        } = self;
        f.debug_struct("InboundSession")
            .field("session", session)
            .field("plaintext_len", &plaintext.len())
            .field("handshake_id", &Hex(handshake_id.as_bytes()))
            .finish()
    }
}

impl zeroize::ZeroizeOnDrop for Session {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
/// `InboundSession` is not marked: its plaintext is the caller's output, an
/// ordinary `Vec<u8>` like the one [`Session::decrypt`] returns.
#[allow(dead_code)]
fn zeroize_audit(session: &Session, inbound: &InboundSession) {
    use crate::hygiene::zod;
    // The role and pending setup data, the identities, the session AD (a
    // hash of public values), the base key, the handshake id and the
    // padding policy are all public.
    let Session {
        role: _,
        local_identity: _,
        remote_identity: _,
        session_ad: _,
        base_key: _,
        handshake_id: _,
        padding: _,
        ratchet,
    } = session;
    zod(ratchet);
    let InboundSession {
        session,
        plaintext: _,
        handshake_id: _,
    } = inbound;
    zod(session);
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Session {
            role: _,
            local_identity,
            remote_identity,
            session_ad: _,
            base_key,
            handshake_id: _,
            padding,
            ratchet,
        } = self;
        f.debug_struct("Session")
            .field("initiator", &self.is_initiator())
            .field("local_identity", local_identity)
            .field("remote_identity", remote_identity)
            .field("base_key", &Hex(base_key.as_bytes()))
            .field("padding", padding)
            .field("receiving_chains", &ratchet.receiving_chains())
            .field("skipped_keys", &ratchet.stored_skipped_keys())
            .field("sends_prekey_messages", &self.sends_prekey_messages())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Our current ratchet public key, if the session has one: a `Message`
    /// under a ratchet key the session does not know can only decrypt if
    /// its receiver hint is this key's first bytes. For routing at the
    /// account (`client::account::sessions`).
    pub(crate) fn our_ratchet_key(&self) -> Option<&[u8; 32]> {
        self.ratchet.our_ratchet_key().map(|k| k.as_bytes())
    }

    /// The peer's ratchet keys of every receiving chain the session keeps,
    /// oldest first. For routing at the account.
    pub(crate) fn receiving_ratchet_keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.ratchet.receiving_keys().map(|k| k.as_bytes())
    }
}

#[cfg(test)]
impl Session {
    /// The ratchet, for the vector generator's cross-checks.
    pub(crate) fn ratchet(&self) -> &DoubleRatchet {
        &self.ratchet
    }

    /// The session associated-data digest, for the vector generator.
    pub(crate) fn session_ad(&self) -> &[u8; 32] {
        &self.session_ad
    }

    /// Encrypts `body` exactly as given, with no padding added: the
    /// vectors' authenticated messages whose padding is invalid.
    pub(crate) fn encrypt_raw_body<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        body: &[u8],
    ) -> crate::Result<Vec<u8>> {
        self.seal(rng, Body::Raw(body))
    }

    /// The pending KEM ciphertext, for the vector generator.
    pub(crate) fn pending_kem_ciphertext(&self) -> Option<&[u8; KEM_CIPHERTEXT_LEN]> {
        self.pending().map(|p| &*p.kem_ciphertext)
    }
}
