//! The envelope: one message, with who sent it and who it is for.

use core::fmt;

use super::IncomingMessage;
use crate::address::DeviceAddress;
use crate::wire::{DeviceAddressFrame, EnvelopeFrame, Frame, MessageKind, check_message};

/// One [`Message`](crate::Message) or [`PreKeyMessage`](crate::PreKeyMessage)
/// with the device addresses of its sender and its recipient: the unit
/// servers of every app route, in one encoding (PROTOCOL.md §4.7,
/// [`MIN_ENVELOPE_LEN`](crate::wire::MIN_ENVELOPE_LEN) to
/// [`MAX_ENVELOPE_LEN`](crate::wire::MAX_ENVELOPE_LEN) bytes).
///
/// Building or decoding an envelope checks the message's **structure**
/// only, as [`route`](crate::server::route) does: its length, version,
/// type, suite, flags and lengths, and no trailing bytes. No key is
/// validated and nothing is authenticated, so that a server can route
/// envelopes without the field arithmetic only the recipient needs;
/// [`Envelope::decode_message`] does the rest of a recipient's decoding.
///
/// The addresses are what the envelope says, nothing more: the sender
/// address is not authenticated by the message. An app must not take it
/// as proof of who sent the message.
///
/// ```
/// # fn main() -> kinseal::Result<()> {
/// use kinseal::{DeviceAddress, Envelope, IdentityKeyPair, KemPreKeyPair, MessageKind};
/// use kinseal::{OsRng, PreKeyBundle, Session, SessionConfig, SignedPreKeyPair};
///
/// let mut rng = OsRng;
/// let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
/// let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, 0);
/// let kem = KemPreKeyPair::generate(&mut rng, &bob, 1, true, 0);
/// let bundle = PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), None, kem.public().clone());
/// let mut session = Session::initiate(&mut rng, &alice, &bundle.verify()?, SessionConfig::default())?;
///
/// let from = DeviceAddress::new(b"chirp", b"alice", 1)?;
/// let to = DeviceAddress::new(b"parley", b"bob@parley.example", 7)?;
/// let envelope = Envelope::new(from, to, session.encrypt(&mut rng, b"hi")?)?;
/// let bytes = envelope.to_bytes();
/// // …on the server, and on Bob's device:
/// let received = Envelope::from_bytes(&bytes)?;
/// assert_eq!(received.recipient().device_id(), 7);
/// assert_eq!(received.message_kind(), MessageKind::PreKeyMessage);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    sender: DeviceAddress,
    recipient: DeviceAddress,
    kind: MessageKind,
    message: Vec<u8>,
}

impl Envelope {
    /// Puts a message, as [`Session::encrypt`](crate::Session::encrypt) or
    /// an account returned it, in an envelope.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode): `LengthOutOfRange` (with
    /// [`WireType::Envelope`](crate::WireType::Envelope)) for a message
    /// shorter than [`MIN_MESSAGE_LEN`](crate::limits::MIN_MESSAGE_LEN) or
    /// longer than [`MAX_MESSAGE_LEN`](crate::limits::MAX_MESSAGE_LEN),
    /// then the message decoders' structure errors.
    pub fn new(
        sender: DeviceAddress,
        recipient: DeviceAddress,
        message: Vec<u8>,
    ) -> crate::Result<Self> {
        let kind = check_message(&message)?;
        Ok(Envelope {
            sender,
            recipient,
            kind,
            message,
        })
    }

    /// Decodes an envelope. Input longer than
    /// [`MAX_ENVELOPE_LEN`](crate::wire::MAX_ENVELOPE_LEN) is refused
    /// before it is read; then the envelope's fields are read front to
    /// back (each id length and the message length against its range
    /// before the bytes it counts, no trailing bytes), then the message's
    /// structure is checked. For every accepted input `b`,
    /// `Envelope::from_bytes(b)?.to_bytes() == b`.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::Envelope`](crate::WireType::Envelope) for the envelope's
    /// own fields and its addresses, and with
    /// [`WireType::Message`](crate::WireType::Message) or
    /// [`WireType::PreKeyMessage`](crate::WireType::PreKeyMessage) for a
    /// malformed message.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = EnvelopeFrame::decode(bytes)?;
        Ok(Envelope {
            sender: frame.sender.to_address()?,
            recipient: frame.recipient.to_address()?,
            kind: frame.kind,
            message: frame.message.to_vec(),
        })
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        EnvelopeFrame {
            sender: DeviceAddressFrame::of(&self.sender),
            recipient: DeviceAddressFrame::of(&self.recipient),
            kind: self.kind,
            message: &self.message,
        }
        .to_vec()
    }

    /// The device the envelope says sent the message (not authenticated).
    pub fn sender(&self) -> &DeviceAddress {
        &self.sender
    }

    /// The device the message is for.
    pub fn recipient(&self) -> &DeviceAddress {
        &self.recipient
    }

    /// Whether the message is a `Message` or a `PreKeyMessage`.
    pub fn message_kind(&self) -> MessageKind {
        self.kind
    }

    /// The message's bytes, as a session or an account decrypts them.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// Gives the message's bytes back.
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }

    /// Decodes the message with every check of
    /// [`IncomingMessage::from_bytes`] (its keys included).
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for an invalid key.
    pub fn decode_message(&self) -> crate::Result<IncomingMessage> {
        IncomingMessage::from_bytes(&self.message)
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("sender", &self.sender)
            .field("recipient", &self.recipient)
            .field("kind", &self.kind)
            .field("message_len", &self.message.len())
            .finish()
    }
}
