//! The frames of account links (PROTOCOL.md §15): the link itself, signed
//! by both accounts' user identity keys; the proposal one account signs
//! first; and the revocation either account may sign. The typed values,
//! their checks and their signatures live in `keys/account_link.rs`.
//!
//! An account, in the link and in the proposal, is written as its user key
//! followed by its embedded user address (PROTOCOL.md §4.5):
//!
//! ```text
//!  size  field
//!    32  user_key      an Ed25519 user identity key
//!     1  app_id_len    u8, 1 ..= MAX_APP_ID_LEN (64)
//!     a  app_id
//!     2  user_id_len   u16, 1 ..= MAX_USER_ID_LEN (256)
//!     u  user_id
//! ```
//!
//! **Account link** (213 to 849 bytes; all integers big-endian):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x56 (AccountLink)
//!      2     1  suite             = 0x01
//!      3     …  first account     the one with the lower user key (bytewise)
//!      …     …  second account    its user key strictly above the first's
//!      …     8  created_at        u64, seconds since the Unix epoch
//!      …    64  first_signature   Ed25519 by the first user key over
//!                                 "KINSEAL-v1 account link\0" ‖ body
//!      …    64  second_signature  Ed25519 by the second user key over
//!                                 "KINSEAL-v1 account link\0" ‖ body
//! ```
//!
//! `body` is every byte before the signatures (offset 0 to the end of
//! `created_at`). The link's hash is SHA-256 over
//! "KINSEAL-v1 account link hash\0" ‖ the whole encoding.
//!
//! **Account link proposal** (150 to 786 bytes): the link body with one
//! signature, from one account's app to the other's.
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x58 (AccountLinkProposal)
//!      2     1  suite             = 0x01
//!      3     1  proposer          0x00: the first account signed; 0x01: the second
//!      4     …  first account     as in the link
//!      …     …  second account    as in the link
//!      …     8  created_at        u64
//!      …    64  signature         the proposer's signature of the link body:
//!                                 "KINSEAL-v1 account link\0" ‖ 0x01 0x56 0x01 ‖
//!                                 the accounts ‖ created_at
//! ```
//!
//! The proposal's signature is the proposer's signature of the link, byte
//! for byte: countersigning adds the other one.
//!
//! **Link revocation** (139 bytes):
//!
//! ```text
//! offset  size  field
//!      0     1  version           = 0x01
//!      1     1  type              = 0x57 (LinkRevocation)
//!      2     1  suite             = 0x01
//!      3    32  link_hash         the hash of the link revoked
//!     35     8  revoked_at        u64, seconds since the Unix epoch
//!     43    32  revoker           the user key of one of the linked accounts
//!     75    64  signature         Ed25519 by revoker over
//!                                 "KINSEAL-v1 link revocation\0" ‖ every byte before it
//! ```

use super::{
    Frame, Reader, SIGNATURE_LEN, SUITE_V1, TYPE_ACCOUNT_LINK, TYPE_ACCOUNT_LINK_PROPOSAL,
    TYPE_LINK_REVOCATION, UserAddressFrame, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::LINK_REVOCATION_LEN;
use crate::sizes::KEY_LEN;

/// The length of a SHA-256 link hash.
pub(crate) const ACCOUNT_LINK_HASH_LEN: usize = 32;

/// One account of a link: its user key and address, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkedAccountFrame<'a> {
    pub(crate) user_key: [u8; KEY_LEN],
    pub(crate) address: UserAddressFrame<'a>,
}

/// What both signatures of a link cover, after the header: the two
/// accounts, in the order they are written, and the creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountLinkBodyFrame<'a> {
    pub(crate) accounts: [LinkedAccountFrame<'a>; 2],
    pub(crate) created_at: u64,
}

/// A whole account link as bytes: the body and the two signatures, the
/// first account's first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountLinkFrame<'a> {
    pub(crate) body: AccountLinkBodyFrame<'a>,
    pub(crate) signatures: [[u8; SIGNATURE_LEN]; 2],
}

/// A proposal as bytes: which account signed (`false` the first, `true`
/// the second), the body, and that account's signature of the link body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountLinkProposalFrame<'a> {
    pub(crate) second_proposes: bool,
    pub(crate) body: AccountLinkBodyFrame<'a>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// A revocation as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkRevocationFrame {
    pub(crate) link_hash: [u8; ACCOUNT_LINK_HASH_LEN],
    pub(crate) revoked_at: u64,
    pub(crate) revoker: [u8; KEY_LEN],
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl<'a> AccountLinkBodyFrame<'a> {
    /// The length of the fields after the header.
    fn fields_len(&self) -> usize {
        self.accounts
            .iter()
            .map(|a| KEY_LEN + a.address.embedded_len())
            .sum::<usize>()
            + 8
    }

    fn write_fields(&self, w: &mut Writer<'_>) {
        for a in &self.accounts {
            w.bytes(&a.user_key);
            a.address.write_embedded(w);
        }
        w.u64(self.created_at);
    }

    fn read_fields(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut account = || -> Result<LinkedAccountFrame<'a>, DecodeError> {
            Ok(LinkedAccountFrame {
                user_key: r.array()?,
                address: UserAddressFrame::read_embedded(r)?,
            })
        };
        let accounts = [account()?, account()?];
        Ok(AccountLinkBodyFrame {
            accounts,
            created_at: r.u64()?,
        })
    }

    /// The link body, what both signatures cover: the link's header, then
    /// the fields. `room` more bytes are reserved for the signatures.
    pub(crate) fn link_body(&self, room: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.fields_len() + room);
        let mut w = Writer::new(&mut out);
        w.header(TYPE_ACCOUNT_LINK).u8(SUITE_V1);
        self.write_fields(&mut w);
        out
    }
}

impl<'a> Frame<'a> for AccountLinkFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        3 + self.body.fields_len() + 2 * SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_ACCOUNT_LINK).u8(SUITE_V1);
        self.body.write_fields(&mut w);
        w.bytes(&self.signatures[0]).bytes(&self.signatures[1]);
    }

    /// Decodes a link's structure, front to back: the header, each
    /// account's key and each id length before its id, the signatures, no
    /// trailing bytes. Keys, their order and the addresses are checked one
    /// floor up.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::AccountLink);
        r.header(TYPE_ACCOUNT_LINK)?;
        r.suite()?;
        let body = AccountLinkBodyFrame::read_fields(&mut r)?;
        let signatures = [r.array()?, r.array()?];
        r.finish()?;
        Ok(AccountLinkFrame { body, signatures })
    }
}

impl<'a> Frame<'a> for AccountLinkProposalFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        4 + self.body.fields_len() + SIGNATURE_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_ACCOUNT_LINK_PROPOSAL)
            .u8(SUITE_V1)
            .flag(self.second_proposes);
        self.body.write_fields(&mut w);
        w.bytes(&self.signature);
    }

    /// Decodes a proposal's structure, front to back: the header, the
    /// proposer byte (`InvalidField` unless 0 or 1, when it is read), the
    /// accounts as in a link, the signature, no trailing bytes.
    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::AccountLinkProposal);
        r.header(TYPE_ACCOUNT_LINK_PROPOSAL)?;
        r.suite()?;
        let second_proposes = r.flag("proposer")?;
        let body = AccountLinkBodyFrame::read_fields(&mut r)?;
        let signature = r.array()?;
        r.finish()?;
        Ok(AccountLinkProposalFrame {
            second_proposes,
            body,
            signature,
        })
    }
}

impl LinkRevocationFrame {
    /// The length of what the signature covers.
    pub(crate) const BODY_LEN: usize = LINK_REVOCATION_LEN - SIGNATURE_LEN;
}

impl Frame<'_> for LinkRevocationFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        LINK_REVOCATION_LEN
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_LINK_REVOCATION)
            .u8(SUITE_V1)
            .bytes(&self.link_hash)
            .u64(self.revoked_at)
            .bytes(&self.revoker)
            .bytes(&self.signature);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::LinkRevocation);
        r.header(TYPE_LINK_REVOCATION)?;
        r.suite()?;
        let frame = LinkRevocationFrame {
            link_hash: r.array()?,
            revoked_at: r.u64()?,
            revoker: r.array()?,
            signature: r.array()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        MAX_ACCOUNT_LINK_LEN, MAX_ACCOUNT_LINK_PROPOSAL_LEN, MAX_APP_ID_LEN, MAX_USER_ID_LEN,
        MIN_ACCOUNT_LINK_LEN, MIN_ACCOUNT_LINK_PROPOSAL_LEN,
    };

    fn body<'a>(app: &'a [u8], user: &'a [u8]) -> AccountLinkBodyFrame<'a> {
        let account = |k| LinkedAccountFrame {
            user_key: [k; KEY_LEN],
            address: UserAddressFrame {
                app_id: app,
                user_id: user,
            },
        };
        AccountLinkBodyFrame {
            accounts: [account(0x11), account(0x22)],
            created_at: 0x0102_0304_0506_0708,
        }
    }

    #[test]
    fn lengths_are_exact_and_the_layouts_round_trip() {
        let (long_app, long_user) = ([b'a'; MAX_APP_ID_LEN], [b'u'; MAX_USER_ID_LEN]);
        for (b, link_len, proposal_len) in [
            (
                body(b"a", b"u"),
                MIN_ACCOUNT_LINK_LEN,
                MIN_ACCOUNT_LINK_PROPOSAL_LEN,
            ),
            (
                body(&long_app, &long_user),
                MAX_ACCOUNT_LINK_LEN,
                MAX_ACCOUNT_LINK_PROPOSAL_LEN,
            ),
        ] {
            let link = AccountLinkFrame {
                body: b,
                signatures: [[0x33; SIGNATURE_LEN], [0x44; SIGNATURE_LEN]],
            };
            let bytes = link.to_vec();
            assert_eq!((bytes.len(), link.encoded_len()), (link_len, link_len));
            assert_eq!(bytes[..3], [1, TYPE_ACCOUNT_LINK, SUITE_V1]);
            assert_eq!(AccountLinkFrame::decode(&bytes), Ok(link));
            let signed = b.link_body(0);
            assert_eq!(signed[..], bytes[..link_len - 2 * SIGNATURE_LEN]);

            let proposal = AccountLinkProposalFrame {
                second_proposes: true,
                body: b,
                signature: [0x55; SIGNATURE_LEN],
            };
            let bytes = proposal.to_vec();
            assert_eq!(
                (bytes.len(), proposal.encoded_len()),
                (proposal_len, proposal_len)
            );
            assert_eq!(bytes[..4], [1, TYPE_ACCOUNT_LINK_PROPOSAL, SUITE_V1, 1]);
            assert_eq!(bytes[4..proposal_len - SIGNATURE_LEN], signed[3..]);
            assert_eq!(AccountLinkProposalFrame::decode(&bytes), Ok(proposal));
        }
    }

    #[test]
    fn a_revocation_is_139_bytes_in_the_documented_order() {
        let r = LinkRevocationFrame {
            link_hash: [0x11; 32],
            revoked_at: 0x0102_0304_0506_0708,
            revoker: [0x22; KEY_LEN],
            signature: [0x33; SIGNATURE_LEN],
        };
        let bytes = r.to_vec();
        assert_eq!(bytes.len(), LINK_REVOCATION_LEN);
        assert_eq!(bytes[..3], [1, TYPE_LINK_REVOCATION, SUITE_V1]);
        assert_eq!(bytes[3..35], [0x11; 32]);
        assert_eq!(bytes[35..43], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(bytes[43..75], [0x22; 32]);
        assert_eq!(LinkRevocationFrame::BODY_LEN, 75);
        assert_eq!(LinkRevocationFrame::decode(&bytes), Ok(r));
        assert!(matches!(
            LinkRevocationFrame::decode(&bytes[..138]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            LinkRevocationFrame::decode(&[&bytes[..], &[0]].concat()),
            Err(DecodeError::TrailingBytes { count: 1, .. })
        ));
    }
}
