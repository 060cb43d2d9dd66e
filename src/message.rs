//! The two messages on the wire, as typed values.
//!
//! This is where received bytes become messages, and the only place: the
//! frames from [`wire`] are checked here once (the identity key, the
//! ratchet or base key), and every layer above works on the checked values.

use core::fmt;

mod envelope;
mod receipt;

pub use envelope::Envelope;
pub use receipt::{DecryptionErrorReceipt, FailedMessage, VerifiedReceipt};

use crate::crypto::kdf;
use crate::crypto::labels;
use crate::keys::{CanonicalX25519, Hex, IdentityKey, X25519PublicKey, canonical_x25519};
use crate::wire::{
    self, HEADER_TAG_LEN, KEM_CIPHERTEXT_LEN, MessageFrame, MessageKind, MessageView, PreKeyFrame,
    PreKeyMessageFrame, RECEIVER_HINT_LEN, TAG_LEN, TAGGED_LEN,
};

/// A ratchet message: a header (the sender's ratchet key, the length of its
/// previous chain, this message's index) and a ChaCha20-Poly1305 ciphertext.
///
/// Wire layout (66 + L bytes):
///
/// ```text
/// offset  size  field
///      0     1  version            = 0x01
///      1     1  type               = 0x01 (Message)
///      2    32  ratchet_key        sender's X25519 ratchet public key
///     34     4  receiver_hint      first 4 bytes of the receiver's ratchet key
///     38     4  previous_length    u32, big-endian
///     42     4  index              u32, big-endian
///     46     4  ciphertext_length  u32, L, 16 ..= MAX_CIPHERTEXT_LEN
///     50    16  header_tag         MAC of bytes 0..50 under the chain's header key
///     66     L  ciphertext         ciphertext ‖ 16-byte tag
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Canonical; its subgroup is checked when it starts a new chain.
    ratchet_key: CanonicalX25519,
    receiver_hint: [u8; RECEIVER_HINT_LEN],
    previous_length: u32,
    index: u32,
    header_tag: [u8; HEADER_TAG_LEN],
    /// Ciphertext followed by the tag.
    ciphertext: Vec<u8>,
}

impl Message {
    /// Decodes a message and checks its ratchet key is a canonical X25519 key.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        Self::from_frame(MessageFrame::decode(bytes)?)
    }

    /// Checks a decoded frame's ratchet key; the ciphertext is moved, not copied.
    fn from_frame(frame: MessageFrame) -> crate::Result<Self> {
        let MessageFrame {
            ratchet_key,
            receiver_hint,
            previous_length,
            index,
            header_tag,
            ciphertext,
        } = frame;
        Ok(Message {
            ratchet_key: canonical_x25519(&ratchet_key)?,
            receiver_hint,
            previous_length,
            index,
            header_tag,
            ciphertext,
        })
    }

    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MessageFrame::HEADER_LEN + self.ciphertext.len());
        self.view().encode(&mut out);
        out
    }

    /// The sender's ratchet public key.
    pub fn ratchet_key(&self) -> &[u8; 32] {
        self.ratchet_key.as_bytes()
    }

    /// This message's index in its sending chain.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many messages the sender sent on its previous chain.
    pub fn previous_length(&self) -> u32 {
        self.previous_length
    }

    /// The first 4 bytes of the receiver's ratchet public key that the
    /// sender's chain was derived with (4 zero bytes on the initiator's
    /// first chain): says which of the receiver's sessions a message under
    /// a new ratchet key belongs to.
    pub fn receiver_hint(&self) -> &[u8; 4] {
        &self.receiver_hint
    }

    /// Length of the ciphertext, tag included.
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len()
    }

    /// The message as the ratchet decrypts it, borrowing the ciphertext.
    pub(crate) fn view(&self) -> MessageRef<'_> {
        MessageRef {
            ratchet_key: self.ratchet_key,
            receiver_hint: self.receiver_hint,
            previous_length: self.previous_length,
            index: self.index,
            header_tag: self.header_tag,
            ciphertext: &self.ciphertext,
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Message {
            ratchet_key,
            receiver_hint,
            previous_length,
            index,
            header_tag: _,
            ciphertext,
        } = self;
        f.debug_struct("Message")
            .field("ratchet_key", &Hex(ratchet_key.as_bytes()))
            .field("receiver_hint", &Hex(receiver_hint))
            .field("previous_length", previous_length)
            .field("index", index)
            .field("ciphertext_len", &ciphertext.len())
            .finish()
    }
}

/// A [`Message`] whose ratchet key is checked, with its ciphertext borrowed
/// from wherever it is: a decoded `Message`, or the received bytes
/// themselves ([`MessageRef::decode`], which copies nothing). This is what
/// the ratchet decrypts.
pub(crate) struct MessageRef<'a> {
    ratchet_key: CanonicalX25519,
    receiver_hint: [u8; RECEIVER_HINT_LEN],
    previous_length: u32,
    index: u32,
    header_tag: [u8; HEADER_TAG_LEN],
    /// Ciphertext followed by the tag.
    ciphertext: &'a [u8],
}

impl<'a> MessageRef<'a> {
    /// Decodes a `Message` with exactly the checks of [`Message::from_bytes`],
    /// leaving the ciphertext in `bytes`.
    pub(crate) fn decode(bytes: &'a [u8]) -> crate::Result<Self> {
        let MessageView {
            ratchet_key,
            receiver_hint,
            previous_length,
            index,
            header_tag,
            ciphertext,
        } = MessageFrame::decode_view(bytes)?;
        Ok(MessageRef {
            ratchet_key: canonical_x25519(&ratchet_key)?,
            receiver_hint,
            previous_length,
            index,
            header_tag,
            ciphertext,
        })
    }

    /// The sender's ratchet key.
    pub(crate) fn ratchet_key(&self) -> &CanonicalX25519 {
        &self.ratchet_key
    }

    /// This message's index in its sending chain.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// How many messages the sender sent on its previous chain.
    pub(crate) fn previous_length(&self) -> u32 {
        self.previous_length
    }

    /// The header tag, as received.
    pub(crate) fn header_tag(&self) -> &[u8; HEADER_TAG_LEN] {
        &self.header_tag
    }

    /// The header bytes the header tag covers, as on the wire.
    pub(crate) fn tagged(&self) -> [u8; TAGGED_LEN] {
        self.wire().tagged()
    }

    /// The header bytes, as on the wire (the message's part of the AEAD
    /// associated data).
    pub(crate) fn header(&self) -> [u8; MessageFrame::HEADER_LEN] {
        self.wire().header()
    }

    /// The sealed body and the tag.
    pub(crate) fn body_and_tag(&self) -> (&'a [u8], [u8; TAG_LEN]) {
        self.wire().body_and_tag()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.wire().encode(out);
    }

    /// The wire view: the same fields, the key as raw bytes.
    fn wire(&self) -> MessageView<'a> {
        MessageView {
            ratchet_key: *self.ratchet_key.as_bytes(),
            receiver_hint: self.receiver_hint,
            previous_length: self.previous_length,
            index: self.index,
            header_tag: self.header_tag,
            ciphertext: self.ciphertext,
        }
    }
}

/// A message that sets up a session: the initiator's identity key, which of
/// the responder's prekeys it used, the ML-KEM ciphertext, and a first
/// [`Message`] whose ratchet key is the initiator's base key.
///
/// Wire layout:
///
/// ```text
/// offset  size  field
///      0     1  version            = 0x01
///      1     1  type               = 0x02 (PreKeyMessage)
///      2     1  suite              = 0x01
///      3    32  identity_key       initiator's Ed25519 identity key
///     35     4  signed_prekey_id   u32, big-endian
///     39     1  one_time_present   0x00 or 0x01
///     40   0|4  one_time_prekey_id u32, only when one_time_present = 0x01
///      …     4  kem_prekey_id      u32
///      …  1088  kem_ciphertext     ML-KEM-768 ciphertext
///      …     …  message            a complete Message, to the end of the input
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeyMessage {
    identity_key: IdentityKey,
    prekeys: PreKeyFrame,
    kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
    /// The base key `EK_A`, the embedded message's ratchet key, fully
    /// checked: the handshake takes it into a DH at once.
    base_key: X25519PublicKey,
    /// The embedded first message.
    message: Message,
}

impl PreKeyMessage {
    /// Decodes a `PreKeyMessage` and validates its keys.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        // The suite is checked by the decoder; v1 has one.
        let PreKeyMessageFrame {
            suite: _,
            identity_key,
            prekeys,
            kem_ciphertext,
            message,
        } = PreKeyMessageFrame::decode(bytes)?;
        let identity_key = IdentityKey::from_bytes(&identity_key)?;
        let message = Message::from_frame(message)?;
        let base_key = message.ratchet_key.check()?;
        Ok(PreKeyMessage {
            identity_key,
            prekeys,
            kem_ciphertext,
            base_key,
            message,
        })
    }

    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            PreKeyMessageFrame::PREFIX_MAX_LEN
                + MessageFrame::HEADER_LEN
                + self.message.ciphertext.len(),
        );
        wire::encode_prekey_prefix(
            &mut out,
            crate::wire::SUITE_V1,
            self.identity_key.as_bytes(),
            &self.prekeys,
            &self.kem_ciphertext,
        );
        self.message.view().encode(&mut out);
        out
    }

    /// The initiator's identity key.
    ///
    /// # Security
    /// Check it against the identity you expect for the sender before
    /// trusting the session.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// The initiator's base (ephemeral) public key, which identifies the session.
    pub fn base_key(&self) -> &[u8; 32] {
        self.message.ratchet_key.as_bytes()
    }

    /// Id of the responder's signed prekey the initiator used.
    pub fn signed_prekey_id(&self) -> u32 {
        self.prekeys.signed_prekey_id
    }

    /// Id of the responder's one-time prekey the initiator used, if any.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.prekeys.one_time_prekey_id
    }

    /// Id of the responder's ML-KEM prekey the initiator encapsulated to.
    pub fn kem_prekey_id(&self) -> u32 {
        self.prekeys.kem_prekey_id
    }

    /// The embedded first message.
    pub fn message(&self) -> Message {
        self.message.clone()
    }

    /// A 32-byte id of this handshake: a hash of the initiator's identity and
    /// base key, the prekey ids, and the KEM ciphertext.
    ///
    /// Every copy of the first messages of one session has the same id, and
    /// two different handshakes never do. A responder that accepts a
    /// handshake on its last-resort KEM prekey (which is not consumed)
    /// records this id and refuses to set up a second session with it:
    /// that is how a replayed first message is detected.
    pub fn handshake_id(&self) -> HandshakeId {
        handshake_id(
            self.identity_key.as_bytes(),
            self.message.ratchet_key.as_bytes(),
            &self.prekeys,
            &self.kem_ciphertext,
        )
    }

    /// The initiator's base key, checked.
    pub(crate) fn base_public(&self) -> &X25519PublicKey {
        &self.base_key
    }

    /// Which of the responder's prekeys the initiator used.
    pub(crate) fn prekeys(&self) -> &PreKeyFrame {
        &self.prekeys
    }

    /// The ML-KEM ciphertext.
    pub(crate) fn kem_ciphertext(&self) -> &[u8; KEM_CIPHERTEXT_LEN] {
        &self.kem_ciphertext
    }

    /// The embedded first message as the ratchet decrypts it.
    pub(crate) fn view(&self) -> MessageRef<'_> {
        self.message.view()
    }
}

impl fmt::Debug for PreKeyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreKeyMessage")
            .field("identity_key", &self.identity_key)
            .field("base_key", &Hex(self.base_key()))
            .field("signed_prekey_id", &self.signed_prekey_id())
            .field("one_time_prekey_id", &self.one_time_prekey_id())
            .field("kem_prekey_id", &self.kem_prekey_id())
            .field("message", &self.message)
            .finish()
    }
}

/// The id of a handshake ([`PreKeyMessage::handshake_id`]): 32 public bytes
/// that name one session setup on both devices.
///
/// Ids compare (and order) as their bytes do. `Debug` shows them in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandshakeId([u8; 32]);

impl HandshakeId {
    /// An id from its 32 bytes (as stored, for example).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        HandshakeId(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for HandshakeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HandshakeId").field(&Hex(&self.0)).finish()
    }
}

/// `HID = SHA256(label ‖ suite ‖ IK_A ‖ EK_A ‖ spk_id ‖ opk flag ‖ opk_id or 0 ‖ kem_id ‖ CT)`.
pub(crate) fn handshake_id(
    identity_key: &[u8; 32],
    base_key: &[u8; 32],
    prekeys: &PreKeyFrame,
    kem_ciphertext: &[u8; KEM_CIPHERTEXT_LEN],
) -> HandshakeId {
    let (flag, opk) = match prekeys.one_time_prekey_id {
        Some(id) => (1u8, id),
        None => (0u8, 0),
    };
    HandshakeId(kdf::sha256(&[
        labels::HANDSHAKE_ID,
        &[crate::wire::SUITE_V1],
        identity_key,
        base_key,
        &prekeys.signed_prekey_id.to_be_bytes(),
        &[flag],
        &opk.to_be_bytes(),
        &prekeys.kem_prekey_id.to_be_bytes(),
        &kem_ciphertext[..],
    ]))
}

/// Either kind of incoming message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IncomingMessage {
    /// A message that sets up a session (boxed: it is over a kilobyte).
    PreKey(Box<PreKeyMessage>),
    /// A ratchet message.
    Message(Message),
}

impl IncomingMessage {
    /// Decodes either kind, by its type byte.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        match message_kind(bytes)? {
            MessageKind::Message => Ok(IncomingMessage::Message(Message::from_bytes(bytes)?)),
            MessageKind::PreKeyMessage => Ok(IncomingMessage::PreKey(Box::new(
                PreKeyMessage::from_bytes(bytes)?,
            ))),
        }
    }
}

/// The kind of message some bytes hold, from their first two bytes only.
///
/// # Errors
/// [`DecodeError::UnsupportedVersion`](crate::DecodeError::UnsupportedVersion),
/// [`DecodeError::UnexpectedType`](crate::DecodeError::UnexpectedType) or
/// [`DecodeError::Truncated`](crate::DecodeError::Truncated).
pub fn message_kind(bytes: &[u8]) -> crate::Result<MessageKind> {
    Ok(wire::peek_kind(bytes)?)
}
