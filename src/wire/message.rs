//! `Message` and `PreKeyMessage` frames.

use super::{
    KEM_CIPHERTEXT_LEN, KEY_LEN, MAX_CIPHERTEXT_LEN, Reader, TAG_LEN, TYPE_MESSAGE,
    TYPE_PREKEY_MESSAGE, Writer,
};
use crate::error::{DecodeError, WireType};

/// A ratchet message.
///
/// ```text
/// offset  size  field
///      0     1  version            = 0x01
///      1     1  type               = 0x01 (Message)
///      2    32  ratchet_key        sender's current X25519 ratchet public key
///     34     4  previous_length    u32, messages sent on the sender's previous chain
///     38     4  index              u32, this message's index in its chain
///     42     4  ciphertext_length  u32, 16 ..= MAX_CIPHERTEXT_LEN
///     46     L  ciphertext         ChaCha20-Poly1305 ciphertext, 16-byte tag last
/// ```
///
/// The 46 header bytes (offsets 0..46) are the message's part of the AEAD
/// associated data.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MessageFrame {
    pub(crate) ratchet_key: [u8; KEY_LEN],
    pub(crate) previous_length: u32,
    pub(crate) index: u32,
    /// Ciphertext followed by the tag.
    pub(crate) ciphertext: Vec<u8>,
}

impl MessageFrame {
    /// Length of the header: everything before the ciphertext.
    pub(crate) const HEADER_LEN: usize = 46;

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let v = Self::decode_view(bytes)?;
        Ok(MessageFrame {
            ratchet_key: v.ratchet_key,
            previous_length: v.previous_length,
            index: v.index,
            ciphertext: v.ciphertext.to_vec(),
        })
    }

    /// Decodes with exactly the checks of [`MessageFrame::decode`], leaving
    /// the ciphertext where it is (decryption writes the plaintext straight
    /// from it into its output; nothing is copied first).
    pub(crate) fn decode_view(bytes: &[u8]) -> Result<MessageView<'_>, DecodeError> {
        let mut r = Reader::new(bytes, WireType::Message);
        r.header(TYPE_MESSAGE)?;
        let ratchet_key = r.array()?;
        let previous_length = r.u32()?;
        let index = r.u32()?;
        let len = r.length(TAG_LEN, MAX_CIPHERTEXT_LEN)?;
        let ciphertext = r.take(len)?;
        r.finish()?;
        Ok(MessageView {
            ratchet_key,
            previous_length,
            index,
            ciphertext,
        })
    }

    /// Writes a complete message to `out`: the header, then the sealed
    /// `plaintext`, then the tag. `seal` is given the header bytes, the
    /// plaintext and the (zeroed) place for the ciphertext, and returns the
    /// tag; the plaintext is never copied into `out`.
    pub(crate) fn encrypt_into<E>(
        out: &mut Vec<u8>,
        ratchet_key: &[u8; KEY_LEN],
        previous_length: u32,
        index: u32,
        plaintext: &[u8],
        seal: impl FnOnce(&[u8; Self::HEADER_LEN], &[u8], &mut [u8]) -> Result<[u8; TAG_LEN], E>,
    ) -> Result<(), E> {
        let header = encode_header(
            ratchet_key,
            previous_length,
            index,
            plaintext.len() + TAG_LEN,
        );
        out.reserve(Self::HEADER_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&header);
        let start = out.len();
        out.resize(start + plaintext.len(), 0);
        let tag = match out.get_mut(start..) {
            Some(body) => seal(&header, plaintext, body)?,
            None => seal(&header, plaintext, &mut [])?,
        };
        out.extend_from_slice(&tag);
        Ok(())
    }
}

/// A `Message` to decrypt: the header fields, and the ciphertext (with its
/// tag) borrowed from wherever it is, a received buffer or a decoded frame.
pub(crate) struct MessageView<'a> {
    pub(crate) ratchet_key: [u8; KEY_LEN],
    pub(crate) previous_length: u32,
    pub(crate) index: u32,
    /// Ciphertext followed by the tag.
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> MessageView<'a> {
    /// The header bytes, as on the wire.
    pub(crate) fn header(&self) -> [u8; MessageFrame::HEADER_LEN] {
        encode_header(
            &self.ratchet_key,
            self.previous_length,
            self.index,
            self.ciphertext.len(),
        )
    }

    /// Writes the message: the header, then the ciphertext.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header());
        out.extend_from_slice(self.ciphertext);
    }

    /// The sealed body and the tag.
    pub(crate) fn body_and_tag(&self) -> (&'a [u8], [u8; TAG_LEN]) {
        let split = self.ciphertext.len().saturating_sub(TAG_LEN);
        let (body, tag) = self.ciphertext.split_at(split);
        let mut out = [0u8; TAG_LEN];
        if let Ok(t) = <&[u8; TAG_LEN]>::try_from(tag) {
            out = *t;
        }
        (body, out)
    }
}

fn encode_header(
    ratchet_key: &[u8; KEY_LEN],
    previous_length: u32,
    index: u32,
    ciphertext_len: usize,
) -> [u8; MessageFrame::HEADER_LEN] {
    // The layout above, written straight into the array (no allocation:
    // this runs twice per message, once each side).
    let mut out = [0u8; MessageFrame::HEADER_LEN];
    let (head, rest) = out.split_at_mut(2);
    head.copy_from_slice(&[super::PROTOCOL_VERSION, TYPE_MESSAGE]);
    let (key, rest) = rest.split_at_mut(KEY_LEN);
    key.copy_from_slice(ratchet_key);
    let (pn, rest) = rest.split_at_mut(4);
    pn.copy_from_slice(&previous_length.to_be_bytes());
    let (n, len) = rest.split_at_mut(4);
    n.copy_from_slice(&index.to_be_bytes());
    len.copy_from_slice(
        &u32::try_from(ciphertext_len)
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out
}

/// Which of the responder's prekeys a `PreKeyMessage` used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PreKeyFrame {
    pub(crate) signed_prekey_id: u32,
    pub(crate) one_time_prekey_id: Option<u32>,
    pub(crate) kem_prekey_id: u32,
}

/// A message that also carries what the responder needs to set up the session.
///
/// ```text
/// offset  size  field
///      0     1  version            = 0x01
///      1     1  type               = 0x02 (PreKeyMessage)
///      2     1  suite              = 0x01
///      3    32  identity_key       initiator's Ed25519 identity key
///     35     4  signed_prekey_id   u32
///     39     1  one_time_present   0x00 or 0x01
///     40   0|4  one_time_prekey_id u32, only when one_time_present = 0x01
///      …     4  kem_prekey_id      u32
///      …  1088  kem_ciphertext     ML-KEM-768 ciphertext
///      …     …  message            a complete Message (see above), to the end
/// ```
///
/// The initiator's base key is the embedded message's ratchet key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PreKeyMessageFrame {
    pub(crate) suite: u8,
    pub(crate) identity_key: [u8; KEY_LEN],
    pub(crate) prekeys: PreKeyFrame,
    pub(crate) kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
    pub(crate) message: MessageFrame,
}

impl PreKeyMessageFrame {
    /// The longest a `PreKeyMessage` can be before its embedded message: the
    /// layout above with a one-time prekey id (1136 bytes).
    pub(crate) const PREFIX_MAX_LEN: usize = 3 + KEY_LEN + 4 + 1 + 4 + 4 + KEM_CIPHERTEXT_LEN;

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::PreKeyMessage);
        r.header(TYPE_PREKEY_MESSAGE)?;
        let suite = r.suite()?;
        let identity_key = r.array()?;
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = if r.flag("one_time_present")? {
            Some(r.u32()?)
        } else {
            None
        };
        let kem_prekey_id = r.u32()?;
        let kem_ciphertext = r.boxed_array()?;
        let message = MessageFrame::decode(r.remaining())?;
        Ok(PreKeyMessageFrame {
            suite,
            identity_key,
            prekeys: PreKeyFrame {
                signed_prekey_id,
                one_time_prekey_id,
                kem_prekey_id,
            },
            kem_ciphertext,
            message,
        })
    }
}

const _: () = assert!(PreKeyMessageFrame::PREFIX_MAX_LEN == 1136);

/// Writes the part of a `PreKeyMessage` before its embedded message (then
/// [`MessageView::encode`] writes the message).
pub(crate) fn encode_prekey_prefix(
    out: &mut Vec<u8>,
    suite: u8,
    identity_key: &[u8; KEY_LEN],
    prekeys: &PreKeyFrame,
    kem_ciphertext: &[u8; KEM_CIPHERTEXT_LEN],
) {
    let mut w = Writer::new(out);
    w.header(TYPE_PREKEY_MESSAGE)
        .u8(suite)
        .bytes(identity_key)
        .u32(prekeys.signed_prekey_id)
        .flag(prekeys.one_time_prekey_id.is_some());
    if let Some(id) = prekeys.one_time_prekey_id {
        w.u32(id);
    }
    w.u32(prekeys.kem_prekey_id).bytes(kem_ciphertext);
}

/// Reads the kind of a message from its first two bytes without decoding the rest.
pub(crate) fn peek_kind(bytes: &[u8]) -> Result<super::MessageKind, DecodeError> {
    let mut r = Reader::new(bytes, WireType::Message);
    let version = r.u8()?;
    if version != super::PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: version });
    }
    match r.u8()? {
        TYPE_MESSAGE => Ok(super::MessageKind::Message),
        TYPE_PREKEY_MESSAGE => Ok(super::MessageKind::PreKeyMessage),
        found => Err(DecodeError::UnexpectedType {
            expected: WireType::Message,
            found,
        }),
    }
}
