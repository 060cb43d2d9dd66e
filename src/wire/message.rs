//! `Message` and `PreKeyMessage` frames.

use super::padding::pad_into;
use super::{
    KEM_CIPHERTEXT_LEN, KEY_LEN, MAX_CIPHERTEXT_LEN, MIN_CIPHERTEXT_LEN, Reader, TAG_LEN,
    TYPE_MESSAGE, TYPE_PREKEY_MESSAGE, Writer,
};
use crate::error::{DecodeError, WireType};

/// A ratchet message.
///
/// ```text
/// offset  size  field
///      0     1  version            = 0x01
///      1     1  type               = 0x01 (Message)
///      2    32  ratchet_key        sender's current X25519 ratchet public key
///     34     4  receiver_hint      first 4 bytes of the receiver's ratchet public key
///                                  this chain was derived with (zeros on the
///                                  initiator's first chain)
///     38     4  previous_length    u32, messages sent on the sender's previous chain
///     42     4  index              u32, this message's index in its chain
///     46     4  ciphertext_length  u32, 16 ..= MAX_CIPHERTEXT_LEN
///     50    16  header_tag         HMAC-SHA256(header key, label ‖ session AD ‖ bytes 0..50)[0..16]
///     66     L  ciphertext         ChaCha20-Poly1305 ciphertext, 16-byte tag last
/// ```
///
/// The 66 header bytes (offsets 0..66) are the message's part of the AEAD
/// associated data; the header tag covers the 50 before it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MessageFrame {
    pub(crate) ratchet_key: [u8; KEY_LEN],
    pub(crate) receiver_hint: [u8; RECEIVER_HINT_LEN],
    pub(crate) previous_length: u32,
    pub(crate) index: u32,
    pub(crate) header_tag: [u8; HEADER_TAG_LEN],
    /// Ciphertext followed by the tag.
    pub(crate) ciphertext: Vec<u8>,
}

/// Length of a `Message`'s receiver hint.
pub(crate) const RECEIVER_HINT_LEN: usize = 4;
/// Length of a `Message`'s header tag.
pub(crate) const HEADER_TAG_LEN: usize = 16;

impl MessageFrame {
    /// Length of the header: everything before the ciphertext.
    pub(crate) const HEADER_LEN: usize = TAGGED_LEN + HEADER_TAG_LEN;

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let v = Self::decode_view(bytes)?;
        Ok(MessageFrame {
            ratchet_key: v.ratchet_key,
            receiver_hint: v.receiver_hint,
            previous_length: v.previous_length,
            index: v.index,
            header_tag: v.header_tag,
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
        let receiver_hint = r.array()?;
        let previous_length = r.u32()?;
        let index = r.u32()?;
        let len = r.length(MIN_CIPHERTEXT_LEN, MAX_CIPHERTEXT_LEN)?;
        let header_tag = r.array()?;
        let ciphertext = r.take(len)?;
        r.finish()?;
        Ok(MessageView {
            ratchet_key,
            receiver_hint,
            previous_length,
            index,
            header_tag,
            ciphertext,
        })
    }

    /// Writes a complete message to `out`: the header (its tag computed by
    /// `tag` from the bytes before it), then `body` (a plaintext padded to
    /// its padded length, `padding.rs`) sealed in place by `seal`, then the
    /// AEAD tag. `seal` is given the whole header and the padded
    /// plaintext, and returns the tag.
    ///
    /// On error `out` is as it was, and the plaintext it held for sealing
    /// has been overwritten.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encrypt_into<E>(
        out: &mut Vec<u8>,
        ratchet_key: &[u8; KEY_LEN],
        receiver_hint: &[u8; RECEIVER_HINT_LEN],
        previous_length: u32,
        index: u32,
        body: Body<'_>,
        tag: impl FnOnce(&[u8; TAGGED_LEN]) -> [u8; HEADER_TAG_LEN],
        seal: impl FnOnce(&[u8; Self::HEADER_LEN], &mut [u8]) -> Result<[u8; TAG_LEN], E>,
    ) -> Result<(), E> {
        let body_len = body.len();
        let tagged = encode_tagged(
            ratchet_key,
            receiver_hint,
            previous_length,
            index,
            body_len + TAG_LEN,
        );
        let header = join_header(&tagged, &tag(&tagged));
        let start = out.len();
        out.reserve(Self::HEADER_LEN + body_len + TAG_LEN);
        out.extend_from_slice(&header);
        let at = out.len();
        match body {
            Body::Padded { plaintext, .. } => pad_into(out, plaintext, body_len),
            #[cfg(test)]
            Body::Raw(bytes) => out.extend_from_slice(bytes),
        }
        let sealed = match out.get_mut(at..) {
            Some(padded) => seal(&header, padded),
            None => seal(&header, &mut []),
        };
        match sealed {
            Ok(aead_tag) => {
                out.extend_from_slice(&aead_tag);
                Ok(())
            }
            Err(e) => {
                if let Some(padded) = out.get_mut(at..) {
                    zeroize::Zeroize::zeroize(padded);
                }
                out.truncate(start);
                Err(e)
            }
        }
    }
}

/// What a message seals.
pub(crate) enum Body<'a> {
    /// A plaintext, padded to `padded_len` bytes (at least its length plus
    /// the end marker).
    Padded {
        plaintext: &'a [u8],
        padded_len: usize,
    },
    /// Bytes sealed as they are: the vectors' authenticated messages whose
    /// padding is invalid.
    #[cfg(test)]
    Raw(&'a [u8]),
}

impl Body<'_> {
    /// The number of bytes sealed.
    pub(crate) fn len(&self) -> usize {
        match self {
            Body::Padded {
                plaintext,
                padded_len,
            } => (*padded_len).max(plaintext.len() + 1),
            #[cfg(test)]
            Body::Raw(bytes) => bytes.len(),
        }
    }
}

/// Length of the header bytes the header tag covers (offsets 0..50).
pub(crate) const TAGGED_LEN: usize = 2 + KEY_LEN + RECEIVER_HINT_LEN + 4 + 4 + 4;

/// A `Message` to decrypt: the header fields, and the ciphertext (with its
/// tag) borrowed from wherever it is, a received buffer or a decoded frame.
pub(crate) struct MessageView<'a> {
    pub(crate) ratchet_key: [u8; KEY_LEN],
    pub(crate) receiver_hint: [u8; RECEIVER_HINT_LEN],
    pub(crate) previous_length: u32,
    pub(crate) index: u32,
    pub(crate) header_tag: [u8; HEADER_TAG_LEN],
    /// Ciphertext followed by the tag.
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> MessageView<'a> {
    /// The header bytes the header tag covers, as on the wire.
    pub(crate) fn tagged(&self) -> [u8; TAGGED_LEN] {
        encode_tagged(
            &self.ratchet_key,
            &self.receiver_hint,
            self.previous_length,
            self.index,
            self.ciphertext.len(),
        )
    }

    /// The header bytes, as on the wire.
    pub(crate) fn header(&self) -> [u8; MessageFrame::HEADER_LEN] {
        join_header(&self.tagged(), &self.header_tag)
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

fn encode_tagged(
    ratchet_key: &[u8; KEY_LEN],
    receiver_hint: &[u8; RECEIVER_HINT_LEN],
    previous_length: u32,
    index: u32,
    ciphertext_len: usize,
) -> [u8; TAGGED_LEN] {
    // The layout above, written straight into the array (no allocation:
    // this runs twice per message, once each side).
    let mut out = [0u8; TAGGED_LEN];
    let (head, rest) = out.split_at_mut(2);
    head.copy_from_slice(&[super::PROTOCOL_VERSION, TYPE_MESSAGE]);
    let (key, rest) = rest.split_at_mut(KEY_LEN);
    key.copy_from_slice(ratchet_key);
    let (hint, rest) = rest.split_at_mut(RECEIVER_HINT_LEN);
    hint.copy_from_slice(receiver_hint);
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

fn join_header(
    tagged: &[u8; TAGGED_LEN],
    tag: &[u8; HEADER_TAG_LEN],
) -> [u8; MessageFrame::HEADER_LEN] {
    let mut out = [0u8; MessageFrame::HEADER_LEN];
    let (a, b) = out.split_at_mut(TAGGED_LEN);
    a.copy_from_slice(tagged);
    b.copy_from_slice(tag);
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
        let (p, rest) = Self::decode_prefix(bytes)?;
        Ok(PreKeyMessageFrame {
            suite: p.suite,
            identity_key: p.identity_key,
            prekeys: p.prekeys,
            kem_ciphertext: p.kem_ciphertext,
            message: MessageFrame::decode(rest)?,
        })
    }

    /// Checks the whole structure with exactly the checks of
    /// [`PreKeyMessageFrame::decode`], without copying the embedded
    /// message's ciphertext (for a server routing it, or an envelope,
    /// which keep the bytes), and returns the prekey ids it names.
    pub(crate) fn check(bytes: &[u8]) -> Result<PreKeyFrame, DecodeError> {
        let (prefix, rest) = Self::decode_prefix(bytes)?;
        MessageFrame::decode_view(rest)?;
        Ok(prefix.prekeys)
    }

    /// Decodes everything before the embedded message and returns the rest.
    fn decode_prefix(bytes: &[u8]) -> Result<(PreKeyPrefix, &[u8]), DecodeError> {
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
        let prefix = PreKeyPrefix {
            suite,
            identity_key,
            prekeys: PreKeyFrame {
                signed_prekey_id,
                one_time_prekey_id,
                kem_prekey_id,
            },
            kem_ciphertext,
        };
        Ok((prefix, r.remaining()))
    }
}

/// The fields of a `PreKeyMessage` before its embedded message.
struct PreKeyPrefix {
    suite: u8,
    identity_key: [u8; KEY_LEN],
    prekeys: PreKeyFrame,
    kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
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
