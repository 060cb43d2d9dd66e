//! What an account's pairwise message carries (PROTOCOL.md §17): a kind
//! byte, so that one session carries the app's messages and the group
//! control messages the account exchanges on its behalf.
//!
//! Content (3 to 262 144 bytes, the plaintext of a pairwise message):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x62 (Content)
//!      2     1  kind              0x01 message, 0x02 sender-key distribution,
//!                                 0x03 group change, 0x04 group welcome,
//!                                 0x05 group state sync
//!      3     …  body              by kind, to the end:
//!                 0x01  the app's plaintext, 0 ..= MAX_APP_PLAINTEXT_LEN bytes
//!                 0x02  a sender-key distribution (type 0x71, 115 bytes, secret)
//!                 0x03  a group change (type 0x73), a genesis included
//!                 0x04  a welcome (below)
//!                 0x05  a group state (type 0x72)
//! ```
//!
//! Welcome body (the change that adds the recipient, and the state it is
//! built on):
//!
//! ```text
//! field         size  notes
//! state_len        4  u32, MIN_GROUP_STATE_LEN ..= MAX_GROUP_STATE_LEN
//! state    state_len  a group state (type 0x72)
//! change           …  a group change (type 0x73), to the end
//! ```
//!
//! The bodies are checked by their own decoders one layer up; this layer
//! checks the kind, the welcome's state length against its range, and
//! that the welcome's change is not empty.

use super::{Reader, TYPE_CONTENT, Writer};
use crate::error::{DecodeError, WireType};
use crate::limits::{
    CONTENT_OVERHEAD, MAX_APP_PLAINTEXT_LEN, MAX_GROUP_STATE_LEN, MIN_GROUP_CHANGE_LEN,
    MIN_GROUP_STATE_LEN,
};

/// The header before a content's body: version, type, kind.
const CONTENT_HEADER_LEN: usize = CONTENT_OVERHEAD;

/// A content's kind byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ContentKind {
    /// An app's message.
    Message = 0x01,
    /// A sender-key distribution.
    Distribution = 0x02,
    /// A group change (or genesis).
    GroupChange = 0x03,
    /// A group welcome.
    Welcome = 0x04,
    /// A group state, from a device of the same user.
    StateSync = 0x05,
}

/// A content, borrowed from its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ContentFrame<'a> {
    /// An app's message.
    Message(&'a [u8]),
    /// A sender-key distribution's bytes.
    Distribution(&'a [u8]),
    /// A group change's bytes.
    GroupChange(&'a [u8]),
    /// A welcome: a state's bytes and a change's.
    Welcome {
        /// The group state the change is built on.
        state: &'a [u8],
        /// The change that adds the recipient.
        change: &'a [u8],
    },
    /// A group state's bytes.
    StateSync(&'a [u8]),
}

impl<'a> ContentFrame<'a> {
    /// The kind.
    pub(crate) fn kind(&self) -> ContentKind {
        match self {
            ContentFrame::Message(_) => ContentKind::Message,
            ContentFrame::Distribution(_) => ContentKind::Distribution,
            ContentFrame::GroupChange(_) => ContentKind::GroupChange,
            ContentFrame::Welcome { .. } => ContentKind::Welcome,
            ContentFrame::StateSync(_) => ContentKind::StateSync,
        }
    }

    /// The encoding's length.
    pub(crate) fn encoded_len(&self) -> usize {
        CONTENT_HEADER_LEN
            + match self {
                ContentFrame::Message(b)
                | ContentFrame::Distribution(b)
                | ContentFrame::GroupChange(b)
                | ContentFrame::StateSync(b) => b.len(),
                ContentFrame::Welcome { state, change } => 4 + state.len() + change.len(),
            }
    }

    /// Writes the encoding to `out`. The caller bounds the body (see
    /// [`MAX_APP_PLAINTEXT_LEN`]); a welcome's state is a state this
    /// device holds, within [`MAX_GROUP_STATE_LEN`].
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        let mut w = Writer::new(out);
        w.header(TYPE_CONTENT).u8(self.kind() as u8);
        match self {
            ContentFrame::Message(b)
            | ContentFrame::Distribution(b)
            | ContentFrame::GroupChange(b)
            | ContentFrame::StateSync(b) => {
                w.bytes(b);
            }
            ContentFrame::Welcome { state, change } => {
                w.length(state.len()).bytes(state).bytes(change);
            }
        }
    }

    /// The encoding, in a new vector.
    pub(crate) fn to_vec(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a content: the header, the kind, and a welcome's framing.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::Content);
        r.header(TYPE_CONTENT)?;
        let kind = r.u8()?;
        Ok(match kind {
            0x01 => {
                let body = r.remaining();
                if body.len() > MAX_APP_PLAINTEXT_LEN {
                    return Err(DecodeError::LengthOutOfRange {
                        wire_type: WireType::Content,
                        min: 0,
                        max: MAX_APP_PLAINTEXT_LEN,
                        found: body.len(),
                    });
                }
                ContentFrame::Message(body)
            }
            0x02 => ContentFrame::Distribution(r.remaining()),
            0x03 => ContentFrame::GroupChange(r.remaining()),
            0x04 => {
                let len = r.length(MIN_GROUP_STATE_LEN, MAX_GROUP_STATE_LEN)?;
                let state = r.take(len)?;
                let change = r.remaining();
                if change.len() < MIN_GROUP_CHANGE_LEN {
                    return Err(DecodeError::Truncated {
                        wire_type: WireType::Content,
                        needed: MIN_GROUP_CHANGE_LEN,
                        available: change.len(),
                    });
                }
                ContentFrame::Welcome { state, change }
            }
            0x05 => ContentFrame::StateSync(r.remaining()),
            found => {
                return Err(DecodeError::InvalidField {
                    wire_type: WireType::Content,
                    field: "kind",
                    found: u32::from(found),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let state = vec![7u8; MIN_GROUP_STATE_LEN];
        let change = vec![9u8; MIN_GROUP_CHANGE_LEN];
        let frames = [
            ContentFrame::Message(b""),
            ContentFrame::Message(b"hello"),
            ContentFrame::Distribution(&[1, 2, 3]),
            ContentFrame::GroupChange(&[4, 5]),
            ContentFrame::Welcome {
                state: &state,
                change: &change,
            },
            ContentFrame::StateSync(&[6]),
        ];
        for frame in frames {
            let bytes = frame.to_vec();
            assert_eq!(bytes.len(), frame.encoded_len());
            assert_eq!(bytes[..3], [0x01, TYPE_CONTENT, frame.kind() as u8]);
            assert_eq!(ContentFrame::decode(&bytes).unwrap(), frame);
        }
    }

    #[test]
    fn unknown_kinds_short_welcomes_and_long_messages_are_refused() {
        for kind in [0x00, 0x06, 0xff] {
            assert!(matches!(
                ContentFrame::decode(&[0x01, TYPE_CONTENT, kind]),
                Err(DecodeError::InvalidField { field: "kind", .. })
            ));
        }
        assert!(matches!(
            ContentFrame::decode(&[0x01, TYPE_CONTENT]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            ContentFrame::decode(&[0x02, TYPE_CONTENT, 0x01]),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        let state = vec![7u8; MIN_GROUP_STATE_LEN];
        let short = ContentFrame::Welcome {
            state: &state,
            change: &[1; MIN_GROUP_CHANGE_LEN - 1],
        }
        .to_vec();
        assert!(matches!(
            ContentFrame::decode(&short),
            Err(DecodeError::Truncated { .. })
        ));
        let mut tiny_state = vec![0x01, TYPE_CONTENT, 0x04];
        tiny_state.extend_from_slice(&(MIN_GROUP_STATE_LEN as u32 - 1).to_be_bytes());
        assert!(matches!(
            ContentFrame::decode(&tiny_state),
            Err(DecodeError::LengthOutOfRange { .. })
        ));
        let long = vec![0u8; MAX_APP_PLAINTEXT_LEN + 1];
        let bytes = ContentFrame::Message(&long).to_vec();
        assert!(matches!(
            ContentFrame::decode(&bytes),
            Err(DecodeError::LengthOutOfRange { .. })
        ));
        let most = vec![0u8; MAX_APP_PLAINTEXT_LEN];
        assert!(ContentFrame::decode(&ContentFrame::Message(&most).to_vec()).is_ok());
    }
}
