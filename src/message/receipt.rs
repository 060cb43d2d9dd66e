//! Decryption-error receipts (PROTOCOL.md §14): what a device sends back to
//! the sender of a message it could not decrypt, so that the sender
//! starts a new session without anyone doing anything. The byte layout is
//! in `wire/receipt.rs`.

use core::fmt;

use super::{HandshakeId, IncomingMessage, handshake_id};
use crate::address::DeviceAddress;
use crate::crypto::labels::SIG_RECEIPT;
use crate::error::{ProtocolError, SignedObject};
use crate::keys::{Hex, IdentityKey, IdentityKeyPair, VerifiedDeviceList};
use crate::wire::{
    DeviceAddressFrame, FailedMessageFrame, Frame, KEY_LEN, MessageFrame, MessageKind,
    PreKeyMessageFrame, ReceiptBodyFrame, ReceiptFrame, ReceiptReason, SIGNATURE_LEN, peek_kind,
};

/// Which message a device could not decrypt, as the sender of that message
/// finds its session again (PROTOCOL.md §14.3): by the handshake id of a
/// `PreKeyMessage`, or by the ratchet key (the sender's own), index and
/// previous chain length of a `Message`.
///
/// None of it is secret: a server saw every field in the message's header.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailedMessage {
    /// A ratchet [`Message`](crate::Message).
    Message {
        /// The message's ratchet key: the sender's ratchet public key.
        ratchet_key: [u8; KEY_LEN],
        /// The message's index `N` in its chain.
        index: u32,
        /// The message's previous chain length `PN`.
        previous_length: u32,
    },
    /// A [`PreKeyMessage`](crate::PreKeyMessage).
    PreKey {
        /// The message's [`handshake id`](crate::PreKeyMessage::handshake_id).
        handshake_id: HandshakeId,
    },
}

impl FailedMessage {
    /// The locator of a received message, from its bytes: the message's
    /// structure is decoded as an [`Envelope`](crate::Envelope) checks it
    /// (version, type, suite, flags, lengths, no trailing bytes), and no
    /// key is validated, so a message that failed for an invalid key still
    /// has a locator. A `PreKeyMessage`'s handshake id is computed from its
    /// fields, and is [`PreKeyMessage::handshake_id`](crate::PreKeyMessage::handshake_id)
    /// of the decoded message.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::Message`](crate::WireType::Message) or
    /// [`WireType::PreKeyMessage`](crate::WireType::PreKeyMessage), as the
    /// message decoders report malformed bytes.
    pub fn of(bytes: &[u8]) -> crate::Result<FailedMessage> {
        match peek_kind(bytes)? {
            MessageKind::Message => {
                let m = MessageFrame::decode_view(bytes)?;
                Ok(FailedMessage::Message {
                    ratchet_key: m.ratchet_key,
                    index: m.index,
                    previous_length: m.previous_length,
                })
            }
            MessageKind::PreKeyMessage => {
                let m = PreKeyMessageFrame::decode(bytes)?;
                Ok(FailedMessage::PreKey {
                    handshake_id: handshake_id(
                        &m.identity_key,
                        &m.message.ratchet_key,
                        &m.prekeys,
                        &m.kem_ciphertext,
                    ),
                })
            }
        }
    }

    /// The kind of the failed message.
    pub fn kind(&self) -> MessageKind {
        match self {
            FailedMessage::Message { .. } => MessageKind::Message,
            FailedMessage::PreKey { .. } => MessageKind::PreKeyMessage,
        }
    }

    fn frame(&self) -> FailedMessageFrame {
        match *self {
            FailedMessage::Message {
                ratchet_key,
                index,
                previous_length,
            } => FailedMessageFrame::Message {
                ratchet_key,
                index,
                previous_length,
            },
            FailedMessage::PreKey { handshake_id } => FailedMessageFrame::PreKey {
                handshake_id: *handshake_id.as_bytes(),
            },
        }
    }

    fn from_frame(frame: FailedMessageFrame) -> Self {
        match frame {
            FailedMessageFrame::Message {
                ratchet_key,
                index,
                previous_length,
            } => FailedMessage::Message {
                ratchet_key,
                index,
                previous_length,
            },
            FailedMessageFrame::PreKey { handshake_id } => FailedMessage::PreKey {
                handshake_id: HandshakeId::from_bytes(handshake_id),
            },
        }
    }
}

impl From<&IncomingMessage> for FailedMessage {
    /// The locator of a message already decoded: the same as
    /// [`FailedMessage::of`] its bytes.
    fn from(message: &IncomingMessage) -> Self {
        match message {
            IncomingMessage::Message(m) => FailedMessage::Message {
                ratchet_key: *m.ratchet_key(),
                index: m.index(),
                previous_length: m.previous_length(),
            },
            IncomingMessage::PreKey(m) => FailedMessage::PreKey {
                handshake_id: m.handshake_id(),
            },
        }
    }
}

impl fmt::Debug for FailedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailedMessage::Message {
                ratchet_key,
                index,
                previous_length,
            } => f
                .debug_struct("Message")
                .field("ratchet_key", &Hex(ratchet_key))
                .field("index", index)
                .field("previous_length", previous_length)
                .finish(),
            FailedMessage::PreKey { handshake_id } => f
                .debug_struct("PreKey")
                .field("handshake_id", handshake_id)
                .finish(),
        }
    }
}

/// A decryption-error receipt, decoded and its key checked, but not yet
/// verified (PROTOCOL.md §14): the device that could not decrypt
/// ([`from`](Self::from)), the sender of the message
/// ([`to`](Self::to)), why, which message, when, and the failing device's
/// identity key, which signs all of it.
///
/// [`DecryptionErrorReceipt::from_bytes`] checks the structure front to
/// back, then the identity key; [`DecryptionErrorReceipt::verify`] checks
/// the signature. For every accepted `b`,
/// `DecryptionErrorReceipt::from_bytes(b)?.to_bytes() == b`.
///
/// ```
/// # fn main() -> kinseal::Result<()> {
/// use kinseal::{DecryptionErrorReceipt, DeviceAddress, FailedMessage, IdentityKeyPair};
/// use kinseal::{KemPreKeyPair, OsRng, PreKeyBundle, ReceiptReason, Session, SessionConfig};
/// use kinseal::SignedPreKeyPair;
///
/// let mut rng = OsRng;
/// let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
/// let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, 0);
/// let kem = KemPreKeyPair::generate(&mut rng, &bob, 1, true, 0);
/// let bundle = PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), None, kem.public().clone());
/// let mut session = Session::initiate(&mut rng, &alice, &bundle.verify()?, SessionConfig::default())?;
/// let message = session.encrypt(&mut rng, b"hi")?;
///
/// // Bob's device cannot decrypt it (say it lost the prekeys it names):
/// let (from, to) = (DeviceAddress::new(b"chirp", b"bob", 7)?, DeviceAddress::new(b"chirp", b"alice", 1)?);
/// let failed = FailedMessage::of(&message)?;
/// let receipt = DecryptionErrorReceipt::new(&bob, &from, &to, failed, ReceiptReason::UnknownPreKey, 1_767_225_600);
/// let bytes = receipt.to_bytes();
///
/// // Alice's device:
/// let receipt = DecryptionErrorReceipt::from_bytes(&bytes)?.verify()?;
/// assert_eq!(receipt.failed(), &failed);
/// assert_eq!(receipt.identity_key(), bob.public_key());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptionErrorReceipt {
    from: DeviceAddress,
    to: DeviceAddress,
    reason: ReceiptReason,
    failed: FailedMessage,
    created_at: u64,
    identity_key: IdentityKey,
    /// The encoding, signature last.
    encoding: Vec<u8>,
}

impl DecryptionErrorReceipt {
    /// Signs a receipt: `identity` is the identity key pair of the device
    /// that could not decrypt, `from` that device's address, `to` the
    /// address of the message's sender (the envelope's sender), `failed`
    /// the message's locator, and `now` seconds since the Unix epoch.
    ///
    /// # Security
    /// The receipt asks `to` to give up the session the locator names. Send
    /// one only for a message that did not decrypt, never for one that did
    /// (a `Duplicate`, a replayed handshake), and rate-limit receipts per
    /// sender device: the envelope's sender address is not authenticated,
    /// so anyone can make this device send a receipt (PROTOCOL.md §14.4).
    pub fn new(
        identity: &IdentityKeyPair,
        from: &DeviceAddress,
        to: &DeviceAddress,
        failed: FailedMessage,
        reason: ReceiptReason,
        now: u64,
    ) -> DecryptionErrorReceipt {
        let body = ReceiptBodyFrame {
            from: DeviceAddressFrame::of(from),
            to: DeviceAddressFrame::of(to),
            reason,
            failed: failed.frame(),
            created_at: now,
            identity_key: identity.public_key().to_bytes(),
        };
        let mut encoding = body.to_vec_with_room();
        let signature = identity.sign(SIG_RECEIPT, &[&encoding]);
        encoding.extend_from_slice(&signature);
        DecryptionErrorReceipt {
            from: from.clone(),
            to: to.clone(),
            reason,
            failed,
            created_at: now,
            identity_key: identity.public_key().clone(),
            encoding,
        }
    }

    /// Decodes a receipt and validates its identity key. The signature is
    /// checked by [`DecryptionErrorReceipt::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::DecryptionErrorReceipt`](crate::WireType::DecryptionErrorReceipt)
    /// for malformed bytes (`LengthOutOfRange` for an id length out of
    /// range, `InvalidField` for an unknown `reason` or `failed_kind`), and
    /// `InvalidKey` with [`KeyKind::Identity`](crate::KeyKind::Identity)
    /// for an identity key that is not one (PROTOCOL.md §3.1).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = ReceiptFrame::decode(bytes)?;
        let b = frame.body;
        let from = b.from.to_address()?;
        let to = b.to.to_address()?;
        let identity_key = IdentityKey::from_bytes(&b.identity_key)?;
        Ok(DecryptionErrorReceipt {
            from,
            to,
            reason: b.reason,
            failed: FailedMessage::from_frame(b.failed),
            created_at: b.created_at,
            identity_key,
            encoding: bytes.to_vec(),
        })
    }

    /// Checks the signature: the identity key the receipt names signed
    /// `"KINSEAL-v1 decryption-error receipt\0" ‖` every byte before the
    /// signature (strictly, PROTOCOL.md §3.5).
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`] with
    /// [`SignedObject::DecryptionErrorReceipt`].
    ///
    /// # Security
    /// Verification proves that the holder of [`identity_key`](Self::identity_key)
    /// signed the receipt, not that this key is `from`'s. Before acting on
    /// it, the caller must check that the device list it holds for
    /// `from`'s user names `from`'s device id with this very key
    /// ([`VerifiedReceipt::is_listed_in`]), or that it is the identity key
    /// on record for `from`; a receipt under another key is not acted on,
    /// except to fetch `from`'s device list again (PROTOCOL.md §14.3). The
    /// caller must also check that [`to`](Self::to) is its own address.
    pub fn verify(self) -> crate::Result<VerifiedReceipt> {
        let invalid = ProtocolError::InvalidSignature {
            object: SignedObject::DecryptionErrorReceipt,
        };
        let (body, signature) = self
            .encoding
            .split_last_chunk::<SIGNATURE_LEN>()
            .ok_or(invalid)?;
        self.identity_key.verify(
            SignedObject::DecryptionErrorReceipt,
            SIG_RECEIPT,
            &[body],
            signature,
        )?;
        Ok(VerifiedReceipt { receipt: self })
    }

    /// The encoding, exactly as decoded or signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoding.clone()
    }

    /// The device that could not decrypt (as the receipt says; only
    /// [`verify`](Self::verify) and the device list make it more).
    pub fn from(&self) -> &DeviceAddress {
        &self.from
    }

    /// The device that sent the message that failed: the receipt's
    /// recipient.
    pub fn to(&self) -> &DeviceAddress {
        &self.to
    }

    /// Why the message did not decrypt.
    pub fn reason(&self) -> ReceiptReason {
        self.reason
    }

    /// Which message did not decrypt.
    pub fn failed(&self) -> &FailedMessage {
        &self.failed
    }

    /// When the receipt was made, as the failing device's app gave it
    /// (seconds since the Unix epoch; informational).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The failing device's identity key, which signs the receipt.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }
}

impl fmt::Debug for DecryptionErrorReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionErrorReceipt")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("reason", &self.reason)
            .field("failed", &self.failed)
            .field("created_at", &self.created_at)
            .field("identity_key", &self.identity_key)
            .finish()
    }
}

/// A decryption-error receipt whose signature has been checked under the
/// identity key it names. The only way to get one is
/// [`DecryptionErrorReceipt::verify`].
///
/// # Security
/// As [`DecryptionErrorReceipt::verify`] says: act on it only if `from`'s
/// device list names this identity key for `from`
/// ([`is_listed_in`](Self::is_listed_in)) and [`to`](Self::to) is you.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedReceipt {
    receipt: DecryptionErrorReceipt,
}

impl VerifiedReceipt {
    /// Whether `list` is the device list of `from`'s user and names
    /// `from`'s device id with the identity key that signed the receipt:
    /// the check a sender makes before acting on the receipt. The caller
    /// still decides that `list` is the latest list it holds for that user
    /// ([`VerifiedDeviceList::check_successor`]).
    pub fn is_listed_in(&self, list: &VerifiedDeviceList) -> bool {
        let from = &self.receipt.from;
        list.address() == from.user()
            && list
                .device(from.device_id())
                .is_some_and(|d| *d.identity_key() == self.receipt.identity_key)
    }

    /// The verified receipt.
    pub fn receipt(&self) -> &DecryptionErrorReceipt {
        &self.receipt
    }

    /// Gives the receipt back.
    pub fn into_receipt(self) -> DecryptionErrorReceipt {
        self.receipt
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.receipt.to_bytes()
    }

    /// The device that could not decrypt.
    pub fn from(&self) -> &DeviceAddress {
        self.receipt.from()
    }

    /// The device that sent the message that failed.
    pub fn to(&self) -> &DeviceAddress {
        self.receipt.to()
    }

    /// Why the message did not decrypt.
    pub fn reason(&self) -> ReceiptReason {
        self.receipt.reason()
    }

    /// Which message did not decrypt.
    pub fn failed(&self) -> &FailedMessage {
        self.receipt.failed()
    }

    /// When the receipt was made (informational).
    pub fn created_at(&self) -> u64 {
        self.receipt.created_at()
    }

    /// The identity key that signed the receipt.
    pub fn identity_key(&self) -> &IdentityKey {
        self.receipt.identity_key()
    }
}
